"""Reads on expenses."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

from ledger.selectors import transactions_not_imported

from .models import Expense


def expenses_not_imported(
    *, book: Any, first: date, last: date
) -> Iterator[tuple[int, date, Any, str, str, str]]:
    """See `ledger.selectors.transactions_not_imported`; the text is the merchant."""
    return transactions_not_imported(
        model=Expense, book=book, first=first, last=last, text_field="merchant"
    )
