"""Writes on income: the shared ledger rules."""

from __future__ import annotations

from typing import Any

from books.models import Book
from categories.models import Kind
from ledger import services as ledger

from .models import Income

KIND = Kind.INCOME


def income_create(*, user: Any, data: dict[str, Any], book: Book | None = None) -> Income:
    """Record income in `book` (default: `user`'s personal book) by `user` (see
    ledger.transaction_create)."""
    book = ledger.book_or_personal(book=book, user=user)
    return ledger.transaction_create(model=Income, kind=KIND, book=book, user=user, data=data)


def income_update(*, income: Income, data: dict[str, Any], user: Any = None) -> Income:
    """Update income by `user` (default: its creator); it stays in its book."""
    return ledger.transaction_update(instance=income, data=data, user=user)


def income_delete(*, income: Income) -> None:
    ledger.transaction_delete(instance=income)


def incomes_recategorize(*, book: Book, ids: list[int], category: Any, actor: Any) -> int:
    """Move the book's income records `ids` to `category` (or none) at once: all or
    nothing (`ledger.transactions_recategorize`). Returns how many changed."""
    return len(
        ledger.transactions_recategorize(model=Income, book=book, ids=ids, category=category)
    )


def incomes_recompute_base(
    *, base_currency: str, book: Book | None = None, user: Any = None
) -> int:
    """Re-express the book's income (default: `user`'s personal book) in `base_currency`."""
    book = ledger.book_or_personal(book=book, user=user)
    return ledger.transactions_recompute_base(model=Income, book=book, base_currency=base_currency)


def incomes_apply_rules(*, book: Book, only_uncategorized: bool = True) -> int:
    return ledger.transactions_apply_rules(
        model=Income, kind=KIND, book=book, only_uncategorized=only_uncategorized
    )


def incomes_reassign_category(*, book: Book | None, from_category: Any, to_category: Any) -> int:
    return ledger.records_reassign_category(
        model=Income, book=book, from_category=from_category, to_category=to_category
    )


def incomes_bulk_import(
    *, book: Book, user: Any, rows: list[dict[str, Any]], import_batch: Any
) -> int:
    """Imported inflows become income of `book` (the statement's payee as `source`)."""
    return ledger.transactions_bulk_import(
        model=Income,
        kind=KIND,
        book=book,
        user=user,
        rows=rows,
        text_field="source",
        import_batch=import_batch,
    )


def incomes_delete_imported(*, import_batch: Any) -> int:
    return ledger.transactions_delete_imported(model=Income, import_batch=import_batch)
