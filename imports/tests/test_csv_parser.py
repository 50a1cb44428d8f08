"""CSV statement parser (SPEC §11): real bank exports and every detection path."""

from __future__ import annotations

import random
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from imports.parsers.base import CsvOptions, StatementError
from imports.parsers.csv_parser import parse_csv

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "statements"


def parse(text: str | bytes, **options) -> object:
    content = text.encode("utf-8") if isinstance(text, str) else text
    return parse_csv(content, CsvOptions(**options))


def amounts(result) -> list[Decimal]:
    return [row.amount for row in result.rows]


# --- the real exports listed in SOURCES.md -------------------------------------------------

REAL_FILES = [
    pytest.param(
        "csv__bank2ynab__CSV_A_20180414_112204.csv",
        3,
        Decimal("-1037.49"),
        (date(2018, 3, 1), Decimal("-337.49")),
        (date(2018, 3, 16), Decimal("-750.00")),
        "EUR",
        id="rabobank",
    ),
    pytest.param(
        "csv__bank2ynab__TransactionHistory_20180418043121.csv",
        8,
        Decimal("-173.28"),
        (date(2018, 4, 18), Decimal("-6.66")),
        (date(2018, 4, 13), Decimal("-6.66")),
        "SGD",  # declared by the "Withdrawals (SGD)" / "Deposits (SGD)" headers
        id="ocbc",
    ),
    pytest.param(
        "csv__bank2ynab__Umsaetze_KtoNr538917600_EUR_02-03-2018_1503.CSV",
        1,
        Decimal("-17.22"),
        (date(2018, 3, 2), Decimal("-17.22")),
        (date(2018, 3, 2), Decimal("-17.22")),
        "EUR",
        id="commerzbank",
    ),
    pytest.param(
        "csv__bank2ynab__test_BOI_TransactionExport.csv",
        27,
        Decimal("-419.61"),
        (date(2017, 9, 1), Decimal("428.03")),
        (date(2017, 9, 28), Decimal("-818.0")),
        None,
        id="bank-of-ireland",
    ),
]


@pytest.fixture
def fixtures_dir() -> Path:
    if not FIXTURES.is_dir():
        pytest.skip(f"statement fixtures not found at {FIXTURES}")
    return FIXTURES


@pytest.mark.parametrize(("name", "count", "total", "first", "last", "currency"), REAL_FILES)
def test_real_statement_parses_with_the_documented_rows_and_total(
    fixtures_dir, name, count, total, first, last, currency
):
    result = parse_csv((fixtures_dir / name).read_bytes(), CsvOptions())

    assert result.format == "csv"
    assert result.errors == []
    assert len(result.rows) == count
    assert sum(amounts(result)) == total
    assert (result.rows[0].date, result.rows[0].amount) == first
    assert (result.rows[-1].date, result.rows[-1].amount) == last
    assert all(row.description for row in result.rows)
    assert {row.currency for row in result.rows} == {currency}


def test_rabobank_row_missing_its_opening_quote_is_read_cleanly(fixtures_dir):
    content = (fixtures_dir / "csv__bank2ynab__CSV_A_20180414_112204.csv").read_bytes()

    row = parse_csv(content, CsvOptions()).rows[1]

    assert row.line == 3
    assert row.amount == Decimal("50.00")
    assert row.merchant == "Nederlandse Loterij Organisatie B.V."
    assert row.description.startswith("Gefeliciteerd, Gewonnen met Staatsloterij")
    assert row.fitid == "000000000000009590"


def test_ocbc_continuation_rows_extend_the_row_above(fixtures_dir):
    content = (fixtures_dir / "csv__bank2ynab__TransactionHistory_20180418043121.csv").read_bytes()

    rows = parse_csv(content, CsvOptions()).rows

    assert [row.line for row in rows] == [7, 9, 11, 13, 15, 17, 19, 21]
    assert rows[0].description == "DEBIT PURCHASE 15/04/18 66-6666 UBER EATS AN2GO HELP.UBERh"
    assert rows[2].description.startswith("CASH WITHDRAWAL ATM 66-6666 OCBC-666 BRANCH")


def test_bank_of_ireland_keeps_non_ascii_payee(fixtures_dir):
    content = (fixtures_dir / "csv__bank2ynab__test_BOI_TransactionExport.csv").read_bytes()

    row = parse_csv(content, CsvOptions()).rows[1]

    assert row.description == "Éáú üüüümlaut! GP"
    assert row.amount == Decimal("29.5")


# --- encodings and line ends ---------------------------------------------------------------


