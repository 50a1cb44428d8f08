"""SWIFT MT940 customer statements, read with the `mt-940` package (SPEC §11).

mt-940 splits the file into statements (`:20:` … `:62F:`), reads the tags and the
structured `:86:` narrative of German banks (`?00` posting text, `?20`–`?29` purpose
with SEPA keywords such as `SVWZ+`/`EREF+`, `?32`/`?33` counterparty name). The `:61:`
statement line is read by `_StatementLine`, a lenient subclass of mt-940's own tag:
a line that does not match, or whose amount or date breaks the project's rules, becomes
an error for its line instead of stopping the file, and the amount and dates are taken
through `core.money.parse_money` and our own date rules rather than mt-940's (which
reads `95` as 2095 and moves a 30 February to the 28th).

Mapping of one `:61:` (+ its `:86:`):
- date: the entry (booking) date when the line has one (its year taken from the value
  date, across a year end when the two are months apart), else the value date. Years
  are two digits: 69–99 → 1969–1999, 00–68 → 2000–2068 (POSIX `%y`, as elsewhere).
- amount: decimal comma; mark `D` and `RC` (reversal of a credit) are outflows, `C` and
  `RD` inflows. Currency: the statement's opening balance (`:60F:`/`:60M:`), else the
  batch default.
- description: the `:86:` purpose (`?20`–`?29`, or `SVWZ+`), else its posting text, else
  the `/REMI/` of the Dutch banks' `/KEY/value` narrative, else the free text, else
  the `:61:` supplementary details; merchant: the counterparty (`?32`/`?33`, `/NAME/`,
  or the name in `/CNTP/`).
- FITID: the account (`:25:`) and the bank reference (`//…` of `:61:`, NONREF ignored);
  a reference the file repeats gets its occurrence number, so two transactions sharing
  one are never taken for one.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, ClassVar

import mt940

from core.money import MoneyParseError, is_currency, parse_money

from .base import (
    ParsedRow,
    ParseResult,
    StatementError,
    UniqueFitids,
    max_transactions,
    too_many_transactions,
)
from .encodings import decode_guess

__all__ = ["parse_mt940"]

TEXT_MAX = 255

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_STATEMENT_LINE = re.compile(r"^:61:", re.MULTILINE)
_WHITESPACE = re.compile(r"\s+")
# The SWIFT FIN envelope some banks keep around each message: `{1:…}{2:…}{4:` before
# and `-}` (or `-}{5:…}`) after.
_ENVELOPE_LINE = re.compile(r"^\s*(?:\{[1-5]:.*|-\}.*|\}\s*)$")
_NO_REFERENCE = {"", "NONREF", "NONE", "NOTPROVIDED"}
# `/KEY/value` narratives (ABN AMRO, ING, Rabobank): the keys that are read or skipped.
_KEYED_FIELD = re.compile(
    r"/(TRTP|IBAN|BIC|NAME|REMI|EREF|ORDP|BENM|CSID|MARF|CNTP|ADDR|PREF|RTRN|ISDT|PURP"
    r"|ULTC|ULTD|ULTB)/"
)
_OPTIONS = mt940.Options(
    applicant_iban=True,  # ?31 is the counterparty's IBAN, not part of its name
    merge_keeps_values=True,
    unbounded_details=True,
    non_swift_free_text=True,
    strip_bom=True,
    gvc_leading_text=True,
)
_PROBLEM = "_problem"
_PURPOSE = "_purpose"
_NAME = "_name"
# German banks' `:86:` sub-fields (?20–?29 purpose, ?32/?33 name) are 27 characters;
# a full one was cut mid-text, a shorter one ended where the bank chose to end it.
_SUBFIELD_WIDTH = 27
_SUBFIELD = re.compile(r"\?(\d{2})")
_SEPA_KEYWORD = re.compile(
    r"(EREF|KREF|MREF|CRED|DEBT|COAM|OAMT|SVWZ|ABWA|ABWE|IBAN|BIC |PURP|MDAT|SQTP|ORCR"
    r"|ORMR|DDAT)\+"
)
_DATE = "_date"
_AMOUNT = "_amount"


def parse_mt940(content: bytes) -> ParseResult:
    """Read every `:61:` of every statement in the file, in file order.

    A statement line that cannot be read becomes an error for its line. Raises
    `StatementError` for a file holding no MT940 statement, one whose other fields
    (balances, headers) cannot be read, or one with more than IMPORT_MAX_ROWS lines.
    """
    text = _decode(content)
    text = "\n".join(line for line in _LINE_BREAK.split(text) if not _ENVELOPE_LINE.match(line))
    line_numbers = _statement_line_numbers(content)
    if len(line_numbers) > max_transactions():
        raise too_many_transactions(len(line_numbers))
    try:
        statements = mt940.parse_statements(
            text,
            processors={
                "pre_statement": [],  # no silent date fix-ups: see _StatementLine
                "post_transaction_details": [_structured_details],
            },
            tags={_StatementLine.id: _StatementLine()},
            options=_OPTIONS,
        )
    except Exception as err:  # mt-940 raises RuntimeError, ValueError, decimal errors
        raise StatementError(f"The MT940 file cannot be read: {_describe(err)}") from err
    if not statements:
        raise StatementError("The MT940 file holds no statement (no :20: field).")

    transactions = [(statement, t) for statement in statements for t in statement]
    if len(transactions) != len(line_numbers):
        line_numbers = list(range(1, len(transactions) + 1))
    result = ParseResult(format="mt940")
    currencies: set[str] = set()
    fitids = UniqueFitids()
    for (statement, transaction), line in zip(transactions, line_numbers, strict=True):
        currency = (statement.currency or "").strip().upper() or None
        if currency:
            currencies.add(currency)
        row = _row(transaction.data, statement.data, line=line, currency=currency)
        if isinstance(row, str):
            result.errors.append((line, row))
            continue
        result.rows.append(fitids.assign(row))
    if len(currencies) == 1:
        result.currency = currencies.pop()
    return result


class _StatementLine(mt940.tags.Statement):
    """`:61:` read leniently, with amounts and dates by the project's rules.

    Every line yields a transaction (so each `:86:` stays with its own line): one that
    cannot be read carries the reason under `_problem`. The transaction type code is
    never empty, because mt-940 starts a new transaction only when the previous one
    has one (a line without it would silently merge into the one before).
    """

    _PLACEHOLDER: ClassVar[dict[str, Any]] = {"status": "", "amount": "", "id": "NONE"}

    def parse(self, transactions: Any, value: str) -> dict[str, Any]:
        match = self.re.match(value)
        if match is None:
            first = value.split("\n", 1)[0]
            return {
                **self._PLACEHOLDER,
                _PROBLEM: f"The :61: line {first[:60]!r} does not follow the SWIFT layout "
                "(value date YYMMDD, optional entry date MMDD, mark C/D/RC/RD, amount, "
                "type code).",
            }
        return match.groupdict()

    def __call__(self, transactions: Any, value: dict[str, Any]) -> dict[str, Any]:
        data = dict(value)
        data.setdefault("currency", transactions.currency)
        data["type_code"] = data.get("id")
        data["id"] = data.get("id") or "NONE"
        if _PROBLEM not in data:
            problem = _read_line(data)
            if problem:
                data[_PROBLEM] = problem
        return data


def _read_line(data: dict[str, Any]) -> str | None:
    """Fill `_date` and `_amount` from the matched `:61:` groups, or say what is wrong."""
    yy, mm, dd = data.get("year") or "", data.get("month") or "", data.get("day") or ""
    value_date = _date(_century(int(yy)), int(mm), int(dd)) if (yy + mm + dd).isdigit() else None
    if value_date is None:
        return f"The value date {yy}{mm}{dd} is not a date (YYMMDD)."
    day = value_date
    entry_month = (data.get("entry_month") or "").strip()
    entry_day = (data.get("entry_day") or "").strip()
    if entry_month or entry_day:
        day = _entry_date(value_date, entry_month, entry_day)
        if day is None:
            return f"The entry date {entry_month}{entry_day} is not a date (MMDD)."

    mark = (data.get("status") or "").upper()
    raw = (data.get("amount") or "").strip()
    if raw.count(",") > 1 or "." in raw:
        return f"The amount {raw[:20]!r} is not an amount (one decimal comma, e.g. 12,50)."
    try:
        amount = parse_money(raw.replace(",", "."))
    except MoneyParseError:
        return f"The amount {raw[:20]!r} is not an amount (one decimal comma, e.g. 12,50)."
    data[_DATE] = day
    data[_AMOUNT] = -amount if mark in ("D", "RC") else amount
    return None


def _century(year: int) -> int:
    return 1900 + year if year >= 69 else 2000 + year


def _date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _entry_date(value_date: date, month: str, day: str) -> date | None:
    """The MMDD entry date in the year that puts it nearest the value date."""
    if not (month.isdigit() and day.isdigit()):
        return None
    candidates = [
        found
        for year in (value_date.year - 1, value_date.year, value_date.year + 1)
        if (found := _date(year, int(month), int(day))) is not None
    ]
    if not candidates:
        return None
    best = min(candidates, key=lambda found: abs(found - value_date))
    return best if abs(best - value_date) <= timedelta(days=200) else None


def _row(
    data: dict[str, Any], statement: dict[str, Any], *, line: int, currency: str | None
) -> ParsedRow | str:
    if data.get(_PROBLEM):
        return str(data[_PROBLEM])
    if currency and not is_currency(currency):
        return f"The statement's currency {currency[:10]!r} (:60F:) is not a currency we support."
    amount: Decimal = data[_AMOUNT]

    posting_text = _clean(data.get("posting_text"))
    purpose = _clean(data.get(_PURPOSE))
    merchant = _clean(data.get(_NAME))
    description = purpose or posting_text
    free_text = data.get("transaction_details")
    if isinstance(free_text, str) and free_text.strip():
        keyed = _keyed_fields(free_text)
        if keyed:
            description = description or keyed.get("REMI", "")
            merchant = merchant or keyed.get("NAME", "") or _cntp_name(keyed.get("CNTP", ""))
        description = description or _clean(free_text)
    supplementary = _clean(data.get("extra_details"))
    description = description or supplementary or merchant

    reference = _clean(data.get("bank_reference"))
    if reference.upper() in _NO_REFERENCE:
        reference = ""
    account = _clean(statement.get("account_identification"))
    fitid = f"{account}/{reference}" if account and reference else reference
    return ParsedRow(
        line=line,
        date=data[_DATE],
        description=description[:TEXT_MAX],
        amount=amount,
        currency=currency,
        merchant=merchant[:TEXT_MAX],
        fitid=fitid[:TEXT_MAX],
        memo=posting_text[:TEXT_MAX] if posting_text != description else "",
    )


def _structured_details(
    transactions: Any, tag: Any, tag_dict: dict[str, Any], result: dict[str, Any]
) -> dict[str, Any]:
    """mt-940's own `:86:` reading, plus purpose and name joined sub-field by sub-field.

    mt-940 glues ?20–?29 (and ?32 to ?33) together without a space, which runs words
    together wherever a bank ended a sub-field at a word; here a full-width sub-field
    is continued directly and a shorter one with a space. The SEPA purpose (`SVWZ+`)
    is taken when the text carries SEPA keywords.
    """
    raw = tag_dict.get("transaction_details") or ""
    result = mt940.processors.transaction_details_post_processor(
        transactions, tag, tag_dict, result
    )
    if "transaction_details" in result:  # free text, not sub-fields
        return result
    fields: dict[str, list[str]] = {}
    joined = "".join(line.strip("\r") for line in raw.split("\n"))
    parts = _SUBFIELD.split(joined)
    for key, value in zip(parts[1::2], parts[2::2], strict=True):
        fields.setdefault(key, []).append(value)
    purpose = _join_subfields(
        value
        for key in sorted(fields)
        if "20" <= key <= "29" or "60" <= key <= "63"
        for value in fields[key]
    )
    result[_PURPOSE] = _sepa_purpose(purpose)
    result[_NAME] = _join_subfields([*fields.get("32", []), *fields.get("33", [])])
    return result


def _join_subfields(values: Iterable[str]) -> str:
    text, previous = "", None
    for value in values:
        if previous is not None and len(previous) < _SUBFIELD_WIDTH:
            text += " "
        text += value
        previous = value
    return _clean(text)


def _sepa_purpose(purpose: str) -> str:
    """The `SVWZ+` text of a purpose with SEPA keywords (else the text before them)."""
    keywords = list(_SEPA_KEYWORD.finditer(purpose))
    if not keywords:
        return purpose
    for keyword, following in zip(keywords, [*keywords[1:], None], strict=True):
        if keyword.group(1) == "SVWZ":
            end = following.start() if following else len(purpose)
            return _clean(purpose[keyword.end() : end])
    return _clean(purpose[: keywords[0].start()])


def _keyed_fields(text: str) -> dict[str, str]:
    """`/KEY/value/KEY/value` narrative → {KEY: value}; {} when the text is not one.

    The 65-character lines are joined without a space: these banks cut mid-word.
    """
    joined = "".join(part.strip("\r") for part in text.split("\n")).strip()
    matches = list(_KEYED_FIELD.finditer(joined))
    if not matches or matches[0].start() != 0:
        return {}
    fields: dict[str, str] = {}
    for match, following in zip(matches, [*matches[1:], None], strict=True):
        end = following.start() if following else len(joined)
        value = joined[match.end() : end].strip("/ ")
        if match.group(1) == "REMI":
            value = value.removeprefix("USTD//").removeprefix("USTD/")
        fields.setdefault(match.group(1), _clean(value))
    return fields


def _cntp_name(value: str) -> str:
    """The name in `/CNTP/account/BIC/name/city`."""
    parts = value.split("/")
    return _clean(parts[2]) if len(parts) > 2 else ""


def _statement_line_numbers(content: bytes) -> list[int]:
    """The 1-based line of each `:61:` in the file."""
    numbers = []
    for number, line in enumerate(_LINE_BREAK.split(_decode(content)), start=1):
        if line.startswith(":61:"):
            numbers.append(number)
    return numbers


def _decode(content: bytes) -> str:
    """UTF-8 (with or without BOM), else Windows-1252, the charset of most German and
    Dutch banks' MT940 (mt-940's own fallback, cp852, would garble their umlauts)."""
    return decode_guess(content.removeprefix(codecs.BOM_UTF8))


def _clean(value: object) -> str:
    if not isinstance(value, str):
        return ""
    return _WHITESPACE.sub(" ", value).strip()


def _describe(err: Exception) -> str:
    if isinstance(err, RuntimeError) and err.args and isinstance(err.args[-1], str):
        tag = err.args[1] if len(err.args) > 2 else None
        field = f":{tag.id}:" if isinstance(tag, mt940.tags.Tag) else "a field"
        return f"{field} {err.args[-1][:60]!r} does not follow the SWIFT layout."
    return "a balance or another field is malformed."
