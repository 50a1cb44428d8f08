"""Read-only reports (SPEC §10) of one book, and the scheduled job that sends each user
the summary of their last month (SPEC §12).

A report is of a book (SPEC §14): its records, in its base currency, by its budget months
(`book.month_start_day`), so every member of a shared book sees the same figures. Only
"today" belongs to the reader (their time zone): callers pass it in. A shared book's
reports can instead count only the reader's parts of its expenses (`view=mine`, SPEC §15):
`Spending` is the one place that chooses the expense rows and the amount summed.

Every total, count and group is computed by the database (`aggregate`, grouped
`annotate`, `Trunc*`, the budget-month expression); Python only zero-fills
buckets, merges a merchant's spellings (`_top_merchants`), orders and formats.
Figures are Decimals here; views format them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.db.models import Count, DateField, F, QuerySet, Sum
from django.db.models.functions import Coalesce, Lower, TruncWeek
from django.utils import timezone

from books.models import Book, BookKind
from budgets.models import Scope
from budgets.selectors import EXCEEDED, OK, WARN, budget_lines
from categories.models import Kind
from core.dates import (
    add_months,
    budget_month_expression,
    budget_month_of,
    format_month,
    month_range,
    user_today,
)
from core.exceptions import ApplicationError
from core.money import format_amount, quantize
from currencies.selectors import ConversionOutOfRange, RateQuote, rates_on_each
from currencies.selectors import base_amount as converted_amount
from expenses.models import Expense, ExpenseShare
from goals.models import GoalStatus
from goals.selectors import goal_figures, goals_with_totals
from income.models import Income
from ledger.selectors import day_totals, merchant_totals, summed_count, totals_enabled
from notifications.models import Notification, NotificationKind
from notifications.services import notify, notify_members
from recurring.selectors import upcoming_occurrences

MAX_POINTS = 5000
TOP_MERCHANTS = 10
USER_BATCH_SIZE = 500
HUNDRED = Decimal(100)
CENT = Decimal("0.01")

PERIODS = (
    "last_7_days",
    "last_30_days",
    "last_365_days",
    "this_month",
    "last_month",
    "this_year",
)
BUCKETS = ("day", "week", "month")
# What a time series totals: a record kind, or income minus expenses.
NET = "net"
KINDS = (Kind.EXPENSE.value, Kind.INCOME.value, NET)
# Whose spending a report of a shared book counts (SPEC §15): the whole book's, or the
# reader's parts.
VIEW_BOOK = "book"
VIEW_MINE = "mine"
VIEWS = (VIEW_BOOK, VIEW_MINE)


class TooManyPoints(ApplicationError):
    """More buckets than MAX_POINTS in a time series (→ 400 on `bucket`)."""

    field = "bucket"

    def __init__(self, count: int, bucket: str) -> None:
        super().__init__(
            f"This range has {count} {bucket} buckets; at most {MAX_POINTS} are allowed: "
            "use a larger bucket or shorter range."
        )
        self.count = count


def _zero() -> Decimal:
    return Decimal(0)


def _sum(field: str = "base_amount") -> Coalesce:
    return Coalesce(Sum(field), Decimal(0))


def _money(value: Any, currency: str) -> Decimal:
    return quantize(Decimal(value or 0), currency)


def _percent(part: Decimal, whole: Decimal) -> Decimal | None:
    if not whole:
        return None
    return (part / whole * HUNDRED).quantize(CENT, rounding=ROUND_HALF_UP)


def _in_range(model: type, book: Book, start: date, end: date) -> QuerySet:
    return model.objects.filter(book=book, date__gte=start, date__lte=end)


@dataclass(frozen=True)
class Figures:
    """Where a report's figures come from: rows to group (`rows(start, end)`), the field
    holding their day, and the sum and count to take over them.

    Either the day totals the database keeps (`ledger.selectors.day_totals`: a day's
    records are one row per category and currency, so a report reads a few rows per day
    of its range however many records there are), or the records themselves (a member's
    parts, and `REPORTS_FROM_TOTALS = False`). Every report groups `rows` by `day` (or by
    category) and takes `total()` and `count()`: the same queries either way.
    """

    rows: Callable[[date, date], QuerySet]
    day: str
    total_field: str
    count_field: str | None  # None: count the rows themselves

    def total(self) -> Coalesce:
        return _sum(self.total_field)

    def count(self) -> Any:
        if self.count_field is None:
            return Count("*")
        return summed_count(self.count_field)


def _totals(kind: str, book: Book) -> Figures:
    return Figures(
        rows=lambda start, end: day_totals(book=book, kind=kind, start=start, end=end),
        day="day",
        total_field="base_total",
        count_field="record_count",
    )


def _records(model: type, book: Book) -> Figures:
    return Figures(
        rows=partial(_in_range, model, book),
        day="date",
        total_field="base_amount",
        count_field=None,
    )


@dataclass(frozen=True)
class Spending:
    """What a report counts as spending: the one rule, in one place (SPEC §15 `view`).

    By default the book's expenses, each at its `base_amount`, read from the day totals
    (`Figures`). With a `member_id` (`view=mine`) in a shared book: only the expenses that
    member has a part in, each at their part's `base_amount` (`ExpenseShare`; a part of
    zero is no part), read from the records: the parts are one inner join (one part per
    member and expense, so counts stay counts of expenses) that the aggregates reuse. A
    personal book's expenses are all its owner's, so `view=mine` there is the book's
    figures.
    """

    book: Book
    member_id: int | None = None

    @classmethod
    def of(cls, book: Book, member_id: int | None = None) -> Spending:
        return cls(book=book, member_id=None if book.is_personal else member_id)

    @property
    def figures(self) -> Figures:
        if self.member_id is None:
            if totals_enabled():
                return _totals(Kind.EXPENSE.value, self.book)
            return _records(Expense, self.book)
        return Figures(
            rows=self._member_rows, day="date", total_field="shares__base_amount", count_field=None
        )

    def _member_rows(self, start: date, end: date) -> QuerySet:
        # One filter() call, so the join is made once and `total()` sums through it.
        return _in_range(Expense, self.book, start, end).filter(
            shares__book=self.book, shares__user_id=self.member_id, shares__base_amount__gt=0
        )

    def merchants(self, start: date, end: date) -> tuple[QuerySet, Figures]:
        """Rows with a merchant in [start, end] and how to sum them (the top merchants)."""
        if self.member_id is None and totals_enabled():
            rows = merchant_totals(book=self.book, start=start, end=end)
            return rows, Figures(
                rows=lambda s, e: rows,
                day="day",
                total_field="base_total",
                count_field="record_count",
            )
        figures = self.figures
        return figures.rows(start, end).exclude(merchant=""), figures


def income_figures(book: Book) -> Figures:
    """Income is the book's in either view (members' parts are of expenses only)."""
    return _totals(Kind.INCOME.value, book) if totals_enabled() else _records(Income, book)


# --- ranges ----------------------------------------------------------------------------------


def period_range(*, book: Book, today: date, period: str) -> tuple[date, date]:
    """Named ranges ending on or around `today` (the reader's); months are the book's
    budget months."""
    start_day = book.month_start_day
    if period == "last_7_days":
        return today - timedelta(days=6), today
    if period == "last_30_days":
        return today - timedelta(days=29), today
    if period == "last_365_days":
        return today - timedelta(days=364), today
    current = budget_month_of(today, start_day)
    if period == "this_month":
        return month_range(*current, start_day)
    if period == "last_month":
        return month_range(*add_months(*current, -1), start_day)
    if period == "this_year":
        return date(today.year, 1, 1), date(today.year, 12, 31)
    raise ValueError(f"Unknown period {period!r}.")


def current_budget_month(*, book: Book, today: date) -> tuple[int, int]:
    """The book's budget month containing `today`."""
    return budget_month_of(today, book.month_start_day)


# --- summary ----------------------------------------------------------------------------------


def _largest_remainder_percents(totals: list[Decimal], whole: Decimal) -> list[Decimal]:
    """Percents with two decimals that add up to exactly 100.00 (largest-remainder method),
    so a chart's slices always close the circle."""
    if not whole:
        return [Decimal("0.00") for _ in totals]
    raw = [total / whole * HUNDRED for total in totals]
    floored = [value.quantize(CENT, rounding=ROUND_DOWN) for value in raw]
    missing = int(((HUNDRED - sum(floored)) / CENT).to_integral_value(rounding=ROUND_HALF_UP))
    order = sorted(range(len(raw)), key=lambda i: raw[i] - floored[i], reverse=True)
    for i in order[: max(missing, 0)]:
        floored[i] += CENT
    return floored


def by_category(
    *, book: Book, start: date, end: date, member_id: int | None = None
) -> list[dict[str, Any]]:
    figures = Spending.of(book, member_id).figures
    rows = list(
        figures.rows(start, end)
        .values("category_id", "category__name")
        .annotate(total=figures.total(), count=figures.count())
        # Uncategorised last on every database (NULL ordering differs by default).
        .order_by("-total", F("category__name").asc(nulls_last=True), "category_id")
    )
    return rows


def _top_merchants(rows: QuerySet, figures: Figures) -> list[dict[str, Any]]:
    """The TOP_MERCHANTS merchants by total, spellings that differ only in letter case
    counted as one merchant named by its greatest spelling (as SQL's `max`), ties by name.

    The database groups and sums by exact spelling: a few rows per merchant, however many
    days or records the range holds. Only those rows are merged here by `str.lower`:
    grouping by `LOWER(merchant)` in SQL lower-cased (and `max` compared) every day's row,
    which cost more than the sums themselves (issue 19)."""
    merged: dict[str, dict[str, Any]] = {}
    spellings = rows.values("merchant").annotate(total=figures.total(), count=figures.count())
    for row in spellings.order_by():
        key, total = row["merchant"].lower(), Decimal(row["total"])
        entry = merged.get(key)
        if entry is None:
            merged[key] = {"merchant": row["merchant"], "total": total, "count": row["count"]}
        else:
            entry["merchant"] = max(entry["merchant"], row["merchant"])
            entry["total"] += total
            entry["count"] += row["count"]
    ranked = sorted(merged.items(), key=lambda item: (-item[1]["total"], item[0]))
    return [entry for _, entry in ranked[:TOP_MERCHANTS]]


def summary(*, book: Book, start: date, end: date, member_id: int | None = None) -> dict[str, Any]:
    """Totals, counts, savings rate, category breakdown and top merchants for [start, end];
    with `member_id`, spending is that member's parts (`Spending`), income the book's."""
    currency = book.base_currency
    spending = Spending.of(book, member_id)
    earnings = income_figures(book)
    income = (
        earnings.rows(start, end)
        .order_by()
        .aggregate(total=earnings.total(), count=earnings.count())
    )
    categories = by_category(book=book, start=start, end=end, member_id=member_id)
    totals = [_money(row["total"], currency) for row in categories]
    # Expense totals add up the per-category sums the database returned (one figure per
    # category, not rows): a separate aggregate would read the same rows twice.
    total_expenses = sum(totals, _zero())
    expense_count = sum(row["count"] for row in categories)
    total_income = _money(income["total"], currency)
    net = total_income - total_expenses
    days = (end - start).days + 1
    percents = _largest_remainder_percents(totals, total_expenses)
    merchants = _top_merchants(*spending.merchants(start, end))
    return {
        "start": start,
        "end": end,
        "currency": currency,
        "total_expenses": total_expenses,
        "total_income": total_income,
        "net": net,
        "savings_rate": _percent(net, total_income),
        "expense_count": expense_count,
        "income_count": income["count"],
        "average_daily_expense": _money(total_expenses / days, currency),
        "by_category": [
            {
                "category": row["category_id"],
                "category_name": row["category__name"] or "Uncategorized",
                "total": total,
                "percent": percent,
                "count": row["count"],
            }
            for row, total, percent in zip(categories, totals, percents, strict=True)
        ],
        "top_merchants": [
            {
                "merchant": row["merchant"],
                "total": _money(row["total"], currency),
                "count": row["count"],
            }
            for row in merchants
        ],
    }


@dataclass
class BudgetTotals:
    total: Decimal | None
    remaining: Decimal | None


def _budget_totals(lines: list[Any]) -> BudgetTotals:
    """The overall budget when there is one, else the category budgets together."""
    if not lines:
        return BudgetTotals(None, None)
    overall = next((ln for ln in lines if ln.budget.scope == Scope.OVERALL), None)
    if overall is not None:
        return BudgetTotals(overall.available, overall.remaining)
    available = sum((ln.available for ln in lines), _zero())
    spent = sum((ln.spent for ln in lines), _zero())
    return BudgetTotals(available, available - spent)


def month_summary(
    *,
    book: Book,
    year: int,
    month: int,
    lines: list[Any] | None = None,
    member_id: int | None = None,
) -> dict[str, Any]:
    """`summary` of one budget month plus `budget_total` and `budget_remaining` (the
    book's budgets, whatever the view)."""
    start, end = month_range(year, month, book.month_start_day)
    data = summary(book=book, start=start, end=end, member_id=member_id)
    if lines is None:
        lines = budget_lines(book=book, year=year, month=month)
    totals = _budget_totals(lines)
    data.update(
        {
            "month": format_month(year, month),
            "budget_total": totals.total,
            "budget_remaining": totals.remaining,
        }
    )
    return data


# --- monthly and trends --------------------------------------------------------------------------


def _monthly_totals(
    figures: Figures, book: Book, first: tuple[int, int], last: tuple[int, int]
) -> dict[date, Decimal]:
    start_day = book.month_start_day
    start, _ = month_range(*first, start_day)
    _, end = month_range(*last, start_day)
    rows = (
        figures.rows(start, end)
        .annotate(label=budget_month_expression(figures.day, start_day))
        .values("label")
        .annotate(total=figures.total())
        .order_by()
    )
    return {row["label"]: _money(row["total"], book.base_currency) for row in rows}


def month_series(
    *, book: Book, first: tuple[int, int], count: int, member_id: int | None = None
) -> list[dict[str, Any]]:
    """`count` consecutive budget months from `first`: income, expenses and net each."""
    last = add_months(*first, count - 1)
    expenses = _monthly_totals(Spending.of(book, member_id).figures, book, first, last)
    income = _monthly_totals(income_figures(book), book, first, last)
    series = []
    for i in range(count):
        year, month = add_months(*first, i)
        label = date(year, month, 1)
        spent, earned = expenses.get(label, _zero()), income.get(label, _zero())
        series.append(
            {
                "month": format_month(year, month),
                "income": earned,
                "expenses": spent,
                "net": earned - spent,
            }
        )
    return series


def monthly(*, book: Book, year: int, member_id: int | None = None) -> dict[str, Any]:
    months = month_series(book=book, first=(year, 1), count=12, member_id=member_id)
    # The year's totals add up the 12 monthly sums the database returned (12 figures,
    # not rows): a second pass over a year of rows would double the cost.
    earned = sum((m["income"] for m in months), _zero())
    spent = sum((m["expenses"] for m in months), _zero())
    return {
        "year": year,
        "currency": book.base_currency,
        "months": months,
        "totals": {"income": earned, "expenses": spent, "net": earned - spent},
    }


def trends(*, book: Book, year: int, month: int, member_id: int | None = None) -> dict[str, Any]:
    """This budget month's spending against the previous one, overall and per category."""
    figures = Spending.of(book, member_id).figures
    start_day = book.month_start_day
    previous = add_months(year, month, -1)
    current_label, previous_label = date(year, month, 1), date(*previous, 1)
    start, _ = month_range(*previous, start_day)
    _, end = month_range(year, month, start_day)
    rows = list(
        figures.rows(start, end)
        .annotate(label=budget_month_expression(figures.day, start_day))
        .values("label", "category_id", "category__name")
        .annotate(total=figures.total())
        .order_by()
    )
    currency = book.base_currency
    # Month totals add up the per-category sums of the same query (a few dozen figures).
    totals: dict[date, Decimal] = {}
    for row in rows:
        totals[row["label"]] = totals.get(row["label"], _zero()) + _money(row["total"], currency)
    per_category: dict[Any, dict[str, Any]] = {}
    for row in rows:
        entry = per_category.setdefault(
            row["category_id"],
            {
                "category": row["category_id"],
                "category_name": row["category__name"] or "Uncategorized",
                "current": _zero(),
                "previous": _zero(),
            },
        )
        entry["current" if row["label"] == current_label else "previous"] = _money(
            row["total"], currency
        )
    current_total = _money(totals.get(current_label), currency)
    previous_total = _money(totals.get(previous_label), currency)
    items = []
    for entry in per_category.values():
        delta = entry["current"] - entry["previous"]
        items.append(
            {**entry, "delta": delta, "percent_change": _percent(delta, entry["previous"])}
        )
    items.sort(key=lambda e: (-e["current"], -e["previous"], e["category_name"].casefold()))
    delta = current_total - previous_total
    return {
        "month": format_month(year, month),
        "previous_month": format_month(*previous),
        "currency": currency,
        "current_total": current_total,
        "previous_total": previous_total,
        "delta": delta,
        "percent_change": _percent(delta, previous_total),
        "by_category": items,
    }


# --- time series --------------------------------------------------------------------------------


def bucket_starts(*, book: Book, start: date, end: date, bucket: str) -> list[date]:
    """The first day of every bucket touching [start, end]; raises TooManyPoints."""
    if bucket == "day":
        count = (end - start).days + 1
        if count > MAX_POINTS:
            raise TooManyPoints(count, bucket)
        return [start + timedelta(days=i) for i in range(count)]
    if bucket == "week":
        first = start - timedelta(days=start.weekday())
        count = (end - first).days // 7 + 1
        if count > MAX_POINTS:
            raise TooManyPoints(count, bucket)
        return [first + timedelta(weeks=i) for i in range(count)]
    start_day = book.month_start_day
    first, last = budget_month_of(start, start_day), budget_month_of(end, start_day)
    count = (last[0] - first[0]) * 12 + last[1] - first[1] + 1
    if count > MAX_POINTS:
        raise TooManyPoints(count, bucket)
    return [month_range(*add_months(*first, i), start_day)[0] for i in range(count)]


def _bucketed(
    figures: Figures, start: date, end: date, book: Book, bucket: str
) -> dict[date, tuple[Decimal, int]]:
    start_day = book.month_start_day
    if bucket == "day":
        key = F(figures.day)  # a date already: truncating it cast every row to a timestamp
    elif bucket == "week":
        key = TruncWeek(figures.day, output_field=DateField())
    else:
        key = budget_month_expression(figures.day, start_day)
    rows = (
        figures.rows(start, end)
        .annotate(bucket=key)
        .values("bucket")
        .annotate(total=figures.total(), count=figures.count())
        .order_by()
    )
    result = {}
    for row in rows:
        label = row["bucket"]
        if bucket == "month":  # label → the budget month's first day
            label = month_range(label.year, label.month, start_day)[0]
        result[label] = (_money(row["total"], book.base_currency), row["count"])
    return result


def timeseries(
    *,
    book: Book,
    start: date,
    end: date,
    bucket: str,
    kind: str,
    member_id: int | None = None,
) -> dict[str, Any]:
    """One point per bucket in the range, zero-filled; weeks start on Monday and months are
    budget months. Records outside [start, end] never count, even in a partial bucket."""
    starts = bucket_starts(book=book, start=start, end=end, bucket=bucket)
    expense, income = {}, {}
    if kind in (Kind.EXPENSE, NET):
        expense = _bucketed(Spending.of(book, member_id).figures, start, end, book, bucket)
    if kind in (Kind.INCOME, NET):
        income = _bucketed(income_figures(book), start, end, book, bucket)
    empty = (_zero(), 0)
    points = []
    for period_start in starts:
        spent, spent_count = expense.get(period_start, empty)
        earned, earned_count = income.get(period_start, empty)
        if kind == Kind.EXPENSE:
            total, count = spent, spent_count
        elif kind == Kind.INCOME:
            total, count = earned, earned_count
        else:
            total, count = earned - spent, spent_count + earned_count
        points.append({"period_start": period_start, "total": total, "count": count})
    return {
        "start": start,
        "end": end,
        "bucket": bucket,
        "kind": kind,
        "currency": book.base_currency,
        "points": points,
    }


# --- dashboard -----------------------------------------------------------------------------------


def _recent_transactions(book: Book, limit: int) -> list[dict[str, Any]]:
    fields = (
        "id",
        "date",
        "description",
        "amount",
        "currency",
        "base_amount",
        "category__name",
        "created_at",
    )
    newest = ("-date", "-created_at", "-id")
    expenses = Expense.objects.filter(book=book).order_by(*newest).values(*fields)[:limit]
    incomes = Income.objects.filter(book=book).order_by(*newest).values(*fields)[:limit]
    merged = [{**row, "type": Kind.EXPENSE.value} for row in expenses] + [
        {**row, "type": Kind.INCOME.value} for row in incomes
    ]
    merged.sort(key=lambda row: (row["date"], row["created_at"], row["id"]), reverse=True)
    return merged[:limit]


def _upcoming_bills(book: Book, today: date, days: int, limit: int) -> list[dict[str, Any]]:
    """The book's recurring expenses due soon."""
    occurrences = upcoming_occurrences(book=book, days=days, kind=Kind.EXPENSE, today=today)
    return occurrences[:limit]


def _goal_progress(goal: Any, figures: Any) -> dict[str, Any]:
    return {
        "id": goal.id,
        "name": goal.name,
        "status": goal.status,
        "target_amount": goal.target_amount,
        "target_date": goal.target_date,
        "saved_amount": figures.saved_amount,
        "remaining": figures.remaining,
        "percent": figures.percent,
        "on_track": figures.on_track,
    }


def _book_shares(
    *, member_id: int, books: list[dict[str, Any]], start: date, end: date
) -> dict[int, dict[date, Decimal]]:
    """book id → expense date → the member's parts that day (book currency): summed and
    grouped by the database, so at most (books × days in the range) figures come back."""
    rows = (
        ExpenseShare.objects.filter(
            user_id=member_id,
            book_id__in=[entry["pk"] for entry in books],
            expense__date__gte=start,
            expense__date__lte=end,
        )
        .values("book_id", "expense__date")
        .annotate(share=_sum())
        .order_by()
    )
    days: dict[int, dict[date, Decimal]] = {}
    for row in rows:
        days.setdefault(row["book_id"], {})[row["expense__date"]] = Decimal(row["share"])
    return days


def _converted_days(
    by_day: dict[date, Decimal],
    quotes: dict[date, Any],
    from_currency: str,
    to_currency: str,
) -> tuple[Decimal | None, str | None]:
    """(the day figures converted at each day's rate and added up, None) — or (None, why)
    at the earliest day that cannot be converted."""
    converted = _zero()
    for day, amount in sorted(by_day.items()):
        quote = quotes[day]
        if not isinstance(quote, RateQuote):  # the RateUnavailable get_rate would raise
            return None, str(quote)
        try:
            converted += converted_amount(
                amount=amount, rate=quote.rate, from_currency=from_currency, to_currency=to_currency
            )
        except ConversionOutOfRange as error:
            return None, str(error)
    return converted, None


def shared_shares(*, member_id: int, currency: str, start: date, end: date) -> dict[str, Any]:
    """The member's parts of the expenses of every shared book they belong to, dated in
    [start, end], per book in its currency and converted into `currency`.

    Each day's parts convert at that day's rate (`currencies.selectors.rates_on_each`, one
    rate lookup per book currency) by the stored-conversion rule (`base_amount`), then
    add up. A book with a day no rate connects is listed with `share_in_base: None` and
    `unconverted` (the pair and date) and left out of `total`; `all_converted` says
    whether `total` covers every book.
    """
    books = list(
        Book.objects.filter(kind=BookKind.SHARED, memberships__user_id=member_id)
        .order_by(Lower("name"), "pk")
        .values("pk", "name", "base_currency")
    )
    days = _book_shares(member_id=member_id, books=books, start=start, end=end)
    dates_by_currency: dict[str, set[date]] = {}
    for entry in books:
        dates = dates_by_currency.setdefault(entry["base_currency"], set())
        dates.update(days.get(entry["pk"], {}))
    rates = {
        from_currency: rates_on_each(from_currency=from_currency, to_currency=currency, dates=dates)
        for from_currency, dates in dates_by_currency.items()
    }
    total, entries = _zero(), []
    for entry in books:
        book_currency, by_day = entry["base_currency"], days.get(entry["pk"], {})
        share = quantize(sum(by_day.values(), _zero()), book_currency)
        in_base, unconverted = _converted_days(
            by_day, rates[book_currency], book_currency, currency
        )
        if in_base is not None:
            total += in_base
        entries.append(
            {
                "book": entry["pk"],
                "name": entry["name"],
                "currency": book_currency,
                "share": share,
                "share_in_base": in_base,
                "unconverted": unconverted,
            }
        )
    return {
        "start": start,
        "end": end,
        "total": total,
        "all_converted": all(e["unconverted"] is None for e in entries),
        "books": entries,
    }


def dashboard(
    *,
    book: Book,
    today: date,
    member_id: int | None = None,
    include_shared_of: int | None = None,
) -> dict[str, Any]:
    """One payload for a home screen (SPEC §10): the book's figures as of `today`.

    `member_id` (view=mine): the spending figures are that member's parts (`Spending`);
    budgets, goals, recent transactions and bills stay the book's. `include_shared_of`
    (a personal book's dashboard only): adds `shared`, that user's parts of their shared
    books this budget month in this book's currency (`shared_shares`), and
    `total_expenses_with_shared`, the month's spending with them.
    """
    year, month = current_budget_month(book=book, today=today)
    lines = budget_lines(book=book, year=year, month=month)
    this_month = month_summary(book=book, year=year, month=month, lines=lines, member_id=member_id)
    counts = {OK: 0, WARN: 0, EXCEEDED: 0}
    for line in lines:
        counts[line.status] += 1
    goals_qs = (
        goals_with_totals(book=book, today=today)
        .exclude(status=GoalStatus.ARCHIVED)
        .order_by("target_date", "id")[:10]
    )
    data = {
        "month": this_month["month"],
        "currency": book.base_currency,
        "summary": this_month,
        "budgets": {
            "overall": next((ln for ln in lines if ln.budget.scope == Scope.OVERALL), None),
            "items": [ln for ln in lines if ln.budget.scope == Scope.CATEGORY],
            "counts": counts,
        },
        "last_6_months": month_series(
            book=book, first=add_months(year, month, -5), count=6, member_id=member_id
        ),
        "top_categories": this_month["by_category"][:5],
        "goals": [
            _goal_progress(goal, goal_figures(goal=goal, today=today, currency=book.base_currency))
            for goal in goals_qs
        ],
        "recent_transactions": _recent_transactions(book, 5),
        "upcoming_bills": _upcoming_bills(book, today, 30, 5),
    }
    if include_shared_of is not None:
        shared = shared_shares(
            member_id=include_shared_of,
            currency=book.base_currency,
            start=this_month["start"],
            end=this_month["end"],
        )
        shared["total_expenses_with_shared"] = this_month["total_expenses"] + shared["total"]
        data["shared"] = shared
    return data


# --- job: monthly summaries ----------------------------------------------------------------------


def _users_in_batches() -> Iterator[list[Any]]:
    # The summary is of the user's personal book (the top-level reports).
    users = (
        get_user_model()
        .objects.filter(is_active=True, personal_book__isnull=False)
        .select_related("personal_book")
        .order_by("pk")
    )
    last = 0
    while True:
        batch = list(users.filter(pk__gt=last)[:USER_BATCH_SIZE])
        if not batch:
            return
        yield batch
        last = batch[-1].pk


def _previous_month(user: Any, today: date | None) -> tuple[int, int]:
    day = today if today is not None else user_today(user)
    return add_months(*budget_month_of(day, user.personal_book.month_start_day), -1)


def _summary_message(book: Book, year: int, month: int) -> dict[str, Any]:
    figures = month_summary(book=book, year=year, month=month)
    currency = figures["currency"]
    label = format_month(year, month)

    def money(value: Any) -> str:
        return format_amount(value, currency)

    top = figures["by_category"][0] if figures["by_category"] else None
    rate = figures["savings_rate"]
    lines = [
        f"Income: {money(figures['total_income'])} {currency}",
        f"Expenses: {money(figures['total_expenses'])} {currency}",
        f"Net: {money(figures['net'])} {currency}",
        f"Savings rate: {rate}%" if rate is not None else "Savings rate: - (no income)",
    ]
    if top is not None:
        lines.append(f"Top category: {top['category_name']} ({money(top['total'])} {currency})")
    return {
        "title": f"Your summary for {label}",
        "body": "\n".join(lines),
        "data": {
            "month": label,
            "currency": currency,
            "income": money(figures["total_income"]),
            "expenses": money(figures["total_expenses"]),
            "net": money(figures["net"]),
            "savings_rate": str(rate) if rate is not None else None,
            "top_category": None
            if top is None
            else {
                "category": top["category"],
                "name": top["category_name"],
                "total": money(top["total"]),
            },
        },
    }


def send_monthly_summaries(*, today: date | None = None) -> int:
    """Notify each active user once with the figures of their personal book's previous
    budget month (income, expenses, net, savings rate, top category; month_summary).

    "Previous" is relative to the user's today (or `today` when given). Users who
    joined after that month ended get none. Runs daily: the dedupe key
    `monthly_summary:YYYY-MM` makes it once a month per user in effect, on the first
    run of a new month, and a late run catches up. Each shared book's month goes to its
    members as well (`_send_shared_book_summaries`). Returns how many were sent.
    """
    sent = 0
    for batch in _users_in_batches():
        wanted = {}
        for user in batch:
            year, month = _previous_month(user, today)
            _, end = month_range(year, month, user.personal_book.month_start_day)
            if user.date_joined.astimezone(ZoneInfo(user.timezone or "UTC")).date() > end:
                continue
            wanted[user.pk] = (user, year, month, f"monthly_summary:{format_month(year, month)}")
        already = set(
            Notification.objects.filter(
                user_id__in=list(wanted),
                kind=NotificationKind.MONTHLY_SUMMARY,
                dedupe_key__in={key for *_, key in wanted.values()},
            ).values_list("user_id", "dedupe_key")
        )
        for user_id, (user, year, month, key) in wanted.items():
            if (user_id, key) in already:
                continue
            message = _summary_message(user.personal_book, year, month)
            if notify(user=user, kind=NotificationKind.MONTHLY_SUMMARY, dedupe_key=key, **message):
                sent += 1
    return sent + _send_shared_book_summaries(today=today)


def _send_shared_book_summaries(*, today: date | None) -> int:
    """Each shared book's previous budget month, to every member (each by their own
    preferences; the title names the book). Members may live in several time zones, so
    "today" is UTC's (or `today`). Once per member, book and month: the dedupe key is
    `monthly_summary:book:<id>:YYYY-MM`. Books made after that month ended get none."""
    day = today if today is not None else timezone.now().date()
    sent = 0
    for book in Book.objects.filter(kind=BookKind.SHARED).order_by("pk").iterator():
        year, month = add_months(*budget_month_of(day, book.month_start_day), -1)
        _, end = month_range(year, month, book.month_start_day)
        if book.created_at.date() > end:
            continue
        key = f"monthly_summary:book:{book.pk}:{format_month(year, month)}"
        message = _summary_message(book, year, month)
        sent += len(
            notify_members(
                book=book, kind=NotificationKind.MONTHLY_SUMMARY, dedupe_key=key, **message
            )
        )
    return sent
