"""QIF statements: the real fixture of SOURCES.md and QIF's date and amount dialects."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from imports.parsers.base import StatementError
from imports.parsers.qif_parser import parse_qif

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "statements"


def fixture_bytes(name: str) -> bytes:
    path = FIXTURES / name
    if not path.exists():
        pytest.skip(f"statement fixture {path} is not present")
    return path.read_bytes()


def test_real_qif_gives_the_counted_rows_and_total():
    result = parse_qif(fixture_bytes("qif__actual__data-payee-memo.qif"))

    assert result.format == "qif"
    assert result.errors == []
    assert result.currency is None
    assert sum(row.amount for row in result.rows) == Decimal("-100.00")
    assert [
        (row.line, row.date, row.amount, row.description, row.merchant, row.memo)
        for row in result.rows
    ] == [
        (
            2,
            date(2019, 1, 23),
            Decimal("-10.00"),
            "Payee Name - Note Text",
            "Payee Name",
            "Note Text",
        ),
        (7, date(2019, 1, 23), Decimal("-20.00"), "Payee Name Only", "Payee Name Only", ""),
        (11, date(2019, 1, 23), Decimal("-30.00"), "Note Only Text", "", "Note Only Text"),
        (15, date(2019, 1, 23), Decimal("-40.00"), "", "", ""),
    ]
    assert all(row.currency is None and row.fitid == "" for row in result.rows)


def dates_of(text: str) -> list[date]:
    result = parse_qif(text.encode())
    assert result.errors == []
    return [row.date for row in result.rows]


def test_day_first_file_is_read_day_first_throughout():
    text = "!Type:Bank\nD13/01/2024\nT-1.00\n^\nD05/02/2024\nT-2.00\n^\n"

    assert dates_of(text) == [date(2024, 1, 13), date(2024, 2, 5)]


def test_month_first_file_is_read_month_first_throughout():
    text = "!Type:Bank\nD01/13/2024\nT-1.00\n^\nD02/05/2024\nT-2.00\n^\n"

    assert dates_of(text) == [date(2024, 1, 13), date(2024, 2, 5)]


def test_ambiguous_dates_are_month_first_unless_written_with_dots():
    assert dates_of("!Type:Bank\nD02/05/2024\nT-1\n^\n") == [date(2024, 2, 5)]
    assert dates_of("!Type:Bank\nD02.05.2024\nT-1\n^\n") == [date(2024, 5, 2)]


def test_quicken_apostrophe_years_and_space_padding():
    text = (
        "!Type:Bank\nD1/ 2'24\nT-1\n^\nD12/31' 9\nT-1\n^\nD12/31/99\nT-1\n^\nD2024-03-04\nT-1\n^\n"
    )

    assert dates_of(text) == [
        date(2024, 1, 2),
        date(2009, 12, 31),
        date(1999, 12, 31),
        date(2024, 3, 4),
    ]


def test_credit_card_and_other_sections_are_read_others_skipped():
    text = (
        "!Option:AutoSwitch\n!Account\nNVisa\nTCCard\n^\n!Clear:AutoSwitch\n"
        "!Type:CCard\nD01/02/2024\nPCoffee\nN1001\nLFood:Coffee\nT-3.50\n^\n"
        "!Type:Cat\nNFood\nE\n^\n"
        "!Type:Oth L\nD01/03/2024\nPLoan\nT-100\n^\n"
        "!Type:Invst\nD01/04/2024\nNBuy\nT500\n^\n"
    )

    result = parse_qif(text.encode())

    assert result.errors == []
    assert [(row.line, row.merchant, row.amount) for row in result.rows] == [
        (8, "Coffee", Decimal("-3.50")),
        (19, "Loan", Decimal("-100")),
    ]


def test_thousands_separators_and_decimal_comma():
    us = "!Type:Bank\nD01/02/2024\nT-1,234.56\n^\nD01/03/2024\nU12,000\n^\n"
    eu = "!Type:Bank\nD13.01.2024\nT-1.234,56\n^\nD14.01.2024\nT10,5\n^\n"

    assert [row.amount for row in parse_qif(us.encode()).rows] == [
        Decimal("-1234.56"),
        Decimal("12000"),
    ]
    assert [row.amount for row in parse_qif(eu.encode()).rows] == [
        Decimal("-1234.56"),
        Decimal("10.5"),
    ]


def test_record_without_amount_or_date_is_an_error_on_its_line():
    text = (
        "!Type:Bank\r\nD01/02/2024\r\nPNo amount\r\n^\r\n"
        "D01/03/2024\r\nT-5.00\r\n^\r\n"
        "PNo date\r\nT-6.00\r\n^\r\n"
        "D01/04/2024\r\nTabc\r\n^\r\n"
    )

    result = parse_qif(text.encode())

    assert [(row.line, row.amount) for row in result.rows] == [(5, Decimal("-5.00"))]
    assert result.errors == [
        (2, "The record has no amount (T line)."),
        (8, "The record has no date (D line)."),
        (11, "The amount 'abc' is not a number."),
    ]


def test_impossible_date_is_an_error():
    result = parse_qif(b"!Type:Bank\nD02/30/2024\nT-1\n^\nD03/01/2024\nT-2\n^\n")

    assert [row.amount for row in result.rows] == [Decimal("-2")]
    assert result.errors == [(2, "The date '02/30/2024' cannot be read (month first).")]


def test_cp1252_file_and_utf8_bom_file():
    cp1252 = "!Type:Bank\nD01/02/2024\nPCafé €\nT-1\n^\n".encode("cp1252")
    utf8 = "\ufeff!Type:Bank\nD01/02/2024\nPCafé €\nT-1\n^\n".encode()

    assert parse_qif(cp1252).rows[0].merchant == "Café €"
    assert parse_qif(utf8).rows[0].merchant == "Café €"


@pytest.mark.parametrize(
    "content",
    [b"", b"date,amount\n2024-01-01,1\n", b"!Type:Invst\nD01/02/2024\nT5\n^\n"],
)
def test_file_without_a_bank_section_is_a_statement_error(content):
    with pytest.raises(StatementError, match="not a QIF bank statement"):
        parse_qif(content)
