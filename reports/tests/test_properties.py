"""Every report figure (SPEC §10) against a plain-Python calculation over the same records.

Hypothesis draws two users' expenses and income: amounts with cents, dates around month
and year edges (Dec 31/Jan 1, Feb 28/29 of a leap year, the 14th/15th, 24th/25th and
27th/28th), own categories with children, a system category both users share, no
category, USD and EUR (converted at the latest rate on or before the date, as the API
stores them) and merchants, blank included. User A's budget month starts on the 1st,
15th, 25th or 28th. The reports are read through the HTTP API as A, with "today" frozen,
and compared field by field with sums taken in Python over A's records only — here, in
the test, summing in Python is the point: it is the independent calculation.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from unittest import mock

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from categories.models import Category, Kind
from core.money import quantize
from currencies.models import ExchangeRate
from currencies.selectors import convert
from expenses.models import Expense
from income.models import Income
from tests.fuzz_depth import examples
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

API = "/api/v1"
CENT = Decimal("0.01")
HUNDRED = Decimal(100)
PERIODS = ["this_month", "last_month", "last_7_days", "last_30_days", "last_365_days", "this_year"]

# --- what is drawn ---------------------------------------------------------------------------

FIRST_DAY, LAST_DAY = date(2024, 1, 1), date(2026, 12, 31)
EDGE_DAYS = [
    date(2024, 1, 1),
    date(2024, 1, 24),
    date(2024, 1, 25),
    date(2024, 2, 14),
    date(2024, 2, 15),
    date(2024, 2, 27),
    date(2024, 2, 28),
    date(2024, 2, 29),
    date(2024, 3, 1),
    date(2024, 3, 27),
    date(2024, 3, 28),
    date(2024, 12, 24),
    date(2024, 12, 25),
    date(2024, 12, 31),
    date(2025, 1, 1),
    date(2025, 2, 28),
    date(2025, 3, 1),
    date(2025, 6, 14),
    date(2025, 6, 15),
    date(2025, 11, 24),
    date(2025, 11, 25),
    date(2025, 12, 27),
    date(2025, 12, 28),
    date(2025, 12, 31),
    date(2026, 1, 1),
    date(2026, 1, 24),
    date(2026, 1, 25),
    date(2026, 2, 27),
    date(2026, 2, 28),
    date(2026, 3, 1),
    date(2026, 12, 31),
]
DAYS = st.one_of(st.sampled_from(EDGE_DAYS), st.dates(FIRST_DAY, LAST_DAY))
AMOUNTS = st.one_of(
    st.sampled_from([Decimal("0.01"), Decimal("0.05"), Decimal("10.00"), Decimal("33.33")]),
    st.decimals(min_value=Decimal("0.01"), max_value=Decimal("100000"), places=2),
)
MERCHANTS = ["", "Cafe", "cafe", "CAFE", "Grocer", "Fuel & Go"]
OTHER_MERCHANTS = [*MERCHANTS, "B only shop"]
# EUR→USD rates: one before every drawn date, others change it along the way.
FIRST_RATE = (date(2023, 12, 1), Decimal("1.0850"))
RATE_CHANGES = st.lists(
    st.tuples(
        st.sampled_from([date(2024, 2, 29), date(2025, 1, 1), date(2025, 6, 15), date(2026, 1, 1)]),
        st.sampled_from([Decimal("0.9123456789"), Decimal("1.2"), Decimal("0.5"), Decimal("1.1")]),
    ),
    max_size=3,
    unique_by=lambda change: change[0],
)
# Each user's categories, by kind; a draft points at one by index (None: uncategorised).
# "/" marks a child of the category before it; "*" a system category.
CATEGORIES = {
    "a": {Kind.EXPENSE: ["Home", "/Rent", "Fun", "*Food"], Kind.INCOME: ["Job", "/Bonus"]},
    "b": {Kind.EXPENSE: ["B Home", "/B Hidden", "*Food"], Kind.INCOME: ["B Job"]},
}


@dataclass(frozen=True)
class Draft:
    owner: str  # "a" or "b"
    kind: str  # Kind.EXPENSE or Kind.INCOME
    amount: Decimal
    currency: str
    day: date
    category: int | None
    merchant: str  # the merchant of an expense, the source of an income


@dataclass(frozen=True)
class Scenario:
    start_day: int
    rates: tuple[tuple[date, Decimal], ...]
    drafts: tuple[Draft, ...]
    range_: tuple[date, date]
    month_day: date  # the budget month containing it is the one asked for
    year: int
    today: date


@st.composite
def drafts_for(draw: Any, owner: str, days: Any) -> Draft:
    kind = draw(st.sampled_from([Kind.EXPENSE, Kind.EXPENSE, Kind.INCOME]))
    choices = len(CATEGORIES[owner][kind])
    return Draft(
        owner=owner,
        kind=kind,
        amount=draw(AMOUNTS),
        currency=draw(st.sampled_from(["USD", "USD", "EUR"])),
        day=draw(days),
        category=draw(st.one_of(st.none(), st.integers(0, choices - 1))),
        merchant=draw(st.sampled_from(MERCHANTS if owner == "a" else OTHER_MERCHANTS)),
    )


@st.composite
def scenarios(draw: Any) -> Scenario:
    mine = draw(st.lists(drafts_for("a", DAYS), max_size=30))
    own_days = sorted({d.day for d in mine})
    # B's records land on A's days (and elsewhere), so any leak shows up in A's figures.
    shared = st.sampled_from(own_days) if own_days else DAYS
    near = st.one_of(shared, DAYS)
    theirs = draw(st.lists(drafts_for("b", near), max_size=15))
    first, last = sorted([draw(near), draw(near)])
    return Scenario(
        start_day=draw(st.sampled_from([1, 15, 25, 28])),
        rates=(FIRST_RATE, *draw(RATE_CHANGES)),
        drafts=tuple(draw(st.permutations([*mine, *theirs]))),
        range_=(first, last),
        month_day=draw(near),
        year=draw(st.sampled_from([2024, 2025, 2026])),
        today=draw(near),
    )


# --- the plain-Python calculation -----------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One of A's records as stored."""

    kind: str
    id: int
    day: date
    amount: Decimal
    currency: str
    base: Decimal
    category: int | None
    category_name: str | None
    merchant: str
    description: str


