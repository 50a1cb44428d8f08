"""Writes on expenses: the shared ledger rules plus the expense edit window.

Every write that stores expenses sends `signals.expenses_written` (budgets alerts on it).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from books.models import Book
from categories.models import Kind
from core.exceptions import ForbiddenError
from ledger import services as ledger
from users.roles import is_admin

from . import splits
from .models import Expense
from .signals import expenses_written

KIND = Kind.EXPENSE


@transaction.atomic
def expense_create(*, user: Any, data: dict[str, Any], book: Book | None = None) -> Expense:
    """Create an expense in `book` (default: `user`'s personal book) by `user` (see
    ledger.transaction_create) and send `expenses_written`, on which budgets alerts on
    thresholds it crosses, in the same transaction."""
    book = ledger.book_or_personal(book=book, user=user)
    data = dict(data)
    paid_by, split = data.pop("paid_by_id", None), data.pop("split", None)
    splits.refuse_in_personal_book(book=book, paid_by=paid_by, split=split)
    expense = ledger.transaction_create(model=Expense, kind=KIND, book=book, user=user, data=data)
    splits.expense_split_apply(
        expense=expense, by_user_id=getattr(user, "pk", None), paid_by=paid_by, split=split
    )
    expenses_written.send(sender=Expense, user=user, book=book, dates=[expense.date])
    return expense


@transaction.atomic
def expense_update(*, expense: Expense, data: dict[str, Any], user: Any = None) -> Expense:
    """Update an expense by `user` (default: its creator) and send `expenses_written`
    (budget alerts), in one transaction. The expense stays in its book."""
    user = user or expense.user
    data = dict(data)
    # `split: null` puts the expense back on the book's default split; absent keeps it.
    split_reset = "split" in data and data["split"] is None
    paid_by, split = data.pop("paid_by_id", None), data.pop("split", None)
    splits.refuse_in_personal_book(book=expense.book, paid_by=paid_by, split=split)
    expense = ledger.transaction_update(instance=expense, data=data, user=user)
    splits.expense_split_apply(
        expense=expense,
        by_user_id=getattr(user, "pk", None),
        paid_by=paid_by,
        split=split,
        resplit=any(field in data for field in ledger.MONEY_FIELDS),
        split_reset=split_reset,
    )
    expenses_written.send(sender=Expense, user=user, book=expense.book, dates=[expense.date])
    return expense


def expense_delete(*, expense: Expense) -> None:
    ledger.transaction_delete(instance=expense)


@transaction.atomic
def expenses_recategorize(*, book: Book, ids: list[int], category: Any, actor: Any) -> int:
    """Move the book's expenses `ids` to `category` (or none) at once, by `actor` (an
    editor): all or nothing (`ledger.transactions_recategorize`). The edit window applies
    to each, as to a single edit. Budgets alert on the months touched
    (`expenses_written`). Returns how many changed."""
    if settings.EXPENSE_EDIT_WINDOW_HOURS is not None:
        for expense in Expense.objects.filter(book=book, pk__in=ids).only("pk", "created_at"):
            expense_check_edit_window(expense=expense, actor=actor)
    records = ledger.transactions_recategorize(model=Expense, book=book, ids=ids, category=category)
    dates = sorted({record.date for record in records})
    expenses_written.send(sender=Expense, user=actor, book=book, dates=dates)
    return len(records)


def expense_check_edit_window(*, expense: Expense, actor: Any) -> None:
    """Refuse changes to expenses older than EXPENSE_EDIT_WINDOW_HOURS (Admins exempt)."""
    hours = settings.EXPENSE_EDIT_WINDOW_HOURS
    if hours is None or is_admin(actor):
        return
    if expense.created_at < timezone.now() - timedelta(hours=hours):
        raise ForbiddenError(
            f"Expenses can only be changed within {hours} hours of being recorded.",
            code="edit_window_closed",
        )


def expenses_recompute_base(
    *, base_currency: str, book: Book | None = None, user: Any = None
) -> int:
    """Re-express the book's expenses (default: `user`'s personal book) in `base_currency`."""
    book = ledger.book_or_personal(book=book, user=user)
    count = ledger.transactions_recompute_base(
        model=Expense, book=book, base_currency=base_currency
    )
    splits.shares_recompute_base(book=book, base_currency=base_currency)
    return count


def expenses_apply_rules(*, book: Book, only_uncategorized: bool = True) -> int:
    return ledger.transactions_apply_rules(
        model=Expense, kind=KIND, book=book, only_uncategorized=only_uncategorized
    )


def expenses_reassign_category(*, book: Book | None, from_category: Any, to_category: Any) -> int:
    return ledger.records_reassign_category(
        model=Expense, book=book, from_category=from_category, to_category=to_category
    )


def expenses_bulk_import(
    *, book: Book, user: Any, rows: list[dict[str, Any]], import_batch: Any
) -> int:
    """Imported outflows become expenses of `book` (merchant from the statement); then
    `expenses_written` is sent (budget alerts)."""
    count = ledger.transactions_bulk_import(
        model=Expense,
        kind=KIND,
        book=book,
        user=user,
        rows=rows,
        text_field="merchant",
        import_batch=import_batch,
    )
    splits.expenses_split_new(
        book=book,
        by_user_id=getattr(user, "pk", None),
        expenses=Expense.objects.filter(book=book, import_batch=import_batch, split_mode=""),
    )
    expenses_written.send(
        sender=Expense,
        user=user,
        book=book,
        dates={row["date"] for row in rows},
        import_batch=import_batch,
    )
    return count


def expenses_delete_imported(*, import_batch: Any) -> int:
    return ledger.transactions_delete_imported(model=Expense, import_batch=import_batch)
