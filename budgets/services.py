"""Writes on budgets: upsert, copy between months, and threshold notifications.

Budgets belong to a book and are shared by its members (SPEC §14): a budget's key is
(book, month, scope, category), its figures are in the book's base currency and budget
months, and its alerts go to every member of the book, each per their own preferences.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from books.models import Book
from core.dates import (
    MAX_DATE,
    add_months,
    budget_month_of,
    date_in_range,
    format_month,
    user_today,
)
from core.events import emit
from core.money import format_amount
from currencies.selectors import converter
from notifications.models import NotificationKind
from notifications.selectors import keys_every_member_has
from notifications.services import notify_members
from users.base_currency import base_currency_lock

from .models import Budget, Scope
from .selectors import EXCEEDED, WARN, BudgetLine, book_or_personal, budget_lines, month_date

EDITABLE_FIELDS = ("amount", "rollover", "warn_threshold")
# Later months whose rollover a change may affect, and so are re-checked for alerts.
ALERT_LOOKAHEAD_MONTHS = 24


def _key_lookup(book: Book, data: dict[str, Any]) -> dict[str, Any]:
    category = data.get("category") if data["scope"] == Scope.CATEGORY else None
    return {"book": book, "month": data["month"], "scope": data["scope"], "category": category}


def _figures_lock(book: Book) -> None:
    """Taken by every budget write before any budget row: the shared side of the lock a
    base-currency change of the book takes, in the same order, so the two never deadlock
    and no amount is left in the old currency."""
    base_currency_lock(book_id=book.pk)


def budget_upsert(*, book: Book, user: Any, data: dict[str, Any]) -> tuple[Budget, bool]:
    """Create the book's budget for (month, scope, category), or update the one already
    there; `user` is the member writing (the creator of a new budget).

    Returns (budget, created). Safe under concurrency, also between members of a shared
    book: the partial unique constraints decide, and a loser of the insert race updates
    the winner's row instead (its creator stays). Locks as every budget write
    (`_figures_lock`).
    """
    lookup = _key_lookup(book, data)
    values = {field: data[field] for field in EDITABLE_FIELDS if field in data}
    with transaction.atomic():
        _figures_lock(book)
        try:
            with transaction.atomic():
                budget = Budget.objects.create(**lookup, user=user, **values)
            created = True
        except IntegrityError:
            budget = Budget.objects.select_for_update().get(**lookup)
            for field, value in values.items():
                setattr(budget, field, value)
            budget.save()
            created = False
        budget_alerts_check(book=book, months=[(budget.month.year, budget.month.month)])
    return budget, created


def budget_update(*, budget: Budget, data: dict[str, Any]) -> Budget:
    """Change a budget; moving it onto another budget's (month, scope, category) → 400."""
    for field, value in data.items():
        setattr(budget, field, value)
    if budget.scope == Scope.OVERALL:
        budget.category = None
    try:
        with transaction.atomic():
            _figures_lock(budget.book)
            budget.save()
            budget_alerts_check(book=budget.book, months=[(budget.month.year, budget.month.month)])
    except IntegrityError:
        raise ValidationError(
            {"non_field_errors": ["A budget for this month, scope and category already exists."]}
        ) from None
    return budget


@transaction.atomic
def budget_delete(*, budget: Budget) -> None:
    """Delete the budget (after `_figures_lock`, as every budget write)."""
    _figures_lock(budget.book)
    budget.delete()


@transaction.atomic
def budgets_copy(
    *, book: Book, user: Any, from_month: date, to_month: date, overwrite: bool = False
) -> dict[str, int]:
    """Copy a month's budgets of the book to another month; `user` (the member copying)
    is the creator of the new ones.

    Existing budgets of the target month are updated only with `overwrite`; otherwise
    they are left alone and counted as skipped. Returns {created, updated, skipped}.
    Safe under concurrency: each insert runs in a savepoint and the unique constraints
    decide, so of simultaneous copies to one month one creates each budget and the
    others count it as skipped (or update it, with `overwrite`), never an error; the
    month ends with one budget per (scope, category).
    """
    counts = {"created": 0, "updated": 0, "skipped": 0}
    _figures_lock(book)
    existing = {
        (b.scope, b.category_id): b for b in Budget.objects.filter(book=book, month=to_month)
    }
    # One order for every copy, so concurrent copies wait on each other's rows in the
    # same sequence and cannot deadlock.
    sources = Budget.objects.filter(book=book, month=from_month).order_by("scope", "category_id")
    for source in sources:
        values = {field: getattr(source, field) for field in EDITABLE_FIELDS}
        key = {
            "book": book,
            "month": to_month,
            "scope": source.scope,
            "category_id": source.category_id,
        }
        target = existing.get((source.scope, source.category_id))
        if target is None:
            try:
                with transaction.atomic():
                    Budget.objects.create(**key, user=user, **values)
                counts["created"] += 1
                continue
            except IntegrityError:
                # A concurrent copy (or upsert) created it first: treat it as existing.
                target = Budget.objects.select_for_update().get(**key)
        if overwrite:
            for field, value in values.items():
                setattr(target, field, value)
            target.save()
            counts["updated"] += 1
        else:
            counts["skipped"] += 1
    budget_alerts_check(book=book, months=[(to_month.year, to_month.month)])
    return counts


