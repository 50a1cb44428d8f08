"""A table of cells → statement rows: the logic CSV and XLSX share (SPEC §11).

The caller supplies `(line, cells)` records — the 1-based line (CSV) or row (XLSX) of the
original file and that line's cells — and gets a `ParseResult`. Rules, in order:

- Header: the first line after `skip_rows` lines, or else the first of the first 50
  lines whose cells name a date, an amount (or debit/credit) and a description (or
  payee) column; everything above it (account details, balances) is skipped. When the
  client gives every required column by number, the header is the line just above the
  first line whose date cell is a date (none if that is the first line).
- Conventions, once per file unless given: decimal separator by vote of the amount
  texts; date format = the one format that parses the most (ideally all) date cells,
  day-first when 03/04 vs 04/03 is undecidable unless the file looks American ("$" in
  amounts or USD as currency).
- Lines: no date and no amount but some description text → continuation of the row
  above (text appended to its description); footer/summary lines ("Total", "Closing
  balance", …), repeated headers and lines with neither a date nor an amount → skipped;
  a date with a bad or missing amount, or an amount with a bad or missing date → error.
- Sign: a credit/debit marker decides it and `negate` never flips it — the value of the
  `direction` column (a credit marker → money in, anything else, blank included → money
  out; the amount's own sign is ignored) or a CR/DR suffix in the amount cell. Without
  a marker the amount's own sign counts ("-", "(…)", trailing "-"; a debit column is
  money out, a credit column money in), and `negate` flips it. A direction column the
  client did not name is used only when every value in it is a known credit or debit
  marker: one found by its header ("Dr/Cr", "Soll/Haben", "Type", ...) or an unnamed
  column just right of the amount.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from core.money import is_currency

from .base import CsvOptions, ParsedRow, ParseResult, StatementError
from .cells import (
    DATE_FORMATS,
    Cell,
    cell_text,
    clean_date_text,
    collapse,
    detect_date_format,
    detect_decimal_separator,
    number_to_date,
    parse_amount_marked,
    parse_date_text,
)
from .columns import (
    ColumnMap,
    ColumnRef,
    covered_by_indices,
    explicit_columns,
    resolve_columns,
    simple_name,
)

Record = tuple[int, Sequence[Cell]]

HEADER_SCAN_LIMIT = 50
TEXT_LIMIT = 255
_FOOTER = re.compile(
    r"(?:sub)?totals?\b|sum\b|summe\b|gesamt|totaal|totale\b|totaux|"
    r"(?:(?:closing|opening|available|ledger|ending|beginning|end|start|starting|current"
    r"|new|old|previous)\s+)?balance\b|\w*saldo\b|(?:alter\s+|neuer\s+)?kontostand|solde\b|"
    r"end of\b",
    re.IGNORECASE,
)
# Values of a direction column ("Dr/Cr", "Af Bij", "Soll/Haben", "S/H", "Credit/Debit")
# that mean money in, unless the client names its own (`credit_markers`). Any other
# value, a blank included, means money out. Compared after `marker_key`.
DEFAULT_CREDIT_MARKERS: tuple[str, ...] = (
    "CR",
    "Credit",
    "C",
    "CRDT",
    "+",
    "In",
    "Haben",
    "H",
    "Gutschrift",
    "Crédit",
    "Avoir",
    "Bij",
    "Abono",
    "Crédito",
    "Accredito",
    "Avere",
    "Uznanie",
)
# Values that mean money out. They are not needed to read a column the client named
# (anything not a credit marker is an outflow); a column found by its header is used
# only when every value in it is a known credit or debit marker.
DEBIT_MARKERS: frozenset[str] = frozenset(
    {"dr", "debit", "d", "dbit", "-", "out", "soll", "s", "lastschrift", "belastung"}
    | {"débit", "af", "debet", "cargo", "débito", "addebito", "dare", "obciążenie"}
)
MAX_CREDIT_MARKERS = 50
MAX_MARKER_CHARS = 32
_CURRENCY_SYMBOLS = {"€": "EUR", "£": "GBP"}
_STRPTIME_DIRECTIVE = re.compile(r"%(.?)", re.DOTALL)
_DATE_DIRECTIVES = set("aAbBcdHIjmMpSUwWxXyYzZf%")


@dataclass
class Header:
    """Where the data starts and what its columns mean."""

    data_start: int  # index in the non-blank records of the first data line
    columns: ColumnMap
    key: tuple[str, ...] | None  # the header's cells, to skip it when repeated


class _RowError(ValueError):
    pass


def marker_key(text: str) -> str:
    """How direction cells and credit markers are compared: trimmed, single-spaced,
    case-insensitive, a trailing full stop ignored ("Cr." = "CR")."""
    key = " ".join(text.split()).casefold()
    return key[:-1].rstrip() if len(key) > 1 and key.endswith(".") else key


def credit_marker_set(markers: Sequence[str] | None) -> frozenset[str]:
    """The client's `credit_markers` (or the defaults) as comparison keys; raises
    `StatementError` for a list that is not short, non-empty strings."""
    if markers is None:
        return frozenset(marker_key(marker) for marker in DEFAULT_CREDIT_MARKERS)
    if isinstance(markers, str) or not isinstance(markers, Sequence):
        raise StatementError('credit_markers must be a list of strings, e.g. ["CR", "Haben"].')
    if not 1 <= len(markers) <= MAX_CREDIT_MARKERS:
        raise StatementError(f"credit_markers must list 1 to {MAX_CREDIT_MARKERS} values.")
    keys = set()
    for marker in markers:
        if not isinstance(marker, str) or not marker.strip():
            raise StatementError("credit_markers must be non-empty strings.")
        if len(marker) > MAX_MARKER_CHARS:
            raise StatementError(
                f"credit_markers: {marker[:40]!r} is over {MAX_MARKER_CHARS} characters."
            )
        keys.add(marker_key(marker))
    return frozenset(keys)


def parse_table(
    records: Iterable[Record], options: CsvOptions, *, format: str, decimal_hint: str = "."
) -> ParseResult:
    """Statement rows from a table of cells; raises `StatementError` when it has none."""
    explicit = explicit_columns(options.columns)
    table = [(line, cells) for line, cells in records if _has_content(cells)]
    if not table:
        raise StatementError("The file is empty.")
    header, problem = find_header(table, options, explicit)
    if header is None:
        raise StatementError(problem)
    return _RowReader(
        table[header.data_start :],
        header,
        options,
        decimal_hint,
        direction_given="direction" in explicit,
    ).read(format)


def find_header(
    table: Sequence[Record], options: CsvOptions, explicit: dict[str, tuple[ColumnRef, ...]]
) -> tuple[Header | None, str]:
    """The header of `table` (non-blank records), or None and why none was found."""
    skip_rows = options.skip_rows
    start = 0
    if skip_rows is not None:
        if skip_rows < 0:
            raise StatementError("skip_rows must be 0 or more.")
        start = next((pos for pos, (line, _) in enumerate(table) if line > skip_rows), -1)
        if start < 0:
            return None, f"Nothing follows the first {skip_rows} lines."
    if covered_by_indices(explicit):
        return _header_above_first_date(table, start, options, explicit), ""

    candidates = range(start, start + 1) if skip_rows is not None else range(len(table))
    best: tuple[ColumnMap, list[str]] | None = None
    for pos in candidates[:HEADER_SCAN_LIMIT]:
        texts = [cell_text(cell).strip() for cell in table[pos][1]]
        if skip_rows is None and sum(1 for text in texts if text) < 2:
            continue
        columns = resolve_columns(texts, explicit)
        if not columns.missing:
            return Header(data_start=pos + 1, columns=columns, key=_row_key(table[pos][1])), ""
        if best is None or columns.matched > best[0].matched:
            best = (columns, texts)
    if best is None:
        first = cell_text(table[start][1][0] if table[start][1] else "")[:80]
        return None, (
            "No table header found (need date, amount and description columns); "
            f"the file starts with {first!r}."
        )
    columns, texts = best
    seen = ", ".join(repr(text) for text in texts if text)
    where = "" if skip_rows is None else f" (after skipping {skip_rows} lines)"
    return None, (
        f"Header row{where} not found or incomplete: missing column(s): "
        f"{'; '.join(columns.missing)}. Headers seen: {seen[:500]}."
    )


def _header_above_first_date(
    table: Sequence[Record],
    start: int,
    options: CsvOptions,
    explicit: dict[str, tuple[ColumnRef, ...]],
) -> Header:
    columns = resolve_columns(None, explicit)
    end = min(len(table), start + HEADER_SCAN_LIMIT + 1)
    for pos in range(start, end):
        cells = table[pos][1]
        if columns.date < len(cells) and _looks_like_date(cells[columns.date], options):
            if pos == start:
                return Header(data_start=start, columns=columns, key=None)
            return Header(data_start=pos, columns=columns, key=_row_key(table[pos - 1][1]))
    return Header(data_start=start, columns=columns, key=None)


def _looks_like_date(value: Cell, options: CsvOptions) -> bool:
    if isinstance(value, date):
        return True
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return number_to_date(value) is not None
    if not isinstance(value, str):
        return False
    if options.date_format:
        return _explicit_date(value.strip(), options.date_format) is not None
    text = clean_date_text(value)
    return any(parse_date_text(text, fmt) is not None for fmt in DATE_FORMATS)


def _has_content(cells: Sequence[Cell]) -> bool:
    try:  # text cells (every CSV line): content when they are not all blank
        return bool("".join(cells).strip())  # type: ignore[arg-type]
    except TypeError:  # numbers, dates or None among them (XLSX)
        pass
    return any(cell is not None and (not isinstance(cell, str) or cell.strip()) for cell in cells)


def _row_key(cells: Sequence[Cell]) -> tuple[str, ...]:
    key = [simple_name(cell_text(cell)) for cell in cells]
    while key and not key[-1]:
        key.pop()
    return tuple(key)


def _short(value: Cell) -> str:
    text = cell_text(value)
    return repr(text if len(text) <= 40 else text[:40] + "…")


def date_format_problem(fmt: str) -> str | None:
    """Why `fmt` is not a strptime date pattern the importer can use, or None.

    Every `%` must start a known directive, none may repeat (strptime cannot compile
    "%d%d", nor "%x %d" whose %x already holds a %d), and one must name a date part.
    """
    directives = _STRPTIME_DIRECTIVE.findall(fmt)
    named = [d for d in directives if d != "%"]
    if not named or any(d not in _DATE_DIRECTIVES for d in named):
        return f"{fmt!r} is not a strptime pattern such as %d.%m.%Y."
    if len(set(named)) != len(named):
        return f"{fmt!r} uses a directive twice."
    try:
        datetime.strptime("", fmt)
    except ValueError:
        pass  # the empty text does not match: the pattern itself compiled
    except Exception:  # re.error for patterns whose directives expand to a repeat
        return f"{fmt!r} uses a directive twice."
    return None


def _check_date_format(fmt: str) -> None:
    problem = date_format_problem(fmt)
    if problem:
        raise StatementError(f"date_format {problem}")


def _explicit_date(text: str, fmt: str) -> date | None:
    for candidate in (text, clean_date_text(text)):
        try:
            return datetime.strptime(candidate, fmt).date()
        except ValueError:
            continue
    return None


class _RowReader:
    """Reads the data lines below a header with the file's conventions fixed up front."""

    def __init__(
        self,
        data: list[Record],
        header: Header,
        options: CsvOptions,
        decimal_hint: str,
        *,
        direction_given: bool = False,
    ) -> None:
        self.data = data
        self.header = header
        self.columns = columns = header.columns
        self.negate = options.negate
        self.credit_markers = credit_marker_set(options.credit_markers)
        self.direction = self._direction_column(direction_given)
        self.amount_columns = tuple(
            index for index in (columns.amount, columns.debit, columns.credit) if index is not None
        )
        amount_values = [
            cells[index]
            for _, cells in data
            for index in self.amount_columns
            if index < len(cells) and isinstance(cells[index], str)
        ]
        if options.decimal_separator is not None:
            if options.decimal_separator not in (".", ","):
                raise StatementError("decimal_separator must be '.' or ','.")
            self.decimal = options.decimal_separator
        else:
            self.decimal = detect_decimal_separator(amount_values, fallback=decimal_hint)
        self.date_of = self._date_parser(options, month_first=self._looks_american(amount_values))
        # Amount text → (amount, marked), or False for text that is no amount.
        self._amounts: dict[str, tuple[Decimal, bool] | Literal[False]] = {}

    def _direction_column(self, given: bool) -> int | None:
        """The column whose credit/debit marker signs the amount, or None.

        A column the client named is used as it is. One found by its header name, or
        else an unnamed column just right of the amount ("+ £1,100.00" | "CR"), only
        when each of its values is a known credit or debit marker and one is not
        blank: a "Type" column holding "Card payment" does not sign anything.
        """
        columns = self.columns
        if given:
            if columns.amount is None:
                raise StatementError(
                    "The direction column signs an amount column; it cannot be used with "
                    "debit and credit columns."
                )
            return columns.direction
        if columns.amount is None:
            return None
        if columns.direction is not None:
            return columns.direction if self._all_markers(columns.direction) else None
        beside = columns.amount + 1
        key = self.header.key
        used = {
            columns.date,
            columns.amount,
            columns.merchant,
            columns.currency,
            columns.memo,
            columns.fitid,
            *columns.description,
        }
        if key is None or beside in used or (beside < len(key) and key[beside]):
            return None
        return beside if self._all_markers(beside) else None

    def _all_markers(self, index: int) -> bool:
        known = self.credit_markers | DEBIT_MARKERS
        seen = False
        for _, cells in self.data:
            value = _value(cells, index)
            if value is None:
                continue
            if marker_key(cell_text(value)) not in known:
                return False
            seen = True
        return seen

    def _looks_american(self, amount_values: list[Cell]) -> bool:
        if self.columns.header_currency == "USD":
            return True
        if any("$" in value for value in amount_values if isinstance(value, str)):
            return True
        index = self.columns.currency
        if index is None:
            return False
        return any(
            index < len(cells) and cell_text(cells[index]).strip().upper() == "USD"
            for _, cells in self.data[:200]
        )

    def _date_parser(
        self, options: CsvOptions, *, month_first: bool
    ) -> Callable[[Cell], date | None]:
        index = self.columns.date
        texts = {
            cell.strip()
            for _, cells in self.data
            if index < len(cells) and isinstance(cell := cells[index], str) and cell.strip()
        }
        parsed: dict[str, date | None]
        if options.date_format:
            _check_date_format(options.date_format)
            parsed = {text: _explicit_date(text, options.date_format) for text in texts}
        else:
            cleaned = {text: clean_date_text(text) for text in texts}
            fmt = detect_date_format(cleaned.values(), month_first=month_first)
            parsed = {
                text: parse_date_text(clean, fmt) if fmt else None
                for text, clean in cleaned.items()
            }

        def date_of(value: Cell) -> date | None:
            if isinstance(value, str):
                return parsed.get(value)
            if isinstance(value, datetime):
                return value.date()
            if isinstance(value, date):
                return value
            if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
                return number_to_date(value)
            return None

        return date_of

    def read(self, format: str) -> ParseResult:
        columns = self.columns
        rows: list[ParsedRow] = []
        errors: list[tuple[int, str]] = []
        previous: ParsedRow | None = None
        amount_columns = self.amount_columns
        for line, cells in self.data:
            raw_date = _value(cells, columns.date)
            when = None if raw_date is None else self.date_of(raw_date)
            if when is not None:
                try:
                    previous = self._row(line, when, cells)
                except _RowError as exc:
                    errors.append((line, str(exc)))
                    previous = None
                    continue
                rows.append(previous)
                continue
            has_amount = any(_value(cells, index) is not None for index in amount_columns)
            if raw_date is None:
                if self._is_skippable(cells):
                    previous = None
                elif has_amount:
                    errors.append((line, "no date"))
                    previous = None
                elif previous is not None:
                    extra = self._continuation_text(cells)
                    if extra:
                        previous.description = collapse(
                            f"{previous.description} {extra}", TEXT_LIMIT
                        )
                continue
            previous = None  # a date cell that is no date
            if has_amount and not self._is_skippable(cells):
                errors.append((line, f"unparseable date {_short(raw_date)}"))
        return ParseResult(format=format, rows=rows, errors=errors, currency=self._currency(rows))

    def _is_skippable(self, cells: Sequence[Cell]) -> bool:
        """Footer/summary lines and the header repeated (multi-page exports)."""
        first = next((cell for cell in cells if _value_of(cell) is not None), None)
        if isinstance(first, str) and _FOOTER.match(first.strip()):
            return True
        return self.header.key is not None and _row_key(cells) == self.header.key

    def _continuation_text(self, cells: Sequence[Cell]) -> str:
        columns = self.columns
        for indices in (columns.description, (columns.merchant,), (columns.memo,)):
            text = " ".join(
                cell_text(value) for index in indices if (value := _value(cells, index)) is not None
            )
            if text.strip():
                return text
        return ""

    def _row(self, line: int, when: date, cells: Sequence[Cell]) -> ParsedRow:
        columns = self.columns
        amount = self._amount(cells)
        merchant = _text(cells, columns.merchant)
        description = collapse(
            " ".join(
                cell_text(value)
                for index in columns.description
                if (value := _value(cells, index)) is not None
            ),
            TEXT_LIMIT,
        )
        description = description or merchant
        if not description:
            raise _RowError("no description")
        currency = columns.header_currency
        raw_currency = _value(cells, columns.currency)
        if raw_currency is not None:
            code = cell_text(raw_currency).strip().upper()
            code = _CURRENCY_SYMBOLS.get(code, code)
            if not is_currency(code):
                raise _RowError(f"unknown currency {_short(raw_currency)}")
            currency = code
        return ParsedRow(
            line=line,
            date=when,
            description=description,
            amount=amount,
            currency=currency,
            merchant=merchant,
            fitid=_text(cells, columns.fitid),
            memo=_text(cells, columns.memo),
        )

    def _amount(self, cells: Sequence[Cell]) -> Decimal:
        """The row's signed amount. A credit/debit marker — the direction column's value,
        or a CR/DR suffix in the amount cell — decides the sign and `negate` leaves it
        alone; otherwise the amount's own sign (or debit/credit column) counts, flipped
        under `negate`."""
        columns = self.columns
        marked = False
        if columns.amount is not None:
            number = self._number(cells, columns.amount, "amount")
            if number is None:
                raise _RowError("no amount")
            amount, marked = number
            if self.direction is not None:
                direction = _value(cells, self.direction)
                inflow = (
                    direction is not None
                    and marker_key(cell_text(direction)) in self.credit_markers
                )
                amount = abs(amount) if inflow else -abs(amount)
                marked = True
        else:
            debit = self._number(cells, columns.debit, "debit")
            credit = self._number(cells, columns.credit, "credit")
            if debit is None and credit is None:
                raise _RowError("no amount")
            debit_amount = debit[0] if debit else None
            credit_amount = credit[0] if credit else None
            if debit_amount and credit_amount:
                raise _RowError("both debit and credit are filled")
            amount = -abs(debit_amount) if debit_amount else abs(credit_amount or Decimal(0))
        if self.negate and not marked:
            amount = -amount
        if amount == 0:
            raise _RowError("amount is zero")
        return amount

    def _number(
        self, cells: Sequence[Cell], index: int | None, label: str
    ) -> tuple[Decimal, bool] | None:
        raw = _value(cells, index)
        if raw is None:
            return None
        if isinstance(raw, str):
            # A statement repeats its amounts: each distinct text is parsed once.
            known = self._amounts.get(raw)
            if known is None:
                try:
                    known = self._amounts[raw] = parse_amount_marked(raw, self.decimal)
                except ValueError:
                    known = self._amounts[raw] = False
            if known is False:
                raise _RowError(f"unparseable {label} {_short(raw)}")
            return known
        try:
            return parse_amount_marked(raw, self.decimal)
        except ValueError:
            raise _RowError(f"unparseable {label} {_short(raw)}") from None

    def _currency(self, rows: list[ParsedRow]) -> str | None:
        if self.columns.header_currency:
            return self.columns.header_currency
        codes = {row.currency for row in rows}
        if len(codes) == 1:
            return codes.pop()
        return None


def _value_of(cell: Cell) -> Cell:
    if isinstance(cell, str):
        return cell.strip() or None
    return cell


def _value(cells: Sequence[Cell], index: int | None) -> Cell:
    """The cell at `index`: None when absent or blank, text trimmed."""
    if index is None or index >= len(cells):
        return None
    return _value_of(cells[index])


def _text(cells: Sequence[Cell], index: int | None) -> str:
    value = _value(cells, index)
    return collapse(cell_text(value), TEXT_LIMIT) if value is not None else ""
