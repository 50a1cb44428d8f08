"""GET /ai/forecast/: spent + recurring still due + the typical rest, with an interval."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from ai.forecast import backtest, forecast
from recurring.models import RecurringOccurrence
from recurring.tests.factories import RecurringItemFactory

from .test_forecast_helpers import TODAY, crafted_history, expense, frozen_clock

pytestmark = pytest.mark.django_db
URL = "/api/v1/ai/forecast/"


@pytest.fixture
def frozen_today() -> Iterator[date]:
    """Today is 2026-03-10 (ask for it before the clients, so their tokens are issued then)."""
    with frozen_clock() as today:
        yield today


def by_name(body: dict) -> dict:
    return {row["category_name"]: row for row in body["by_category"]}


def test_current_month_adds_spent_recurring_due_and_the_typical_rest(
    frozen_today, user, auth_client
):
    crafted_history(user)
    response = auth_client.get(URL)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["month"] == "2026-03"
    assert body["as_of"] == "2026-03-10"
    assert body["state"] == "current"
    assert body["currency"] == "USD"
    assert body["history_months"] == 3  # Dec, Jan, Feb: November is the partial first month
    # 320 spent + 1000 rent due on the 25th + the rest: history's median(200, 300, 400)
    # = 300 (p10 220, p90 380) moved 10/31 of the way to this month's pace (672): +120.
    assert body["total"] == {
        "spent": "320.00",
        "recurring_due": "1000.00",
        "expected": "1740.00",
        "low": "1660.00",
        "high": "1820.00",
    }
    rows = by_name(body)
    assert rows["Food"]["spent"] == "320.00"
    assert rows["Food"]["expected"] == "740.00"
    assert rows["Housing"]["recurring_due"] == "1000.00"
    # The rent recorded in January and February is not "typical rest" on top of the bill.
    assert rows["Housing"]["expected"] == "1000.00"
    assert rows["Housing"]["low"] == rows["Housing"]["high"] == "1000.00"
    assert "median" in body["method"]


def test_interval_contains_the_expected_figures(frozen_today, user, auth_client):
    crafted_history(user)
    body = auth_client.get(URL).json()
    for row in [body["total"], *body["by_category"]]:
        assert Decimal(row["low"]) <= Decimal(row["expected"]) <= Decimal(row["high"])


def test_past_month_is_the_actual_spending(frozen_today, user, auth_client):
    crafted_history(user)
    body = auth_client.get(URL, {"month": "2026-02"}).json()
    assert body["state"] == "past"
    assert body["total"]["expected"] == body["total"]["low"] == body["total"]["high"] == "1500.00"
    assert body["total"]["recurring_due"] == "0.00"
    rows = by_name(body)
    assert rows["Food"]["expected"] == "500.00"
    assert rows["Housing"]["expected"] == "1000.00"


def test_future_month_is_recurring_plus_a_typical_whole_month(frozen_today, user, auth_client):
    crafted_history(user)
    body = auth_client.get(URL, {"month": "2026-04"}).json()
    assert body["state"] == "future"
    # Rent on Apr 25 + median of the non-recurring months (300, 400, 500): p10 320, p90 480.
    assert body["total"] == {
        "spent": "0.00",
        "recurring_due": "1000.00",
        "expected": "1400.00",
        "low": "1320.00",
        "high": "1480.00",
    }


def test_todays_bill_counts_until_its_job_records_it(frozen_today, user):
    items = crafted_history(user)
    bill = RecurringItemFactory(
        user=user, description="Phone", amount=Decimal("40.00"), start_date=date(2026, 1, 10)
    )
    book = user.personal_book
    result = forecast(book=book, year=2026, month=3, as_of=TODAY)
    assert result.recurring == Decimal("1040.00")
    RecurringOccurrence.objects.create(item=bill, date=TODAY, fulfilled_at=timezone.now())
    result = forecast(book=book, year=2026, month=3, as_of=TODAY)
    assert result.recurring == Decimal("1000.00")
    # An inactive item is not due at all.
    items["rent"].active = False
    items["rent"].save()
    assert forecast(book=book, year=2026, month=3, as_of=TODAY).recurring == Decimal("0.00")


def test_budget_months_follow_the_books_month_start_day(frozen_today, user, auth_client):
    book = user.personal_book
    book.month_start_day = 15
    book.save()
    expense(user, date(2026, 2, 20), "70.00")  # budget month 2026-02 (Feb 15 - Mar 14)
    expense(user, date(2026, 2, 10), "5.00")  # budget month 2026-01
    body = auth_client.get(URL).json()
    assert body["month"] == "2026-02"
    assert (body["start"], body["end"]) == ("2026-02-15", "2026-03-14")
    assert body["total"]["spent"] == "70.00"


def test_no_history_uses_this_months_pace(frozen_today, user, auth_client):
    expense(user, date(2026, 3, 1), "100.00")
    body = auth_client.get(URL).json()
    assert body["history_months"] == 0
    # 100 over 10 days → 10 a day for the 21 days left (low: nothing more, high: twice).
    assert body["total"]["expected"] == "310.00"
    assert body["total"]["low"] == "100.00"
    assert "daily rate" in body["method"]


def test_empty_book_forecasts_zero(frozen_today, auth_client):
    body = auth_client.get(URL).json()
    assert body["total"]["expected"] == "0.00"
    assert body["by_category"] == []


@pytest.mark.parametrize("month", ["2026-13", "March", "2026-02-30", "1899-12"])
def test_bad_month_is_a_400_naming_it(auth_client, month):
    response = auth_client.get(URL, {"month": month})
    assert response.status_code == 400
    assert "month" in response.json()


def test_outsider_gets_404_and_viewer_reads(user, other_user, client_for, shared_book):
    book = shared_book(owner=user)
    assert client_for(other_user).get(f"/api/v1/books/{book.pk}/ai/forecast/").status_code == 404
    viewer_book = shared_book(owner=user, viewers=[other_user], name="Viewed")
    response = client_for(other_user).get(f"/api/v1/books/{viewer_book.pk}/ai/forecast/")
    assert response.status_code == 200
    assert response.json()["currency"] == viewer_book.base_currency


def test_anonymous_gets_401(api_client):
    assert api_client.get(URL).status_code == 401


def test_query_count_does_not_grow_with_records(frozen_today, user, auth_client):
    crafted_history(user)
    with CaptureQueriesContext(connection) as few:
        assert auth_client.get(URL).status_code == 200
    for day in range(60):
        expense(user, date(2025, 12, 1) + timedelta(days=day), "3.00")
    with CaptureQueriesContext(connection) as many:
        assert auth_client.get(URL).status_code == 200
    assert len(many) == len(few) <= 12


def test_backtest_beats_the_naive_baselines_on_a_generated_history(user):
    """Three years of groceries, dining and an occasional large purchase around a monthly
    rent: the forecast at day 10 and day 20 beats last month's total and the run-rate."""
    rng = random.Random(16)
    rent = RecurringItemFactory(
        user=user, description="Rent", amount=Decimal("1200.00"), start_date=date(2023, 1, 1)
    )
    records = []
    day = date(2023, 1, 1)
    while day < date(2026, 3, 1):
        if day.day == 1:
            records.append(expense(user, day, "1200.00", description="Rent"))
            RecurringOccurrence.objects.create(
                item=rent, date=day, expense=records[-1], fulfilled_at=timezone.now()
            )
        if rng.random() < 0.35:
            expense(user, day, f"{rng.uniform(20, 90):.2f}", description="Groceries")
        if rng.random() < 0.2:
            expense(user, day, f"{rng.uniform(10, 60):.2f}", description="Dining")
        if rng.random() < 0.02:
            expense(user, day, f"{rng.uniform(200, 900):.2f}", description="Big purchase")
        day += timedelta(days=1)
    book = user.personal_book
    for cut in (10, 20):
        result = backtest(book=book, months=24, day=cut, today=date(2026, 3, 10))
        assert result["months"] == 24
        mape = result["mape"]
        assert mape["model"] < mape["last_month"], mape
        assert mape["model"] < mape["run_rate"], mape