def _dedupe_key(line: BudgetLine, month_label: str) -> str:
    """Once per budget, month and level: the key of the members' notifications."""
    return f"budget:{line.budget.pk}:{month_label}:{line.status}"


def _alert(book: Book, line: BudgetLine, month_label: str) -> None:
    budget, level = line.budget, line.status
    name = budget.category.name if budget.category_id else "Overall"
    currency = book.base_currency
    spent, available = format_amount(line.spent, currency), format_amount(line.available, currency)
    if level == EXCEEDED:
        kind, title = NotificationKind.BUDGET_EXCEEDED, f"Budget exceeded: {name} ({month_label})"
    else:
        kind, title = NotificationKind.BUDGET_WARN, f"Budget nearly used: {name} ({month_label})"
    who = "You have" if book.is_personal else f"The members of {book.name} have"
    stored = notify_members(
        book=book,
        kind=kind,
        title=title,
        body=f"{who} spent {spent} {currency} of {available} {currency} ({line.percent_used}%).",
        data={
            "budget": budget.pk,
            "month": month_label,
            "level": level,
            "spent": spent,
            "available": available,
            "category": budget.category_id,
        },
        dedupe_key=_dedupe_key(line, month_label),
    )
    if stored:  # a new alert, not one the members were already told (SPEC §17 webhooks)
        emit(
            book_id=book.pk,
            event="budget.exceeded" if level == EXCEEDED else "budget.warn",
            data={
                "budget": budget.pk,
                "month": month_label,
                "level": level,
                "category": budget.category_id,
                "category_name": name,
                "spent": spent,
                "available": available,
                "percent_used": str(line.percent_used),
                "currency": currency,
            },
        )


def budget_alerts_check(*, book: Book, months: Iterable[tuple[int, int]]) -> None:
    """Notify every member of the book, once per budget, level, month and member, of
    every budget of these months now at warn or exceeded (each member's own
    preferences decide in-app and email).

    Called after any write that can raise spending against a budget or lower what is
    available: expense writes, budget creation, change and copy.
    """
    for year, month in sorted(set(months)):
        label = format_month(year, month)
        due = [
            line
            for line in budget_lines(book=book, year=year, month=month)
            if line.status in (WARN, EXCEEDED)
        ]
        # Every write re-checks: alerts all members already have are skipped in one
        # query, instead of one refused insert per member and budget.
        told = keys_every_member_has(book=book, keys=[_dedupe_key(line, label) for line in due])
        for line in due:
            if _dedupe_key(line, label) not in told:
                _alert(book, line, label)


def budget_alerts_for_expense_dates(
    *, dates: Iterable[date], book: Book | None = None, user: Any = None
) -> None:
    """Re-check the book's budget months of these expense dates, and later months whose
    rollover they feed, when the book has budgets there. `user` is the member who wrote
    (their today bounds the look-ahead); without `book`, it is their personal book."""
    book = book_or_personal(book=book, user=user)
    start_day = book.month_start_day
    # Budgets exist only for supported months, so a date outside the range has none to check.
    months = {budget_month_of(day, start_day) for day in dates if date_in_range(day)}
    if not months:
        return
    first = min(months)
    today = user_today(user)
    # Never past the last supported month: an expense dated near date.max must not make
    # the look-ahead build a date beyond year 9999.
    horizon = min(add_months(*max(months), ALERT_LOOKAHEAD_MONTHS), (MAX_DATE.year, MAX_DATE.month))
    label_first, label_horizon = month_date(*first), month_date(*horizon)
    budgeted = set(
        Budget.objects.filter(book=book, month__gte=label_first, month__lte=label_horizon)
        .values_list("month", "rollover")
        .distinct()
    )
    to_check = {
        m
        for m in months
        if (month_date(*m), True) in budgeted or (month_date(*m), False) in budgeted
    }
    # Later months only matter through rollover; stop at the current month.
    current = budget_month_of(today, start_day)
    for label, rollover in budgeted:
        key = (label.year, label.month)
        if rollover and first < key <= max(current, max(months)):
            to_check.add(key)
    budget_alerts_check(book=book, months=to_check)


