"""GET /ai/cashflow/: a daily projected balance from recurring items and typical months."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from income.tests.factories import IncomeFactory
from recurring.tests.factories import RecurringItemFactory

from .test_forecast_helpers import crafted_history, expense, frozen_clock

pytestmark = pytest.mark.django_db
URL = "/api/v1/ai/cashflow/"


@pytest.fixture
def frozen_today() -> Iterator[date]:
    """Today is 2026-03-10 (ask for it before the clients, so their tokens are issued then)."""
    with frozen_clock() as today:
        yield today


def test_days_project_recurring_items_and_typical_spending(frozen_today, user, auth_client):
    crafted_history(user)
    RecurringItemFactory(
        user=user,
        kind="income",
        description="Salary",
        amount=Decimal("2000.00"),
        start_date=date(2026, 1, 12),
    )
    response = auth_client.get(URL, {"days": 3})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["as_of"] == "2026-03-10"
    assert body["currency"] == "USD"
    assert body["start_balance"] == "0.00"
    # Other spending per day in Dec, Jan, Feb: 300/31, 400/31, 500/28 → median 12.90.
    assert body["days"] == [
        {"date": "2026-03-11", "income": "0.00", "expenses": "12.90", "balance": "-12.90"},
        {"date": "2026-03-12", "income": "2000.00", "expenses": "12.90", "balance": "1974.20"},
        {"date": "2026-03-13", "income": "0.00", "expenses": "12.90", "balance": "1961.30"},
    ]
    assert body["end_balance"] == "1961.30"
    assert body["total_income"] == "2000.00"
    assert body["total_expenses"] == "38.70"
    assert "starts at 0" in body["method"]


def test_recurring_bills_land_on_their_dates(frozen_today, user, auth_client):
    crafted_history(user)
    body = auth_client.get(URL, {"days": 20}).json()
    rows = {row["date"]: row for row in body["days"]}
    assert rows["2026-03-25"]["expenses"] == "1012.90"  # rent + the typical day
    assert rows["2026-03-24"]["expenses"] == "12.90"


def test_typical_income_arrives_on_its_usual_day(frozen_today, user, auth_client):
    expense(user, date(2025, 11, 2), "1.00")  # the book's first (partial) month
    for month in (12, 1, 2):
        year = 2025 if month == 12 else 2026
        IncomeFactory(user=user, date=date(year, month, 1), amount=Decimal("3000.00"))
    body = auth_client.get(URL, {"days": 30}).json()
    incomes = {row["date"]: row["income"] for row in body["days"] if row["income"] != "0.00"}
    assert incomes == {"2026-04-01": "3000.00"}


def test_default_is_90_days(frozen_today, auth_client):
    body = auth_client.get(URL).json()
    assert len(body["days"]) == 90
    assert body["days"][0]["date"] == "2026-03-11"
    assert body["days"][-1]["date"] == str(date(2026, 3, 10) + timedelta(days=90))
    assert body["end_balance"] == "0.00"


@pytest.mark.parametrize("days", ["0", "367", "-1", "ten", "1.5"])
def test_days_out_of_range_or_not_a_number_is_a_400(auth_client, days):
    response = auth_client.get(URL, {"days": days})
    assert response.status_code == 400
    assert "days" in response.json()


def test_366_days_is_allowed(frozen_today, auth_client):
    assert len(auth_client.get(URL, {"days": 366}).json()["days"]) == 366


def test_outsider_gets_404_and_viewer_reads(user, other_user, client_for, shared_book):
    book = shared_book(owner=user)
    assert client_for(other_user).get(f"/api/v1/books/{book.pk}/ai/cashflow/").status_code == 404
    viewer_book = shared_book(owner=user, viewers=[other_user], name="Viewed")
    response = client_for(other_user).get(f"/api/v1/books/{viewer_book.pk}/ai/cashflow/")
    assert response.status_code == 200


def test_query_count_is_bounded(frozen_today, user, auth_client):
    crafted_history(user)
    with CaptureQueriesContext(connection) as queries:
        assert auth_client.get(URL, {"days": 366}).status_code == 200
    assert len(queries) <= 12
    assert Decimal(auth_client.get(URL).json()["end_balance"]) < 0
