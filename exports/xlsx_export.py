"""The XLSX export (SPEC §11): sheets Expenses, Income and Summary.

Records arrive chunk by chunk from the selectors (`sheet_chunks`: one server-side
cursor, one tag query per chunk), each chunk is rendered as worksheet XML in one pass
and deflated into the file (`xlsx_writer`), so memory stays flat whatever the number of
rows. Why a writer of our own rather than openpyxl or xlsxwriter: see `xlsx_writer`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from decimal import Decimal
from itertools import count
from typing import IO, Any

from django import forms
from django.db.models import QuerySet
from django.http import QueryDict

from books.models import Book
from core.dates import month_range, parse_month

from . import xlsx_writer
from .csv_export import header
from .formatting import TAG_SEPARATOR, decimals, neutralise
from .selectors import (
    CHUNK_SIZE,
    EXPENSE,
    INCOME,
    KindTotals,
    RecordKind,
    kind_totals,
    sheet_chunks,
)
from .xlsx_writer import COLUMN_LETTERS, DATE_FORMAT, DATETIME_FORMAT, Workbook, text

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Rows per sheet in Excel, the header included; more records continue on another sheet.
MAX_SHEET_ROWS = xlsx_writer.MAX_ROWS
# Column widths (characters) by header name; the rest keep Excel's default.
WIDTHS = {
    "date": 11,
    "description": 40,
    "amount": 14,
    "base_amount": 14,
    "category": 20,
    "merchant": 24,
    "source": 24,
    "payment_method": 15,
    "tags": 20,
    "notes": 30,
    "created_at (UTC)": 20,
}
# Markups of repeated texts kept per sheet kind (see `_RecordSheets.texts`).
TEXT_CACHE_SIZE = 10_000
# Text that Excel would read as an error value; such a cell starts with an apostrophe.
ERROR_CODES = frozenset(("#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A"))


def number_format(places: int) -> str:
    return "#,##0" if places == 0 else "#,##0." + "0" * places


def requested_period(params: QueryDict, book: Book) -> tuple[date | None, date | None]:
    """The date bounds the filters ask for (`start_date`, `end_date`, `month` — the book's
    budget month), parsed as the FilterSet parses them; call it after the FilterSet has
    accepted the parameters."""
    field = forms.DateField(required=False)
    start, end = field.clean(params.get("start_date")), field.clean(params.get("end_date"))
    if params.get("month"):
        start_day = book.month_start_day
        first, last = month_range(*parse_month(params["month"], start_day), start_day=start_day)
        start, end = max(start or first, first), min(end or last, last)
    return start, end


def _safe(value: str) -> str:
    """A text cell's value as written: without the control characters XML cannot hold,
    neutralised against formulas, and never read as an Excel error code."""
    if not value.isprintable():
        value = xlsx_writer.printable(value)
    value = neutralise(value)
    if value[:1] == "#" and value in ERROR_CODES:
        value = "'" + value
    return value


def _text(value: str) -> str:
    """`_safe(value)` as inline string markup."""
    return text(_safe(value))


class _RecordSheets:
    """Writes records of one kind to a sheet titled `title`, opening `title (2)`, … when
    one is full (`MAX_SHEET_ROWS` rows, or the size a worksheet part may reach)."""

    def __init__(
        self, workbook: Workbook, title: str, kind: RecordKind, base_currency: str
    ) -> None:
        self.workbook, self.title, self.kind = workbook, title, kind
        self.base_currency = base_currency
        self.columns = header(kind)
        self.columns[self.columns.index("created_at")] = "created_at (UTC)"
        self.widths = {i: WIDTHS[name] for i, name in enumerate(self.columns) if name in WIDTHS}
        self.bold = workbook.style(bold=True)
        self.date_style = workbook.style(number_format=DATE_FORMAT)
        self.datetime_style = workbook.style(number_format=DATETIME_FORMAT)
        self.currency_cells: dict[str, tuple[int, str]] = {}
        # Markup of the texts that repeat from row to row (category, counterparty,
        # payment method, tags): looked up, not rebuilt; emptied when it grows past
        # TEXT_CACHE_SIZE, so memory stays bounded. Free text (description, notes) is not
        # cached.
        self.texts: dict[str, str] = {}
        self.count = 0
        self.sheet = self._open()

    def _open(self) -> xlsx_writer.Sheet:
        self.count += 1
        title = self.title if self.count == 1 else f"{self.title} ({self.count})"
        sheet = self.workbook.add_sheet(title, widths=self.widths, frozen_rows=1)
        sheet.append(self.columns, self.bold)
        return sheet

    def text(self, value: str) -> str:
        """`_text(value)`, kept for the next rows."""
        if len(self.texts) >= TEXT_CACHE_SIZE:
            self.texts.clear()
        markup = self.texts[value] = _text(value)
        return markup

    def currency_cell(self, currency: str) -> tuple[int, str]:
        """The style of an amount in `currency` (its decimals) and the code's cell text."""
        style = self.workbook.style(number_format=number_format(decimals(currency)))
        self.currency_cells[currency] = (style, _text(currency))
        return self.currency_cells[currency]

    def write(self, rows: list[tuple[Any, ...]], tags: dict[int, list[str]]) -> None:
        """Appends `rows` (as `sheet_chunks` gives them), continuing on new sheets."""
        while rows:
            room = MAX_SHEET_ROWS - self.sheet.rows
            if not room:
                self.sheet = self._open()
                continue
            take = rows[:room]
            xml = self.render(take, tags, self.sheet.next_row)
            # Past the size a worksheet part may reach: fewer rows, else the next sheet.
            while not self.sheet.fits(len(xml)) and len(take) > 1:
                take = take[: len(take) // 2]
                xml = self.render(take, tags, self.sheet.next_row)
            if not self.sheet.fits(len(xml)) and self.sheet.rows > 1:
                self.sheet = self._open()
                continue
            self.sheet.write_rows(xml, len(take))
            rows = rows[len(take) :]

    def render(self, rows: list[tuple[Any, ...]], tags: dict[int, list[str]], first: int) -> bytes:
        """`rows` as `<row>` elements numbered from `first`, UTF-8 (an empty text is no
        cell). This loop is the export's cost: fragments go to one list, the row number
        is formatted once, and only free text (description, notes) is rendered per row."""
        date_style, datetime_style = self.date_style, self.datetime_style
        currencies, currency_cells = self.currency_cells, self.currency_cell
        base_style, base_currency = self.currency_cell(self.base_currency)
        known, learn = self.texts, self.text
        extra = [COLUMN_LETTERS[10 + i] for i in range(len(self.kind.extra))]
        tags_col, notes_col, created_col = COLUMN_LETTERS[10 + len(extra) : 13 + len(extra)]
        out: list[str] = []
        put = out.append
        for n, (
            pk,
            day,
            description,
            amount,
            currency,
            base_amount,
            rate,
            category,
            party,
            notes,
            created,
            *extras,
        ) in zip(map(str, count(first)), rows, strict=False):
            style, currency_text = currencies.get(currency) or currency_cells(currency)
            put(
                f'<row r="{n}"><c r="A{n}"><v>{pk}</v></c>'
                f'<c r="B{n}" s="{date_style}"><v>{day}</v></c>'
            )
            if description:
                put(f'<c r="C{n}" t="inlineStr">{_text(description)}</c>')
            put(
                f'<c r="D{n}" s="{style}"><v>{amount}</v></c>'
                f'<c r="E{n}" t="inlineStr">{currency_text}</c>'
                f'<c r="F{n}" s="{base_style}"><v>{base_amount}</v></c>'
                f'<c r="G{n}" t="inlineStr">{base_currency}</c>'
                f'<c r="H{n}"><v>{rate}</v></c>'
            )
            if category:
                put(f'<c r="I{n}" t="inlineStr">{known.get(category) or learn(category)}</c>')
            if party:
                put(f'<c r="J{n}" t="inlineStr">{known.get(party) or learn(party)}</c>')
            for column, value in zip(extra, extras, strict=True):
                if value:
                    put(f'<c r="{column}{n}" t="inlineStr">{known.get(value) or learn(value)}</c>')
            if pk in tags:
                names = TAG_SEPARATOR.join(tags[pk])
                put(f'<c r="{tags_col}{n}" t="inlineStr">{known.get(names) or learn(names)}</c>')
            if notes:
                put(f'<c r="{notes_col}{n}" t="inlineStr">{_text(notes)}</c>')
            put(f'<c r="{created_col}{n}" s="{datetime_style}"><v>{created}</v></c></row>')
        return "".join(out).encode()


def _write_records(
    workbook: Workbook,
    title: str,
    queryset: QuerySet,
    kind: RecordKind,
    base_currency: str,
    chunk_size: int,
) -> None:
    sheets = _RecordSheets(workbook, title, kind, base_currency)
    chunks = sheet_chunks(queryset, kind=kind, base_currency=base_currency, chunk_size=chunk_size)
    try:
        for rows, tags in chunks:
            sheets.write(rows, tags)
    finally:
        chunks.close()


def _summary_rows(
    *,
    book: Book,
    user: Any,
    period: tuple[date | None, date | None],
    filters: str,
    expenses: KindTotals,
    income: KindTotals,
) -> Iterable[list[Any]]:
    currency = book.base_currency
    firsts = [d for d in (expenses.first, income.first) if d is not None]
    lasts = [d for d in (expenses.last, income.last) if d is not None]
    start = period[0] or (min(firsts) if firsts else None)
    end = period[1] or (max(lasts) if lasts else None)
    yield ["Budget Tracker export"]
    yield ["Book", _safe(book.name)]
    yield ["User", _safe(user.get_username())]
    yield ["Generated (UTC)", datetime.now(UTC).replace(tzinfo=None, microsecond=0)]
    yield ["Filters", _safe(filters) or "(none)"]
    yield ["Period start", start]
    yield ["Period end", end]
    yield ["Currency", currency]
    yield []
    yield ["", "Total", "Count"]
    yield ["Expenses", expenses.total, expenses.count]
    yield ["Income", income.total, income.count]
    yield ["Net", income.total - expenses.total]
    for title, totals in (("Expenses by category", expenses), ("Income by category", income)):
        yield []
        yield [title, "Total", "Count"]
        for row in totals.by_category:
            yield [_safe(row["category_name"]), row["total"], row["count"]]


def _write_summary(workbook: Workbook, rows: Iterable[list[Any]], currency: str) -> None:
    """Labels (the first column, `Total` and `Count`) bold, amounts in the currency's
    number format, dates as date cells."""
    sheet = workbook.add_sheet("Summary", widths={0: 24, 1: 18})
    bold = workbook.style(bold=True)
    money = workbook.style(number_format=number_format(decimals(currency)))
    for row in rows:
        styles = [
            money
            if isinstance(value, Decimal)
            else bold
            if index == 0 or value in ("Total", "Count")
            else 0
            for index, value in enumerate(row)
        ]
        sheet.append(row, styles)


def build_workbook(
    target: IO[bytes],
    *,
    expenses: QuerySet,
    incomes: QuerySet,
    book: Book,
    user: Any,
    period: tuple[date | None, date | None],
    filters: str,
    chunk_size: int = CHUNK_SIZE,
) -> None:
    """Writes the workbook of `book`'s already filtered `expenses` and `incomes` to
    `target`, for `user` (named on the Summary sheet with the book).

    Summary figures are sums of `base_amount` over the same filtered records, taken by
    the database, in the book's base currency; `period` is what the filters asked for,
    else the records' date span. Queries: 1 + ⌈records / chunk_size⌉ per kind (the
    rows, then the tags of each chunk; `selectors`) and two per kind for the totals,
    never one per record.
    """
    currency = book.base_currency
    with Workbook(target) as workbook:
        _write_records(workbook, "Expenses", expenses, EXPENSE, currency, chunk_size)
        _write_records(workbook, "Income", incomes, INCOME, currency, chunk_size)
        rows = _summary_rows(
            book=book,
            user=user,
            period=period,
            filters=filters,
            expenses=kind_totals(expenses, currency=currency),
            income=kind_totals(incomes, currency=currency),
        )
        _write_summary(workbook, rows, currency)
