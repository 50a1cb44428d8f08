"""Reading schedules: the dates an item falls on, its next date, what is coming up.

Dates come from `dateutil.rrule`, counted from `start_date` every `interval` periods,
so a schedule never drifts. A monthly item on the 29th–31st falls on the last day of
shorter months (Jan 31 → Feb 28 → Mar 31), a yearly one on Feb 29 on Feb 28 in
common years: the rule asks for "day D, or the month's last day, whichever comes
first" (`bymonthday=(D, -1), bysetpos=1`).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from dateutil.rrule import DAILY, MONTHLY, WEEKLY, YEARLY, rrule

from core.dates import MAX_DATE
from core.money import format_amount

from .models import Frequency, RecurringItem, RecurringOccurrence

_FREQ = {
    Frequency.DAILY: DAILY,
    Frequency.WEEKLY: WEEKLY,
    Frequency.MONTHLY: MONTHLY,
    Frequency.YEARLY: YEARLY,
}


def _add_months(day: date, months: int) -> date:
    """The first day of the month `months` after `day`'s month."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _anchor(item: RecurringItem, start: date) -> date:
    """A date to start iterating from: on or before the first occurrence ≥ `start`, and
    a whole number of intervals after `start_date`, so an item that has run for years
    is not iterated from its first date."""
    first = item.start_date
    if start <= first:
        return first
    interval = item.interval
    if item.frequency in (Frequency.DAILY, Frequency.WEEKLY):
        step = interval * (7 if item.frequency == Frequency.WEEKLY else 1)
        return first + timedelta(days=(start - first).days // step * step)
    if item.frequency == Frequency.MONTHLY:
        months = (start.year - first.year) * 12 + start.month - first.month
        skipped = months // interval * interval
    else:
        skipped = (start.year - first.year) // interval * interval * 12
    # The first of the month is before any day-of-month the rule can produce.
    return _add_months(first, skipped) if skipped else first


def _rule(item: RecurringItem, *, start: date, until: date | None) -> rrule:
    anchor = _anchor(item, start)
    day = item.start_date.day
    options: dict[str, Any] = {
        "dtstart": datetime.combine(anchor, time()),
        "interval": item.interval,
    }
    if until is not None:
        options["until"] = datetime.combine(until, time())
    if item.frequency in (Frequency.MONTHLY, Frequency.YEARLY):
        if item.frequency == Frequency.YEARLY:
            options["bymonth"] = item.start_date.month
        if day > 28:
            options.update(bymonthday=(day, -1), bysetpos=1)
        else:
            options["bymonthday"] = day
    return rrule(_FREQ[Frequency(item.frequency)], **options)


def occurrences(item: RecurringItem, *, start: date, end: date) -> list[date]:
    """The item's dates in [start, end] (inclusive), oldest first; none past `end_date`.

    Ignores `active`: this is the schedule itself. Never steps past `MAX_DATE`.
    """
    until = min(end, item.end_date or MAX_DATE, MAX_DATE)
    if until < start or until < item.start_date:
        return []
    rule = _rule(item, start=start, until=until)
    after = datetime.combine(start, time())
    return [moment.date() for moment in rule.xafter(after, inc=True)]


def next_date(item: RecurringItem, *, today: date) -> date | None:
    """The first occurrence on or after `today`; None for an inactive or finished item,
    or when the next one would fall after `MAX_DATE` (the schedule ends there)."""
    if not item.active:
        return None
    until = min(item.end_date or MAX_DATE, MAX_DATE)
    if until < today:
        return None
    rule = _rule(item, start=today, until=until)
    moment = rule.after(datetime.combine(today, time()), inc=True)
    return moment.date() if moment is not None else None


def upcoming_occurrences(
    *, book: Any, days: int, today: date, kind: str | None = None
) -> list[dict[str, Any]]:
    """Every occurrence of the book's active items in [today, today + days], by date
    then description (then item id).

    `today` is the caller's today in their time zone; `kind` narrows to
    `expense` or `income`. Each row: {recurring, date, description, amount (string with
    the currency's minor units), currency, kind, category, category_name}.
    """
    try:
        end = min(today + timedelta(days=days), MAX_DATE)
    except OverflowError:
        end = MAX_DATE
    items = RecurringItem.objects.filter(book=book, active=True, start_date__lte=end).exclude(
        end_date__lt=today
    )
    if kind is not None:
        items = items.filter(kind=kind)
    rows = []
    for item in items.select_related("category"):
        amount = format_amount(item.amount, item.currency)
        category_name = item.category.name if item.category is not None else None
        rows.extend(
            {
                "recurring": item.pk,
                "date": day,
                "description": item.description,
                "amount": amount,
                "currency": item.currency,
                "kind": item.kind,
                "category": item.category_id,
                "category_name": category_name,
            }
            for day in occurrences(item, start=today, end=end)
        )
    rows.sort(key=lambda row: (row["date"], row["description"].casefold(), row["recurring"]))
    return rows


def occurrence_log(item: RecurringItem, *, start: date, end: date) -> list[dict[str, Any]]:
    """The item's dates in [start, end] with what the jobs did on each: the schedule's
    dates, plus dates recorded under an earlier schedule (`scheduled: false`)."""
    logged = {
        row.date: row
        for row in RecurringOccurrence.objects.filter(item=item, date__gte=start, date__lte=end)
    }
    scheduled = set(occurrences(item, start=start, end=end))
    rows = []
    for day in sorted(scheduled | set(logged)):
        row = logged.get(day)
        rows.append(
            {
                "date": day,
                "expense": row.expense_id if row else None,
                "income": row.income_id if row else None,
                "recorded_at": row.fulfilled_at if row else None,
                "reminded_at": row.reminded_at if row else None,
                "scheduled": day in scheduled,
            }
        )
    return rows
