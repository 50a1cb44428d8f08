"""Freezing "today" for the API (JWTs keep working: the clock ticks from there)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import UTC, date, datetime, time

import pytest
import time_machine


@pytest.fixture
def travel_to() -> Iterator[Callable[[date], None]]:
    """`travel_to(date(2026, 3, 10))` moves the clock to noon UTC of that day."""
    with ExitStack() as stack:

        def travel(day: date) -> None:
            moment = datetime.combine(day, time(12, 0), tzinfo=UTC)
            stack.enter_context(time_machine.travel(moment, tick=True))

        yield travel
