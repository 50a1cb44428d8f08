"""Budget status (SPEC §8): spent, rollover, available, remaining and level per budget.

Every sum is taken by the database: one grouped query returns, for each budget
month in the rollover chain, the spending under each budgeted key (a category
and its subcategories, or everything for the overall budget). Python only walks
the chain of months and shapes the answer.

Budgets belong to a book (SPEC §14) and every figure is the book's: its expenses, its
month start day and its base currency, whoever of its members asks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Q, QuerySet, Sum
from django.db.models.functions import Coalesce

from books.models import Book
from categories.models import Category, Kind
from core.dates import add_months, budget_month_expression, format_month, month_range
from core.money import quantize
from expenses.models import Expense
from ledger.selectors import day_totals, totals_enabled

from .models import Budget, Scope

OK, WARN, EXCEEDED = "ok", "warn", "exceeded"
# How far back a rollover chain is followed (a bound on work, not a business rule).
MAX_ROLLOVER_MONTHS = 120

Key = int | None  # category id, or None for the overall budget


def month_date(year: int, month: int) -> date:
    return date(year, month, 1)


def book_or_personal(*, book: Book | None = None, user: Any = None) -> Book:
    """`book`, or `user`'s personal book for callers that name only a user (the
    top-level paths mean the personal book, SPEC §14)."""
    if book is not None:
        return book
    if user is None:
        raise TypeError("Pass the book (or, for the personal book, the user).")
    return Book.objects.get(personal_owner=user)


def _key(budget: Budget) -> Key:
    return budget.category_id if budget.scope == Scope.CATEGORY else None


def category_families(keys: list[Key]) -> dict[int, list[int]]:
    """Each budgeted category with its subcategories' ids (one small query).

    Sums then filter on `category_id IN (...)`, which the covering index answers
    without joining the category table for every expense row.
    """
    ids = [key for key in keys if key is not None]
    families: dict[int, list[int]] = {key: [key] for key in ids}
    for child, parent in Category.objects.filter(parent_id__in=ids).values_list("id", "parent_id"):
        families[parent].append(child)
    return families


def _key_filter(key: Key, families: dict[int, list[int]]) -> Q | None:
    return None if key is None else Q(category_id__in=families[key])


@dataclass(frozen=True)
class _Spent:
    """The book's expenses for `start`..`end`, as the day totals the database keeps
    (`ledger.selectors.day_totals`) or, with REPORTS_FROM_TOTALS off, as the records:
    grouped and summed alike."""

    rows: QuerySet
    day: str
    amount: str

    @classmethod
    def of(cls, book: Book, start: date, end: date) -> _Spent:
        if totals_enabled():
            return cls(
                day_totals(book=book, kind=Kind.EXPENSE, start=start, end=end), "day", "base_total"
            )
        return cls(
            Expense.objects.filter(book=book, date__gte=start, date__lte=end), "date", "base_amount"
        )

    def sum(self, condition: Q | None = None) -> Coalesce:
        return Coalesce(Sum(self.amount, filter=condition), Decimal(0))


def spending_by_month(
    *, book: Book, first: date, last: date, keys: list[Key]
) -> dict[tuple[date, Key], Decimal]:
    """The book's spending per (budget month label, key) for budget months first..last."""
    start_day = book.month_start_day
    start, _ = month_range(first.year, first.month, start_day)
    _, end = month_range(last.year, last.month, start_day)
    families = category_families(keys)
    spent = _Spent.of(book, start, end)
    aggregates = {f"k{i}": spent.sum(_key_filter(key, families)) for i, key in enumerate(keys)}
    rows = (
        spent.rows.annotate(budget_month=budget_month_expression(spent.day, start_day))
        .values("budget_month")
        .annotate(**aggregates)
        .order_by()
    )
    result: dict[tuple[date, Key], Decimal] = {}
    for row in rows:
        for i, key in enumerate(keys):
            result[(row["budget_month"], key)] = quantize(Decimal(row[f"k{i}"]), book.base_currency)
    return result


@dataclass
class BudgetLine:
    budget: Budget
    rollover_in: Decimal
    available: Decimal
    spent: Decimal

    @property
    def remaining(self) -> Decimal:
        return self.available - self.spent

    @property
    def percent_used(self) -> Decimal:
        return (self.spent / self.available * 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)

    @property
    def status(self) -> str:
        if self.spent >= self.available:
            return EXCEEDED
        if self.spent >= self.budget.warn_threshold * self.available:
            return WARN
        return OK


