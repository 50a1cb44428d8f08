"""Reports of a book (SPEC §14): a shared book's reports are the same for every member,
in its base currency and budget months; personal reports never count its records, nor
it theirs; strangers get 404 for everything under it."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from budgets.models import Budget, Scope
from categories.tests.factories import CategoryFactory
from expenses.tests.factories import ExpenseFactory
from goals.tests.factories import ContributionFactory, GoalFactory
from income.tests.factories import IncomeFactory
from notifications.models import Notification
from reports.services import send_monthly_summaries
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

API = "/api/v1"
REPORTS = [
    ("reports/summary/", {"start": "2026-03-01", "end": "2026-04-30"}),
    ("summary/", {"month": "2026-03"}),
    ("reports/monthly/", {"year": "2026"}),
    ("reports/trends/", {"month": "2026-03"}),
    ("reports/timeseries/", {"start": "2026-03-01", "end": "2026-04-30", "bucket": "month"}),
    ("reports/dashboard/", {}),
]
CHARTS = ["category-breakdown.svg", "monthly.png", "timeseries.svg", "budget-status.png"]


def in_book(book, path: str) -> str:
    return f"{API}/books/{book.pk}/{path}"


def get_ok(client, url: str, params: dict | None = None) -> dict:
    response = client.get(url, params or {})
    assert response.status_code == 200, (url, response.content)
    return response.json()


def spend(user, book, amount: str, day: date, **extra):
    """An expense in `book`, written in the book's base currency (rate 1)."""
    value = Decimal(amount)
    return ExpenseFactory(
        user=user,
        book=book,
        amount=value,
        currency=book.base_currency,
        base_amount=value,
        date=day,
        **extra,
    )


def earn(user, book, amount: str, day: date, **extra):
    value = Decimal(amount)
    return IncomeFactory(
        user=user,
        book=book,
        amount=value,
        currency=book.base_currency,
        base_amount=value,
        date=day,
        **extra,
    )


@pytest.fixture
def editor(db):
    return UserFactory()


@pytest.fixture
def viewer(db):
    return UserFactory()


@pytest.fixture
def household(user, editor, viewer, shared_book, freeze_today):
    """A EUR book whose budget months start on the 15th: `user` owns it, `editor` and
    `viewer` are members; both writers spend in it, and `user` also spends alone."""
    freeze_today(date(2026, 3, 20))
    book = shared_book(editors=[editor], viewers=[viewer], base_currency="EUR", month_start_day=15)
    groceries = CategoryFactory(user=user, book=book, name="Groceries")
    spend(user, book, "40.00", date(2026, 3, 15), category=groceries, merchant="Market")
    spend(editor, book, "60.00", date(2026, 3, 18), category=groceries, merchant="market")
    spend(editor, book, "25.00", date(2026, 3, 14), merchant="Before the month")
    earn(editor, book, "500.00", date(2026, 3, 16))
    mine = user.personal_book
    spend(user, mine, "7.00", date(2026, 3, 15), merchant="Only mine")
    earn(user, mine, "1000.00", date(2026, 3, 2))
    return book


def test_every_member_sees_the_same_figures(household, user, editor, viewer, client_for):
    for path, params in REPORTS:
        seen = [
            get_ok(client_for(member), in_book(household, path), params)
            for member in (user, editor, viewer)
        ]
        assert seen[0] == seen[1] == seen[2], path
        assert seen[0]["currency"] == "EUR", path


def test_a_shared_book_reports_in_its_currency_and_budget_months(household, user, client_for):
    body = get_ok(client_for(user), in_book(household, "summary/"), {"month": "2026-03"})

    # Its March runs from the 15th to April 14th: the 14th's 25.00 is February's.
    assert (body["start"], body["end"]) == ("2026-03-15", "2026-04-14")
    assert body["currency"] == "EUR"
    assert (body["total_expenses"], body["total_income"], body["net"]) == (
        "100.00",
        "500.00",
        "400.00",
    )
    assert body["expense_count"] == 2
    assert [(row["category_name"], row["total"]) for row in body["by_category"]] == [
        ("Groceries", "100.00")
    ]
    assert [(m["total"], m["count"]) for m in body["top_merchants"]] == [("100.00", 2)]

    monthly = get_ok(client_for(user), in_book(household, "reports/monthly/"), {"year": "2026"})
    by_month = {m["month"]: m for m in monthly["months"]}
    assert by_month["2026-02"]["expenses"] == "25.00"
    assert by_month["2026-03"]["expenses"] == "100.00"

    points = get_ok(
        client_for(user),
        in_book(household, "reports/timeseries/"),
        {"start": "2026-03-01", "end": "2026-04-30", "bucket": "month"},
    )["points"]
    assert [p["period_start"] for p in points] == ["2026-02-15", "2026-03-15", "2026-04-15"]


