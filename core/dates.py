"""Months, budget months and 'today' in the user's time zone (SPEC §3, §4).

A budget month `YYYY-MM` for a user whose `month_start_day` is D runs from the D-th
of that month to the day before the D-th of the next month.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

_MONTH_RE = re.compile(r"^(\d{4})-(\d{2})(?:-(\d{2}))?$")


def parse_month(value: str) -> tuple[int, int]:
    """`YYYY-MM` or `YYYY-MM-DD` (meaning that date's calendar month) → (year, month).

    Raises ValueError with a message fit for a client.
    """
    match = _MONTH_RE.match(value or "")
    if not match:
        raise ValueError("Use YYYY-MM (or YYYY-MM-DD).")
    year, month = int(match.group(1)), int(match.group(2))
    if match.group(3):
        date(year, month, int(match.group(3)))  # raises ValueError if not a real date
    if not 1 <= month <= 12 or year < 1:
        raise ValueError("Use YYYY-MM (or YYYY-MM-DD).")
    return year, month


def add_months(year: int, month: int, delta: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + delta
    return index // 12, index % 12 + 1


def month_range(year: int, month: int, start_day: int = 1) -> tuple[date, date]:
    """Inclusive first and last day of budget month (year, month)."""
    start = date(year, month, start_day)
    next_year, next_month = add_months(year, month, 1)
    end = date(next_year, next_month, start_day) - timedelta(days=1)
    return start, end


def budget_month_of(day: date, start_day: int = 1) -> tuple[int, int]:
    """The budget month (year, month) that contains `day`."""
    if day.day >= start_day:
        return day.year, day.month
    return add_months(day.year, day.month, -1)


def format_month(year: int, month: int) -> str:
    return f"{year:04d}-{month:02d}"


def user_today(user: object) -> date:
    """Today's date in the user's time zone."""
    tz = ZoneInfo(getattr(user, "timezone", None) or "UTC")
    return timezone.now().astimezone(tz).date()


def user_now(user: object) -> datetime:
    tz = ZoneInfo(getattr(user, "timezone", None) or "UTC")
    return timezone.now().astimezone(tz)


def budget_month_expression(field: str, start_day: int = 1):  # type: ignore[no-untyped-def]
    """A database expression giving the first calendar day of `field`'s budget month label.

    Budget month M runs from the D-th of M to the (D-1)-th of M+1, so shifting a date
    back by D-1 days lands it in calendar month M; truncating that gives the label.
    """
    from django.db.models import DateField, ExpressionWrapper, F
    from django.db.models.functions import TruncMonth

    if start_day == 1:
        return TruncMonth(field, output_field=DateField())
    shifted = ExpressionWrapper(F(field) - timedelta(days=start_day - 1), output_field=DateField())
    return TruncMonth(shifted, output_field=DateField())
