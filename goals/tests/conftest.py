"""Freezing "today": every goal figure depends on the user's today."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, time
from unittest import mock

import pytest


@pytest.fixture
def freeze_today() -> Iterator[Callable[[date], None]]:
    """`freeze_today(date(2026, 11, 21))` makes django.utils.timezone.now() return noon UTC
    of that day (JWTs are checked against the real clock, so clients keep working)."""
    patcher: list = []

    def freeze(day: date) -> None:
        for active in patcher:
            active.stop()
        patcher.clear()
        moment = datetime.combine(day, time(12, 0), tzinfo=UTC)
        active = mock.patch("django.utils.timezone.now", return_value=moment)
        active.start()
        patcher.append(active)

    yield freeze
    for active in patcher:
        active.stop()
