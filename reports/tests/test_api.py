"""Report endpoints (SPEC §10) on hand-picked edge cases: zero-filled and Monday-based
buckets, budget months starting on the 25th, percents that close at 100, null changes,
period shortcuts, bad parameters (400 naming the parameter) and two users whose data
interleave without ever leaking into each other's reports."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from budgets.models import Budget, Scope
from categories.models import Category, Kind
from categories.tests.factories import CategoryFactory
from expenses.models import Expense

pytestmark = pytest.mark.django_db

API = "/api/v1"
SUMMARY = f"{API}/reports/summary/"
MONTH_SUMMARY = f"{API}/summary/"
MONTHLY = f"{API}/reports/monthly/"
TRENDS = f"{API}/reports/trends/"
TIMESERIES = f"{API}/reports/timeseries/"
DASHBOARD = f"{API}/reports/dashboard/"
ALL_URLS = [SUMMARY, MONTH_SUMMARY, MONTHLY, TRENDS, TIMESERIES, DASHBOARD]


def get_ok(client, url, **params):
    response = client.get(url, params)
    assert response.status_code == 200, response.content
    return response.json()


def points(body):
    return [(p["period_start"], p["total"], p["count"]) for p in body["points"]]


def food() -> Category:
    return Category.objects.get(user=None, kind=Kind.EXPENSE, name="Food")


# --- auth ------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ALL_URLS)
def test_reports_need_a_valid_token(api_client, url):
    response = api_client.get(url)
    assert response.status_code == 401
    assert response["Content-Type"].startswith("application/json")
    api_client.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
    assert api_client.get(url).status_code == 401


# --- zero-filled buckets and weeks from Monday ---------------------------------------------


@pytest.mark.parametrize("kind", ["expense", "income", "net"])
def test_empty_range_is_zero_filled_for_every_bucket(auth_client, kind):
    range_ = {"start": "2026-02-26", "end": "2026-03-03", "kind": kind}
    day = get_ok(auth_client, TIMESERIES, bucket="day", **range_)
    assert day["bucket"] == "day" and day["kind"] == kind and day["currency"] == "USD"
    assert points(day) == [
        (d, "0.00", 0)
        for d in [
            "2026-02-26",
            "2026-02-27",
            "2026-02-28",
            "2026-03-01",
            "2026-03-02",
            "2026-03-03",
        ]
    ]
    week = get_ok(auth_client, TIMESERIES, bucket="week", **range_)
    assert points(week) == [("2026-02-23", "0.00", 0), ("2026-03-02", "0.00", 0)]
    month = get_ok(auth_client, TIMESERIES, bucket="month", **range_)
    assert points(month) == [("2026-02-01", "0.00", 0), ("2026-03-01", "0.00", 0)]


def test_week_buckets_start_on_monday_and_exclude_days_outside_the_range(auth_client, user, spend):
    # 2026-03-04 is a Wednesday: its bucket starts on Monday 2026-03-02, which is outside.
    spend(user, "7.00", date(2026, 3, 2))
    spend(user, "1.00", date(2026, 3, 4))
    spend(user, "2.00", date(2026, 3, 8))  # Sunday: same week
    spend(user, "4.00", date(2026, 3, 9))  # Monday: next week
    spend(user, "8.00", date(2026, 3, 16))  # the last day of the range, a Monday
    spend(user, "16.00", date(2026, 3, 17))  # after the range
    body = get_ok(auth_client, TIMESERIES, start="2026-03-04", end="2026-03-16", bucket="week")
    assert points(body) == [
        ("2026-03-02", "3.00", 2),
        ("2026-03-09", "4.00", 1),
        ("2026-03-16", "8.00", 1),
    ]
    assert all(date.fromisoformat(p["period_start"]).weekday() == 0 for p in body["points"])


def test_week_buckets_across_new_year(auth_client, user, spend, earn):
    spend(user, "9.00", date(2025, 12, 29))  # Monday before a Wednesday start
    spend(user, "3.00", date(2026, 1, 1))
    spend(user, "2.00", date(2026, 1, 4))
    earn(user, "10.00", date(2025, 12, 31))
    earn(user, "1.00", date(2026, 1, 5))
    range_ = {"start": "2025-12-31", "end": "2026-01-05", "bucket": "week"}
    assert points(get_ok(auth_client, TIMESERIES, kind="expense", **range_)) == [
        ("2025-12-29", "5.00", 2),
        ("2026-01-05", "0.00", 0),
    ]
    assert points(get_ok(auth_client, TIMESERIES, kind="net", **range_)) == [
        ("2025-12-29", "5.00", 3),
        ("2026-01-05", "1.00", 1),
    ]


# --- budget months starting on the 25th ----------------------------------------------------------


@pytest.fixture
def payday_user(user, spend, earn):
    """Budget months from the 25th; one record on each side of every edge used below."""
    user.month_start_day = 25
    user.save(update_fields=["month_start_day"])
    spend(user, "1.00", date(2026, 2, 26))  # budget month 2026-02
    spend(user, "24.00", date(2026, 3, 24))  # budget month 2026-02
    spend(user, "25.00", date(2026, 3, 25))  # budget month 2026-03
    earn(user, "100.00", date(2026, 1, 24))  # budget month 2025-12
    earn(user, "200.00", date(2026, 1, 25))  # budget month 2026-01
    return user


def test_monthly_uses_budget_months(auth_client, payday_user):
    body = get_ok(auth_client, MONTHLY, year=2026)
    months = body["months"]
    assert [m["month"] for m in months] == [f"2026-{m:02d}" for m in range(1, 13)]
    assert months[0] == {
        "month": "2026-01",
        "income": "200.00",
        "expenses": "0.00",
        "net": "200.00",
    }
    assert months[1] == {"month": "2026-02", "income": "0.00", "expenses": "25.00", "net": "-25.00"}
    assert months[2] == {"month": "2026-03", "income": "0.00", "expenses": "25.00", "net": "-25.00"}
    assert all(m["expenses"] == m["income"] == "0.00" for m in months[3:])
    # Budget year 2026 runs 2026-01-25 .. 2027-01-24: the income of the 24th is 2025's.
    assert body["totals"] == {"income": "200.00", "expenses": "50.00", "net": "150.00"}
    assert get_ok(auth_client, MONTHLY, year=2025)["months"][11]["income"] == "100.00"


def test_trends_use_budget_months(auth_client, payday_user):
    body = get_ok(auth_client, TRENDS, month="2026-03")
    assert body["month"] == "2026-03" and body["previous_month"] == "2026-02"
    assert (body["current_total"], body["previous_total"], body["delta"]) == (
        "25.00",
        "25.00",
        "0.00",
    )
    assert body["percent_change"] == "0.00"
    assert body["by_category"] == [
        {
            "category": None,
            "category_name": "Uncategorized",
            "current": "25.00",
            "previous": "25.00",
            "delta": "0.00",
            "percent_change": "0.00",
        }
    ]


def test_timeseries_month_buckets_are_budget_months(auth_client, payday_user):
    body = get_ok(auth_client, TIMESERIES, start="2026-03-01", end="2026-04-30", bucket="month")
    # The 2026-02-26 expense is in the first bucket's budget month but before `start`.
    assert points(body) == [
        ("2026-02-25", "24.00", 1),
        ("2026-03-25", "25.00", 1),
        ("2026-04-25", "0.00", 0),
    ]
    income = get_ok(
        auth_client,
        TIMESERIES,
        start="2026-01-01",
        end="2026-01-31",
        bucket="month",
        kind="income",
    )
    assert points(income) == [("2025-12-25", "100.00", 1), ("2026-01-25", "200.00", 1)]


def test_month_summary_uses_budget_months(auth_client, payday_user):
    march = get_ok(auth_client, MONTH_SUMMARY, month="2026-03")
    assert (march["month"], march["start"], march["end"]) == ("2026-03", "2026-03-25", "2026-04-24")
    assert (march["total_expenses"], march["expense_count"]) == ("25.00", 1)
    assert march["budget_total"] is None and march["budget_remaining"] is None
    february = get_ok(auth_client, MONTH_SUMMARY, month="2026-02")
    assert (february["start"], february["end"]) == ("2026-02-25", "2026-03-24")
    assert (february["total_expenses"], february["expense_count"]) == ("25.00", 2)


def test_month_summary_budget_totals(auth_client, user, spend):
    spend(user, "30.00", date(2026, 3, 5))
    empty = get_ok(auth_client, MONTH_SUMMARY, month="2026-03")
    assert empty["budget_total"] is None and empty["budget_remaining"] is None
    Budget.objects.create(
        user=user, month=date(2026, 3, 1), scope=Scope.OVERALL, amount=Decimal("100.00")
    )
    body = get_ok(auth_client, MONTH_SUMMARY, month="2026-03")
    assert (body["budget_total"], body["budget_remaining"]) == ("100.00", "70.00")


def test_month_starting_on_the_28th_in_a_leap_february(auth_client, user, spend):
    user.month_start_day = 28
    user.save(update_fields=["month_start_day"])
    for day, amount in [("2024-02-27", "1.00"), ("2024-02-28", "2.00"), ("2024-02-29", "4.00")]:
        spend(user, amount, date.fromisoformat(day))
    spend(user, "8.00", date(2024, 3, 27))
    spend(user, "16.00", date(2024, 3, 28))
    body = get_ok(auth_client, TIMESERIES, start="2024-02-01", end="2024-03-31", bucket="month")
    assert points(body) == [
        ("2024-01-28", "1.00", 1),
        ("2024-02-28", "14.00", 3),
        ("2024-03-28", "16.00", 1),
    ]
    february = get_ok(auth_client, MONTH_SUMMARY, month="2024-02")
    assert (february["start"], february["end"], february["total_expenses"]) == (
        "2024-02-28",
        "2024-03-27",
        "14.00",
    )
    assert get_ok(auth_client, MONTHLY, year=2024)["months"][1]["expenses"] == "14.00"


# --- percents, percent changes, savings rate, averages -------------------------------------


def test_three_equal_categories_add_up_to_exactly_100(auth_client, user, spend):
    for name in ("Alpha", "Beta", "Gamma"):
        spend(user, "10.00", date(2026, 3, 5), category=CategoryFactory(user=user, name=name))
    body = get_ok(auth_client, SUMMARY, start="2026-03-01", end="2026-03-31")
    percents = [row["percent"] for row in body["by_category"]]
    assert sorted(percents) == ["33.33", "33.33", "33.34"]
    assert sum(Decimal(p) for p in percents) == Decimal("100.00")
    assert [row["total"] for row in body["by_category"]] == ["10.00"] * 3


def test_category_breakdown_order_percents_and_uncategorised(auth_client, user, spend):
    rent = CategoryFactory(user=user, name="Rent")
    spend(user, "20.00", date(2026, 3, 1), category=rent)
    spend(user, "10.00", date(2026, 3, 2), category=food())
    spend(user, "2.50", date(2026, 3, 3))
    spend(user, "2.50", date(2026, 3, 4))
    body = get_ok(auth_client, SUMMARY, start="2026-03-01", end="2026-03-31")
    assert [tuple(row.values()) for row in body["by_category"]] == [
        (rent.id, "Rent", "20.00", "57.14", 1),
        (food().id, "Food", "10.00", "28.57", 1),
        (None, "Uncategorized", "5.00", "14.29", 2),
    ]
    assert list(body["by_category"][0]) == [
        "category",
        "category_name",
        "total",
        "percent",
        "count",
    ]


def test_percent_change_is_null_when_the_base_is_zero(auth_client, user, spend):
    new, steady, gone = (CategoryFactory(user=user, name=n) for n in ("New", "Steady", "Gone"))
    spend(user, "75.00", date(2026, 3, 10), category=steady)
    spend(user, "50.00", date(2026, 2, 10), category=steady)
    spend(user, "40.00", date(2026, 3, 11), category=new)
    spend(user, "30.00", date(2026, 2, 11), category=gone)
    body = get_ok(auth_client, TRENDS, month="2026-03")
    rows = {row["category_name"]: row for row in body["by_category"]}
    assert rows["New"]["previous"] == "0.00" and rows["New"]["percent_change"] is None
    assert rows["Steady"]["delta"] == "25.00" and rows["Steady"]["percent_change"] == "50.00"
    assert rows["Gone"]["current"] == "0.00" and rows["Gone"]["percent_change"] == "-100.00"
    assert (body["current_total"], body["previous_total"], body["percent_change"]) == (
        "115.00",
        "80.00",
        "43.75",
    )
    first_month = get_ok(auth_client, TRENDS, month="2026-02")
    assert first_month["previous_total"] == "0.00" and first_month["percent_change"] is None
    assert all(row["percent_change"] is None for row in first_month["by_category"])


def test_savings_rate(auth_client, user, spend, earn):
    spend(user, "50.00", date(2026, 3, 1))
    march = {"start": "2026-03-01", "end": "2026-03-31"}
    body = get_ok(auth_client, SUMMARY, **march)
    assert body["total_income"] == "0.00" and body["savings_rate"] is None
    assert body["net"] == "-50.00"
    earn(user, "200.00", date(2026, 3, 2))
    assert get_ok(auth_client, SUMMARY, **march)["savings_rate"] == "75.00"
    spend(user, "250.00", date(2026, 3, 3))
    body = get_ok(auth_client, SUMMARY, **march)
    assert (body["net"], body["savings_rate"]) == ("-100.00", "-50.00")


def test_average_daily_expense_rounds_half_up(auth_client, user, spend):
    spend(user, "0.05", date(2026, 3, 1))
    body = get_ok(auth_client, SUMMARY, start="2026-03-01", end="2026-03-02")
    assert body["average_daily_expense"] == "0.03"  # 0.025: half up, not to even
    empty = get_ok(auth_client, SUMMARY, start="2026-04-01", end="2026-04-01")
    assert empty["average_daily_expense"] == "0.00" and empty["by_category"] == []


def test_top_merchants_group_case_insensitively_skip_blank_and_keep_ten(auth_client, user, spend):
    spend(user, "5.00", date(2026, 3, 1), merchant="Cafe")
    spend(user, "6.50", date(2026, 3, 2), merchant="cafe")
    spend(user, "999.00", date(2026, 3, 2), merchant="")
    for i in range(11):
        spend(user, f"{i + 1}.00", date(2026, 3, 3), merchant=f"Shop {i:02d}")
    merchants = get_ok(auth_client, SUMMARY, start="2026-03-01", end="2026-03-31")["top_merchants"]
    assert len(merchants) == 10
    cafe, shop = merchants[0], merchants[1]
    assert (cafe["merchant"].lower(), cafe["total"], cafe["count"]) == ("cafe", "11.50", 2)
    assert cafe["merchant"] in {"Cafe", "cafe"}  # one of the spellings used
    assert (shop["merchant"], shop["total"], shop["count"]) == ("Shop 10", "11.00", 1)
    totals = [Decimal(m["total"]) for m in merchants]
    assert totals == sorted(totals, reverse=True)
    assert "" not in {m["merchant"] for m in merchants}
    assert {"shop 00", "shop 01", "shop 02"} & {m["merchant"].lower() for m in merchants} == {
        "shop 02"
    }


# --- period shortcuts and "today" -------------------------------------------------------------


@pytest.mark.parametrize(
    ("period", "start", "end"),
    [
        ("this_month", "2025-12-25", "2026-01-24"),
        ("last_month", "2025-11-25", "2025-12-24"),
        ("this_year", "2026-01-01", "2026-12-31"),
        ("last_7_days", "2026-01-04", "2026-01-10"),
        ("last_30_days", "2025-12-12", "2026-01-10"),
        ("last_365_days", "2025-01-11", "2026-01-10"),
    ],
)
def test_period_shortcuts_for_a_month_starting_on_the_25th(
    auth_client, user, spend, freeze_today, period, start, end
):
    user.month_start_day = 25
    user.save(update_fields=["month_start_day"])
    freeze_today(date(2026, 1, 10))
    days = [
        date.fromisoformat(d)
        for d in (
            "2025-01-10", "2025-01-11", "2025-11-24", "2025-11-25", "2025-12-11", "2025-12-12",
            "2025-12-24", "2025-12-25", "2026-01-03", "2026-01-04", "2026-01-10", "2026-01-11",
            "2026-01-24", "2026-01-25", "2026-12-31", "2027-01-01",
        )
    ]  # fmt: skip
    for i, day in enumerate(days):
        spend(user, f"{2**i}.00", day)
    body = get_ok(auth_client, SUMMARY, period=period)
    assert (body["start"], body["end"]) == (start, end)
    inside = [i for i, day in enumerate(days) if start <= day.isoformat() <= end]
    assert body["expense_count"] == len(inside)
    assert body["total_expenses"] == f"{sum(2**i for i in inside)}.00"


def test_default_ranges_follow_today(auth_client, user, spend, freeze_today):
    user.month_start_day = 25
    user.save(update_fields=["month_start_day"])
    freeze_today(date(2026, 1, 10))
    spend(user, "3.00", date(2025, 12, 25))
    summary = get_ok(auth_client, SUMMARY)
    assert (summary["start"], summary["end"]) == ("2025-12-25", "2026-01-24")
    assert summary["total_expenses"] == "3.00"
    month = get_ok(auth_client, MONTH_SUMMARY)
    assert (month["month"], month["start"], month["total_expenses"]) == (
        "2025-12",
        "2025-12-25",
        "3.00",
    )
    assert get_ok(auth_client, TRENDS)["month"] == "2025-12"
    assert get_ok(auth_client, MONTHLY)["year"] == 2026
    series = get_ok(auth_client, TIMESERIES)
    assert (series["start"], series["end"], len(series["points"])) == (
        "2025-12-12",
        "2026-01-10",
        30,
    )
    dashboard = get_ok(auth_client, DASHBOARD)
    assert dashboard["month"] == "2025-12" and dashboard["summary"] == month
    assert [m["month"] for m in dashboard["last_6_months"]] == [
        "2025-07",
        "2025-08",
        "2025-09",
        "2025-10",
        "2025-11",
        "2025-12",
    ]
    assert dashboard["last_6_months"][-1]["expenses"] == "3.00"


def test_today_is_the_users_local_date(auth_client, user, freeze_today):
    user.timezone = "Pacific/Kiritimati"  # UTC+14: noon UTC on Jan 31 is Feb 1 there
    user.save(update_fields=["timezone"])
    freeze_today(date(2026, 1, 31))
    body = get_ok(auth_client, SUMMARY, period="this_month")
    assert (body["start"], body["end"]) == ("2026-02-01", "2026-02-28")
    assert get_ok(auth_client, DASHBOARD)["month"] == "2026-02"


# --- bad parameters ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "params", "field"),
    [
        (TIMESERIES, {"bucket": "hour"}, "bucket"),
        (TIMESERIES, {"kind": "x"}, "kind"),
        (TIMESERIES, {"start": "2026-13-01", "end": "2026-12-31"}, "start"),
        (TIMESERIES, {"start": "2026-03-10", "end": "2026-03-09"}, "end"),
        (TIMESERIES, {"start": "2026-03-01"}, "end"),
        (TIMESERIES, {"start": "1900-01-01", "end": "2026-01-01", "bucket": "month"}, "end"),
        (SUMMARY, {"start": "2026-13-01", "end": "2026-12-31"}, "start"),
        (SUMMARY, {"start": "2026-02-30", "end": "2026-03-31"}, "start"),
        (SUMMARY, {"start": "2026-03-01", "end": "31/03/2026"}, "end"),
        (SUMMARY, {"start": "2026-03-10", "end": "2026-03-09"}, "end"),
        (SUMMARY, {"start": "2026-03-01"}, "end"),
        (SUMMARY, {"end": "2026-03-01"}, "start"),
        (SUMMARY, {"period": "yesterday"}, "period"),
        (SUMMARY, {"period": "this_month", "start": "2026-03-01", "end": "2026-03-31"}, "period"),
        (MONTH_SUMMARY, {"month": "2026-13"}, "month"),
        (MONTH_SUMMARY, {"month": "March"}, "month"),
        (TRENDS, {"month": "2026-13"}, "month"),
        (TRENDS, {"month": "2026-02-30"}, "month"),
        (MONTHLY, {"year": "abc"}, "year"),
        (MONTHLY, {"year": "0"}, "year"),
        (MONTHLY, {"year": "-2026"}, "year"),
    ],
)
def test_bad_parameters_are_400_naming_the_parameter(auth_client, url, params, field):
    response = auth_client.get(url, params)
    assert response.status_code == 400, response.content
    body = response.json()
    assert field in body, body
    assert isinstance(body[field], list) and body[field]


def test_at_most_5000_points(auth_client):
    start = date(2000, 1, 1)
    ok = get_ok(auth_client, TIMESERIES, start=start, end=start + timedelta(days=4999))
    assert len(ok["points"]) == 5000
    assert ok["points"][-1]["period_start"] == (start + timedelta(days=4999)).isoformat()
    too_many = auth_client.get(TIMESERIES, {"start": start, "end": start + timedelta(days=5000)})
    assert too_many.status_code == 400
    assert "bucket" in too_many.json()
    # 100 years is a valid range, but not in weeks (5218 of them); in months it is fine.
    century = {"start": "1900-01-01", "end": "1999-12-31"}
    weeks = auth_client.get(TIMESERIES, {**century, "bucket": "week"})
    assert weeks.status_code == 400 and "bucket" in weeks.json()
    assert len(get_ok(auth_client, TIMESERIES, bucket="month", **century)["points"]) == 1200


@pytest.mark.parametrize(
    ("url", "params", "start_day"),
    [
        (MONTHLY, {"year": "9999"}, 1),
        (MONTHLY, {"year": "9999"}, 25),
        (MONTH_SUMMARY, {"month": "9999-12"}, 1),
        (MONTH_SUMMARY, {"month": "9999-12"}, 28),
        (TRENDS, {"month": "9999-12"}, 1),
        (TRENDS, {"month": "9999-12"}, 25),
        (TIMESERIES, {"start": "9999-01-01", "end": "9999-12-31", "bucket": "month"}, 1),
        (TIMESERIES, {"start": "9999-01-01", "end": "9999-12-31", "bucket": "month"}, 25),
        (TIMESERIES, {"start": "9999-12-01", "end": "9999-12-31", "bucket": "week"}, 1),
        (MONTHLY, {"year": "1"}, 1),
        (MONTHLY, {"year": "1"}, 25),
        (SUMMARY, {"start": "0001-01-01", "end": "0001-12-31"}, 25),
        (TIMESERIES, {"start": "0001-01-01", "end": "0001-01-31", "bucket": "week"}, 1),
        (TIMESERIES, {"start": "0001-01-01", "end": "0001-01-31", "bucket": "month"}, 1),
        (TRENDS, {"month": "0001-01"}, 1),
        (TIMESERIES, {"start": "0001-01-01", "end": "0001-01-31", "bucket": "month"}, 25),
    ],
)
def test_calendar_limits_answer_200_or_400_never_500(client_for, user, url, params, start_day):
    """Dates at the ends of the calendar (years 1 and 9999, where "the month before" or "the
    day after" may not exist) give an answer or a 400 naming the parameter, never a 500."""
    user.month_start_day = start_day
    user.save(update_fields=["month_start_day"])
    client = client_for(user)
    client.raise_request_exception = False
    response = client.get(url, params)
    assert response.status_code in (200, 400), response.content
    if response.status_code == 400:
        assert set(response.json()) & set(params), response.json()


# --- two users, interleaved -------------------------------------------------------------------


@pytest.fixture
def interleaved(user, other_user, spend, earn):
    """Two users with records on the same days, in a shared system category, with the same
    merchant spelled alike; B also has a category and a merchant that only B uses."""
    rent = CategoryFactory(user=user, name="Rent A")
    secret = CategoryFactory(user=other_user, name="B secret")
    a = [
        spend(user, "10.00", date(2026, 3, 1), category=food(), merchant="Cafe"),
        spend(user, "20.00", date(2026, 3, 2), category=rent),
        spend(user, "5.00", date(2026, 3, 3), merchant="cafe"),
        earn(user, "100.00", date(2026, 3, 2)),
    ]
    b = [
        spend(other_user, "1000.00", date(2026, 3, 1), category=food(), merchant="B Shop"),
        spend(other_user, "2000.00", date(2026, 3, 2), category=secret, merchant="Cafe"),
        spend(other_user, "3000.00", date(2026, 3, 3)),
        earn(other_user, "5000.00", date(2026, 3, 3)),
    ]
    return {"rent": rent, "secret": secret, "a": a, "b": b}


def test_reports_never_include_another_users_records(
    auth_client, other_client, interleaved, freeze_today
):
    freeze_today(date(2026, 3, 15))
    march = {"start": "2026-03-01", "end": "2026-03-31"}

    a = get_ok(auth_client, SUMMARY, **march)
    assert (a["total_expenses"], a["total_income"], a["net"], a["savings_rate"]) == (
        "35.00",
        "100.00",
        "65.00",
        "65.00",
    )
    assert (a["expense_count"], a["income_count"]) == (3, 1)
    assert [(c["category_name"], c["total"], c["percent"]) for c in a["by_category"]] == [
        ("Rent A", "20.00", "57.14"),
        ("Food", "10.00", "28.57"),
        ("Uncategorized", "5.00", "14.29"),
    ]
    assert [(m["merchant"].lower(), m["total"], m["count"]) for m in a["top_merchants"]] == [
        ("cafe", "15.00", 2)
    ]

    b = get_ok(other_client, SUMMARY, **march)
    assert (b["total_expenses"], b["total_income"], b["net"], b["savings_rate"]) == (
        "6000.00",
        "5000.00",
        "-1000.00",
        "-20.00",
    )
    assert [(c["category_name"], c["total"], c["percent"]) for c in b["by_category"]] == [
        ("Uncategorized", "3000.00", "50.00"),
        ("B secret", "2000.00", "33.33"),
        ("Food", "1000.00", "16.67"),
    ]
    assert [(m["merchant"].lower(), m["total"]) for m in b["top_merchants"]] == [
        ("cafe", "2000.00"),
        ("b shop", "1000.00"),
    ]

    a_month = get_ok(auth_client, MONTH_SUMMARY, month="2026-03")
    assert {k: a_month[k] for k in a} == a
    assert get_ok(auth_client, MONTHLY, year=2026)["totals"] == {
        "income": "100.00",
        "expenses": "35.00",
        "net": "65.00",
    }
    assert get_ok(other_client, MONTHLY, year=2026)["months"][2] == {
        "month": "2026-03",
        "income": "5000.00",
        "expenses": "6000.00",
        "net": "-1000.00",
    }
    a_trends = get_ok(auth_client, TRENDS, month="2026-03")
    assert a_trends["current_total"] == "35.00"
    assert {row["category_name"]: row["current"] for row in a_trends["by_category"]} == {
        "Rent A": "20.00",
        "Food": "10.00",
        "Uncategorized": "5.00",
    }
    assert get_ok(other_client, TRENDS, month="2026-03")["current_total"] == "6000.00"

    days = {**march, "end": "2026-03-03", "kind": "net"}
    assert points(get_ok(auth_client, TIMESERIES, **days)) == [
        ("2026-03-01", "-10.00", 1),
        ("2026-03-02", "80.00", 2),
        ("2026-03-03", "-5.00", 1),
    ]
    assert points(get_ok(other_client, TIMESERIES, **days)) == [
        ("2026-03-01", "-1000.00", 1),
        ("2026-03-02", "-2000.00", 1),
        ("2026-03-03", "2000.00", 2),
    ]

    for client, own in ((auth_client, "a"), (other_client, "b")):
        dashboard = get_ok(client, DASHBOARD)
        recent = {(row["type"], row["id"]) for row in dashboard["recent_transactions"]}
        assert recent == {
            ("expense" if isinstance(row, Expense) else "income", row.id)
            for row in interleaved[own]
        }
        assert dashboard["top_categories"] == dashboard["summary"]["by_category"][:5]
        names = {c["category_name"] for c in dashboard["top_categories"]}
        assert ("B secret" in names) == (own == "b") and ("Rent A" in names) == (own == "a")
        if own == "a":
            assert dashboard["summary"] == a_month