def test_utf8_bom_is_dropped_before_the_header():
    result = parse(b"\xef\xbb\xbfDate,Description,Amount\n2024-01-05,Coffee,-3.50\n")

    assert [(r.date, r.description, r.amount) for r in result.rows] == [
        (date(2024, 1, 5), "Coffee", Decimal("-3.50"))
    ]


def test_windows_1252_text_is_decoded():
    content = "Datum;Omschrijving;Bedrag\n05-01-2024;Café “Central” – €;-3,50\n".encode("cp1252")

    row = parse(content).rows[0]

    assert row.description == "Café “Central” – €"
    assert row.date == date(2024, 1, 5)


def test_latin1_text_that_is_not_cp1252_is_decoded():
    content = "Date,Description,Amount\n2024-01-05,Caf\xe9 \x81,-3.50\n".encode("latin-1")

    assert parse(content).rows[0].description == "Café \x81"


def test_explicit_encoding_is_used():
    content = "Date,Description,Amount\n2024-01-05,Ça va,-1.00\n".encode("utf-16")

    assert parse(content, encoding="utf-16").rows[0].description == "Ça va"


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r", "\r\r\n"])
def test_every_line_end_gives_the_same_rows_and_line_numbers(newline):
    text = newline.join(["Date,Description,Amount", "2024-01-05,Coffee,-3.50", "2024-01-06,Tea,-2"])

    result = parse(text + newline)

    assert [(r.line, r.amount) for r in result.rows] == [(2, Decimal("-3.50")), (3, Decimal("-2"))]


# --- delimiters, decimal comma, date formats -------------------------------------------------


def test_semicolon_decimal_comma_and_german_dates_are_detected():
    text = (
        "Buchungstag;Wertstellung;Buchungstext;Betrag;Währung\n"
        "31.01.2024;01.02.2024;Miete;-1.234,56;EUR\n"
        "15.02.2024;15.02.2024;Gehalt;+2.500,00;EUR\n"
        "16.02.2024;16.02.2024;Bäcker;-3,2;EUR\n"
    )

    result = parse(text)

    assert amounts(result) == [Decimal("-1234.56"), Decimal("2500.00"), Decimal("-3.2")]
    assert [r.date for r in result.rows] == [
        date(2024, 1, 31),
        date(2024, 2, 15),
        date(2024, 2, 16),
    ]
    assert result.currency == "EUR"


def test_tab_delimited_file():
    text = "Date\tPayee\tMemo\tAmount\n2024-03-01\tACME\tInvoice 7\t1,250.00\n"

    row = parse(text).rows[0]

    assert (row.description, row.merchant, row.amount) == ("Invoice 7", "ACME", Decimal("1250.00"))


def test_pipe_delimited_file_with_explicit_delimiter():
    text = "Date|Description|Amount\n2024-03-01|Rent|-900\n"

    assert amounts(parse(text, delimiter="|")) == [Decimal("-900")]


def test_thousands_separators_in_both_conventions():
    point = parse(
        'Date,Description,Amount\n2024-01-01,A,"1,234.56"\n2024-01-02,B,"-12,345,678.9"\n'
    )
    comma = parse("Date;Description;Amount\n2024-01-01;A;1.234,56\n2024-01-02;B;-12.345.678,9\n")

    assert amounts(point) == [Decimal("1234.56"), Decimal("-12345678.9")]
    assert amounts(comma) == [Decimal("1234.56"), Decimal("-12345678.9")]


def test_amount_in_the_other_convention_is_a_row_error_not_a_wrong_number():
    result = parse('Date,Description,Amount\n2024-01-01,A,-1.50\n2024-01-02,B,"2,5"\n')

    assert amounts(result) == [Decimal("-1.50")]
    assert result.errors == [(3, "unparseable amount '2,5'")]


def test_explicit_decimal_separator_wins_over_detection():
    result = parse('Date,Description,Amount\n2024-01-01,A,"1,234"\n', decimal_separator=",")

    assert amounts(result) == [Decimal("1.234")]


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("(12.50)", "-12.50"),
        ("12.50-", "-12.50"),
        ("+50.00", "50.00"),
        ("€ -7.10", "-7.10"),
        ("-$7.10", "-7.10"),
        ("USD 1,000.00", "1000.00"),
        ("12.50 DR", "-12.50"),
        ("12.50CR", "12.50"),
        ("\u22123.00", "-3.00"),
        (".75", "0.75"),
    ],
)
def test_amount_notations(cell, expected):
    result = parse(f'Date,Description,Amount\n2024-01-01,A,"{cell}"\n')

    assert amounts(result) == [Decimal(expected)]


