"""SWIFT MT940 statements: mapping, lenient statement lines, and the API round trip."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from hypothesis import HealthCheck, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from expenses.models import Expense
from imports.models import ImportBatch
from imports.parsers.base import ParseResult, StatementError
from imports.parsers.detect import detect_format
from imports.parsers.mt940_parser import parse_mt940
from income.models import Income
from tests.fuzz_depth import examples

FILES = Path(__file__).resolve().parent / "files"
TWO_STATEMENTS = FILES / "mt940_two_statements.sta"
URL = "/api/v1/imports/"


def mt940(*lines: str, currency: str = "EUR", account: str = "DE89370400440532013000") -> bytes:
    head = [":20:TEST", f":25:{account}", ":28C:1/1", f":60F:C240101{currency}100,00"]
    return "\r\n".join([*head, *lines, f":62F:C240131{currency}100,00", "-", ""]).encode()


# --- mapping ----------------------------------------------------------------------------------


def test_two_statements_with_structured_and_keyed_narratives():
    result = parse_mt940(TWO_STATEMENTS.read_bytes())

    assert result.format == "mt940"
    assert result.errors == []
    assert result.currency == "EUR"
    assert [row.amount for row in result.rows] == [
        Decimal("-45.90"),  # D
        Decimal("2500.00"),  # C
        Decimal("45.90"),  # RD: a reversed debit comes back in
        Decimal("-12.50"),
        Decimal("100"),  # "100," — a decimal comma with no decimals
    ]
    assert sum(row.amount for row in result.rows) == Decimal("2587.50")
    assert [row.date for row in result.rows] == [
        date(2023, 12, 29),
        date(2024, 1, 2),  # entry date 0102 after a 231231 value date: next year
        date(2024, 1, 3),
        date(2024, 1, 2),
        date(2024, 1, 3),
    ]
    assert [row.description for row in result.rows] == [
        "Strom Dezember 2023 Vertragskonto 4711",  # SVWZ+ across a full 27-char ?23/?24
        "Gehalt Januar 2024",
        "Strom Dezember 2023 Ruecklastschrift AC04",  # a short ?20 ends at a word
        "Brood en koek factuur 88",  # /REMI/ of a /KEY/value narrative
        "Terugstorting huur januari",  # free text
    ]
    assert [row.merchant for row in result.rows] == [
        "Stadtwerke Musterstadt",
        "ACME Maschinenbau und Anlagentechnik GmbH",  # ?32 + ?33, cut mid-word
        "Stadtwerke Musterstadt",
        "Bakkerij de Vries",  # /NAME/
        "",
    ]
    assert [row.memo for row in result.rows][:3] == [
        "LASTSCHRIFT",
        "GUTSCHRIFT",
        "RUECKLASTSCHRIFT",
    ]
    assert [row.fitid for row in result.rows] == [
        "50070010/1234567/DB20231229001",
        "50070010/1234567/DB20240102001",
        "50070010/1234567/DB20240103001",
        "NL91ABNA0417164300/AB0001",
        "",  # NONREF and no bank reference: duplicates by date, amount and text
    ]
    assert {row.currency for row in result.rows} == {"EUR"}
    lines = TWO_STATEMENTS.read_text().splitlines()
    assert all(lines[row.line - 1].startswith(":61:") for row in result.rows)
    assert [row.line for row in result.rows] == [5, 9, 12, 20, 23]


def test_each_statement_keeps_its_own_currency():
    content = mt940(":61:240102D1,00NTRFNONREF", ":86:eur") + mt940(
        ":61:240102D2,00NTRFNONREF", ":86:usd", currency="USD"
    )
    result = parse_mt940(content)

    assert [(row.amount, row.currency) for row in result.rows] == [
        (Decimal("-1.00"), "EUR"),
        (Decimal("-2.00"), "USD"),
    ]
    assert result.currency is None


@pytest.mark.parametrize(
    ("mark", "amount"),
    [("C", "5.00"), ("D", "-5.00"), ("RC", "-5.00"), ("RD", "5.00"), ("d", "-5.00")],
)
def test_debit_credit_and_reversal_marks(mark, amount):
    result = parse_mt940(mt940(f":61:240102{mark}5,00NTRFNONREF", ":86:x"))
    assert result.rows[0].amount == Decimal(amount)


def test_a_line_without_type_code_does_not_merge_into_the_previous_one():
    result = parse_mt940(mt940(":61:240102D1,00", ":86:first", ":61:240103D2,00", ":86:second"))

    assert [(row.amount, row.description) for row in result.rows] == [
        (Decimal("-1.00"), "first"),
        (Decimal("-2.00"), "second"),
    ]


def test_two_digit_years_follow_the_posix_pivot():
    result = parse_mt940(
        mt940(":61:991231D1,00NTRFNONREF", ":86:old", ":61:680101D1,00NTRFNONREF", ":86:new")
    )
    assert [row.date for row in result.rows] == [date(1999, 12, 31), date(2068, 1, 1)]


def test_a_repeated_bank_reference_keeps_both_rows_apart():
    result = parse_mt940(
        mt940(
            ":61:240102D1,00NTRFNONREF//SAME", ":86:a", ":61:240102D1,00NTRFNONREF//SAME", ":86:a"
        )
    )
    assert [row.fitid for row in result.rows] == [
        "DE89370400440532013000/SAME",
        "DE89370400440532013000/SAME#2",
    ]


def test_supplementary_details_describe_a_line_without_86():
    result = parse_mt940(mt940(":61:240102D1,00NTRFNONREF//B1\r\nCARD 1234 COFFEE"))
    assert result.rows[0].description == "CARD 1234 COFFEE"


def test_windows_1252_text_and_a_swift_envelope():
    body = mt940(":61:240102D3,20NTRFNONREF", ":86:166?00GUTSCHRIFT?20Brötchen?32Bäckerei Müller")
    wrapped = (
        b"{1:F01DEUTDEFFAXXX0000000000}{2:O9401200240102DEUTDEFFAXXX00000000002401021200N}{4:\r\n"
    )
    content = wrapped + body.decode().encode("cp1252").replace(b"-\r\n", b"-}\r\n")
    result = parse_mt940(content)

    assert result.errors == []
    assert [(row.description, row.merchant) for row in result.rows] == [
        ("Brötchen", "Bäckerei Müller")
    ]
    assert detect_format(content, "x.sta") == "mt940"


# --- unreadable lines and files ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "why"),
    [
        (":61:240230D1,00NTRFNONREF", "value date 240230 is not a date"),  # never clamped
        (":61:2401021345D1,00NTRFNONREF", "entry date 1345 is not a date"),
        (":61:240102D1,2,3NTRFNONREF", "not an amount"),
        (":61:240102D,NTRFNONREF", "not an amount"),
        (":61:garbage", "does not follow the SWIFT layout"),
    ],
)
def test_an_unreadable_statement_line_is_an_error_for_its_line(line, why):
    result = parse_mt940(mt940(":61:240102D1,00NTRFNONREF", ":86:good", line, ":86:bad"))

    assert [row.description for row in result.rows] == ["good"]
    assert len(result.errors) == 1
    error_line, message = result.errors[0]
    assert error_line == 7
    assert why in message


def test_an_unknown_statement_currency_is_a_row_error():
    result = parse_mt940(mt940(":61:240102D1,00NTRFNONREF", ":86:x", currency="XYZ"))
    assert result.rows == []
    assert "XYZ" in result.errors[0][1]


@pytest.mark.parametrize(
    "content",
    [
        mt940(":61:240102D1,00NTRFNONREF").replace(b":60F:C240101EUR100,00", b":60F:C24X1"),
        mt940(":61:240102D1,00NTRFNONREF").replace(b":60F:C240101EUR100,00", b":60F:C241301EUR1"),
        mt940(":61:240102D1,00NTRFNONREF").replace(b"EUR100,00", b"EUR1,0,0", 1),
    ],
    ids=["balance-layout", "balance-date", "balance-amount"],
)
def test_a_malformed_balance_is_a_statement_error(content):
    with pytest.raises(StatementError, match="MT940 file cannot be read"):
        parse_mt940(content)


def test_text_without_any_statement_is_a_statement_error():
    with pytest.raises(StatementError, match="no statement"):
        parse_mt940(b"hello\r\n:61:240102D1,00NTRF\r\n")


def test_more_statement_lines_than_the_cap_are_refused_before_parsing(settings):
    settings.IMPORT_MAX_ROWS = 20
    with pytest.raises(StatementError, match="IMPORT_MAX_ROWS"):
        parse_mt940(mt940(*[":61:240102D1,00NTRFNONREF"] * 21))


_PIECES = st.sampled_from(
    [
        ":20:X",
        ":25:DE1/2",
        ":28C:1",
        ":60F:C240101EUR1,00",
        ":60F:C24",
        ":61:240102D1,00NTRF",
        ":61:240102RC1,00NTRFNONREF//R",
        ":61:9",
        ":61:",
        ":86:?20a?32b",
        ":86:/NAME/x/REMI/y",
        ":86:?",
        ":62F:C240131EUR1,00",
        "-",
        "{1:F01}{4:",
        "-}",
        "",
    ]
)


@hyp_settings(
    max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(
    st.lists(
        st.one_of(_PIECES, st.text(alphabet=":?/0123456789CDRNEU,+-{}\r ", max_size=30)),
        max_size=30,
    )
)
def test_any_mix_of_fields_is_a_statement_error_or_a_result_never_a_crash(lines):
    try:
        result = parse_mt940("\n".join(lines).encode())
    except StatementError:
        return
    assert isinstance(result, ParseResult)
    assert all(isinstance(row.amount, Decimal) for row in result.rows)


def test_detection_needs_a_statement_shape():
    assert detect_format(TWO_STATEMENTS.read_bytes(), "bank.txt") == "mt940"
    assert detect_format(b"\r\n\r\n" + TWO_STATEMENTS.read_bytes(), None) == "mt940"
    # A CSV whose first cell happens to be ":20:" is not a statement of this kind.
    assert detect_format(b":20:a,b,c\n1,2,3\n4,5,6\n", "x.csv") == "csv"


# --- through the API ---------------------------------------------------------------------------


def upload(client, content: bytes, name: str = "statement.sta", **extra):
    file = SimpleUploadedFile(name, content, content_type="text/plain")
    return client.post(URL, {"file": file, **extra}, format="multipart")


def stored(user) -> int:
    return Expense.objects.filter(user=user).count() + Income.objects.filter(user=user).count()


@pytest.fixture
def euro_user(user):
    user.base_currency = "EUR"
    user.save(update_fields=["base_currency"])
    return user


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["auto", "mt940"])
def test_preview_commit_and_reimport_stores_each_transaction_once(auth_client, euro_user, fmt):
    content = TWO_STATEMENTS.read_bytes()
    first = upload(auth_client, content, format=fmt)
    assert first.status_code == 201, first.content
    batch = first.json()
    assert batch["format"] == "mt940"
    assert (batch["total_rows"], batch["new_rows"], batch["errors"]) == (5, 5, [])
    assert [r["kind"] for r in batch["rows"]] == [
        "expense",
        "income",
        "income",
        "expense",
        "income",
    ]
    committed = auth_client.post(f"{URL}{batch['id']}/commit/", {}, format="json")
    assert committed.status_code == 200, committed.content
    assert (committed.json()["expenses"], committed.json()["incomes"]) == (2, 3)
    earned = sum(Income.objects.filter(user=euro_user).values_list("amount", flat=True))
    spent = sum(Expense.objects.filter(user=euro_user).values_list("amount", flat=True))
    assert earned - spent == Decimal("2587.50")

    again = upload(auth_client, content, format=fmt).json()
    assert (again["new_rows"], again["duplicate_rows"]) == (0, 5)
    auth_client.post(f"{URL}{again['id']}/commit/", {}, format="json")
    assert stored(euro_user) == 5


@pytest.mark.django_db
def test_bad_lines_are_row_errors_and_bad_files_400(auth_client, euro_user):
    mixed = upload(auth_client, mt940(":61:240102D1,00NTRFNONREF", ":86:ok", ":61:240230D1,00NTRF"))
    assert mixed.status_code == 201
    assert [e["line"] for e in mixed.json()["errors"]] == [7]

    broken = upload(auth_client, mt940(":61:x").replace(b"C240101EUR", b"C24X"), format="mt940")
    assert broken.status_code == 400
    assert "MT940" in broken.json()["file"][0]
    assert ImportBatch.objects.count() == 1  # only the first, readable file
