"""Schedules: which dates an item falls on (SPEC §12)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from categories.tests.factories import CategoryFactory
from core.dates import MAX_DATE
from recurring.models import RecurringItem
from recurring.selectors import next_date, occurrences, upcoming_occurrences
from recurring.serializers import UpcomingBillSerializer

from .factories import RecurringItemFactory


def item(**values) -> RecurringItem:
    defaults = {
        "kind": "expense",
        "amount": Decimal("10.00"),
        "currency": "USD",
        "description": "Rent",
        "frequency": "monthly",
        "interval": 1,
        "start_date": date(2026, 1, 31),
        "active": True,
    }
    return RecurringItem(**{**defaults, **values})


def test_monthly_on_the_31st_falls_on_the_last_day_of_shorter_months_without_drifting():
    dates = occurrences(item(), start=date(2026, 1, 1), end=date(2026, 7, 31))
    assert dates == [
        date(2026, 1, 31),
        date(2026, 2, 28),
        date(2026, 3, 31),
        date(2026, 4, 30),
        date(2026, 5, 31),
        date(2026, 6, 30),
        date(2026, 7, 31),
    ]


def test_monthly_on_the_29th_and_30th_in_a_leap_year():
    assert occurrences(
        item(start_date=date(2028, 1, 30)), start=date(2028, 1, 1), end=date(2028, 3, 31)
    ) == [date(2028, 1, 30), date(2028, 2, 29), date(2028, 3, 30)]
    assert occurrences(
        item(start_date=date(2027, 1, 29)), start=date(2027, 1, 1), end=date(2027, 3, 31)
    ) == [date(2027, 1, 29), date(2027, 2, 28), date(2027, 3, 29)]


def test_every_two_months_counts_from_the_start_date():
    dates = occurrences(
        item(interval=2, start_date=date(2025, 12, 31)),
        start=date(2026, 1, 1),
        end=date(2026, 12, 31),
    )
    assert dates == [
        date(2026, 2, 28),
        date(2026, 4, 30),
        date(2026, 6, 30),
        date(2026, 8, 31),
        date(2026, 10, 31),
        date(2026, 12, 31),
    ]


def test_a_window_years_after_the_start_keeps_the_same_schedule():
    old = item(interval=3, start_date=date(2001, 1, 31))
    assert occurrences(old, start=date(2026, 1, 1), end=date(2026, 12, 31)) == [
        date(2026, 1, 31),
        date(2026, 4, 30),
        date(2026, 7, 31),
        date(2026, 10, 31),
    ]


def test_weekly_and_daily():
    weekly = item(frequency="weekly", interval=2, start_date=date(2026, 1, 5))  # a Monday
    assert occurrences(weekly, start=date(2026, 3, 1), end=date(2026, 3, 31)) == [
        date(2026, 3, 2),
        date(2026, 3, 16),
        date(2026, 3, 30),
    ]
    daily = item(frequency="daily", interval=10, start_date=date(2020, 1, 1))
    # 2020-01-01 + 2260 days (226 intervals) is 2026-03-10.
    assert occurrences(daily, start=date(2026, 3, 1), end=date(2026, 3, 20)) == [
        date(2026, 3, 10),
        date(2026, 3, 20),
    ]


def test_yearly_on_february_29_falls_on_february_28_in_common_years():
    leap = item(frequency="yearly", start_date=date(2024, 2, 29))
    assert occurrences(leap, start=date(2024, 1, 1), end=date(2028, 12, 31)) == [
        date(2024, 2, 29),
        date(2025, 2, 28),
        date(2026, 2, 28),
        date(2027, 2, 28),
        date(2028, 2, 29),
    ]


def test_end_date_is_the_last_possible_date_and_start_date_the_first():
    bounded = item(start_date=date(2026, 1, 31), end_date=date(2026, 4, 29))
    assert occurrences(bounded, start=date(2025, 1, 1), end=date(2026, 12, 31)) == [
        date(2026, 1, 31),
        date(2026, 2, 28),
        date(2026, 3, 31),
    ]
    assert occurrences(bounded, start=date(2026, 5, 1), end=date(2026, 12, 31)) == []


def test_next_date():
    monthly = item()
    assert next_date(monthly, today=date(2026, 2, 1)) == date(2026, 2, 28)
    assert next_date(monthly, today=date(2026, 2, 28)) == date(2026, 2, 28)
    assert next_date(monthly, today=date(2025, 6, 1)) == date(2026, 1, 31)
    assert next_date(item(end_date=date(2026, 3, 1)), today=date(2026, 3, 2)) is None
    assert next_date(item(active=False), today=date(2026, 2, 1)) is None


def test_next_date_at_the_end_of_the_supported_range():
    assert next_date(
        item(frequency="yearly", start_date=date(2190, 12, 31)), today=date(2199, 6, 1)
    ) == date(2199, 12, 31)
    assert (
        next_date(item(frequency="yearly", start_date=date(2190, 1, 31)), today=date(2199, 6, 1))
        is None
    )


def test_a_schedule_never_steps_past_max_date():
    # Even an item stored before the range was enforced: no date past MAX_DATE, no
    # OverflowError near date.max.
    daily = item(frequency="daily", start_date=date(2199, 12, 30))
    assert occurrences(daily, start=date(2199, 12, 1), end=date(9999, 12, 31)) == [
        date(2199, 12, 30),
        date(2199, 12, 31),
    ]
    assert next_date(daily, today=date(2200, 1, 1)) is None
    assert (
        next_date(item(frequency="yearly", start_date=date(9990, 12, 31)), today=date(9999, 6, 1))
        is None
    )
    assert next_date(item(frequency="monthly", start_date=MAX_DATE), today=MAX_DATE) == MAX_DATE


@pytest.mark.django_db
def test_upcoming_occurrences_are_the_users_active_items_by_date_then_description(user, other_user):
    rent = CategoryFactory(user=user, name="Housing")
    RecurringItemFactory(user=user, description="Rent", start_date=date(2026, 1, 31), category=rent)
    RecurringItemFactory(
        user=user, description="Gym", frequency="weekly", start_date=date(2026, 3, 3)
    )
    RecurringItemFactory(
        user=user,
        kind="income",
        description="Salary",
        amount=Decimal("2500"),
        currency="JPY",
        start_date=date(2026, 2, 28),
    )
    RecurringItemFactory(user=user, description="Paused", active=False)
    RecurringItemFactory(user=other_user, description="Not mine")

    rows = upcoming_occurrences(book=user.personal_book, days=14, today=date(2026, 3, 20))

    assert [(row["date"], row["description"]) for row in rows] == [
        (date(2026, 3, 24), "Gym"),
        (date(2026, 3, 28), "Salary"),
        (date(2026, 3, 31), "Gym"),
        (date(2026, 3, 31), "Rent"),
    ]
    assert rows[3] == {
        "recurring": rows[3]["recurring"],
        "date": date(2026, 3, 31),
        "description": "Rent",
        "amount": "50.00",
        "currency": "USD",
        "kind": "expense",
        "category": rent.pk,
        "category_name": "Housing",
    }
    assert rows[1]["amount"] == "2500"
    bills = upcoming_occurrences(
        book=user.personal_book, days=14, kind="expense", today=date(2026, 3, 20)
    )
    assert "Salary" not in {row["description"] for row in bills}
    assert UpcomingBillSerializer(data=bills, many=True).is_valid()


@pytest.mark.django_db
def test_upcoming_includes_today_and_the_last_day(user):
    RecurringItemFactory(user=user, frequency="daily", start_date=date(2026, 3, 1))
    rows = upcoming_occurrences(book=user.personal_book, days=2, today=date(2026, 3, 10))
    assert [row["date"] for row in rows] == [
        date(2026, 3, 10),
        date(2026, 3, 11),
        date(2026, 3, 12),
    ]