def test_ambiguous_dates_are_read_day_first():
    result = parse("Date,Description,Amount\n03/04/2024,A,-1\n05/06/2024,B,-2\n")

    assert [r.date for r in result.rows] == [date(2024, 4, 3), date(2024, 6, 5)]


def test_ambiguous_dates_in_an_american_file_are_read_month_first():
    result = parse('Date,Description,Amount\n03/04/2024,A,"-$1.00"\n05/06/2024,B,"$2.00"\n')

    assert [r.date for r in result.rows] == [date(2024, 3, 4), date(2024, 5, 6)]


def test_the_format_that_parses_every_row_wins_over_the_preference():
    result = parse("Date,Description,Amount\n03/04/2024,A,-1\n04/13/2024,B,-2\n")

    assert [r.date for r in result.rows] == [date(2024, 3, 4), date(2024, 4, 13)]
    assert result.errors == []


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("20240131", date(2024, 1, 31)),
        ("31 Jan 2024", date(2024, 1, 31)),
        ("31-Jan-2024", date(2024, 1, 31)),
        ("Jan 31, 2024", date(2024, 1, 31)),
        ("2024-01-31T10:15:00", date(2024, 1, 31)),
        ("31/01/24", date(2024, 1, 31)),
    ],
)
def test_common_date_formats_are_detected(cell, expected):
    result = parse(f'Date,Description,Amount\n"{cell}",A,-1\n')

    assert [r.date for r in result.rows] == [expected]


def test_explicit_date_format():
    result = parse("Date,Description,Amount\n2024/31/01,A,-1\n", date_format="%Y/%d/%m")

    assert [r.date for r in result.rows] == [date(2024, 1, 31)]


def test_invalid_date_format_option_is_rejected():
    with pytest.raises(StatementError, match="date_format"):
        parse("Date,Description,Amount\n2024-01-31,A,-1\n", date_format="day.month")


# --- header, metadata, columns ---------------------------------------------------------------


def test_metadata_lines_above_the_header_are_skipped_and_lines_keep_their_numbers():
    text = (
        "Account,NL00BANK0123456789\n"
        'Balance,"1,000.00"\n'
        "\n"
        "Export date,2024-02-01\n"
        "Date,Description,Amount\n"
        "2024-01-05,Coffee,-3.50\n"
    )

    result = parse(text)

    assert [(r.line, r.description) for r in result.rows] == [(6, "Coffee")]


def test_skip_rows_points_at_the_header():
    text = "Statement\nfor January\nWhen,What,How much\n2024-01-05,Coffee,-3.50\n"

    result = parse(text, skip_rows=2, columns={"date": "When", "description": "what", "amount": 2})

    assert [(r.line, r.amount) for r in result.rows] == [(4, Decimal("-3.50"))]


def test_explicit_columns_by_name_override_the_guesses():
    text = "Date,Value date,Text,Sum,Payee\n2024-01-05,2024-01-07,Coffee,-3.50,Bean Bar\n"

    result = parse(
        text,
        columns={
            "date": " VALUE DATE ",
            "amount": "Sum",
            "description": "Text",
            "merchant": "Payee",
        },
    )

    row = result.rows[0]
    assert (row.date, row.amount, row.description, row.merchant) == (
        date(2024, 1, 7),
        Decimal("-3.50"),
        "Coffee",
        "Bean Bar",
    )


def test_explicit_columns_by_index_on_a_file_without_header():
    text = "2024-01-05;-3,50;Coffee\n2024-01-06;-2,00;Tea\n"

    result = parse(text, columns={"date": 0, "amount": 1, "description": 2})

    assert [(r.line, r.description, r.amount) for r in result.rows] == [
        (1, "Coffee", Decimal("-3.50")),
        (2, "Tea", Decimal("-2.00")),
    ]


def test_explicit_columns_by_index_skip_the_header_and_metadata_above_the_first_date():
    text = "My bank\nc1,c2,c3\n2024-01-05,Coffee,-3.50\n"

    result = parse(text, columns={"date": 0, "description": 1, "amount": 2})

    assert [(r.line, r.description) for r in result.rows] == [(3, "Coffee")]
    assert result.errors == []


def test_unknown_column_role_is_rejected():
    with pytest.raises(StatementError, match="Unknown column role 'amt'"):
        parse("Date,Description,Amount\n2024-01-05,Coffee,-3.50\n", columns={"amt": 2})


def test_missing_amount_column_names_what_is_missing_and_the_headers_seen():
    with pytest.raises(StatementError) as caught:
        parse("Date,Description,Balance\n2024-01-05,Coffee,100.00\n")

    message = str(caught.value)
    assert "amount (or debit and credit)" in message
    assert "'Date', 'Description', 'Balance'" in message