def _chains(book: Book, label: date, budgets: list[Budget]) -> dict[Key, list[Budget]]:
    """For each key budgeted in `label`, its budgets of consecutive earlier months that feed
    its rollover, newest first (the month itself first). A month without a budget, or one
    whose budget has rollover off, ends the chain (its own amount still counts)."""
    keys = [_key(b) for b in budgets]
    earliest = month_date(*add_months(label.year, label.month, -MAX_ROLLOVER_MONTHS))
    history: dict[tuple[Key, date], Budget] = {}
    rolling_keys = [_key(b) for b in budgets if b.rollover]
    if rolling_keys:
        key_q = Q()
        for key in set(rolling_keys):
            key_q |= (
                Q(scope=Scope.OVERALL) if key is None else Q(scope=Scope.CATEGORY, category_id=key)
            )
        for budget in Budget.objects.filter(key_q, book=book, month__gte=earliest, month__lt=label):
            history[(_key(budget), budget.month)] = budget
    chains: dict[Key, list[Budget]] = {}
    for budget, key in zip(budgets, keys, strict=True):
        chain = [budget]
        current = budget
        while current.rollover:
            previous = month_date(*add_months(current.month.year, current.month.month, -1))
            older = history.get((key, previous))
            if older is None:
                break
            chain.append(older)
            current = older
        chains[key] = chain
    return chains


def budget_lines(
    *, year: int, month: int, book: Book | None = None, user: Any = None
) -> list[BudgetLine]:
    """Every budget of the book's month with its figures (overall first, then by
    category name). `user` instead of `book` means that user's personal book."""
    book = book_or_personal(book=book, user=user)
    label = month_date(year, month)
    budgets = list(Budget.objects.filter(book=book, month=label).select_related("category"))
    if not budgets:
        return []
    chains = _chains(book, label, budgets)
    first = min(chain[-1].month for chain in chains.values())
    spending = spending_by_month(book=book, first=first, last=label, keys=list(chains))
    lines = []
    for key, chain in chains.items():
        carried = Decimal(0)
        line = None
        for budget in reversed(chain):  # oldest first
            spent = spending.get((budget.month, key), Decimal(0))
            rollover_in = carried if (budget.rollover and line is not None) else Decimal(0)
            line = BudgetLine(
                budget=budget,
                rollover_in=rollover_in,
                available=budget.amount + rollover_in,
                spent=spent,
            )
            carried = max(Decimal(0), line.available - line.spent)
        assert line is not None
        lines.append(line)
    lines.sort(
        key=lambda ln: (
            ln.budget.scope != Scope.OVERALL,
            (ln.budget.category.name.casefold() if ln.budget.category else ""),
        )
    )
    return lines


def unbudgeted_spent(*, book: Book, year: int, month: int, budgeted: list[int]) -> Decimal:
    """The book's month's spending outside every budgeted category (uncategorised included)."""
    start, end = month_range(year, month, book.month_start_day)
    covered = Q(category_id__in=[i for ids in category_families(budgeted).values() for i in ids])
    spent = _Spent.of(book, start, end)
    total = spent.rows.order_by().aggregate(total=spent.sum(~covered if budgeted else None))[
        "total"
    ]
    return quantize(Decimal(total), book.base_currency)


def budget_status(
    *, year: int, month: int, book: Book | None = None, user: Any = None
) -> dict[str, Any]:
    """The payload of GET /budgets/status/ as plain data (amounts as Decimals), in the
    book's base currency and budget months. `user` instead of `book`: their personal book."""
    book = book_or_personal(book=book, user=user)
    lines = budget_lines(book=book, year=year, month=month)
    overall = next((ln for ln in lines if ln.budget.scope == Scope.OVERALL), None)
    items = [ln for ln in lines if ln.budget.scope == Scope.CATEGORY]
    start, end = month_range(year, month, book.month_start_day)
    return {
        "month": format_month(year, month),
        "start": start,
        "end": end,
        "currency": book.base_currency,
        "overall": overall,
        "items": items,
        "unbudgeted_spent": unbudgeted_spent(
            book=book, year=year, month=month, budgeted=[ln.budget.category_id for ln in items]
        ),
    }
