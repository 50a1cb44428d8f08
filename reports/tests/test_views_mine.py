"""Reports of a shared book as `view=book` (the whole book's spending) or `view=mine`
(the caller's parts of its expenses), and the personal dashboard's `include_shared`
(SPEC §15): figures, unchanged defaults, equal query counts, conversion and refusals."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext

from books.models import Book, Membership, Role
from budgets.models import Budget, Scope
from categories.tests.factories import CategoryFactory
from currencies.models import ExchangeRate
from expenses.models import ExpenseShare
from expenses.services import expense_create
from expenses.tests.factories import ExpenseFactory
from income.tests.factories import IncomeFactory

pytestmark = pytest.mark.django_db

API = "/api/v1"
MARCH = {"start": "2026-03-01", "end": "2026-03-31"}
# Every report and chart that sums expenses, with parameters covering February and March.
REPORTS = [
    ("reports/summary/", MARCH),
    ("summary/", {"month": "2026-03"}),
    ("reports/monthly/", {"year": "2026"}),
    ("reports/trends/", {"month": "2026-03"}),
    ("reports/timeseries/", {"start": "2026-02-01", "end": "2026-03-31", "bucket": "month"}),
    ("reports/timeseries/", {"start": "2026-03-01", "end": "2026-03-31", "kind": "net"}),
    ("reports/dashboard/", {}),
]
CHARTS = [
    ("reports/charts/category-breakdown.svg", MARCH),
    ("reports/charts/monthly.svg", {"year": "2026"}),
    ("reports/charts/timeseries.svg", {**MARCH, "bucket": "week"}),
]


def in_book(book, path: str) -> str:
    return f"{API}/books/{book.pk}/{path}"


def get_ok(client, url: str, params: dict | None = None) -> dict:
    response = client.get(url, params or {})
    assert response.status_code == 200, (url, response.content)
    return response.json()


def split_expense(book, by, amount, day, split, **data):
    return expense_create(
        user=by,
        book=book,
        data={
            "amount": Decimal(amount),
            "date": day,
            "description": data.pop("description", f"expense {amount}"),
            "split": split,
            **data,
        },
    )


def parts(mode, **values):
    """`parts("shares", user=(member, "1"), friend=(member, "3"))` → a split."""
    return {
        "mode": mode,
        "parts": [{"user": m.pk, "value": Decimal(v)} for m, v in values.values()],
    }


@pytest.fixture
def friend(other_user):
    return other_user


@pytest.fixture
def trip(user, friend, shared_book, freeze_today):
    """A EUR book of `user` and `friend` (editor). In March: Food 90 (equal: 45 each),
    Travel 100 (shares 1:3: 25/75), Food 10 (equal: 5/5), Food 40 (exact: 0/40); in
    February 60 (percent 50/50: 30/30). 1000.00 of income in March; an overall budget of
    500 for March; and 7.00 the user spent alone in their personal book."""
    freeze_today(date(2026, 3, 20))
    book = shared_book(editors=[friend], base_currency="EUR", name="Trip")
    food = CategoryFactory(user=user, book=book, name="Food")
    travel = CategoryFactory(user=user, book=book, name="Travel")
    equal = {"mode": "equal", "parts": []}
    split_expense(book, user, "90.00", date(2026, 3, 2), equal, category=food, merchant="Cafe")
    split_expense(
        book,
        friend,
        "100.00",
        date(2026, 3, 10),
        parts("shares", a=(user, "1"), b=(friend, "3")),
        category=travel,
        merchant="Train",
    )
    split_expense(book, friend, "10.00", date(2026, 3, 15), equal, category=food, merchant="cafe")
    split_expense(
        book,
        friend,
        "40.00",
        date(2026, 3, 18),
        parts("exact", a=(user, "0"), b=(friend, "40.00")),
        category=food,
        merchant="Deli",
    )
    split_expense(
        book, user, "60.00", date(2026, 2, 12), parts("percent", a=(user, "50"), b=(friend, "50"))
    )
    IncomeFactory(
        user=friend,
        book=book,
        amount=Decimal("1000.00"),
        currency="EUR",
        base_amount=Decimal("1000.00"),
        date=date(2026, 3, 5),
    )
    Budget.objects.create(
        user=user, book=book, month=date(2026, 3, 1), scope=Scope.OVERALL, amount=500
    )
    personal = user.personal_book
    ExpenseFactory(
        user=user,
        book=personal,
        amount=Decimal("7.00"),
        currency=personal.base_currency,
        base_amount=Decimal("7.00"),
        date=date(2026, 3, 3),
        merchant="Only mine",
    )
    return book


def mine_sum(book, member, start, end) -> Decimal:
    """The test's own oracle: the member's parts dated in [start, end]."""
    total = ExpenseShare.objects.filter(
        book=book, user=member, expense__date__gte=start, expense__date__lte=end
    ).aggregate(total=Sum("base_amount"))["total"]
    return Decimal(total or 0).quantize(Decimal("0.01"))


# --- view=mine figures ------------------------------------------------------------------------


def test_summary_mine_is_the_callers_parts(trip, user, friend, client_for):
    url = in_book(trip, "reports/summary/")
    mine = get_ok(client_for(user), url, {**MARCH, "view": "mine"})
    book = get_ok(client_for(user), url, MARCH)

    assert book["total_expenses"] == "240.00" and book["expense_count"] == 4
    assert (
        mine["total_expenses"]
        == "75.00"
        == str(mine_sum(trip, user, date(2026, 3, 1), date(2026, 3, 31)))
    )
    # The exact split gave the user a part of 0: not one of their expenses.
    assert mine["expense_count"] == 3
    assert [
        (c["category_name"], c["total"], c["count"], c["percent"]) for c in mine["by_category"]
    ] == [
        ("Food", "50.00", 2, "66.67"),
        ("Travel", "25.00", 1, "33.33"),
    ]
    assert [(m["merchant"], m["total"], m["count"]) for m in mine["top_merchants"]] == [
        ("cafe", "50.00", 2),
        ("Train", "25.00", 1),
    ]
    assert mine["average_daily_expense"] == "2.42"  # 75.00 / 31 days
    # Income stays the book's: net and savings rate are the book's income less my parts.
    assert (mine["total_income"], mine["net"], mine["savings_rate"]) == (
        "1000.00",
        "925.00",
        "92.50",
    )
    theirs = get_ok(client_for(friend), url, {**MARCH, "view": "mine"})
    assert theirs["total_expenses"] == "165.00"
    # Every member's parts add up to the book's spending.
    assert Decimal(mine["total_expenses"]) + Decimal(theirs["total_expenses"]) == Decimal("240.00")


def test_month_summary_mine_keeps_the_books_budget(trip, user, client_for):
    url = in_book(trip, "summary/")
    mine = get_ok(client_for(user), url, {"month": "2026-03", "view": "mine"})
    book = get_ok(client_for(user), url, {"month": "2026-03"})

    assert (mine["total_expenses"], book["total_expenses"]) == ("75.00", "240.00")
    for body in (mine, book):
        assert (body["budget_total"], body["budget_remaining"]) == ("500.00", "260.00")


def test_monthly_mine(trip, user, client_for):
    body = get_ok(
        client_for(user), in_book(trip, "reports/monthly/"), {"year": "2026", "view": "mine"}
    )

    months = {m["month"]: (m["income"], m["expenses"], m["net"]) for m in body["months"]}
    assert months["2026-02"] == ("0.00", "30.00", "-30.00")
    assert months["2026-03"] == ("1000.00", "75.00", "925.00")
    assert months["2026-04"] == ("0.00", "0.00", "0.00")
    assert body["totals"] == {"income": "1000.00", "expenses": "105.00", "net": "895.00"}


def test_trends_mine(trip, user, client_for):
    body = get_ok(
        client_for(user), in_book(trip, "reports/trends/"), {"month": "2026-03", "view": "mine"}
    )

    assert (body["current_total"], body["previous_total"], body["delta"]) == (
        "75.00",
        "30.00",
        "45.00",
    )
    assert body["percent_change"] == "150.00"
    assert [(c["category_name"], c["current"], c["previous"]) for c in body["by_category"]] == [
        ("Food", "50.00", "0.00"),
        ("Travel", "25.00", "0.00"),
        ("Uncategorized", "0.00", "30.00"),
    ]


def test_timeseries_mine(trip, user, client_for):
    url = in_book(trip, "reports/timeseries/")
    client = client_for(user)
    months = get_ok(
        client, url, {"start": "2026-02-01", "end": "2026-03-31", "bucket": "month", "view": "mine"}
    )
    assert [(p["period_start"], p["total"], p["count"]) for p in months["points"]] == [
        ("2026-02-01", "30.00", 1),
        ("2026-03-01", "75.00", 3),
    ]
    days = get_ok(client, url, {**MARCH, "view": "mine"})["points"]
    by_day = {p["period_start"]: p["total"] for p in days if p["count"]}
    assert by_day == {"2026-03-02": "45.00", "2026-03-10": "25.00", "2026-03-15": "5.00"}
    net = get_ok(client, url, {**MARCH, "kind": "net", "view": "mine"})["points"]
    assert sum(Decimal(p["total"]) for p in net) == Decimal("925.00")


def test_dashboard_mine(trip, user, client_for):
    url = in_book(trip, "reports/dashboard/")
    mine = get_ok(client_for(user), url, {"view": "mine"})
    book = get_ok(client_for(user), url)

    assert mine["summary"]["total_expenses"] == "75.00"
    assert [(c["category_name"], c["total"]) for c in mine["top_categories"]] == [
        ("Food", "50.00"),
        ("Travel", "25.00"),
    ]
    assert [m["expenses"] for m in mine["last_6_months"]][-2:] == ["30.00", "75.00"]
    # Budgets, goals and the lists of records stay the book's.
    for key in ("budgets", "goals", "recent_transactions", "upcoming_bills"):
        assert mine[key] == book[key], key
    assert mine["budgets"]["overall"]["spent"] == "240.00"
    assert "shared" not in mine


def test_each_days_odd_cents_are_the_callers_parts(trip, user, friend, client_for):
    """Odd cents go by the split rule; view=mine adds exactly the stored parts."""
    for amount in ("0.01", "10.01", "33.33", "0.05"):
        split_expense(trip, friend, amount, date(2026, 3, 19), {"mode": "equal", "parts": []})
    start, end = date(2026, 3, 1), date(2026, 3, 31)
    for member in (user, friend):
        body = get_ok(
            client_for(member), in_book(trip, "reports/summary/"), {**MARCH, "view": "mine"}
        )
        assert Decimal(body["total_expenses"]) == mine_sum(trip, member, start, end)
    book = get_ok(client_for(user), in_book(trip, "reports/summary/"), MARCH)
    assert mine_sum(trip, user, start, end) + mine_sum(trip, friend, start, end) == Decimal(
        book["total_expenses"]
    )


def test_a_viewer_without_parts_sees_zeros(trip, django_user_model, client_for):
    watcher = django_user_model.objects.create_user(username="watcher", password="x" * 12)
    Membership.objects.create(book=trip, user=watcher, role=Role.VIEWER)
    body = get_ok(client_for(watcher), in_book(trip, "reports/summary/"), {**MARCH, "view": "mine"})
    assert (body["total_expenses"], body["expense_count"], body["by_category"]) == ("0.00", 0, [])


# --- view=book unchanged, personal books, query counts -------------------------------------------


@pytest.mark.parametrize(("path", "params"), REPORTS + CHARTS)
def test_view_book_is_the_default(trip, user, client_for, path, params):
    client = client_for(user)
    default = client.get(in_book(trip, path), params)
    explicit = client.get(in_book(trip, path), {**params, "view": "book"})
    assert default.status_code == explicit.status_code == 200
    assert default.content == explicit.content


@pytest.mark.parametrize(("path", "params"), CHARTS)
def test_charts_draw_the_callers_parts(trip, user, client_for, path, params):
    client = client_for(user)
    book = client.get(in_book(trip, path), params)
    mine = client.get(in_book(trip, path), {**params, "view": "mine"})
    assert book.status_code == mine.status_code == 200
    assert mine["Content-Type"] == "image/svg+xml"
    assert book.content != mine.content


@pytest.mark.parametrize(("path", "params"), REPORTS)
def test_view_mine_of_a_personal_book_is_the_book(trip, user, client_for, path, params):
    client = client_for(user)
    book = client.get(f"{API}/{path}", params)
    mine = client.get(f"{API}/{path}", {**params, "view": "mine"})
    assert book.status_code == mine.status_code == 200
    assert book.content == mine.content


@pytest.mark.parametrize(("path", "params"), REPORTS + CHARTS)
def test_view_mine_costs_the_same_queries_as_view_book(trip, user, client_for, path, params):
    client = client_for(user)
    client.get(in_book(trip, path), params)  # warm caches (rates, content types)
    counts = []
    for view in ("book", "mine"):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(in_book(trip, path), {**params, "view": view})
        assert response.status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1], (path, counts)


def test_view_mine_query_count_does_not_grow_with_records(trip, user, friend, client_for):
    client = client_for(user)
    counts = []
    for extra in (1, 15):
        for i in range(extra):
            split_expense(
                trip, friend, "3.00", date(2026, 3, 1 + i), {"mode": "equal", "parts": []}
            )
        with CaptureQueriesContext(connection) as queries:
            get_ok(client, in_book(trip, "reports/dashboard/"), {"view": "mine"})
        counts.append(len(queries))
    assert counts[0] == counts[1]


# --- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "params"), [*REPORTS, *CHARTS, ("reports/charts/budget-status.png", {})]
)
def test_an_unknown_view_is_a_400_naming_the_views(trip, user, client_for, path, params):
    response = client_for(user).get(in_book(trip, path), {**params, "view": "theirs"})
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/json")
    message = response.json()["view"][0]
    assert "theirs" in message and "book" in message and "mine" in message


def test_include_shared_on_a_shared_book_is_a_400(trip, user, client_for):
    response = client_for(user).get(in_book(trip, "reports/dashboard/"), {"include_shared": "true"})
    assert response.status_code == 400
    assert "personal" in response.json()["include_shared"][0]


@pytest.mark.parametrize("value", ["maybe", "2", "yes please"])
def test_a_bad_include_shared_is_a_400(trip, user, client_for, value):
    response = client_for(user).get(f"{API}/reports/dashboard/", {"include_shared": value})
    assert response.status_code == 400
    assert "include_shared" in response.json()


# --- include_shared ------------------------------------------------------------------------------


@pytest.fixture
def abroad(trip, user, friend, shared_book):
    """The user's personal book is in USD. Besides the EUR trip: a USD flat (12.00 of
    the user's on 03-04, and 50.00 in April, outside the month) and a GBP club (no GBP
    rate anywhere). EUR→USD is 1.10 from 03-01 and 1.20 from 03-12."""
    Book.objects.filter(pk=user.personal_book.pk).update(base_currency="USD")
    ExchangeRate.objects.create(base="EUR", quote="USD", date=date(2026, 3, 1), rate="1.10")
    ExchangeRate.objects.create(base="EUR", quote="USD", date=date(2026, 3, 12), rate="1.20")
    flat = shared_book(editors=[friend], base_currency="USD", name="Flat")
    split_expense(
        flat,
        friend,
        "20.00",
        date(2026, 3, 4),
        parts("exact", a=(user, "12.00"), b=(friend, "8.00")),
    )
    split_expense(flat, friend, "100.00", date(2026, 4, 1), {"mode": "equal", "parts": []})
    club = shared_book(editors=[friend], base_currency="GBP", name="Club")
    split_expense(club, friend, "9.00", date(2026, 3, 6), {"mode": "equal", "parts": []})
    return {"trip": trip, "flat": flat, "club": club}


def test_include_shared_converts_each_days_parts(abroad, user, client_for):
    body = get_ok(client_for(user), f"{API}/reports/dashboard/", {"include_shared": "true"})

    shared = body["shared"]
    assert body["currency"] == "USD"
    assert (shared["start"], shared["end"]) == ("2026-03-01", "2026-03-31")
    books = {b["name"]: b for b in shared["books"]}
    assert [b["name"] for b in shared["books"]] == ["Club", "Flat", "Trip"]
    trip = books["Trip"]
    # 45.00 on 03-02 and 25.00 on 03-10 at 1.10, 5.00 on 03-15 at 1.20.
    assert (trip["currency"], trip["share"], trip["share_in_base"]) == ("EUR", "75.00", "83.00")
    assert trip["book"] == abroad["trip"].pk and trip["unconverted"] is None
    assert (books["Flat"]["share"], books["Flat"]["share_in_base"]) == ("12.00", "12.00")
    club = books["Club"]
    assert (club["currency"], club["share"], club["share_in_base"]) == ("GBP", "4.50", None)
    assert "GBP->USD" in club["unconverted"] and "2026-03-06" in club["unconverted"]
    assert shared["total"] == "95.00" and shared["all_converted"] is False
    # The personal book's own figures are unchanged; the combined figure sits beside them.
    assert body["summary"]["total_expenses"] == "7.00"
    assert shared["total_expenses_with_shared"] == "102.00"


def test_include_shared_all_converted(abroad, user, client_for):
    ExchangeRate.objects.create(base="EUR", quote="GBP", date=date(2026, 1, 1), rate="0.90")
    body = get_ok(client_for(user), f"{API}/reports/dashboard/", {"include_shared": "1"})

    club = next(b for b in body["shared"]["books"] if b["name"] == "Club")
    # Through EUR: 4.50 GBP / 0.90 * 1.10 = 5.50 USD.
    assert (club["share_in_base"], club["unconverted"]) == ("5.50", None)
    assert body["shared"]["total"] == "100.50" and body["shared"]["all_converted"] is True


def test_include_shared_false_or_absent_changes_nothing(abroad, user, client_for):
    client = client_for(user)
    plain = client.get(f"{API}/reports/dashboard/")
    assert "shared" not in plain.json()
    assert (
        client.get(f"{API}/reports/dashboard/", {"include_shared": "false"}).content
        == plain.content
    )


def test_include_shared_counts_only_the_callers_current_books(abroad, user, friend, client_for):
    body = get_ok(client_for(friend), f"{API}/reports/dashboard/", {"include_shared": "true"})
    books = {b["name"]: b["share"] for b in body["shared"]["books"]}
    assert books == {"Club": "4.50", "Flat": "8.00", "Trip": "165.00"}

    Membership.objects.filter(book=abroad["club"], user=user).delete()
    body = get_ok(client_for(user), f"{API}/reports/dashboard/", {"include_shared": "true"})
    assert [b["name"] for b in body["shared"]["books"]] == ["Flat", "Trip"]
    assert body["shared"]["all_converted"] is True and body["shared"]["total"] == "95.00"


def test_include_shared_queries_do_not_grow_with_shares(abroad, user, friend, client_for):
    client = client_for(user)
    counts = []
    for extra in (1, 12):
        for i in range(extra):
            split_expense(
                abroad["trip"], friend, "2.00", date(2026, 3, 1 + i), {"mode": "equal", "parts": []}
            )
        with CaptureQueriesContext(connection) as queries:
            get_ok(client, f"{API}/reports/dashboard/", {"include_shared": "true"})
        counts.append(len(queries))
    assert counts[0] == counts[1]