def test_explicit_column_name_not_in_the_header_is_reported():
    with pytest.raises(StatementError, match="no column named 'Betrag'"):
        parse("Date,Description,Amount\n2024-01-05,Coffee,-3.50\n", columns={"amount": "Betrag"})


@pytest.mark.parametrize(
    "header",
    [
        "Transaction Date,Narrative,Amount (EUR)",
        "Datum,Naam / Omschrijving,Bedrag (EUR)",
        "Date opération,Libellé,Montant",
        "Fecha,Concepto,Importe",
        "Data,Descrizione,Importo",
        "Buchungstag,Verwendungszweck,Betrag",
        "Posting Date,Details,Amount EUR",
    ],
)
def test_header_names_in_european_bank_languages(header):
    result = parse(f"{header}\n2024-01-05,Coffee,-3.50\n")

    assert [(r.date, r.description, r.amount) for r in result.rows] == [
        (date(2024, 1, 5), "Coffee", Decimal("-3.50"))
    ]


def test_currency_in_the_amount_header_applies_to_every_row():
    result = parse("Date,Description,Amount (CHF)\n2024-01-05,Coffee,-3.50\n")

    assert result.rows[0].currency == "CHF"
    assert result.currency == "CHF"


def test_numbered_description_columns_are_joined():
    text = "Datum,Omschrijving-1,Omschrijving-2,Bedrag\n2024-01-05,Part one, part two,-1,00\n"

    result = parse(text.replace("-1,00", '"-1,00"'))

    assert result.rows[0].description == "Part one part two"


# --- debit/credit, sign, direction -----------------------------------------------------------


def test_debit_and_credit_columns_give_signed_amounts():
    text = (
        "Date,Description,Debit,Credit\n"
        "2024-01-01,Rent,900.00,\n"
        "2024-01-02,Salary,,2500.00\n"
        "2024-01-03,Refund,0.00,12.00\n"
        "2024-01-04,Both,1.00,2.00\n"
        "2024-01-05,Neither,,\n"
    )

    result = parse(text)

    assert amounts(result) == [Decimal("-900.00"), Decimal("2500.00"), Decimal("12.00")]
    assert result.errors == [(5, "both debit and credit are filled"), (6, "no amount")]


def test_negate_flips_every_sign():
    text = "Date,Description,Amount\n2024-01-01,Card charge,45.00\n2024-01-02,Payment,-100.00\n"

    assert amounts(parse(text, negate=True)) == [Decimal("-45.00"), Decimal("100.00")]


def test_negate_applies_to_debit_and_credit_columns_too():
    text = "Date,Description,Debit,Credit\n2024-01-01,Rent,900.00,\n"

    assert amounts(parse(text, negate=True)) == [Decimal("900.00")]


def test_af_bij_column_signs_unsigned_amounts():
    text = (
        "Datum;Naam / Omschrijving;Af Bij;Bedrag (EUR)\n"
        "20240105;Albert Heijn;Af;12,34\n"
        "20240106;Werkgever;Bij;2000,00\n"
    )

    result = parse(text)

    assert amounts(result) == [Decimal("-12.34"), Decimal("2000.00")]
    assert {r.currency for r in result.rows} == {"EUR"}


# --- continuation, footers, errors -----------------------------------------------------------


def test_continuation_rows_are_appended_and_not_counted():
    text = (
        "Date,Description,Amount\n"
        "2024-01-05,DEBIT PURCHASE,-3.50\n"
        ",  BEAN BAR   LONDON,\n"
        ",card 1234,\n"
        "2024-01-06,TRANSFER,-10.00\n"
    )

    result = parse(text)

    assert [r.description for r in result.rows] == [
        "DEBIT PURCHASE BEAN BAR LONDON card 1234",
        "TRANSFER",
    ]
    assert result.errors == []


def test_footer_and_summary_lines_are_skipped():
    text = (
        "Date,Description,Amount\n"
        "2024-01-05,Coffee,-3.50\n"
        "\n"
        "Total,,-3.50\n"
        ",Closing balance,\n"
        "Closing balance 31/01/2024,,96.50\n"
    )

    result = parse(text)

    assert (len(result.rows), result.errors) == (1, [])
    assert result.rows[0].description == "Coffee"


def test_repeated_header_lines_are_skipped():
    text = "Date,Description,Amount\n2024-01-05,A,-1\nDate,Description,Amount\n2024-01-06,B,-2\n"

    result = parse(text)

    assert (len(result.rows), result.errors) == (2, [])


