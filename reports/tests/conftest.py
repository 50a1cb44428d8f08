"""Report fixtures: a frozen "today" and ledger rows written straight through the ORM."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any
from unittest import mock

import pytest

from expenses.models import Expense
from income.models import Income


@pytest.fixture
def freeze_today() -> Iterator[Callable[[date], None]]:
    """`freeze_today(date(2026, 1, 10))` makes django.utils.timezone.now() return noon UTC
    of that day. JWTs are checked against the real clock, so API clients keep working."""
    active: list[Any] = []

    def freeze(day: date) -> None:
        for patcher in active:
            patcher.stop()
        active.clear()
        moment = datetime.combine(day, time(12, 0), tzinfo=UTC)
        patcher = mock.patch("django.utils.timezone.now", return_value=moment)
        patcher.start()
        active.append(patcher)

    yield freeze
    for patcher in active:
        patcher.stop()


def _ledger_row(model: type, user: Any, amount: str, day: date, **extra: Any) -> Any:
    """A row in the owner's base currency (rate 1), as the API would store it."""
    value = Decimal(amount)
    return model.objects.create(
        user=user,
        amount=value,
        currency=user.base_currency,
        base_amount=value,
        exchange_rate=1,
        date=day,
        description=extra.pop("description", f"{model.__name__.lower()} {amount}"),
        **extra,
    )


@pytest.fixture
def spend() -> Callable[..., Expense]:
    """`spend(user, "12.50", date(2026, 3, 1), category=..., merchant=...)`"""

    def make(user: Any, amount: str, day: date, **extra: Any) -> Expense:
        return _ledger_row(Expense, user, amount, day, **extra)

    return make


@pytest.fixture
def earn() -> Callable[..., Income]:
    """`earn(user, "1000.00", date(2026, 3, 1), category=...)`"""

    def make(user: Any, amount: str, day: date, **extra: Any) -> Income:
        return _ledger_row(Income, user, amount, day, **extra)

    return make
