"""QIF statements (`!Type:Bank`, `Cash`, `CCard`, `Oth A`, `Oth L`), read with quiffen (SPEC §11).

quiffen turns each record's fields into typed values, but two things are done here
first, because quiffen cannot:
- Records are split here, one `Transaction.from_list()` call per record, so that one
  bad record becomes an error for its line instead of failing the whole file
  (`Qif.parse_string()` is all-or-nothing), and so lines are exact.
- Dates and amounts are normalised in the text before quiffen reads them. QIF dates
  have no fixed order, and quiffen's `day_first` is only a preference that dateutil
  overrides date by date (13/01 and 05/01 would then be read in different orders).
  The order is decided once per file, the one that reads every date (US month-first
  when both do, unless the dates use dots), and dates are handed over as ISO. Amounts
  are handed over without thousands separators and with a decimal point, the
  file's decimal comma being detected the same way.
Only D, T/U, P and M are handed to quiffen: N (check number), L (category), splits
and the rest are not imported, and an unknown code would fail the record.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from quiffen import Transaction
from quiffen.utils import parse_date as quiffen_parse_date

from .base import (
    ParsedRow,
    ParseResult,
    StatementError,
    max_transactions,
    too_many_transactions,
)
from .cells import parse_amount
from .encodings import bom_codec, decode_guess

__all__ = ["parse_qif"]

TEXT_MAX = 255

_TRANSACTION_TYPES = {"bank", "cash", "ccard", "otha", "othl"}
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_WHITESPACE = re.compile(r"\s+")
# M/D/Y, D/M/Y or Y-M-D with / . - or ' between the parts; Quicken pads with spaces
# ("1/ 2'24") and uses ' before two-digit years from 2000 on.
_NUMERIC_DATE = re.compile(
    r"(?P<first>\d{1,4})\s*(?P<sep1>[/.\-'])\s*(?P<second>\d{1,2})\s*"
    r"(?P<sep2>[/.\-'])\s*(?P<third>\d{1,4})"
)
_AMOUNT_CHARS = re.compile(r"[\s'\u00a0\u202f]")

MONTH_FIRST = "MDY"
DAY_FIRST = "DMY"


@dataclass
class _Record:
    line: int
    fields: list[str] = field(default_factory=list)

    def first(self, *codes: str) -> str | None:
        for code in codes:
            for value in self.fields:
                if value.startswith(code):
                    return value[1:].strip()
        return None


def parse_qif(content: bytes) -> ParseResult:
    """Read the bank, cash, credit-card and other-asset/liability records of a QIF file.

    Returns one row per record, in file order, with the line where the record starts;
    a record without a date or an amount, or with one that cannot be read, becomes an
    error for that line. QIF names no currency, so rows carry none. Raises
    `StatementError` when the file has no such `!Type:` section.
    """
    text = _decode(content)
    records, has_section = _records(_LINE_BREAK.split(text))
    if not has_section:
        raise StatementError(
            "This is not a QIF bank statement: it has no !Type:Bank, !Type:Cash, "
            "!Type:CCard or !Type:Oth A/L section."
        )

    if len(records) > max_transactions():
        raise too_many_transactions(len(records))
    order = _date_order(value for record in records if (value := record.first("D")))
    decimal_comma = _uses_decimal_comma(
        value for record in records if (value := record.first("T", "U"))
    )
    result = ParseResult(format="qif")
    for record in records:
        row_or_error = _row(record, order=order, decimal_comma=decimal_comma)
        if isinstance(row_or_error, ParsedRow):
            result.rows.append(row_or_error)
        else:
            result.errors.append((record.line, row_or_error))
    return result


def _decode(content: bytes) -> str:
    codec = bom_codec(content)
    if codec is not None:
        try:
            return content.decode(codec)
        except UnicodeError:
            raise StatementError(f"The file is not valid {codec.upper()} text.") from None
    return decode_guess(content)


def _records(lines: list[str]) -> tuple[list[_Record], bool]:
    """The records of the transaction sections, and whether there was such a section."""
    records: list[_Record] = []
    has_section = False
    in_transactions = False
    current: _Record | None = None

    def flush() -> None:
        nonlocal current
        if current is not None and in_transactions:
            records.append(current)
        current = None

    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("!"):
            header = line.lower().replace(" ", "")
            if header.startswith(("!option:", "!clear:")):
                continue
            flush()
            in_transactions = header.startswith("!type:") and header[6:] in _TRANSACTION_TYPES
            has_section = has_section or in_transactions
            continue
        if line.startswith("^"):
            flush()
            continue
        if current is None:
            current = _Record(line=number)
        current.fields.append(line)
    flush()
    return records, has_section


def _row(record: _Record, *, order: str, decimal_comma: bool) -> ParsedRow | str:
    """The record as a row, or the message explaining why it cannot be one."""
    raw_date = record.first("D")
    raw_amount = record.first("T", "U")
    if not raw_date or not raw_amount:
        missing = [
            what
            for what, value in (("date (D line)", raw_date), ("amount (T line)", raw_amount))
            if not value
        ]
        return f"The record has no {' and no '.join(missing)}."

    iso_date = _iso_date(raw_date, order)
    if iso_date is None:
        return f"The date {raw_date!r} cannot be read ({_describe(order)})."
    amount = _canonical_amount(raw_amount, decimal_comma=decimal_comma)
    if amount is None:
        return f"The amount {raw_amount!r} is not a number."

    payee = record.first("P") or ""
    memo = record.first("M") or ""
    fields = [f"D{iso_date}", f"T{amount}"]
    fields += [f"P{payee}"] if payee else []
    fields += [f"M{memo}"] if memo else []
    try:
        transaction, _ = Transaction.from_list(fields, line_number=record.line)
    except Exception as err:  # quiffen raises ValueError, TypeError, pydantic errors
        return f"The record cannot be read: {err}"

    payee = _clean(transaction.payee)
    memo = _clean(transaction.memo)
    description = payee
    if memo and memo.casefold() != payee.casefold():
        description = f"{payee} - {memo}" if payee else memo
    return ParsedRow(
        line=record.line,
        date=transaction.date.date(),
        description=description[:TEXT_MAX],
        amount=Decimal(amount),
        merchant=payee[:TEXT_MAX],
        memo=memo[:TEXT_MAX],
    )


def _clean(value: str | None) -> str:
    return _WHITESPACE.sub(" ", value or "").strip()


def _describe(order: str) -> str:
    return "month first" if order == MONTH_FIRST else "day first"


def _date_order(values: Iterable[str]) -> str:
    """The day/month order that reads every date of the file (or the most of them).

    When both do (no day above 12), month first, QIF's native order, unless the dates
    are written with dots, which only day-first locales do.
    """
    values = list(values)
    readable = {
        order: sum(_date_parts(value, order) is not None for value in values)
        for order in (MONTH_FIRST, DAY_FIRST)
    }
    if readable[MONTH_FIRST] != readable[DAY_FIRST]:
        return max(readable, key=readable.__getitem__)
    dotted = any((match := _NUMERIC_DATE.fullmatch(v)) and match["sep1"] == "." for v in values)
    return DAY_FIRST if dotted else MONTH_FIRST


def _date_parts(value: str, order: str) -> date | None:
    match = _NUMERIC_DATE.fullmatch(value.strip())
    if match is None:
        return None
    first, second, third = match["first"], match["second"], match["third"]
    if len(first) == 4:
        year, month, day = int(first), int(second), int(third)
    else:
        if len(third) == 3 or len(first) > 2:
            return None
        year = int(third)
        if len(third) <= 2:
            # ' marks a 2000s year in Quicken; otherwise strptime's %y pivot.
            year += 2000 if match["sep2"] == "'" or year < 69 else 1900
        month, day = (
            (int(first), int(second)) if order == MONTH_FIRST else (int(second), int(first))
        )
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _iso_date(value: str, order: str) -> str | None:
    parsed = _date_parts(value, order)
    if parsed is None and any(char.isalpha() for char in value):
        # Month names ("23 Jan 2019") are unambiguous: leave them to quiffen/dateutil.
        try:
            parsed = quiffen_parse_date(value, day_first=order == DAY_FIRST).date()
        except (ValueError, OverflowError):
            return None
    return parsed.isoformat() if parsed else None


def _uses_decimal_comma(values: Iterable[str]) -> bool:
    """Whether the file's amounts use a decimal comma (1.234,56) rather than a point."""
    comma = point = 0
    for value in values:
        digits = _AMOUNT_CHARS.sub("", value)
        last = max(digits.rfind(","), digits.rfind("."))
        if last < 0:
            continue
        after = len(digits) - last - 1
        both = "," in digits and "." in digits
        if digits[last] == ",":
            comma += both or after != 3
        else:
            point += both or after != 3
    return comma > point


def _canonical_amount(value: str, *, decimal_comma: bool) -> str | None:
    """The amount as plain decimal text, read by the statement tables' amount parser
    (grouping, signs, then `core.money.parse_money`); None when it is not a number."""
    try:
        amount = parse_amount(value, "," if decimal_comma else ".")
    except ValueError:
        return None
    return f"{amount:f}"
