"""Reads shared by expenses and income; `expenses.selectors` and `income.selectors` bind
them to their model."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

from django.core.files import File

from core.exceptions import NotFoundError

from .models import Transaction


class ReceiptMissing(NotFoundError):
    """The record has no receipt, or its stored file is gone (→ 404)."""


def receipt_open(*, record: Transaction) -> File:
    """The record's receipt file, open for reading in binary mode; the caller closes it.
    Raises ReceiptMissing if the record has none or the storage no longer has the file."""
    if not record.receipt:
        raise ReceiptMissing("This record has no receipt.")
    try:
        return record.receipt.open("rb")
    except FileNotFoundError:
        raise ReceiptMissing("This record's receipt file is missing.") from None


def transactions_not_imported(
    *, model: type[Transaction], user: Any, first: date, last: date, text_field: str
) -> Iterator[tuple[int, date, Any, str, str, str]]:
    """`(id, date, amount, currency, description, text)` of `user`'s records dated
    `first`..`last` that no statement import created (entered by hand, by a recurring
    item or restored from a backup): they carry neither an import key nor a FITID.

    One query over the (user, date) index, streamed: the caller keeps what it needs.
    `text` is `text_field` (an expense's merchant, an income's source)."""
    return (
        model.objects.filter(
            user=user, date__gte=first, date__lte=last, import_key="", import_fitid=""
        )
        .order_by()
        .values_list("id", "date", "amount", "currency", "description", text_field)
        .iterator(chunk_size=2000)
    )