def money(value: Decimal) -> str:
    return format(value.quantize(CENT, rounding=ROUND_HALF_UP), "f")


def percent(part: Decimal, whole: Decimal) -> str | None:
    return None if whole == 0 else money(part / whole * HUNDRED)


def total(rows: list[Row]) -> Decimal:
    return sum((row.base for row in rows), Decimal(0))


def within(rows: list[Row], start: date, end: date) -> list[Row]:
    return [row for row in rows if start <= row.day <= end]


def add_months(year: int, month: int, delta: int) -> tuple[int, int]:
    index = year * 12 + month - 1 + delta
    return index // 12, index % 12 + 1


def budget_month(day: date, start_day: int) -> tuple[int, int]:
    """A budget month runs from `start_day` of its month to the day before the next one's."""
    if day.day >= start_day:
        return day.year, day.month
    return add_months(day.year, day.month, -1)


def budget_month_days(year: int, month: int, start_day: int) -> tuple[date, date]:
    following = add_months(year, month, 1)
    return date(year, month, start_day), date(*following, start_day) - timedelta(days=1)


def label(year: int, month: int) -> str:
    return f"{year:04d}-{month:02d}"


@dataclass
class Ledger:
    expenses: list[Row]
    income: list[Row]
    start_day: int

    def summary(self, start: date, end: date) -> dict[str, Any]:
        """All of /reports/summary/ except the breakdowns, which `check_summary` compares."""
        spent, earned = within(self.expenses, start, end), within(self.income, start, end)
        expenses, income = total(spent), total(earned)
        days = (end - start).days + 1
        return {
            "start": start.isoformat(),
            "end": end.isoformat(),
            "currency": "USD",
            "total_expenses": money(expenses),
            "total_income": money(income),
            "net": money(income - expenses),
            "savings_rate": percent(income - expenses, income),
            "expense_count": len(spent),
            "income_count": len(earned),
            "average_daily_expense": money(expenses / days),
        }

    def by_category(self, start: date, end: date) -> dict[int | None, dict[str, Any]]:
        groups: dict[int | None, list[Row]] = defaultdict(list)
        for row in within(self.expenses, start, end):
            groups[row.category].append(row)
        return {
            category: {
                "category": category,
                "category_name": rows[0].category_name or "Uncategorized",
                "total": money(total(rows)),
                "count": len(rows),
            }
            for category, rows in groups.items()
        }

    def merchants(self, start: date, end: date) -> dict[str, dict[str, Any]]:
        groups: dict[str, list[Row]] = defaultdict(list)
        for row in within(self.expenses, start, end):
            if row.merchant:
                groups[row.merchant.lower()].append(row)
        return {
            key: {
                "spellings": {row.merchant for row in rows},
                "total": money(total(rows)),
                "count": len(rows),
            }
            for key, rows in groups.items()
        }

    def month(self, year: int, month: int) -> dict[str, str]:
        start, end = budget_month_days(year, month, self.start_day)
        spent = total(within(self.expenses, start, end))
        earned = total(within(self.income, start, end))
        return {
            "month": label(year, month),
            "income": money(earned),
            "expenses": money(spent),
            "net": money(earned - spent),
        }

    def bucket_of(self, day: date, bucket: str) -> date:
        if bucket == "day":
            return day
        if bucket == "week":
            return day - timedelta(days=day.weekday())
        return budget_month_days(*budget_month(day, self.start_day), self.start_day)[0]

    def points(self, start: date, end: date, bucket: str, kind: str) -> list[dict[str, Any]]:
        firsts = []
        cursor = self.bucket_of(start, bucket)
        while cursor <= end:
            firsts.append(cursor)
            if bucket == "day":
                cursor += timedelta(days=1)
            elif bucket == "week":
                cursor += timedelta(days=7)
            else:
                cursor = date(*add_months(cursor.year, cursor.month, 1), self.start_day)
        signed = []
        if kind in ("expense", "net"):
            sign = -1 if kind == "net" else 1
            signed += [(row, sign) for row in within(self.expenses, start, end)]
        if kind in ("income", "net"):
            signed += [(row, 1) for row in within(self.income, start, end)]
        sums: dict[date, Decimal] = defaultdict(Decimal)
        counts: dict[date, int] = defaultdict(int)
        for row, sign in signed:
            first = self.bucket_of(row.day, bucket)
            sums[first] += sign * row.base
            counts[first] += 1
        assert set(sums) <= set(firsts)
        return [
            {"period_start": first.isoformat(), "total": money(sums[first]), "count": counts[first]}
            for first in firsts
        ]

    def period(self, name: str, today: date) -> tuple[date, date]:
        if name.startswith("last_") and name.endswith("_days"):
            return today - timedelta(days=int(name.split("_")[1]) - 1), today
        if name == "this_year":  # calendar year: only months are budget months
            return date(today.year, 1, 1), date(today.year, 12, 31)
        current = budget_month(today, self.start_day)
        if name == "last_month":
            current = add_months(*current, -1)
        return budget_month_days(*current, self.start_day)


