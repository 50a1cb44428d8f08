"""Writes on income: the shared ledger rules."""

from __future__ import annotations

from typing import Any

from categories.models import Kind
from ledger import services as ledger

from .models import Income

KIND = Kind.INCOME


def income_create(*, user: Any, data: dict[str, Any]) -> Income:
    return ledger.transaction_create(model=Income, kind=KIND, user=user, data=data)


def income_update(*, income: Income, data: dict[str, Any]) -> Income:
    return ledger.transaction_update(instance=income, data=data)


def income_delete(*, income: Income) -> None:
    ledger.transaction_delete(instance=income)


def incomes_recompute_base(*, user: Any, base_currency: str) -> int:
    return ledger.transactions_recompute_base(model=Income, user=user, base_currency=base_currency)


def incomes_apply_rules(*, user: Any, only_uncategorized: bool = True) -> int:
    return ledger.transactions_apply_rules(
        model=Income, kind=KIND, user=user, only_uncategorized=only_uncategorized
    )


def incomes_bulk_import(*, user: Any, rows: list[dict[str, Any]], import_batch: Any) -> int:
    """Imported inflows become income (the statement's payee as `source`)."""
    return ledger.transactions_bulk_import(
        model=Income,
        kind=KIND,
        user=user,
        rows=rows,
        text_field="source",
        import_batch=import_batch,
    )


def incomes_delete_imported(*, import_batch: Any) -> int:
    return ledger.transactions_delete_imported(model=Income, import_batch=import_batch)