def test_personal_reports_leave_out_the_shared_books_records(household, user, client_for):
    client = client_for(user)
    mine = get_ok(client, f"{API}/summary/", {"month": "2026-03"})
    assert (mine["start"], mine["end"], mine["currency"]) == ("2026-03-01", "2026-03-31", "USD")
    assert (mine["total_expenses"], mine["total_income"]) == ("7.00", "1000.00")
    assert [m["merchant"] for m in mine["top_merchants"]] == ["Only mine"]

    shared = get_ok(
        client, in_book(household, "reports/summary/"), {"start": "2026-03-01", "end": "2026-03-31"}
    )
    assert (shared["total_expenses"], shared["total_income"]) == ("125.00", "500.00")
    assert "Only mine" not in {m["merchant"] for m in shared["top_merchants"]}

    dashboard = get_ok(client, f"{API}/reports/dashboard/")
    assert {t["description"] for t in dashboard["recent_transactions"]}.isdisjoint(
        {
            t["description"]
            for t in get_ok(client, in_book(household, "reports/dashboard/"))["recent_transactions"]
        }
    )


def test_the_dashboard_shows_the_books_budgets_and_goals(household, user, editor, client_for):
    Budget.objects.create(
        user=user, book=household, month=date(2026, 3, 1), scope=Scope.OVERALL, amount=300
    )
    goal = GoalFactory(user=editor, book=household, name="New sofa", target_amount=800)
    ContributionFactory(goal=goal, amount=Decimal("200"), date=date(2026, 3, 16))
    GoalFactory(user=user, name="My own bike")

    body = get_ok(client_for(editor), in_book(household, "reports/dashboard/"))

    assert body["month"] == "2026-03" and body["currency"] == "EUR"
    assert body["summary"]["budget_total"] == "300.00"
    assert body["summary"]["budget_remaining"] == "200.00"
    assert body["budgets"]["overall"]["spent"] == "100.00"
    assert [(g["name"], g["saved_amount"]) for g in body["goals"]] == [("New sofa", "200.00")]
    personal = get_ok(client_for(user), f"{API}/reports/dashboard/")
    assert personal["summary"]["budget_total"] is None
    assert [g["name"] for g in personal["goals"]] == ["My own bike"]


def test_a_viewer_reads_reports_and_charts(household, viewer, client_for):
    client = client_for(viewer)
    for name in CHARTS:
        response = client.get(in_book(household, f"reports/charts/{name}"))
        assert response.status_code == 200, (name, response.content)
    # A report takes no writes; a viewer is refused before the method is even looked at.
    assert client.post(in_book(household, "reports/summary/"), {}).status_code == 403


def test_a_stranger_gets_404_for_everything_under_the_book(household, other_user, client_for):
    client = client_for(other_user)
    paths = [path for path, _ in REPORTS] + [f"reports/charts/{name}" for name in CHARTS]
    for path in paths:
        response = client.get(in_book(household, path))
        assert response.status_code == 404, path
        assert b"Groceries" not in response.content
    assert client.get(f"{API}/books/999999/reports/summary/").status_code == 404


def test_report_query_count_does_not_grow_with_the_books_records(
    household, user, editor, client_for
):
    client = client_for(editor)
    counts = {}
    for extra in (1, 10):
        for _ in range(extra):
            category = CategoryFactory(user=user, book=household)
            spend(user, household, "1.00", date(2026, 3, 20), category=category)
            earn(user, household, "1.00", date(2026, 3, 20))
        for path, params in REPORTS:
            with CaptureQueriesContext(connection) as queries:
                get_ok(client, in_book(household, path), params)
            counts.setdefault(path, []).append(len(queries))
    for path, (few, many) in counts.items():
        assert few == many, (path, few, many)


def test_the_monthly_summary_is_of_the_personal_book(household, user, freeze_today):
    user.date_joined = datetime(2026, 1, 1, tzinfo=UTC)
    user.save(update_fields=["date_joined"])
    freeze_today(date(2026, 4, 2))

    send_monthly_summaries()

    note = Notification.objects.get(user=user, dedupe_key="monthly_summary:2026-03")
    assert note.data["expenses"] == "7.00" and note.data["currency"] == "USD"


def test_each_member_gets_the_shared_books_monthly_summary_once(
    household, user, editor, viewer, freeze_today
):
    for member in (user, editor, viewer):
        member.date_joined = datetime(2026, 1, 1, tzinfo=UTC)
        member.save(update_fields=["date_joined"])
    # The book's March runs 03-15 to 04-14; on 04-20 it is the previous budget month.
    freeze_today(date(2026, 4, 20))

    sent = send_monthly_summaries()

    key = f"monthly_summary:book:{household.pk}:2026-03"
    notes = Notification.objects.filter(dedupe_key=key).order_by("user_id")
    assert [n.user_id for n in notes] == sorted([user.pk, editor.pk, viewer.pk])
    for note in notes:
        assert note.title.startswith(f"[{household.name}] ")
        assert note.data["book"] == household.pk
        assert (note.data["currency"], note.data["expenses"], note.data["income"]) == (
            "EUR",
            "100.00",
            "500.00",
        )
    # Each member's personal book has its own summary too (the user's spent 7 USD).
    assert (
        Notification.objects.get(user=user, dedupe_key="monthly_summary:2026-03").data["expenses"]
        == "7.00"
    )
    assert sent == Notification.objects.count()
    assert send_monthly_summaries() == 0


def test_a_book_made_after_the_month_gets_no_summary_for_it(household, freeze_today):
    # On 04-02 the previous budget month of the book ended 03-14, before it was made (03-20).
    freeze_today(date(2026, 4, 2))
    send_monthly_summaries()
    assert not Notification.objects.filter(dedupe_key__contains=f"book:{household.pk}:").exists()