# --- checks ----------------------------------------------------------------------------------


def get(client: Any, path: str, **params: Any) -> dict[str, Any]:
    response = client.get(f"{API}{path}", params)
    assert response.status_code == 200, (path, params, response.content)
    return response.json()


def check_summary(body: dict[str, Any], ledger: Ledger, start: date, end: date) -> None:
    expected = ledger.summary(start, end)
    assert {key: body[key] for key in expected} == expected

    categories = ledger.by_category(start, end)
    shares = body["by_category"]
    assert {
        row["category"]: {k: v for k, v in row.items() if k != "percent"} for row in shares
    } == (categories)
    assert len(shares) == len(categories)
    totals = [Decimal(row["total"]) for row in shares]
    assert totals == sorted(totals, reverse=True), "by_category is sorted by total, descending"
    if shares:
        whole = sum(totals, Decimal(0))
        percents = [Decimal(row["percent"]) for row in shares]
        assert abs(sum(percents, Decimal(0)) - HUNDRED) <= CENT
        for share, value in zip(totals, percents, strict=True):
            assert abs(value - share / whole * HUNDRED) <= CENT
            assert value == value.quantize(CENT)

    merchants = ledger.merchants(start, end)
    top = body["top_merchants"]
    assert len(merchants) <= 10  # few enough that all of them are listed
    assert len(top) == len(merchants)
    for row in top:
        key = row["merchant"].lower()
        assert row["merchant"] in merchants[key]["spellings"]
        assert (row["total"], row["count"]) == (merchants[key]["total"], merchants[key]["count"])
    assert {row["merchant"].lower() for row in top} == set(merchants)
    totals = [Decimal(row["total"]) for row in top]
    assert totals == sorted(totals, reverse=True)


def check_month_summary(body: dict[str, Any], ledger: Ledger, year: int, month: int) -> None:
    start, end = budget_month_days(year, month, ledger.start_day)
    check_summary(body, ledger, start, end)
    assert body["month"] == label(year, month)
    assert body["budget_total"] is None and body["budget_remaining"] is None


def check_monthly(body: dict[str, Any], ledger: Ledger, year: int) -> None:
    months = [ledger.month(year, m) for m in range(1, 13)]
    assert body["months"] == months
    assert (body["year"], body["currency"]) == (year, "USD")
    first, _ = budget_month_days(year, 1, ledger.start_day)
    _, last = budget_month_days(year, 12, ledger.start_day)
    spent = total(within(ledger.expenses, first, last))
    earned = total(within(ledger.income, first, last))
    assert body["totals"] == {
        "income": money(earned),
        "expenses": money(spent),
        "net": money(earned - spent),
    }


