"""Month-end spending forecast (SPEC §16): what is spent, what is still due, the typical rest.

For a budget month of a book, as of the reader's today:

- a past month is its actual spending (low = expected = high);
- the current month is what is already spent (to today, inclusive), plus the book's
  recurring expenses still due this month (the schedule's dates after today, and
  today's when its job has not recorded it yet), plus the *typical rest*: for the same
  fraction of the month still to come, how much each of the last `HISTORY_MONTHS`
  complete months spent outside recurring items. The median of those months, their
  10th and 90th percentiles, are then moved towards this month's own pace (what it
  spent outside recurring items per day so far, times the days left) by the share of
  the month already seen: on day 10 of 30 a third of the way, on day 20 two thirds.
  This beats both naive baselines in the backtest (`backtest`): history alone misses
  a month running hot or cold, the pace alone overreacts to a large early purchase;
- a future month is recurring items plus the typical whole month (no pace yet).

The database sums (one grouped query per figure); Python only takes medians and
quantiles of the small per-month series. Amounts are Decimals in the book's base
currency; recurring items in another currency convert at today's rate.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
from django.db.models import Min, Q, QuerySet, Sum

from books.models import Book
from categories.models import Category, Kind
from core.dates import add_months, budget_month_expression, budget_month_of, month_range
from core.money import quantize
from currencies.selectors import ConversionOutOfRange, RateUnavailable, converter
from expenses.models import Expense
from income.models import Income
from recurring.models import RecurringItem, RecurringOccurrence
from recurring.selectors import occurrences

# Complete budget months the typical rest is learned from (fewer when the book is younger).
HISTORY_MONTHS = 12
LOW_QUANTILE, HIGH_QUANTILE = 0.1, 0.9
UNCATEGORISED = "Uncategorised"

METHOD_ACTUAL = "actual: the month is over, so the figures are what was spent"
METHOD_HISTORY = (
    "spent so far + recurring items still due + the typical rest: the median, over the last "
    "{n} complete months, of what was spent outside recurring items in the same part of the "
    "month (low/high: the 10th and 90th percentiles), moved towards this month's own daily "
    "pace by the share of the month already past"
)
METHOD_NO_HISTORY = (
    "spent so far + recurring items still due + the rest at this month's daily rate "
    "(no complete month of history yet); low counts no further spending, high twice the rate"
)


# --- shared by forecast and cash flow ------------------------------------------------------


def _zero() -> Decimal:
    return Decimal(0)


def recurring_record_ids(book: Book, kind: str) -> QuerySet:
    """The ids of the book's records a recurring item's job created (a subquery)."""
    column = "expense_id" if kind == Kind.EXPENSE else "income_id"
    return RecurringOccurrence.objects.filter(
        item__book=book, **{f"{column}__isnull": False}
    ).values(column)


def first_record_date(book: Book, model: type[Expense] | type[Income]) -> date | None:
    return model.objects.filter(book=book).aggregate(first=Min("date"))["first"]


def history_months(
    book: Book, *, before: tuple[int, int], first: date | None, limit: int = HISTORY_MONTHS
) -> list[tuple[int, int]]:
    """Up to `limit` complete budget months before `before`, oldest first, that the book
    has records for: months before its first record's month are not history (they would
    count as months of no spending), and that first month only counts when nothing else
    does (it is usually partial)."""
    if first is None:
        return []
    first_month = budget_month_of(first, book.month_start_day)
    months = []
    for back in range(limit, 0, -1):
        month = add_months(*before, -back)
        if month > first_month:
            months.append(month)
    if not months and first_month < before:
        months.append(first_month)
    return months


@dataclass(frozen=True)
class Occurrence:
    date: date
    amount: Decimal  # in the book's base currency
    kind: str
    category: int | None
    category_name: str | None
    description: str


def recurring_due(
    book: Book, *, start: date, end: date, as_of: date, kind: str | None = None
) -> list[Occurrence]:
    """The dates of the book's active recurring items in [start, end] not yet recorded as
    of `as_of`: every date after `as_of`, and `as_of` itself when the item's job has not
    recorded it (auto-created items) — an item entered by hand may already be in today's
    records, so its today is not counted twice. Foreign amounts convert at `as_of`'s rate;
    an item no rate connects is left out."""
    start = max(start, as_of)
    if end < start:
        return []
    items = list(
        RecurringItem.objects.filter(book=book, active=True, start_date__lte=end)
        .exclude(end_date__lt=start)
        .filter(**({"kind": kind} if kind else {}))
        .select_related("category")
    )
    if not items:
        return []
    recorded_today = set(
        RecurringOccurrence.objects.filter(
            item__in=items, date=as_of, fulfilled_at__isnull=False
        ).values_list("item_id", flat=True)
    )
    converters: dict[str, Any] = {}
    rows = []
    for item in items:
        if item.currency not in converters:
            try:
                converters[item.currency] = converter(
                    from_currency=item.currency, to_currency=book.base_currency, on=as_of
                )
            except (RateUnavailable, ConversionOutOfRange):
                converters[item.currency] = None
        convert = converters[item.currency]
        if convert is None:
            continue
        try:
            amount = convert(item.amount)
        except ConversionOutOfRange:
            continue
        for day in occurrences(item, start=start, end=end):
            if day == as_of and (not item.auto_create or item.pk in recorded_today):
                continue
            rows.append(
                Occurrence(
                    date=day,
                    amount=amount,
                    kind=item.kind,
                    category=item.category_id,
                    category_name=item.category.name if item.category else None,
                    description=item.description,
                )
            )
    rows.sort(key=lambda row: row.date)
    return rows


def quantiles(values: list[Decimal]) -> tuple[Decimal, Decimal, Decimal]:
    """(low, median, high) of a small series (the 10th, 50th and 90th percentiles)."""
    if not values:
        return _zero(), _zero(), _zero()
    floats = np.array([float(v) for v in values])
    low, high = np.quantile(floats, [LOW_QUANTILE, HIGH_QUANTILE])
    median = statistics.median(values)
    return Decimal(repr(float(low))), Decimal(median), Decimal(repr(float(high)))


# --- the forecast ---------------------------------------------------------------------------


class _Projected:
    """expected / low / high = spent so far + recurring still due + the typical rest
    (its median, and its 10th and 90th percentiles)."""

    spent: Decimal
    recurring: Decimal
    rest: tuple[Decimal, Decimal, Decimal]

    @property
    def expected(self) -> Decimal:
        return self.spent + self.recurring + self.rest[1]

    @property
    def low(self) -> Decimal:
        return self.spent + self.recurring + self.rest[0]

    @property
    def high(self) -> Decimal:
        return self.spent + self.recurring + self.rest[2]


@dataclass
class CategoryForecast(_Projected):
    category: int | None
    category_name: str
    spent: Decimal = field(default_factory=_zero)
    variable: Decimal = field(default_factory=_zero)  # spent outside recurring items
    recurring: Decimal = field(default_factory=_zero)
    rest: tuple[Decimal, Decimal, Decimal] = (_zero(), _zero(), _zero())
    typical_month: Decimal = field(default_factory=_zero)  # median full month (insights)


@dataclass
class Forecast(_Projected):
    year: int
    month: int
    start: date
    end: date
    as_of: date
    currency: str
    state: str  # past | current | future
    spent: Decimal
    recurring: Decimal
    recurring_count: int
    rest: tuple[Decimal, Decimal, Decimal]
    history_months: int
    typical_month: Decimal | None
    categories: list[CategoryForecast]
    method: str


def _spent_by_category(book: Book, start: date, end: date) -> list[dict[str, Any]]:
    return list(
        Expense.objects.filter(book=book, date__gte=start, date__lte=end)
        .values("category")
        .annotate(
            total=Sum("base_amount"),
            variable=Sum(
                "base_amount",
                filter=~Q(id__in=recurring_record_ids(book, Kind.EXPENSE)),
                default=0,
            ),
        )
        .order_by()
    )


def _blend(
    history: tuple[Decimal, Decimal, Decimal], pace: Decimal, weight: Decimal
) -> tuple[Decimal, Decimal, Decimal]:
    """The history's (low, median, high) moved `weight` of the way towards this month's
    own pace (the interval keeps its width; nothing below 0)."""
    shift = weight * (pace - history[1])
    return tuple(max(_zero(), value + shift) for value in history)  # type: ignore[return-value]


def _history_rest(
    book: Book, months: list[tuple[int, int]], fraction: float
) -> dict[tuple[date, int | None], dict[str, Decimal]]:
    """Per (month label, category): the month's whole spending (`total`) and what it spent
    outside recurring items from the same fraction of the month on (`rest`): one query
    (no join: category names are read once for the whole forecast)."""
    if not months:
        return {}
    start_day = book.month_start_day
    window = Q()
    for year, month in months:
        start, end = month_range(year, month, start_day)
        cut = start + timedelta(days=round(fraction * ((end - start).days + 1)))
        window |= Q(date__gte=cut, date__lte=end)
    first, _ = month_range(*months[0], start_day)
    _, last = month_range(*months[-1], start_day)
    rows = (
        Expense.objects.filter(book=book, date__gte=first, date__lte=last)
        .annotate(label=budget_month_expression("date", start_day))
        .values("label", "category")
        .annotate(
            total=Sum("base_amount"),
            rest=Sum(
                "base_amount",
                filter=window & ~Q(id__in=recurring_record_ids(book, Kind.EXPENSE)),
                default=0,
            ),
        )
        .order_by()
    )
    figures: dict[tuple[date, int | None], dict[str, Decimal]] = {}
    for row in rows:
        label = row["label"]
        label = label.date() if hasattr(label, "date") else label
        figures[(label, row["category"])] = {
            "total": Decimal(row["total"]),
            "rest": Decimal(row["rest"]),
        }
    return figures


def forecast(*, book: Book, year: int, month: int, as_of: date) -> Forecast:
    """The month-end forecast of budget month (year, month) as of `as_of` (see module doc)."""
    start_day = book.month_start_day
    currency = book.base_currency
    start, end = month_range(year, month, start_day)
    categories: dict[int | None, CategoryForecast] = {}

    def entry(category: int | None, name: str | None = None) -> CategoryForecast:
        if category not in categories:
            categories[category] = CategoryForecast(category, name or "")
        return categories[category]

    if end < as_of:
        for row in _spent_by_category(book, start, end):
            entry(row["category"]).spent = Decimal(row["total"])
        spent = sum((c.spent for c in categories.values()), _zero())
        return _finish(
            Forecast(
                year=year,
                month=month,
                start=start,
                end=end,
                as_of=as_of,
                currency=currency,
                state="past",
                spent=spent,
                recurring=_zero(),
                recurring_count=0,
                rest=(_zero(), _zero(), _zero()),
                history_months=0,
                typical_month=None,
                categories=[],
                method=METHOD_ACTUAL,
            ),
            categories,
        )

    state = "current" if start <= as_of else "future"
    elapsed = (as_of - start).days + 1 if state == "current" else 0
    length = (end - start).days + 1
    if elapsed:
        for row in _spent_by_category(book, start, as_of):
            item = entry(row["category"])
            item.spent, item.variable = Decimal(row["total"]), Decimal(row["variable"])
    due = recurring_due(book, start=start, end=end, as_of=as_of, kind=Kind.EXPENSE)
    for occurrence in due:
        entry(occurrence.category, occurrence.category_name).recurring += occurrence.amount

    months = history_months(
        book,
        before=budget_month_of(as_of, start_day),
        first=first_record_date(book, Expense),
    )
    figures = _history_rest(book, months, elapsed / length)
    labels = [date(*m, 1) for m in months]
    for category in {key[1] for key in figures}:
        series = [figures.get((label, category), {}).get("rest", _zero()) for label in labels]
        full = [figures.get((label, category), {}).get("total", _zero()) for label in labels]
        item = entry(category)
        item.rest = quantiles(series)
        item.typical_month = Decimal(statistics.median(full))
    spent = sum((c.spent for c in categories.values()), _zero())
    variable = sum((c.variable for c in categories.values()), _zero())
    recurring = sum((o.amount for o in due), _zero())
    left = length - elapsed
    # How far this month's own pace counts against history: the share of it already seen.
    weight = Decimal(elapsed) / Decimal(length) if months else Decimal(1)
    if elapsed:
        for item in categories.values():
            item.rest = _blend(item.rest, item.variable / elapsed * left, weight)
    if months:
        totals = [
            sum((v["rest"] for k, v in figures.items() if k[0] == label), _zero())
            for label in labels
        ]
        full_totals = [
            sum((v["total"] for k, v in figures.items() if k[0] == label), _zero())
            for label in labels
        ]
        rest = _blend(quantiles(totals), variable / elapsed * left if elapsed else _zero(), weight)
        typical: Decimal | None = Decimal(statistics.median(full_totals))
        method = METHOD_HISTORY.format(n=len(months))
    else:
        # No history: the rest at this month's own pace (a future month: nothing known).
        expected_rest = variable / elapsed * left if elapsed else _zero()
        rest = (_zero(), expected_rest, 2 * expected_rest)
        for item in categories.values():
            share = item.rest[1]
            item.rest = (_zero(), share, 2 * share)
        typical = None
        method = METHOD_NO_HISTORY
    return _finish(
        Forecast(
            year=year,
            month=month,
            start=start,
            end=end,
            as_of=as_of,
            currency=currency,
            state=state,
            spent=spent,
            recurring=recurring,
            recurring_count=len(due),
            rest=rest,
            history_months=len(months),
            typical_month=typical,
            categories=[],
            method=method,
        ),
        categories,
    )


def _finish(result: Forecast, categories: dict[int | None, CategoryForecast]) -> Forecast:
    """Rounded to the currency, categories named, those with nothing expected left out,
    largest first."""
    currency = result.currency
    unnamed = [c for c in categories.values() if not c.category_name and c.category is not None]
    if unnamed:
        names = dict(
            Category.objects.filter(id__in=[c.category for c in unnamed]).values_list("id", "name")
        )
        for item in unnamed:
            item.category_name = names.get(item.category, "")
    for item in categories.values():
        item.category_name = item.category_name or UNCATEGORISED

    def q(value: Decimal) -> Decimal:
        return quantize(value, currency)

    result.spent, result.recurring = q(result.spent), q(result.recurring)
    result.rest = tuple(q(v) for v in result.rest)  # type: ignore[assignment]
    if result.typical_month is not None:
        result.typical_month = q(result.typical_month)
    kept = []
    for item in categories.values():
        item.spent, item.recurring = q(item.spent), q(item.recurring)
        item.rest = tuple(q(v) for v in item.rest)  # type: ignore[assignment]
        item.typical_month = q(item.typical_month)
        if item.high > 0 or item.typical_month > 0:
            kept.append(item)
    kept.sort(key=lambda c: (-c.expected, -c.high, c.category_name.casefold()))
    result.categories = kept
    return result


def forecast_payload(result: Forecast) -> dict[str, Any]:
    """The JSON-ready answer of GET /ai/forecast/ (Decimals; the view formats them)."""
    return {
        "month": f"{result.year:04d}-{result.month:02d}",
        "start": result.start,
        "end": result.end,
        "as_of": result.as_of,
        "currency": result.currency,
        "state": result.state,
        "total": {
            "spent": result.spent,
            "recurring_due": result.recurring,
            "expected": result.expected,
            "low": result.low,
            "high": result.high,
        },
        "by_category": [
            {
                "category": item.category,
                "category_name": item.category_name,
                "spent": item.spent,
                "recurring_due": item.recurring,
                "expected": item.expected,
                "low": item.low,
                "high": item.high,
            }
            for item in result.categories
        ],
        "history_months": result.history_months,
        "method": result.method,
    }


# --- backtest --------------------------------------------------------------------------------


def _month_totals(book: Book, first: tuple[int, int], last: tuple[int, int]) -> dict[date, Decimal]:
    start_day = book.month_start_day
    start, _ = month_range(*first, start_day)
    _, end = month_range(*last, start_day)
    rows = (
        Expense.objects.filter(book=book, date__gte=start, date__lte=end)
        .annotate(label=budget_month_expression("date", start_day))
        .values("label")
        .annotate(total=Sum("base_amount"))
        .order_by()
    )
    totals = {}
    for row in rows:
        label = row["label"]
        totals[label.date() if hasattr(label, "date") else label] = Decimal(row["total"])
    return totals


def backtest(*, book: Book, months: int = 24, day: int = 10, today: date | None = None) -> dict:
    """How well the month-end total is forecast on day `day` of each of the last `months`
    complete budget months (each forecast sees only what was recorded up to that day),
    against two naive baselines: last month's total, and the run-rate (spent so far ÷ days
    elapsed × days in the month). Returns the mean absolute percentage errors (percent,
    months with no spending skipped) and each month's figures."""
    today = today or date.today()
    start_day = book.month_start_day
    current = budget_month_of(today, start_day)
    tested = [add_months(*current, -back) for back in range(months, 0, -1)]
    totals = _month_totals(book, add_months(*tested[0], -1), tested[-1])
    rows = []
    for year, month in tested:
        start, end = month_range(year, month, start_day)
        length = (end - start).days + 1
        as_of = min(start + timedelta(days=day - 1), end)
        actual = totals.get(date(year, month, 1), _zero())
        if actual <= 0:
            continue
        result = forecast(book=book, year=year, month=month, as_of=as_of)
        elapsed = (as_of - start).days + 1
        previous = totals.get(date(*add_months(year, month, -1), 1), _zero())
        rows.append(
            {
                "month": f"{year:04d}-{month:02d}",
                "actual": actual,
                "model": result.expected,
                "last_month": previous,
                "run_rate": result.spent / elapsed * length,
            }
        )

    def mape(key: str) -> float | None:
        if not rows:
            return None
        errors = [abs(float(r[key] - r["actual"])) / float(r["actual"]) for r in rows]
        return round(100 * sum(errors) / len(errors), 2)

    return {
        "day": day,
        "months": len(rows),
        "mape": {
            "model": mape("model"),
            "last_month": mape("last_month"),
            "run_rate": mape("run_rate"),
        },
        "rows": rows,
    }
