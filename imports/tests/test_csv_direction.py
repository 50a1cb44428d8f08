"""CSV amounts with a separate credit/debit marker (`direction`, `credit_markers`) and the
way they combine with `negate` and the amount's own sign (SPEC §11, issue 12)."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from django.http import QueryDict
from hypothesis import given, settings
from hypothesis import strategies as st

from imports.parsers.base import CsvOptions, StatementError
from imports.parsers.csv_parser import parse_csv
from imports.parsers.table import DEBIT_MARKERS, DEFAULT_CREDIT_MARKERS
from imports.serializers import ImportUploadSerializer
from tests.fuzz_depth import examples


def parse(text: str, **options):
    return parse_csv(text.encode("utf-8"), CsvOptions(**options))


def amounts(result) -> list[Decimal]:
    return [row.amount for row in result.rows]


# The UK card statement: charges unsigned, the one payment "+ £1,100.00" with CR
# in a column that has no header.
UK_CARD = (
    "Transaction Date,Posting Date,Description,Amount,\n"
    '03/01/2024,04/01/2024,TESCO STORES 2041,"£12.34",\n'
    '15/01/2024,15/01/2024,PAYMENT RECEIVED - THANK YOU,"+ £1,100.00",CR\n'
    '20/01/2024,21/01/2024,AMAZON.CO.UK,"£1,250.00",\n'
)


@pytest.mark.parametrize("negate", [True, False])
@pytest.mark.parametrize("columns", [None, {"direction": 4}], ids=["detected", "named"])
def test_the_uk_card_payment_marked_cr_is_income_also_under_negate(negate, columns):
    result = parse(UK_CARD, negate=negate, columns=columns)

    assert amounts(result) == [Decimal("-12.34"), Decimal("1100.00"), Decimal("-1250.00")]
    assert result.errors == []


def test_without_a_marker_column_negate_still_flips_the_amounts_own_sign():
    text = UK_CARD.replace(",CR\n", ",\n")

    result = parse(text, negate=True)

    assert amounts(result) == [Decimal("-12.34"), Decimal("-1100.00"), Decimal("-1250.00")]


@pytest.mark.parametrize(
    ("header", "credit", "debit"),
    [
        ("Dr/Cr", "CR", "DR"),
        ("Credit/Debit", "Credit", "Debit"),
        ("Soll/Haben", "H", "S"),
        ("S/H", "Haben", "Soll"),
        ("Type", "CREDIT", "DEBIT"),
        ("Af Bij", "Bij", "Af"),
        ("Sens", "Crédit", "Débit"),
        ("D/C", "c", "d"),
    ],
)
@pytest.mark.parametrize("negate", [False, True])
def test_a_direction_column_is_found_by_its_header(header, credit, debit, negate):
    text = (
        f"Date,Description,Amount,{header}\n"
        f"2024-01-05,Groceries,12.34,{debit}\n"
        f"2024-01-06,Salary,2000.00,{credit}\n"
        f"2024-01-07,Refund,-5.00,{credit}\n"
    )

    result = parse(text, negate=negate)

    assert amounts(result) == [Decimal("-12.34"), Decimal("2000.00"), Decimal("5.00")]


def test_a_type_column_that_is_not_all_markers_signs_nothing():
    # Monzo-like: "Type" describes the payment; the amount carries the sign.
    text = (
        "Date,Type,Name,Amount\n"
        "2024-01-05,Card payment,Pret,-4.20\n"
        "2024-01-06,Faster payment,Employer,2000.00\n"
        "2024-01-07,Credit,Refund,3.00\n"
    )

    result = parse(text)

    assert amounts(result) == [Decimal("-4.20"), Decimal("2000.00"), Decimal("3.00")]


def test_an_unnamed_column_beside_the_amount_with_other_text_signs_nothing():
    text = "Date,Description,Amount,\n2024-01-05,Coffee,-3.00,ref 1\n2024-01-06,Pay,10.00,CR\n"

    assert amounts(parse(text)) == [Decimal("-3.00"), Decimal("10.00")]


def test_a_named_direction_column_signs_every_row_blank_and_unknown_values_are_outflows():
    text = (
        "Date,Description,Amount,Flag\n"
        "2024-01-05,Charge,12.34,\n"
        "2024-01-06,Payment,100.00, cr \n"
        "2024-01-07,Odd,7.00,PENDING\n"
        "2024-01-08,Dotted,8.00,Cr.\n"
    )

    result = parse(text, columns={"direction": "Flag"}, negate=True)

    assert amounts(result) == [
        Decimal("-12.34"),
        Decimal("100.00"),
        Decimal("-7.00"),
        Decimal("8.00"),
    ]


def test_credit_markers_replace_the_defaults():
    text = (
        "Buchungstag;Verwendungszweck;Betrag;Kennzeichen\n"
        "05.01.2024;Miete;900,00;Lastschrift\n"
        "06.01.2024;Gehalt;2.500,00;Gutschrift\n"
        "07.01.2024;Zins;1,00;CR\n"
    )

    result = parse(text, columns={"direction": "Kennzeichen"}, credit_markers=["GUTSCHRIFT"])

    assert amounts(result) == [Decimal("-900.00"), Decimal("2500.00"), Decimal("-1.00")]


def test_default_markers_cover_the_common_languages():
    keys = {marker.casefold() for marker in DEFAULT_CREDIT_MARKERS}

    assert {"cr", "credit", "haben", "h", "crédit", "avoir", "bij", "+"} <= keys
    assert not keys & DEBIT_MARKERS


def test_a_dr_cr_suffix_in_the_amount_is_not_flipped_by_negate():
    text = (
        "Date,Description,Amount\n"
        "2024-01-05,Charge,12.34\n"
        "2024-01-06,Payment,100.00 CR\n"
        "2024-01-07,Fee,3.00 DR\n"
    )

    result = parse(text, negate=True)

    assert amounts(result) == [Decimal("-12.34"), Decimal("100.00"), Decimal("-3.00")]


def test_debit_and_credit_columns_cannot_take_a_direction_column():
    text = "Date,Description,Debit,Credit,DC\n2024-01-05,Rent,900.00,,D\n"

    with pytest.raises(StatementError, match="direction"):
        parse(text, columns={"direction": "DC"})


@pytest.mark.parametrize(
    "markers",
    [[], [""], ["  "], ["x" * 33], [1], "CR", ["CR"] * 51],
    ids=["empty", "blank", "spaces", "long", "number", "string", "too-many"],
)
def test_bad_credit_markers_are_statement_errors(markers):
    text = "Date,Description,Amount,DC\n2024-01-05,Rent,900.00,D\n"

    with pytest.raises(StatementError, match="credit_markers"):
        parse(text, credit_markers=markers)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('Date,Description,Amount\n2024-01-05,Shop,"£1,100.00"\n', "1100.00"),
        ('Date,Description,Amount\n2024-01-05,Shop,"+ £1,100.00"\n', "1100.00"),
        ("Datum;Text;Betrag\n05.01.2024;Laden;-1.234,56 €\n", "-1234.56"),
        ("Date,Description,Amount\n2024-01-05,Shop,US$ 12\n", "12"),
        ("Date,Description,Amount\n2024-01-05,Shop,+ 12.50\n", "12.50"),
        ('Date,Description,Amount\n2024-01-05,Shop,"-1,234,567.89"\n', "-1234567.89"),
    ],
)
def test_amounts_written_with_symbols_groups_and_a_spaced_plus(text, expected):
    assert amounts(parse(text)) == [Decimal(expected)]


def test_a_direction_column_in_a_workbook_works_the_same():
    from imports.parsers.xlsx_parser import parse_xlsx
    from imports.tests.test_xlsx_parser import workbook

    content = workbook(
        ["Date", "Description", "Amount", "Dr/Cr"],
        [date(2024, 1, 5), "Charge", 12.5, "DR"],
        [date(2024, 1, 6), "Payment", 100, "CR"],
    )

    result = parse_xlsx(content, CsvOptions(negate=True))

    assert amounts(result) == [Decimal("-12.5"), Decimal("100")]


# --- the upload option ---------------------------------------------------------------


def upload_data(**fields) -> QueryDict:
    from django.core.files.uploadedfile import SimpleUploadedFile

    data = QueryDict(mutable=True)
    for key, value in fields.items():
        data.setlist(key, value if isinstance(value, list) else [value])
    data["file"] = SimpleUploadedFile("s.csv", b"x")
    return data


@pytest.mark.parametrize(
    "given",
    [['["CR", "Haben"]'], ["CR", "Haben"], ['["CR","Haben"]']],
    ids=["json", "repeated", "json-compact"],
)
def test_the_upload_option_takes_a_json_array_or_repeated_values(given):
    serializer = ImportUploadSerializer(data=upload_data(credit_markers=given))

    assert serializer.is_valid(), serializer.errors
    assert serializer.validated_data["credit_markers"] == ["CR", "Haben"]


@pytest.mark.parametrize(
    "given",
    [['["CR", 1]'], ["[not json"], ['{"a": 1}'], ["x" * 33], [""], [f"m{i}" for i in range(51)]],
    ids=["not-strings", "bad-json", "object", "long", "blank", "too-many"],
)
def test_bad_credit_markers_are_a_400_naming_the_field(given):
    serializer = ImportUploadSerializer(data=upload_data(credit_markers=given))

    assert not serializer.is_valid()
    assert "credit_markers" in serializer.errors


# --- property: the sign of a row with a marker -----------------------------------------

CREDIT_CELLS = ["CR", "cr", " Credit ", "H", "Haben", "Bij", "+", "Crédit", "AVOIR"]
DEBIT_CELLS = ["DR", "Debit", "S", "Soll", "Af", "-", "Débit", ""]


@st.composite
def marked_rows(draw):
    rows = []
    for _ in range(draw(st.integers(1, 8))):
        magnitude = draw(
            st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999.99"), places=2)
        )
        credit = draw(st.booleans())
        marker = draw(st.sampled_from(CREDIT_CELLS if credit else DEBIT_CELLS))
        written = f"{magnitude:,.2f}"
        style = draw(st.sampled_from(["x", "£x", "+ £x", "-x", "x GBP", "US$ x"]))
        rows.append((magnitude if credit else -magnitude, style.replace("x", written), marker))
    return rows


@settings(max_examples=examples(200), deadline=None, derandomize=True, database=None)
@given(rows=marked_rows(), negate=st.booleans(), named=st.booleans())
def test_the_marker_alone_decides_the_sign(rows, negate, named):
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["Date", "Description", "Amount", "Dr/Cr" if not named else "Marker"])
    for number, (_, amount, marker) in enumerate(rows, start=1):
        writer.writerow([f"2024-01-{number:02d}", f"Row {number}", amount, marker])
    columns = {"direction": "Marker"} if named else None
    # a column of blanks only is not detected as a direction column: name it
    if all(marker == "" for *_, marker in rows):
        columns = {"direction": 3}

    result = parse(out.getvalue(), negate=negate, columns=columns)

    assert amounts(result) == [expected for expected, *_ in rows]


# --- end to end --------------------------------------------------------------------


def test_the_uk_card_statement_imports_its_payment_as_income(auth_client, user):
    from expenses.models import Expense
    from imports.tests.test_api import commit, preview
    from income.models import Income

    batch = preview(auth_client, "card.csv", UK_CARD.encode(), negate="true")

    assert [(row["kind"], row["amount"]) for row in batch["rows"]] == [
        ("expense", "12.34"),
        ("income", "1100.00"),
        ("expense", "1250.00"),
    ]
    assert commit(auth_client, batch["id"]).status_code == 200
    assert [str(i.amount) for i in Income.objects.filter(user=user)] == ["1100.0000"]
    assert Expense.objects.filter(user=user).count() == 2


def test_credit_markers_travel_with_the_upload(auth_client, user):
    from imports.tests.test_api import preview, upload

    text = "Datum;Text;Betrag;Kennung\n05.01.2024;Miete;900,00;L\n06.01.2024;Gehalt;2500,00;G\n"
    columns = '{"direction": "Kennung"}'

    batch = preview(auth_client, "s.csv", text.encode(), columns=columns, credit_markers="G")
    bad = upload(auth_client, "s.csv", text.encode(), columns=columns, credit_markers="[1]")

    assert [row["kind"] for row in batch["rows"]] == ["expense", "income"]
    assert bad.status_code == 400 and "credit_markers" in bad.json()
