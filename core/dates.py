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

# The one supported date range, enforced at every entry point (record dates, filters,
# report ranges, budget months, goals, recurring schedules, imports, backups, rates):
# wide enough for any real ledger, and so far from date.max that every look-ahead
# (budget alerts, recurring expansion, "the month after") stays a valid date.
MIN_DATE = date(1900, 1, 1)
MAX_DATE = date(2199, 12, 31)
DATE_RANGE_MESSAGE = f"Use a date between {MIN_DATE.isoformat()} and {MAX_DATE.isoformat()}."


def date_in_range(value: date) -> bool:
    return MIN_DATE <= value <= MAX_DATE


def parse_month(value: str, start_day: int = 1) -> tuple[int, int]:
    """`YYYY-MM` → (year, month); `YYYY-MM-DD` → the budget month containing that date
    (for a user whose months start on the 25th, 2026-03-10 is in month 2026-02).

    Raises ValueError with a message fit for a client.
    """
    match = _MONTH_RE.match(value or "")
    if not match:
        raise ValueError("Use YYYY-MM (or YYYY-MM-DD).")
    year, month = int(match.group(1)), int(match.group(2))
    if not 1 <= month <= 12:
        raise ValueError("Use YYYY-MM (or YYYY-MM-DD).")
    if not MIN_DATE.year <= year <= MAX_DATE.year:
        raise ValueError(f"Use a month between {MIN_DATE:%Y-%m} and {MAX_DATE:%Y-%m}.")
    if match.group(3):
        day = date(year, month, int(match.group(3)))  # ValueError if not a real date
        return max(budget_month_of(day, start_day), (MIN_DATE.year, MIN_DATE.month))
    return year, month


def add_months(year: int, month: int, delta: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + delta
    return index // 12, index % 12 + 1


def month_range(year: int, month: int, start_day: int = 1) -> tuple[date, date]:
    """Inclusive first and last day of budget month (year, month)."""
    start = date(year, month, start_day)
    next_year, next_month = add_months(year, month, 1)
    if next_year > date.max.year:  # the last budget month ends with the calendar
        return start, date.max
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
