"""Reads on goals: sums taken in the database, and the figures derived from them (SPEC §9).

`goals_with_totals` annotates each goal with two sums in one query, so a list of goals
costs the same number of queries whatever its length; `goal_figures` turns those sums
into the API's derived figures without touching the database.

Goals belong to a book (SPEC §14): their budget months are the book's.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import MAXYEAR, date
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import DecimalField, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce

from books.models import Book
from core.dates import add_months, budget_month_of, month_range
from core.money import AMOUNT_DECIMAL_PLACES, currencies, minor_units

from .models import Contribution, Goal

# The projection averages the net contributions of this many budget months (the
# current one included).
RECENT_MONTHS = 3

# Sums of many contributions may pass the 15 digits of one amount.
SUM_FIELD = DecimalField(max_digits=24, decimal_places=AMOUNT_DECIMAL_PLACES)
_STORED = Decimal(1).scaleb(-AMOUNT_DECIMAL_PLACES)
ZERO = Decimal(0)


@dataclass(frozen=True)
class GoalFigures:
    saved_amount: Decimal
    remaining: Decimal
    percent: Decimal
    required_monthly: Decimal | None
    projected_completion: date | None
    on_track: bool | None


def recent_window(*, today: date, book: Book | None = None, user: Any = None) -> tuple[date, date]:
    """First and last day of the projection window: the last 3 budget months up to today.

    It starts on the first day of budget month (current − 2) in the book's budget
    months (`month_start_day`; a user's are their personal book's) and ends today, so
    future-dated contributions don't count.
    """
    start_day = getattr(book if book is not None else user, "month_start_day", 1) or 1
    year, month = budget_month_of(today, start_day)
    first_year, first_month = add_months(year, month, -(RECENT_MONTHS - 1))
    start, _ = month_range(first_year, first_month, start_day=start_day)
    return start, today


def goals_with_totals(
    *,
    today: date,
    book: Book | None = None,
    user: Any = None,
    queryset: QuerySet[Goal] | None = None,
) -> QuerySet[Goal]:
    """`queryset` (default: the book's goals; without `book`, `user`'s personal book's)
    annotated in the database with `saved_total` (all contributions) and `recent_total`
    (those in `recent_window`).

    Scoping is the caller's job when it passes a queryset (the API's book scoping
    filters it); `book` then only decides the budget months of the window.
    """
    if book is None:
        book = Book.objects.get(personal_owner=user)
    if queryset is None:
        queryset = Goal.objects.filter(book=book)
    start, end = recent_window(book=book, today=today)
    zero = Value(ZERO, output_field=SUM_FIELD)
    return queryset.annotate(
        saved_total=Coalesce(Sum("contributions__amount", output_field=SUM_FIELD), zero),
        recent_total=Coalesce(
            Sum(
                "contributions__amount",
                filter=Q(contributions__date__gte=start, contributions__date__lte=end),
                output_field=SUM_FIELD,
            ),
            zero,
        ),
    )


def goal_saved_amount(*, goal: Goal) -> Decimal:
    """The sum of the goal's contributions, read now (0 without any)."""
    total = Contribution.objects.filter(goal=goal).aggregate(
        total=Sum("amount", output_field=SUM_FIELD)
    )["total"]
    return _stored(total)


def whole_months_between(start: date, end: date) -> int:
    """Whole calendar months from `start` to `end`, by day of month; 0 if `end` is past.

    2026-11-21 → 2027-02-21 is 3 and → 2027-02-20 is 2; 2027-01-31 → 2027-02-28 is 0.
    """
    months = (end.year - start.year) * 12 + (end.month - start.month)
    if end.day < start.day:
        months -= 1
    return max(0, months)


def shift_months(day: date, months: int) -> date | None:
    """`day` moved by `months` calendar months (clamped to the month's last day);
    None when that falls after year 9999."""
    year, month = add_months(day.year, day.month, months)
    if year > MAXYEAR:
        return None
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def compute_figures(
    *,
    target_amount: Decimal,
    target_date: date | None,
    saved: Decimal,
    recent: Decimal,
    today: date,
    currency: str,
) -> GoalFigures:
    """The derived figures of a goal from its two sums (see docs/api.md, Savings goals).

    - `required_monthly`: remaining ÷ whole months left to `target_date`, rounded *up*
      to the currency's minor unit (paying it each month reaches the target); all of
      `remaining` when less than one whole month is left or the date is past.
    - `projected_completion`: today + ⌈remaining ÷ (recent ÷ 3)⌉ months; today when
      nothing remains; null when the recent average is ≤ 0.
    """
    saved, recent = _stored(saved), _stored(recent)
    remaining = max(ZERO, target_amount - saved)
    percent = (saved / target_amount * 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)

    required_monthly: Decimal | None = None
    if target_date is not None:
        months_left = whole_months_between(today, target_date)
        if remaining == 0:
            required_monthly = ZERO
        elif months_left < 1:
            required_monthly = remaining
        else:
            unit = Decimal(1).scaleb(-_minor_units(currency))
            required_monthly = (remaining / months_left).quantize(unit, rounding=ROUND_CEILING)

    projected: date | None
    if remaining == 0:
        projected = today
    elif recent <= 0:
        projected = None
    else:
        months_needed = (remaining * RECENT_MONTHS / recent).to_integral_value(
            rounding=ROUND_CEILING
        )
        projected = shift_months(today, int(months_needed))

    on_track: bool | None = None
    if target_date is not None:
        on_track = remaining == 0 or (projected is not None and projected <= target_date)

    return GoalFigures(
        saved_amount=saved,
        remaining=remaining,
        percent=percent,
        required_monthly=required_monthly,
        projected_completion=projected,
        on_track=on_track,
    )


def goal_figures(*, goal: Goal, today: date, currency: str) -> GoalFigures:
    """Figures of a goal from `goals_with_totals`; reads its sums from the database
    only when the annotations are missing (one goal, e.g. right after a write)."""
    saved = getattr(goal, "saved_total", None)
    if saved is None:
        saved = goal_saved_amount(goal=goal)
    recent = getattr(goal, "recent_total", None)
    if recent is None:
        start, end = recent_window(book=goal.book, today=today)
        recent = Contribution.objects.filter(goal=goal, date__gte=start, date__lte=end).aggregate(
            total=Sum("amount", output_field=SUM_FIELD)
        )["total"]
    return compute_figures(
        target_amount=goal.target_amount,
        target_date=goal.target_date,
        saved=saved,
        recent=_stored(recent),
        today=today,
        currency=currency,
    )


def _stored(value: Decimal | None) -> Decimal:
    """A database sum at stored precision (SQLite adds float noise to decimal sums)."""
    if value is None:
        return ZERO
    return Decimal(value).quantize(_STORED, rounding=ROUND_HALF_UP)


def _minor_units(currency: str) -> int:
    return minor_units(currency) if currency in currencies() else 2
