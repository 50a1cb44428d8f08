"""Shared set-up of the forecast, cash flow and insights tests (not a test module itself:
its name matches test_forecast* so it belongs to part A4)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time
from decimal import Decimal

import time_machine
from django.utils import timezone

from categories.tests.factories import CategoryFactory
from expenses.models import Expense
from expenses.tests.factories import ExpenseFactory
from recurring.models import RecurringOccurrence
from recurring.tests.factories import RecurringItemFactory

TODAY = date(2026, 3, 10)


@contextmanager
def frozen_clock() -> Iterator[date]:
    """The clock at noon UTC on 2026-03-10 (ticking, so JWTs issued after stay valid)."""
    with time_machine.travel(datetime.combine(TODAY, time(12, 0), tzinfo=UTC), tick=True):
        yield TODAY


def expense(user, day: date, amount: str, category=None, **fields) -> Expense:
    return ExpenseFactory(user=user, date=day, amount=Decimal(amount), category=category, **fields)


def crafted_history(user) -> dict:
    """A personal book (months start on the 1st, USD) with:

    - Nov 2025 (the first, partial month: not history): Food 999.
    - Dec, Jan, Feb: Food 100 on the 5th (before the cut) and 200/300/400 on the 20th
      (after it: the 'rest' series is 200, 300, 400).
    - Rent, a recurring monthly item on the 25th (1000, Housing), recorded by its job on
      Jan 25 and Feb 25 (so not part of the typical rest).
    - March (today is the 10th): Food 50 on the 3rd and 270 today: a pace of 32 a day,
      672 for the 21 days left.
    """
    food = CategoryFactory(user=user, name="Food")
    housing = CategoryFactory(user=user, name="Housing")
    expense(user, date(2025, 11, 20), "999.00", food)
    for (year, month), rest in zip(((2025, 12), (2026, 1), (2026, 2)), ("200", "300", "400")):
        expense(user, date(year, month, 5), "100.00", food)
        expense(user, date(year, month, 20), rest, food)
    rent = RecurringItemFactory(
        user=user,
        description="Rent",
        amount=Decimal("1000.00"),
        category=housing,
        start_date=date(2026, 1, 25),
    )
    for day in (date(2026, 1, 25), date(2026, 2, 25)):
        record = expense(user, day, "1000.00", housing, description="Rent")
        RecurringOccurrence.objects.create(
            item=rent, date=day, expense=record, fulfilled_at=timezone.now()
        )
    expense(user, date(2026, 3, 3), "50.00", food)
    expense(user, date(2026, 3, 10), "270.00", food)
    return {"food": food, "housing": housing, "rent": rent}
