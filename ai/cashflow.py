"""Daily projected balance for the next N days (SPEC §16, GET /ai/cashflow/).

There is no account balance in the model, so the projection starts from 0 the day after
today: each day's `balance` is the running net (projected income − projected expenses)
from tomorrow on. A day's projection is

- income: the book's recurring income due that day, plus its typical income outside
  recurring items, placed on the days of the budget month it usually arrives on (each
  day's mean over the last complete months, scaled so a month adds up to the median
  month);
- expenses: the recurring expenses due that day, plus the typical spending outside
  recurring items spread evenly (the median, over the same months, of each month's
  spending per day).

The database sums (a few grouped queries); Python shapes the small series.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Q, Sum

from books.models import Book
from categories.models import Kind
from core.dates import MAX_DATE, budget_month_expression, budget_month_of, month_range
from core.money import quantize
from expenses.models import Expense
from income.models import Income

from .forecast import first_record_date, history_months, recurring_due, recurring_record_ids

DEFAULT_DAYS, MAX_DAYS = 90, 366
METHOD = (
    "balance starts at 0 today (no account balance is recorded) and adds each day's "
    "projected net: recurring income and bills on their dates, typical income outside "
    "recurring items on the days of the month it usually arrives (scaled to the median "
    "month over the last {n} complete months), and typical other spending spread evenly "
    "(the median daily spending of those months)"
)


def _label(value: Any) -> date:
    return value.date() if hasattr(value, "date") and not isinstance(value, date) else value


def _variable_daily_spending(book: Book, months: list[tuple[int, int]]) -> Decimal:
    """The median, over `months`, of each month's non-recurring spending per day."""
    if not months:
        return Decimal(0)
    start_day = book.month_start_day
    first, _ = month_range(*months[0], start_day)
    _, last = month_range(*months[-1], start_day)
    rows = (
        Expense.objects.filter(book=book, date__gte=first, date__lte=last)
        .exclude(id__in=recurring_record_ids(book, Kind.EXPENSE))
        .annotate(label=budget_month_expression("date", start_day))
        .values("label")
        .annotate(total=Sum("base_amount"))
        .order_by()
    )
    totals = {_label(row["label"]): Decimal(row["total"]) for row in rows}
    per_day = []
    for year, month in months:
        start, end = month_range(year, month, start_day)
        per_day.append(totals.get(date(year, month, 1), Decimal(0)) / ((end - start).days + 1))
    return Decimal(statistics.median(per_day))


def _income_profile(book: Book, months: list[tuple[int, int]]) -> list[Decimal]:
    """Typical non-recurring income on each day of a budget month (index = days since the
    month's first day), adding up to the median month."""
    if not months:
        return []
    start_day = book.month_start_day
    first, _ = month_range(*months[0], start_day)
    _, last = month_range(*months[-1], start_day)
    rows = (
        Income.objects.filter(book=book, date__gte=first, date__lte=last)
        .filter(~Q(id__in=recurring_record_ids(book, Kind.INCOME)))
        .values("date")
        .annotate(total=Sum("base_amount"))
        .order_by()
    )
    by_offset: dict[int, Decimal] = defaultdict(Decimal)
    by_month: dict[tuple[int, int], Decimal] = defaultdict(Decimal)
    for row in rows:
        month = budget_month_of(row["date"], start_day)
        offset = (row["date"] - month_range(*month, start_day)[0]).days
        by_offset[offset] += Decimal(row["total"])
        by_month[month] += Decimal(row["total"])
    typical_month = Decimal(statistics.median([by_month.get(m, Decimal(0)) for m in months]))
    profile = [by_offset.get(offset, Decimal(0)) for offset in range(31)]
    total = sum(profile, Decimal(0))
    if total <= 0:
        return [Decimal(0)] * 31
    return [value / total * typical_month for value in profile]


def cashflow(*, book: Book, days: int, today: date) -> dict[str, Any]:
    """The projection for the `days` days after `today` (see module doc); amounts are
    Decimals in the book's base currency."""
    currency = book.base_currency
    start_day = book.month_start_day
    first_day = min(today + timedelta(days=1), MAX_DATE)
    last_day = min(today + timedelta(days=days), MAX_DATE)
    first_records = [
        d for d in (first_record_date(book, Expense), first_record_date(book, Income)) if d
    ]
    months = history_months(
        book, before=budget_month_of(today, start_day), first=min(first_records, default=None)
    )
    daily_spending = _variable_daily_spending(book, months)
    profile = _income_profile(book, months)
    due_income: dict[date, Decimal] = defaultdict(Decimal)
    due_expenses: dict[date, Decimal] = defaultdict(Decimal)
    for occurrence in recurring_due(book, start=first_day, end=last_day, as_of=today):
        target = due_income if occurrence.kind == Kind.INCOME else due_expenses
        target[occurrence.date] += occurrence.amount

    balance = Decimal(0)
    rows = []
    day = first_day
    while day <= last_day:
        month_start, month_end = month_range(*budget_month_of(day, start_day), start_day)
        offset = (day - month_start).days
        length = (month_end - month_start).days + 1
        typical_income = Decimal(0)
        if profile:
            # Days a short month lacks fold into its last day.
            if offset == length - 1:
                typical_income = sum(profile[offset:], Decimal(0))
            else:
                typical_income = profile[offset]
        income = quantize(due_income[day] + typical_income, currency)
        expenses = quantize(due_expenses[day] + daily_spending, currency)
        balance += income - expenses
        rows.append({"date": day, "income": income, "expenses": expenses, "balance": balance})
        day += timedelta(days=1)
    return {
        "as_of": today,
        "currency": currency,
        "start_balance": Decimal(0),
        "history_months": len(months),
        "total_income": sum((r["income"] for r in rows), Decimal(0)),
        "total_expenses": sum((r["expenses"] for r in rows), Decimal(0)),
        "end_balance": balance,
        "days": rows,
        "method": METHOD.format(n=len(months)),
    }
