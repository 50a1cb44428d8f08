"""Reads on income."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

from ledger.selectors import transactions_not_imported

from .models import Income


def incomes_not_imported(
    *, book: Any, first: date, last: date
) -> Iterator[tuple[int, date, Any, str, str, str]]:
    """See `ledger.selectors.transactions_not_imported`; the text is the payer (`source`)."""
    return transactions_not_imported(
        model=Income, book=book, first=first, last=last, text_field="source"
    )