def test_row_errors_carry_the_original_line_number_and_other_rows_still_parse():
    text = (
        "Bank statement\n"
        "\n"
        "Date,Description,Amount,Currency\n"
        "2024-01-05,Coffee,-3.50,EUR\n"
        "2024-01-06,Broken,abc,EUR\n"
        "31/02/2024,Bad date,-1.00,EUR\n"
        "2024-01-07,Nothing,0.00,EUR\n"
        "2024-01-08,Odd money,-1.00,XYZ\n"
        "2024-01-09,,-1.00,EUR\n"
        ",Orphan amount,-2.00,EUR\n"
        "2024-01-10,Tea,-2.00,eur\n"
    )

    result = parse(text)

    assert [(r.line, r.description) for r in result.rows] == [(4, "Coffee"), (11, "Tea")]
    assert result.rows[1].currency == "EUR"
    assert result.errors == [
        (5, "unparseable amount 'abc'"),
        (6, "unparseable date '31/02/2024'"),
        (7, "amount is zero"),
        (8, "unknown currency 'XYZ'"),
        (9, "no description"),
        (10, "no date"),
    ]


def test_description_falls_back_to_the_payee():
    text = "Date,Payee,Description,Amount\n2024-01-05,Bean Bar,,-3.50\n"

    row = parse(text).rows[0]

    assert (row.description, row.merchant) == ("Bean Bar", "Bean Bar")


def test_description_is_collapsed_and_capped():
    long_text = "word  " * 100

    row = parse(f"Date,Description,Amount\n2024-01-05,  {long_text},-1\n").rows[0]

    assert len(row.description) <= 255
    assert "  " not in row.description
    assert row.description.startswith("word word")


# --- quoting -------------------------------------------------------------------------------


def test_unclosed_quote_does_not_swallow_the_following_lines():
    text = (
        '"Date","Description","Amount"\n'
        '"2024-01-01","Coffee","-3.50"\n'
        '"2024-01-02","Broken,-4.00\n'
        '"2024-01-03","Tea","-2.00"\n'
        '"2024-01-04","Cake","-5.00"\n'
    )

    result = parse(text)

    assert [(r.line, r.description) for r in result.rows] == [
        (2, "Coffee"),
        (4, "Tea"),
        (5, "Cake"),
    ]
    assert [line for line, _ in result.errors] == [3]


def test_missing_opening_quote_with_cr_cr_lf_line_ends():
    text = (
        '"Date","Description","Amount"\r\r\n'
        '2024-01-01","Coffee","-3,50"\r\r\n'
        '"2024-01-02","Tea","-2,00"\r\r\n'
    )

    result = parse(text)

    assert [(r.line, r.date, r.amount) for r in result.rows] == [
        (2, date(2024, 1, 1), Decimal("-3.50")),
        (3, date(2024, 1, 2), Decimal("-2.00")),
    ]


def test_quoted_field_spanning_lines_is_kept_as_one_row():
    text = 'Date,Description,Amount\n2024-01-01,"Line one\nline two",-3.50\n2024-01-02,Tea,-2\n'

    result = parse(text)

    assert [(r.line, r.description) for r in result.rows] == [
        (2, "Line one line two"),
        (4, "Tea"),
    ]


# --- not a statement -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"  \n\r\n", id="blank"),
        pytest.param(random.Random(7).randbytes(4000), id="random-bytes"),
        pytest.param(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, id="png"),
        pytest.param(b'{"date": "2024-01-05", "amount": -3.5}', id="json"),
        pytest.param(b"Dear customer,\nthank you for banking with us.\n", id="prose"),
        pytest.param(b"<html><body>Statement</body></html>", id="html"),
    ],
)
def test_a_file_that_is_not_a_statement_is_rejected(content):
    with pytest.raises(StatementError):
        parse_csv(content, CsvOptions())


def test_header_without_rows_gives_an_empty_result():
    result = parse("Date,Description,Amount\n")

    assert (result.rows, result.errors) == ([], [])


# --- speed ---------------------------------------------------------------------------------


def test_parsing_100k_rows_is_fast_enough():
    rng = random.Random(1)
    lines = ["Date;Description;Amount;Currency"]
    for i in range(100_000):
        amount = f"{-rng.randint(1, 999_999) / 100:.2f}".replace(".", ",")
        lines.append(
            f'{i % 28 + 1:02d}.{i % 12 + 1:02d}.{2010 + i % 14};"Shop {i}; Ltd";{amount};EUR'
        )
    content = "\n".join(lines).encode()

    started = time.perf_counter()
    result = parse_csv(content, CsvOptions())
    elapsed = time.perf_counter() - started

    print(f"\nparsed 100,000 CSV rows in {elapsed:.2f} s")
    assert (len(result.rows), result.errors) == (100_000, [])
