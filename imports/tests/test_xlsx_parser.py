"""XLSX statement parser (SPEC §11): the first worksheet, read with the CSV table rules."""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from openpyxl import Workbook

from imports.parsers.base import CsvOptions, StatementError
from imports.parsers.xlsx_parser import parse_xlsx


def workbook(*rows: list, extra_sheet: list | None = None) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    if extra_sheet is not None:
        other = book.create_sheet("Other")
        other.append(extra_sheet)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def parse(content: bytes, **options):
    return parse_xlsx(content, CsvOptions(**options))


def test_date_cells_text_dates_numbers_and_text_amounts_below_a_metadata_row():
    content = workbook(
        ["Account NL00BANK0123456789", None, None],
        [],
        ["Booking date", "Description", "Amount"],
        [datetime(2024, 1, 5), "Coffee", -3.5],
        ["06/01/2024", "Tea", "-2,00"],
        [date(2024, 1, 7), "Salary", 2500],
        ["08/01/2024", "Rent", "-1.234,56"],
        extra_sheet=["Date", "Description", "Amount"],
    )

    result = parse(content)

    assert result.format == "xlsx"
    assert result.errors == []
    assert [(r.line, r.date, r.description, r.amount) for r in result.rows] == [
        (4, date(2024, 1, 5), "Coffee", Decimal("-3.5")),
        (5, date(2024, 1, 6), "Tea", Decimal("-2.00")),
        (6, date(2024, 1, 7), "Salary", Decimal("2500")),
        (7, date(2024, 1, 8), "Rent", Decimal("-1234.56")),
    ]


def test_float_noise_from_formulas_is_rounded_away():
    content = workbook(["Date", "Description", "Amount"], [date(2024, 1, 5), "Sum", 0.1 + 0.2])

    assert parse(content).rows[0].amount == Decimal("0.3")


def test_debit_credit_columns_currency_and_negate():
    content = workbook(
        ["Date", "Details", "Debit", "Credit", "Currency"],
        [date(2024, 1, 5), "Card", 12.5, None, "gbp"],
        [date(2024, 1, 6), "Refund", None, 4, "GBP"],
    )

    result = parse(content, negate=True)

    assert [r.amount for r in result.rows] == [Decimal("12.5"), Decimal("-4")]
    assert result.currency == "GBP"


def test_continuation_rows_footers_and_row_errors_use_worksheet_row_numbers():
    content = workbook(
        ["Transaction date", "Description", "Withdrawals (SGD)", "Deposits (SGD)"],
        [date(2024, 1, 5), "DEBIT PURCHASE", 6.66, None],
        [None, "UBER EATS", None, None],
        [],
        [date(2024, 1, 6), "Broken", "six", None],
        ["not a date", "Bad date", 1, None],
        [date(2024, 1, 7), "Salary", None, 100],
        ["Total", None, 6.66, 100],
    )

    result = parse(content)

    assert [(r.line, r.description, r.amount, r.currency) for r in result.rows] == [
        (2, "DEBIT PURCHASE UBER EATS", Decimal("-6.66"), "SGD"),
        (7, "Salary", Decimal("100"), "SGD"),
    ]
    assert result.errors == [(5, "unparseable debit 'six'"), (6, "unparseable date 'not a date'")]


def test_explicit_columns_by_index_and_excel_serial_dates():
    serial = (date(2024, 1, 5) - date(1899, 12, 30)).days
    content = workbook(
        ["Exported", "2024-02-01"],
        [serial, "Coffee", -3.5],
        [20240106, "Tea", -2],
    )

    result = parse(content, columns={"date": 0, "description": 1, "amount": 2})

    assert [(r.line, r.date) for r in result.rows] == [(2, date(2024, 1, 5)), (3, date(2024, 1, 6))]


def test_explicit_date_format_for_text_dates():
    content = workbook(["Date", "Description", "Amount"], ["2024|31|01", "Coffee", -3.5])

    assert parse(content, date_format="%Y|%d|%m").rows[0].date == date(2024, 1, 31)


def test_datetime_with_time_of_day_keeps_the_date():
    content = workbook(
        ["Date", "Description", "Amount"], [datetime(2024, 1, 5, 23, 59) + timedelta(0), "A", -1]
    )

    assert parse(content).rows[0].date == date(2024, 1, 5)


def test_missing_amount_column_is_reported():
    content = workbook(["Date", "Description", "Balance"], [date(2024, 1, 5), "Coffee", 100])

    with pytest.raises(StatementError, match=r"amount \(or debit and credit\).*'Balance'"):
        parse(content)


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"Date,Description,Amount\n2024-01-05,Coffee,-3.50\n", id="csv-bytes"),
        pytest.param(b"PK\x03\x04not really a zip", id="broken-zip"),
    ],
)
def test_a_file_that_is_not_a_workbook_is_rejected(content):
    with pytest.raises(StatementError):
        parse(content)


def test_an_empty_workbook_is_rejected():
    with pytest.raises(StatementError, match="empty"):
        parse(workbook())