def budget_alerts_on_expenses_written(
    sender: Any, *, user: Any, dates: Iterable[date], book: Book | None = None, **kwargs: Any
) -> None:
    """Receiver of `expenses.signals.expenses_written` (connected in `BudgetsConfig`):
    expenses sits below budgets and tells it of new figures instead of calling it. The
    expenses' `book` (the writer's personal book when the sender names none)."""
    budget_alerts_for_expense_dates(book=book, user=user, dates=dates)


@transaction.atomic
def budgets_convert_currency(
    *,
    base_currency: str,
    book: Book | None = None,
    user: Any = None,
    on: date | None = None,
) -> int:
    """Re-express every budget amount of the book (without `book`: `user`'s personal
    book) in `base_currency` at the latest rate on or before `on` (default: today in
    `user`'s time zone, else UTC; a budget has no date of its own).

    The converter budgets registers for a base-currency change (`users.base_currency`).
    Converts from each budget's stored original (`amount_original` in
    `currency_original`), never from the current amount, so the result is the same
    whatever changes came before and however often this runs. Raises RateUnavailable
    or ConversionOutOfRange (and changes nothing) when a rate is missing or a result
    would be beyond MAX_AMOUNT. Returns how many budgets there are.
    """
    book = book_or_personal(book=book, user=user)
    if on is None:  # a personal book's day is its owner's; a shared book's, UTC's
        on = user_today(user or book.personal_owner)
    budgets = list(
        Budget.objects.filter(book=book).only("id", "amount_original", "currency_original")
    )
    converters = {
        currency: converter(from_currency=currency, to_currency=base_currency, on=on)
        for currency in {budget.currency_original for budget in budgets}
    }
    for budget in budgets:
        budget.amount = converters[budget.currency_original](budget.amount_original)
    Budget.objects.bulk_update(budgets, ["amount"], batch_size=1000)
    return len(budgets)


# --- restoring a backup into a book (the backups app calls these) -----------------------


@transaction.atomic
def budgets_restore(
    *, book: Any, user: Any, items: list[dict[str, Any]]
) -> tuple[list[Budget], int]:
    """Store restored budgets in `book` (month, scope, category, amount in the book's base
    currency, rollover, warn_threshold), in bulk; a budget `book` already has for the same
    (month, scope, category) is kept and the restored one skipped. No alert is sent.
    Returns (the budgets stored, how many were skipped). ValidationError on `category`
    for another book's category."""
    existing = set(Budget.objects.filter(book=book).values_list("month", "scope", "category_id"))
    budgets: list[Budget] = []
    skipped = 0
    for data in items:
        category = data.get("category") if data["scope"] == Scope.CATEGORY else None
        if category is not None and category.book_id not in (None, book.pk):
            raise ValidationError({"category": ["No such category."]})
        key = (data["month"], data["scope"], getattr(category, "pk", None))
        if key in existing:
            skipped += 1
            continue
        existing.add(key)
        budgets.append(
            Budget(
                book=book,
                user=user,
                **{**data, "category": category},
                amount_original=data["amount"],
                currency_original=book.base_currency,
            )
        )
    Budget.objects.bulk_create(budgets)
    return budgets, skipped


def budgets_clear_book(*, book: Any) -> int:
    """Delete every budget of `book` (a backup restored in replace mode); returns how many."""
    _, deleted = Budget.objects.filter(book=book).delete()
    return deleted.get(Budget._meta.label, 0)


# --- moving budgets to another category (the categories app calls this) ----------------


def budgets_reassign_category(*, book: Any, from_category: Any, to_category: Any) -> int:
    """Move `book`'s budgets of one category to another (a category deleted with
    `?reassign_to=`); `book` None: every book's (a system category). Returns how many.
    IntegrityError when the target already has a budget for the same month (the caller
    answers 409 and rolls back)."""
    budgets = Budget._base_manager.filter(category=from_category)
    if book is not None:
        budgets = budgets.filter(book=book)
    return budgets.update(category=to_category, updated_at=timezone.now())
