"""The XLSX export (SPEC §11): sheets Expenses, Income and Summary.

The workbook is written in openpyxl's write-only mode, which sends each row to a
temporary file as it is appended, and records arrive chunk by chunk from the
selectors, so memory stays bounded whatever the number of rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import IO, Any

from django import forms
from django.db.models import QuerySet
from django.http import QueryDict
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from books.models import Book
from core.dates import month_range, parse_month

from .csv_export import header
from .formatting import TAG_SEPARATOR, decimals, neutralise, rounded
from .selectors import EXPENSE, INCOME, KindTotals, RecordKind, kind_totals, record_chunks

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Rows per sheet in Excel, the header included; more records continue on another sheet.
MAX_SHEET_ROWS = 1_048_576
BOLD = Font(bold=True)
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


class _Sheets:
    """Appends rows to a sheet titled `title`, opening `title (2)`, … when one is full."""

    def __init__(self, workbook: Workbook, title: str, columns: list[str]) -> None:
        self.workbook, self.title, self.columns = workbook, title, columns
        self.count = 0
        self.rows_left = 0
        self.sheet: WriteOnlyWorksheet | None = None

    def append(self, row: list[Any]) -> None:
        if not self.rows_left:
            self._open()
        assert self.sheet is not None
        self.sheet.append(row)
        self.rows_left -= 1

    def _open(self) -> None:
        self.count += 1
        title = self.title if self.count == 1 else f"{self.title} ({self.count})"
        sheet = self.workbook.create_sheet(title)
        sheet.freeze_panes = "A2"
        for index, name in enumerate(self.columns, 1):
            if name in WIDTHS:
                sheet.column_dimensions[get_column_letter(index)].width = WIDTHS[name]
        sheet.append([_bold(sheet, name) for name in self.columns])
        self.sheet, self.rows_left = sheet, MAX_SHEET_ROWS - 1

    def ensure_open(self) -> None:
        if self.sheet is None:
            self._open()


def _bold(sheet: WriteOnlyWorksheet, value: Any) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=value)
    cell.font = BOLD
    return cell


def _text(value: str) -> str:
    """A text cell as written: neutralised against formulas, without the control
    characters XML cannot hold, and never read as an Excel error code."""
    if not value.isprintable():
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
    value = neutralise(value)
    if value in ERROR_CODES:
        value = "'" + value
    return value


class _Money:
    """Numeric amount cells with a number format of the currency's decimals."""

    def __init__(self, sheets: _Sheets) -> None:
        self.sheets = sheets
        self.formats: dict[str, str] = {}

    def cell(self, amount: Decimal, currency: str) -> WriteOnlyCell:
        value = rounded(amount, currency)
        fmt = self.formats.get(currency)
        if fmt is None:
            fmt = self.formats[currency] = number_format(decimals(currency))
        cell = WriteOnlyCell(self.sheets.sheet, value=value)
        cell.number_format = fmt
        return cell


def _write_records(
    workbook: Workbook, title: str, queryset: QuerySet, kind: RecordKind, base_currency: str
) -> None:
    columns = header(kind)
    columns[columns.index("created_at")] = "created_at (UTC)"
    sheets = _Sheets(workbook, title, columns)
    sheets.ensure_open()
    money = _Money(sheets)
    for rows, tags in record_chunks(queryset, kind=kind):
        for (
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
            created_at,
            *extra,
        ) in rows:
            sheets.append(
                [
                    pk,
                    day,
                    _text(description),
                    money.cell(amount, currency),
                    currency,
                    money.cell(base_amount, base_currency),
                    base_currency,
                    rate.normalize(),
                    _text(category) if category else None,
                    _text(party) or None,
                    *extra,
                    _text(TAG_SEPARATOR.join(tags[pk])) if pk in tags else None,
                    _text(notes) or None,
                    created_at.astimezone(UTC).replace(tzinfo=None, microsecond=0),
                ]
            )


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
    yield ["Book", _text(book.name)]
    yield ["User", _text(user.get_username())]
    yield ["Generated (UTC)", datetime.now(UTC).replace(tzinfo=None, microsecond=0)]
    yield ["Filters", _text(filters) or "(none)"]
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
            yield [_text(row["category_name"]), row["total"], row["count"]]


def _write_summary(workbook: Workbook, rows: Iterable[list[Any]], currency: str) -> None:
    sheet = workbook.create_sheet("Summary")
    sheet.column_dimensions["A"].width = 24
    sheet.column_dimensions["B"].width = 18
    money_format = number_format(decimals(currency))
    for row in rows:
        cells: list[Any] = []
        for index, value in enumerate(row):
            if isinstance(value, Decimal):
                cell = WriteOnlyCell(sheet, value=value)
                cell.number_format = money_format
                cells.append(cell)
            elif index == 0 or value in ("Total", "Count"):
                cells.append(_bold(sheet, value) if value else value)
            else:
                cells.append(value)
        sheet.append(cells)


def build_workbook(
    target: IO[bytes],
    *,
    expenses: QuerySet,
    incomes: QuerySet,
    book: Book,
    user: Any,
    period: tuple[date | None, date | None],
    filters: str,
) -> None:
    """Writes the workbook of `book`'s already filtered `expenses` and `incomes` to
    `target`, for `user` (named on the Summary sheet with the book).

    Summary figures are sums of `base_amount` over the same filtered records, taken by
    the database, in the book's base currency; `period` is what the filters asked for,
    else the records' date span.
    """
    currency = book.base_currency
    workbook = Workbook(write_only=True)
    _write_records(workbook, "Expenses", expenses, EXPENSE, currency)
    _write_records(workbook, "Income", incomes, INCOME, currency)
    rows = _summary_rows(
        book=book,
        user=user,
        period=period,
        filters=filters,
        expenses=kind_totals(expenses, currency=currency),
        income=kind_totals(incomes, currency=currency),
    )
    _write_summary(workbook, rows, currency)
    workbook.save(target)
