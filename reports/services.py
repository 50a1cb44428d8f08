"""Read-only reports (SPEC §10) of one book, and the scheduled job that sends each user
the summary of their last month (SPEC §12).

A report is of a book (SPEC §14): its records, in its base currency, by its budget months
(`book.month_start_day`), so every member of a shared book sees the same figures. Only
"today" belongs to the reader (their time zone): callers pass it in.

Every total, count and group is computed by the database (`aggregate`, grouped
`annotate`, `Trunc*`, the budget-month expression); Python only zero-fills
buckets, orders and formats. Figures are Decimals here; views format them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.db.models import Count, DateField, F, Max, QuerySet, Sum
from django.db.models.functions import Coalesce, Lower, TruncDay, TruncWeek
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
from expenses.models import Expense
from goals.models import GoalStatus
from goals.selectors import goal_figures, goals_with_totals
from income.models import Income
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


def _sum() -> Coalesce:
    return Coalesce(Sum("base_amount"), Decimal(0))


def _money(value: Any, currency: str) -> Decimal:
    return quantize(Decimal(value or 0), currency)


def _percent(part: Decimal, whole: Decimal) -> Decimal | None:
    if not whole:
        return None
    return (part / whole * HUNDRED).quantize(CENT, rounding=ROUND_HALF_UP)


def _in_range(model: type, book: Book, start: date, end: date) -> QuerySet:
    return model.objects.filter(book=book, date__gte=start, date__lte=end)


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


def by_category(*, book: Book, start: date, end: date) -> list[dict[str, Any]]:
    rows = list(
        _in_range(Expense, book, start, end)
        .values("category_id", "category__name")
        .annotate(total=_sum(), count=Count("*"))
        # Uncategorised last on every database (NULL ordering differs by default).
        .order_by("-total", F("category__name").asc(nulls_last=True), "category_id")
    )
    return rows


def summary(*, book: Book, start: date, end: date) -> dict[str, Any]:
    """Totals, counts, savings rate, category breakdown and top merchants for [start, end]."""
    currency = book.base_currency
    income = _in_range(Income, book, start, end).aggregate(total=_sum(), count=Count("*"))
    categories = by_category(book=book, start=start, end=end)
    totals = [_money(row["total"], currency) for row in categories]
    # Expense totals add up the per-category sums the database returned (one figure per
    # category, not rows): a separate aggregate would read the same rows twice.
    total_expenses = sum(totals, _zero())
    expense_count = sum(row["count"] for row in categories)
    total_income = _money(income["total"], currency)
    net = total_income - total_expenses
    days = (end - start).days + 1
    percents = _largest_remainder_percents(totals, total_expenses)
    merchants = (
        _in_range(Expense, book, start, end)
        .exclude(merchant="")
        .annotate(key=Lower("merchant"))
        .values("key")
        .annotate(merchant=Max("merchant"), total=_sum(), count=Count("*"))
        .order_by("-total", "key")[:TOP_MERCHANTS]
    )
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
    *, book: Book, year: int, month: int, lines: list[Any] | None = None
) -> dict[str, Any]:
    """`summary` of one budget month plus `budget_total` and `budget_remaining`."""
    start, end = month_range(year, month, book.month_start_day)
    data = summary(book=book, start=start, end=end)
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
    model: type, book: Book, first: tuple[int, int], last: tuple[int, int]
) -> dict[date, Decimal]:
    start_day = book.month_start_day
    start, _ = month_range(*first, start_day)
    _, end = month_range(*last, start_day)
    rows = (
        _in_range(model, book, start, end)
        .annotate(label=budget_month_expression("date", start_day))
        .values("label")
        .annotate(total=_sum())
        .order_by()
    )
    return {row["label"]: _money(row["total"], book.base_currency) for row in rows}


def month_series(*, book: Book, first: tuple[int, int], count: int) -> list[dict[str, Any]]:
    """`count` consecutive budget months from `first`: income, expenses and net each."""
    last = add_months(*first, count - 1)
    expenses = _monthly_totals(Expense, book, first, last)
    income = _monthly_totals(Income, book, first, last)
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


def monthly(*, book: Book, year: int) -> dict[str, Any]:
    months = month_series(book=book, first=(year, 1), count=12)
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


def trends(*, book: Book, year: int, month: int) -> dict[str, Any]:
    """This budget month's spending against the previous one, overall and per category."""
    start_day = book.month_start_day
    previous = add_months(year, month, -1)
    current_label, previous_label = date(year, month, 1), date(*previous, 1)
    start, _ = month_range(*previous, start_day)
    _, end = month_range(year, month, start_day)
    rows = list(
        _in_range(Expense, book, start, end)
        .annotate(label=budget_month_expression("date", start_day))
        .values("label", "category_id", "category__name")
        .annotate(total=_sum())
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
    model: type, book: Book, start: date, end: date, bucket: str
) -> dict[date, tuple[Decimal, int]]:
    queryset = _in_range(model, book, start, end)
    start_day = book.month_start_day
    if bucket == "day":
        key = TruncDay("date", output_field=DateField())
    elif bucket == "week":
        key = TruncWeek("date", output_field=DateField())
    else:
        key = budget_month_expression("date", start_day)
    rows = (
        queryset.annotate(bucket=key)
        .values("bucket")
        .annotate(total=_sum(), count=Count("*"))
        .order_by()
    )
    result = {}
    for row in rows:
        label = row["bucket"]
        if bucket == "month":  # label → the budget month's first day
            label = month_range(label.year, label.month, start_day)[0]
        result[label] = (_money(row["total"], book.base_currency), row["count"])
    return result


def timeseries(*, book: Book, start: date, end: date, bucket: str, kind: str) -> dict[str, Any]:
    """One point per bucket in the range, zero-filled; weeks start on Monday and months are
    budget months. Records outside [start, end] never count, even in a partial bucket."""
    starts = bucket_starts(book=book, start=start, end=end, bucket=bucket)
    expense = _bucketed(Expense, book, start, end, bucket) if kind in (Kind.EXPENSE, NET) else {}
    income = _bucketed(Income, book, start, end, bucket) if kind in (Kind.INCOME, NET) else {}
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


def dashboard(*, book: Book, today: date) -> dict[str, Any]:
    """One payload for a home screen (SPEC §10): the book's figures as of `today`."""
    year, month = current_budget_month(book=book, today=today)
    lines = budget_lines(book=book, year=year, month=month)
    this_month = month_summary(book=book, year=year, month=month, lines=lines)
    counts = {OK: 0, WARN: 0, EXCEEDED: 0}
    for line in lines:
        counts[line.status] += 1
    goals_qs = (
        goals_with_totals(book=book, today=today)
        .exclude(status=GoalStatus.ARCHIVED)
        .order_by("target_date", "id")[:10]
    )
    return {
        "month": this_month["month"],
        "currency": book.base_currency,
        "summary": this_month,
        "budgets": {
            "overall": next((ln for ln in lines if ln.budget.scope == Scope.OVERALL), None),
            "items": [ln for ln in lines if ln.budget.scope == Scope.CATEGORY],
            "counts": counts,
        },
        "last_6_months": month_series(book=book, first=add_months(year, month, -5), count=6),
        "top_categories": this_month["by_category"][:5],
        "goals": [
            _goal_progress(goal, goal_figures(goal=goal, today=today, currency=book.base_currency))
            for goal in goals_qs
        ],
        "recent_transactions": _recent_transactions(book, 5),
        "upcoming_bills": _upcoming_bills(book, today, 30, 5),
    }


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
