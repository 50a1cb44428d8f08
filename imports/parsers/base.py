"""What every statement parser returns, and the errors it may raise (SPEC §11).

A parser turns the bytes of one file into `ParsedRow`s: signed amounts (negative =
money out) in the statement's currency when the file says it. Rows that cannot be
read go to `errors` with their line; a file that cannot be read at all raises
`StatementError` (→ 400), and one that is no known format `UnsupportedFormat` (→ 415).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.conf import settings

from core.exceptions import ApplicationError

# Both stay ValueErrors too: the parsers' `except ValueError` around library calls that
# may raise either treat them as the unreadable input they are.


class StatementError(ApplicationError, ValueError):
    """The file is of a known kind but cannot be read as a statement (→ 400 on `file`)."""

    field = "file"


class UnsupportedFormat(ApplicationError, ValueError):
    """The file is not a statement format we know (→ 415)."""

    status_code = 415
    default_code = "unsupported_file_type"


@dataclass
class ParsedRow:
    line: int  # 1-based line of the file where the transaction starts (record number if none)
    date: date
    description: str
    amount: Decimal  # signed: negative is an outflow (expense), positive an inflow (income)
    currency: str | None = None  # ISO 4217 when the file says; None → the batch default
    merchant: str = ""
    fitid: str = ""  # the bank's unique transaction id (OFX FITID), when the file has one
    memo: str = ""


@dataclass
class ParseResult:
    format: str  # "csv", "ofx", "qfx", "qif" or "xlsx"
    rows: list[ParsedRow] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)  # (line, message)
    currency: str | None = None  # the statement's currency, when it declares one


@dataclass
class CsvOptions:
    """Client hints for CSV (and XLSX) files; every one is optional and detected if absent."""

    delimiter: str | None = None
    encoding: str | None = None
    date_format: str | None = None  # strptime pattern, e.g. "%d.%m.%Y"
    decimal_separator: str | None = None  # "." or ","
    columns: dict[str, Any] | None = None  # role → header name or 0-based index
    skip_rows: int | None = None  # lines before the header row
    negate: bool = False  # flip signs (card statements where charges are positive)
    # Values of the `direction` column that mean money in (compared case-insensitively,
    # trimmed); None → `table.DEFAULT_CREDIT_MARKERS`.
    credit_markers: list[str] | None = None


def max_transactions() -> int:
    """Transactions one statement may hold (`IMPORT_MAX_ROWS`)."""
    return int(settings.IMPORT_MAX_ROWS)


def max_table_lines() -> int:
    """Non-blank lines (CSV) or rows (XLSX) a statement table may have: room for
    `IMPORT_MAX_ROWS` transactions plus headers, notes and continuation lines."""
    return 2 * max_transactions() + 1000


def too_many_lines(count: int) -> StatementError:
    return StatementError(
        f"The file has {count} or more lines; a statement may hold at most "
        f"{max_transactions()} transactions (IMPORT_MAX_ROWS) in at most "
        f"{max_table_lines()} lines. Split it into smaller files."
    )


def too_many_transactions(count: int) -> StatementError:
    return StatementError(
        f"The file holds {count} transactions; at most {max_transactions()} can be "
        "imported at once (IMPORT_MAX_ROWS). Split it into smaller files."
    )


class UniqueFitids:
    """Makes repeated bank references in one file distinct (`REF`, `REF#2`, `REF#3`…), so
    two entries a bank gave the same reference are never taken for duplicates of each
    other and silently dropped."""

    def __init__(self) -> None:
        self._seen: Counter[str] = Counter()

    def assign(self, row: ParsedRow) -> ParsedRow:
        if row.fitid:
            self._seen[row.fitid] += 1
            if self._seen[row.fitid] > 1:
                row.fitid = f"{row.fitid}#{self._seen[row.fitid]}"
        return row