def check_trends(body: dict[str, Any], ledger: Ledger, year: int, month: int) -> None:
    previous = add_months(year, month, -1)
    current_rows = within(ledger.expenses, *budget_month_days(year, month, ledger.start_day))
    previous_rows = within(ledger.expenses, *budget_month_days(*previous, ledger.start_day))
    now, before = total(current_rows), total(previous_rows)
    assert {k: v for k, v in body.items() if k != "by_category"} == {
        "month": label(year, month),
        "previous_month": label(*previous),
        "currency": "USD",
        "current_total": money(now),
        "previous_total": money(before),
        "delta": money(now - before),
        "percent_change": percent(now - before, before),
    }
    names = {row.category: row.category_name or "Uncategorized" for row in current_rows}
    names.update({row.category: row.category_name or "Uncategorized" for row in previous_rows})
    expected = {}
    for category, name in names.items():
        current = total([row for row in current_rows if row.category == category])
        prior = total([row for row in previous_rows if row.category == category])
        expected[category] = {
            "category": category,
            "category_name": name,
            "current": money(current),
            "previous": money(prior),
            "delta": money(current - prior),
            "percent_change": percent(current - prior, prior),
        }
    assert {row["category"]: row for row in body["by_category"]} == expected
    assert len(body["by_category"]) == len(expected)
    currents = [Decimal(row["current"]) for row in body["by_category"]]
    assert currents == sorted(currents, reverse=True)


def check_timeseries(client: Any, ledger: Ledger, start: date, end: date) -> None:
    for bucket in ("day", "week", "month"):
        for kind in ("expense", "income", "net"):
            body = get(
                client, "/reports/timeseries/", start=start, end=end, bucket=bucket, kind=kind
            )
            assert {k: v for k, v in body.items() if k != "points"} == {
                "start": start.isoformat(),
                "end": end.isoformat(),
                "bucket": bucket,
                "kind": kind,
                "currency": "USD",
            }
            assert body["points"] == ledger.points(start, end, bucket, kind), (bucket, kind)
            firsts = [date.fromisoformat(p["period_start"]) for p in body["points"]]
            if bucket == "week":
                assert all(first.weekday() == 0 for first in firsts)
            if bucket == "month":
                assert all(first.day == ledger.start_day for first in firsts)


def check_dashboard(client: Any, ledger: Ledger, today: date) -> None:
    body = get(client, "/reports/dashboard/")
    year, month = budget_month(today, ledger.start_day)
    assert (body["month"], body["currency"]) == (label(year, month), "USD")
    check_month_summary(body["summary"], ledger, year, month)
    assert body["summary"] == get(client, "/summary/", month=label(year, month))
    assert body["top_categories"] == body["summary"]["by_category"][:5]
    assert body["last_6_months"] == [
        ledger.month(*add_months(year, month, delta)) for delta in range(-5, 1)
    ]
    assert body["budgets"] == {
        "overall": None,
        "items": [],
        "counts": {"ok": 0, "warn": 0, "exceeded": 0},
    }
    assert body["goals"] == [] and body["upcoming_bills"] == []

    # The 5 newest of A's records; records sharing a date may come in either order.
    rows = {(row.kind, row.id): row for row in ledger.expenses + ledger.income}
    newest = sorted((row.day for row in rows.values()), reverse=True)[:5]
    recent = body["recent_transactions"]
    assert [item["date"] for item in recent] == [day.isoformat() for day in newest]
    assert len({(item["type"], item["id"]) for item in recent}) == len(recent)
    for item in recent:
        row = rows[(item["type"], item["id"])]
        assert item == {
            "type": row.kind,
            "id": row.id,
            "date": row.day.isoformat(),
            "description": row.description,
            "amount": money(row.amount),
            "currency": row.currency,
            "base_amount": money(row.base),
            "category_name": row.category_name,
        }
    if recent:
        cutoff = newest[-1]
        must = {key for key, row in rows.items() if row.day > cutoff}
        assert must <= {(item["type"], item["id"]) for item in recent}


# --- writing the records -------------------------------------------------------------------------


@contextmanager
def rolled_back() -> Iterator[None]:
    """pytest-django wraps the whole test, not each example: undo every example's rows."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


@contextmanager
def frozen(day: date) -> Iterator[None]:
    moment = datetime.combine(day, time(12, 0), tzinfo=UTC)
    with mock.patch("django.utils.timezone.now", return_value=moment):
        yield


def make_categories(owner: str, user: Any) -> dict[str, list[Category]]:
    made: dict[str, list[Category]] = {}
    for kind, names in CATEGORIES[owner].items():
        made[kind] = []
        for name in names:
            if name.startswith("*"):
                made[kind].append(Category.objects.get(user=None, kind=kind, name=name[1:]))
                continue
            parent = made[kind][-1] if name.startswith("/") else None
            made[kind].append(
                Category.objects.create(user=user, kind=kind, name=name.lstrip("/"), parent=parent)
            )
    return made


def write(scenario: Scenario) -> tuple[Any, Ledger]:
    """Both users, their categories, the EUR→USD rates and every record, stored as the API
    stores them (base_amount = amount × that day's rate, rounded to cents); A's ledger."""
    a = UserFactory(month_start_day=scenario.start_day)
    b = UserFactory(month_start_day=(scenario.start_day % 28) + 1)
    users = {"a": a, "b": b}
    # bulk_create does not fill in the personal book (SPEC §14): every row names it.
    books = {owner: user.personal_book for owner, user in users.items()}
    categories = {owner: make_categories(owner, user) for owner, user in users.items()}
    rates = sorted(scenario.rates)
    ExchangeRate.objects.bulk_create(
        ExchangeRate(base="EUR", quote="USD", date=day, rate=rate) for day, rate in rates
    )
    made: dict[str, list[tuple[Draft, Any]]] = {Kind.EXPENSE: [], Kind.INCOME: []}
    for i, draft in enumerate(scenario.drafts):
        rate = Decimal(1)
        if draft.currency == "EUR":
            rate = [value for day, value in rates if day <= draft.day][-1]
        base = quantize(draft.amount * rate, "USD")
        if draft.currency == "EUR":  # the write path's own conversion agrees
            stored, _ = convert(
                amount=draft.amount, from_currency="EUR", to_currency="USD", on=draft.day
            )
            assert stored == base
        category = (
            None if draft.category is None else categories[draft.owner][draft.kind][draft.category]
        )
        fields = {
            "user": users[draft.owner],
            "book": books[draft.owner],
            "amount": draft.amount,
            "currency": draft.currency,
            "base_amount": base,
            "exchange_rate": rate,
            "date": draft.day,
            "description": f"{draft.owner} {draft.kind} {i}",
            "category": category,
        }
        if draft.kind == Kind.EXPENSE:
            made[draft.kind].append((draft, Expense(**fields, merchant=draft.merchant)))
        else:
            made[draft.kind].append((draft, Income(**fields, source=draft.merchant)))
    Expense.objects.bulk_create([obj for _, obj in made[Kind.EXPENSE]])
    Income.objects.bulk_create([obj for _, obj in made[Kind.INCOME]])

    def rows(kind: str) -> list[Row]:
        result = []
        for draft, obj in made[kind]:
            assert obj.pk is not None
            if draft.owner != "a":
                continue
            result.append(
                Row(
                    kind=kind,
                    id=obj.pk,
                    day=obj.date,
                    amount=obj.amount,
                    currency=obj.currency,
                    base=obj.base_amount,
                    category=obj.category_id,
                    category_name=obj.category.name if obj.category else None,
                    merchant=draft.merchant if kind == Kind.EXPENSE else "",
                    description=obj.description,
                )
            )
        return result

    return a, Ledger(rows(Kind.EXPENSE), rows(Kind.INCOME), scenario.start_day)


# --- the property ------------------------------------------------------------------------------


@settings(
    max_examples=examples(50),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(scenario=scenarios())
def test_reports_match_a_plain_python_calculation(client_for, scenario):
    with rolled_back(), frozen(scenario.today):
        user, ledger = write(scenario)
        client = client_for(user)

        start, end = scenario.range_
        check_summary(get(client, "/reports/summary/", start=start, end=end), ledger, start, end)
        for name in PERIODS:
            body = get(client, "/reports/summary/", period=name)
            check_summary(body, ledger, *ledger.period(name, scenario.today))
        this_month = ledger.period("this_month", scenario.today)
        check_summary(get(client, "/reports/summary/"), ledger, *this_month)

        year, month = budget_month(scenario.month_day, ledger.start_day)
        check_month_summary(get(client, "/summary/", month=label(year, month)), ledger, year, month)
        check_trends(get(client, "/reports/trends/", month=label(year, month)), ledger, year, month)
        check_monthly(get(client, "/reports/monthly/", year=scenario.year), ledger, scenario.year)
        check_timeseries(client, ledger, start, end)
        check_dashboard(client, ledger, scenario.today)
