"""ISO 20022 camt.053 / camt.052 statements: mapping, hardening, and the API round trip."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from hypothesis import HealthCheck, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from currencies.models import ExchangeRate
from expenses.models import Expense
from imports.models import ImportBatch
from imports.parsers.base import ParseResult, StatementError
from imports.parsers.camt_parser import parse_camt
from imports.parsers.detect import detect_format
from income.models import Income
from tests.fuzz_depth import examples

FILES = Path(__file__).resolve().parent / "files"
V02 = FILES / "camt053_v02_batch_reversal.xml"
V08 = FILES / "camt053_v08_two_accounts.xml"
INTRADAY = FILES / "camt052_v02_intraday.xml"
URL = "/api/v1/imports/"


def camt(entries: str, *, version: str = "camt.053.001.02", currency: str = "EUR") -> bytes:
    container, statement = (
        ("BkToCstmrAcctRpt", "Rpt") if version.startswith("camt.052") else ("BkToCstmrStmt", "Stmt")
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:{version}"><{container}>'
        f"<GrpHdr><MsgId>M1</MsgId><CreDtTm>2024-01-01T00:00:00</CreDtTm></GrpHdr>"
        f"<{statement}><Id>S1</Id><Acct><Id><IBAN>DE14740618130000033626</IBAN></Id>"
        f"<Ccy>{currency}</Ccy></Acct>\n{entries}\n</{statement}></{container}></Document>"
    ).encode()


def entry(
    amount: str = "10.00",
    direction: str = "DBIT",
    day: str = "2024-01-15",
    ref: str = "REF1",
    extra: str = "",
    ccy: str = "EUR",
) -> str:
    return (
        f'<Ntry><Amt Ccy="{ccy}">{amount}</Amt><CdtDbtInd>{direction}</CdtDbtInd>'
        f"<Sts>BOOK</Sts><BookgDt><Dt>{day}</Dt></BookgDt><AcctSvcrRef>{ref}</AcctSvcrRef>"
        f"{extra}<AddtlNtryInf>Entry {ref}</AddtlNtryInf></Ntry>"
    )


def signed_sum(result: ParseResult) -> Decimal:
    return sum((row.amount for row in result.rows), Decimal(0))


# --- mapping ----------------------------------------------------------------------------------


def test_camt053_v02_batch_is_split_and_reversal_keeps_its_booked_sign():
    result = parse_camt(V02.read_bytes())

    assert result.format == "camt"
    assert result.errors == []
    assert result.currency == "EUR"
    assert [row.amount for row in result.rows] == [
        Decimal("-250.00"),
        Decimal("-350.00"),
        Decimal("-400.00"),
        Decimal("45.90"),
        Decimal("2500.00"),
    ]
    assert signed_sum(result) == Decimal("1545.90")
    assert [row.date for row in result.rows] == [date(2024, 1, 31)] * 4 + [date(2024, 1, 30)]
    assert [row.description for row in result.rows] == [
        "Rechnung 2024-001",
        "Rechnung 2024-002 Papier und Toner",
        "RF18539007547034",  # structured creditor reference when there is no Ustrd
        "Reversal: Strom Januar 2024",
        "Gehalt Januar 2024",
    ]
    # The counterparty: creditor of an outflow, debtor of an inflow; a reversed debit
    # still names the creditor it was paid to.
    assert [row.merchant for row in result.rows] == [
        "Lieferant Alpha GmbH",
        "Beta Buerobedarf KG",
        "Gamma IT Services",
        "Stadtwerke Musterstadt",
        "ACME GmbH",
    ]
    account = "DE14740618130000033626"
    assert [row.fitid for row in result.rows] == [
        f"{account}/2024013110583450000/1",
        f"{account}/2024013110583450000/2",
        f"{account}/2024013110583450000/3",
        f"{account}/2024013110583450001",
        f"{account}/2024013010583450002",
    ]
    assert {row.currency for row in result.rows} == {"EUR"}
    # Lines point at each entry's <Ntry>; the batch's rows share their entry's line.
    text = V02.read_text().splitlines()
    assert {text[row.line - 1].strip() for row in result.rows} == {"<Ntry>"}
    assert len({row.line for row in result.rows}) == 3


def test_camt052_reports_booked_entries_and_lists_pending_ones_as_errors():
    result = parse_camt(INTRADAY.read_bytes())

    assert len(result.rows) == 1
    row = result.rows[0]
    assert (row.date, row.amount, row.currency) == (date(2024, 2, 5), Decimal("-12.50"), "EUR")
    assert row.description == "Kartenzahlung girocard REWE Markt Musterstadt"
    assert row.merchant == "REWE Markt GmbH"
    assert row.fitid == "DE14740618130000033626/2024020509311200001"
    assert len(result.errors) == 1
    line, message = result.errors[0]
    assert "PDNG" in message and "not booked" in message
    assert INTRADAY.read_text().splitlines()[line - 1].strip() == "<Ntry>"


def test_camt053_v08_two_accounts_details_with_own_direction_and_a_date_time():
    result = parse_camt(V08.read_bytes())

    assert result.errors == []
    assert result.currency is None  # two accounts, two currencies: each row says its own
    assert [(row.amount, row.currency) for row in result.rows] == [
        (Decimal("-150.00"), "EUR"),
        (Decimal("30.00"), "EUR"),
        (Decimal("2000.00"), "USD"),
    ]
    # The date of a booking date-time as written, not shifted to another zone.
    assert [row.date for row in result.rows] == [
        date(2024, 3, 1),
        date(2024, 3, 1),
        date(2024, 2, 29),
    ]
    assert [row.merchant for row in result.rows] == ["Energia Oy", "Energia Oy", "Contoso Inc."]
    assert [row.fitid for row in result.rows] == [
        "SE5180000810512345678901/AAAASESS-FP-TX001",
        "SE5180000810512345678901/AAAASESS-FP-TX002",
        "8081-0512345678/AAAASESS-FP-ACCR002",
    ]


@pytest.mark.parametrize("message", ["camt.053", "camt.052"])
@pytest.mark.parametrize("version", ["02", "03", "04", "05", "06", "07", "08", "10"])
def test_every_version_is_read(message, version):
    status = "<Sts><Cd>BOOK</Cd></Sts>" if version >= "08" else "<Sts>BOOK</Sts>"
    body = entry(amount="9.99").replace("<Sts>BOOK</Sts>", status)
    result = parse_camt(camt(body, version=f"{message}.001.{version}"))

    assert [(row.amount, row.date) for row in result.rows] == [
        (Decimal("-9.99"), date(2024, 1, 15))
    ]


def test_batch_details_that_do_not_add_up_give_one_row_for_the_entry():
    details = (
        "<NtryDtls>"
        '<TxDtls><Amt Ccy="EUR">4.00</Amt><RmtInf><Ustrd>A</Ustrd></RmtInf></TxDtls>'
        '<TxDtls><Amt Ccy="EUR">5.00</Amt><RmtInf><Ustrd>B</Ustrd></RmtInf></TxDtls>'
        "</NtryDtls>"
    )
    result = parse_camt(camt(entry(amount="10.00", extra=details)))

    assert [(row.amount, row.description) for row in result.rows] == [
        (Decimal("-10.00"), "Entry REF1")
    ]


def test_batch_details_in_another_currency_are_not_split():
    details = (
        "<NtryDtls>"
        '<TxDtls><Amt Ccy="USD">6.00</Amt></TxDtls><TxDtls><Amt Ccy="USD">4.00</Amt></TxDtls>'
        "</NtryDtls>"
    )
    result = parse_camt(camt(entry(amount="10.00", extra=details)))

    assert [(row.amount, row.currency) for row in result.rows] == [(Decimal("-10.00"), "EUR")]


def test_a_reference_repeated_in_the_file_keeps_both_rows_apart():
    result = parse_camt(camt(entry(ref="SAME") + entry(ref="SAME", amount="10.00")))

    fitids = [row.fitid for row in result.rows]
    assert len(fitids) == 2 and len(set(fitids)) == 2
    assert fitids[1] == fitids[0] + "#2"


def test_without_reference_no_fitid_so_duplicates_go_by_date_amount_text():
    body = entry().replace("<AcctSvcrRef>REF1</AcctSvcrRef>", "")
    assert parse_camt(camt(body)).rows[0].fitid == ""


@pytest.mark.parametrize(
    ("amount", "why"),
    [
        ("1E+999", "not an amount"),
        ("-5.00", "not an amount"),
        ("12,50", "not an amount"),
        ("", "no Amt"),
        ("9" * 60, "not an amount"),
    ],
)
def test_unreadable_amounts_are_row_errors_naming_the_value(amount, why):
    result = parse_camt(camt(entry(amount=amount, ref="BAD") + entry(ref="GOOD")))

    assert [row.fitid.rsplit("/", 1)[1] for row in result.rows] == ["GOOD"]
    assert len(result.errors) == 1 and why in result.errors[0][1]


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (entry(day="2024-02-30"), "not a date"),
        (entry(day="yesterday"), "not a date"),
        (entry(direction="BOTH"), "neither CRDT nor DBIT"),
        (entry(ccy="XYZ"), "not a currency"),
        (entry().replace("<BookgDt><Dt>2024-01-15</Dt></BookgDt>", ""), "no BookgDt"),
    ],
)
def test_other_unreadable_entries_are_row_errors(body, why):
    result = parse_camt(camt(body + entry(ref="GOOD")))

    assert len(result.rows) == 1
    assert len(result.errors) == 1 and why in result.errors[0][1]


def test_value_date_stands_in_for_a_missing_booking_date():
    body = entry().replace(
        "<BookgDt><Dt>2024-01-15</Dt></BookgDt>", "<ValDt><Dt>2024-01-16</Dt></ValDt>"
    )
    assert parse_camt(camt(body)).rows[0].date == date(2024, 1, 16)


# --- hostile files ----------------------------------------------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt><Stmt>
<Ntry><Amt Ccy="EUR">1.00</Amt><CdtDbtInd>DBIT</CdtDbtInd><BookgDt><Dt>2024-01-01</Dt></BookgDt>
<AddtlNtryInf>&lol9;</AddtlNtryInf></Ntry></Stmt></BkToCstmrStmt></Document>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE Document [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt><Stmt>
<Ntry><Amt Ccy="EUR">1.00</Amt><CdtDbtInd>DBIT</CdtDbtInd><BookgDt><Dt>2024-01-01</Dt></BookgDt>
<AddtlNtryInf>&secret;</AddtlNtryInf></Ntry></Stmt></BkToCstmrStmt></Document>"""

EXTERNAL_DTD = (
    b'<?xml version="1.0"?>\n<!DOCTYPE Document SYSTEM "http://example.invalid/camt.dtd">\n'
    + camt(entry()).split(b"\n", 1)[1]
)


@pytest.mark.parametrize(
    "content", [BILLION_LAUGHS, EXTERNAL_ENTITY, EXTERNAL_DTD], ids=["laughs", "entity", "dtd"]
)
def test_dtds_and_entities_are_refused_unexpanded(content):
    with pytest.raises(StatementError, match="DTD or entities"):
        parse_camt(content)


def test_truncated_xml_is_refused_not_half_read():
    content = V02.read_bytes()
    with pytest.raises(StatementError, match="not well-formed"):
        parse_camt(content[: len(content) // 2])


@pytest.mark.parametrize(
    "namespace",
    [
        "urn:iso:std:iso:20022:tech:xsd:camt.054.001.02",
        "urn:iso:std:iso:20022:tech:xsd:pain.001.001.03",
        "urn:example:camt.053.001.02",
    ],
)
def test_a_wrong_namespace_is_refused_naming_it(namespace):
    content = camt(entry()).replace(
        b"urn:iso:std:iso:20022:tech:xsd:camt.053.001.02", namespace.encode()
    )
    with pytest.raises(StatementError, match=r"not a camt\.052 or camt\.053") as caught:
        parse_camt(content)
    assert namespace in str(caught.value)


def test_a_document_without_namespace_is_refused():
    with pytest.raises(StatementError, match="not a camt"):
        parse_camt(b"<Document><BkToCstmrStmt/></Document>")


def test_more_entries_than_the_row_cap_are_refused_before_parsing(settings):
    assert settings.IMPORT_MAX_ROWS == 100_000
    entries = "<Ntry/>" * 100_001
    with pytest.raises(StatementError, match="IMPORT_MAX_ROWS") as caught:
        parse_camt(camt(entries))
    assert "100001" in str(caught.value)


def test_split_batches_count_against_the_row_cap(settings):
    settings.IMPORT_MAX_ROWS = 2
    details = "<NtryDtls>" + '<TxDtls><Amt Ccy="EUR">1.00</Amt></TxDtls>' * 3 + "</NtryDtls>"
    with pytest.raises(StatementError, match="IMPORT_MAX_ROWS"):
        parse_camt(camt(entry(amount="3.00", extra=details)))


@hyp_settings(
    max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(cut=st.integers(min_value=0, max_value=6000), junk=st.binary(max_size=20))
def test_damaged_files_are_a_statement_error_or_a_result_never_a_crash(cut, junk):
    content = V02.read_bytes()
    cut %= len(content)
    damaged = content[:cut] + junk + content[cut + len(junk) :]
    try:
        result = parse_camt(damaged)
    except StatementError:
        return
    assert isinstance(result, ParseResult)
    assert all(isinstance(row.amount, Decimal) for row in result.rows)


def test_detection_recognises_both_messages_and_not_other_iso_messages():
    assert detect_format(V02.read_bytes(), "statement.xml") == "camt"
    assert detect_format(V08.read_bytes(), "x") == "camt"
    assert detect_format(INTRADAY.read_bytes(), None) == "camt"
    utf16 = V02.read_text().replace('encoding="UTF-8"', 'encoding="UTF-16"')
    assert detect_format(utf16.encode("utf-16"), None) == "camt"
    assert parse_camt(utf16.encode("utf-16")).rows[0].amount == Decimal("-250.00")
    pain = camt(entry()).replace(b"camt.053.001.02", b"camt.054.001.02")
    assert detect_format(pain, "x.xml") is None


# --- through the API ---------------------------------------------------------------------------


@pytest.fixture
def euro_user(user):
    user.base_currency = "EUR"
    user.save(update_fields=["base_currency"])
    ExchangeRate.objects.create(base="USD", quote="EUR", date=date(2000, 1, 1), rate=Decimal("0.9"))
    return user


def upload(client, content: bytes, name: str = "statement.xml", **extra):
    file = SimpleUploadedFile(name, content, content_type="application/xml")
    return client.post(URL, {"file": file, **extra}, format="multipart")


def stored(user) -> int:
    return Expense.objects.filter(user=user).count() + Income.objects.filter(user=user).count()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "rows", "errors", "total"),
    [
        (V02, 5, 0, Decimal("1545.90")),
        (INTRADAY, 1, 1, Decimal("-12.50")),
        (V08, 3, 0, Decimal("1880.00")),
    ],
    ids=["053v02", "052", "053v08"],
)
def test_preview_commit_and_reimport_stores_each_entry_once(
    auth_client, euro_user, path, rows, errors, total
):
    content = path.read_bytes()
    first = upload(auth_client, content)
    assert first.status_code == 201, first.content
    batch = first.json()
    assert batch["format"] == "camt"
    assert (batch["total_rows"], batch["new_rows"], len(batch["errors"])) == (rows, rows, errors)
    signed = sum(
        Decimal(r["amount"]) * (-1 if r["kind"] == "expense" else 1) for r in batch["rows"]
    )
    assert signed == total  # in each row's own currency; here all rows but USD are EUR
    body = {"skip_errors": True} if errors else {}
    committed = auth_client.post(f"{URL}{batch['id']}/commit/", body, format="json")
    assert committed.status_code == 200, committed.content
    assert stored(euro_user) == rows

    again = upload(auth_client, content).json()
    assert (again["new_rows"], again["duplicate_rows"]) == (0, rows)
    assert auth_client.post(f"{URL}{again['id']}/commit/", body, format="json").status_code == 200
    assert stored(euro_user) == rows


@pytest.mark.django_db
def test_rows_carry_kind_currency_merchant_and_description(auth_client, euro_user):
    batch = upload(auth_client, V08.read_bytes(), format="camt").json()

    assert [
        (r["kind"], r["amount"], r["currency"], r["merchant"], r["description"])
        for r in batch["rows"]
    ] == [
        ("expense", "150.00", "EUR", "Energia Oy", "Electricity February"),
        ("income", "30.00", "EUR", "Energia Oy", "Refund January overcharge"),
        ("income", "2000.00", "USD", "Contoso Inc.", "Consulting invoice 2024-07"),
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "content", [BILLION_LAUGHS, EXTERNAL_ENTITY, EXTERNAL_DTD], ids=["laughs", "entity", "dtd"]
)
@pytest.mark.parametrize("fmt", ["auto", "camt"])
def test_hostile_xml_is_400_and_nothing_is_stored(auth_client, euro_user, content, fmt):
    response = upload(auth_client, content, format=fmt)

    assert response.status_code == 400, response.content
    assert "DTD or entities" in response.json()["file"][0]
    assert ImportBatch.objects.count() == 0
    assert stored(euro_user) == 0


@pytest.mark.django_db
def test_truncated_and_wrong_namespace_files_are_400_or_415(auth_client, euro_user):
    content = V02.read_bytes()
    truncated = upload(auth_client, content[: len(content) // 2])
    assert truncated.status_code == 400
    assert "not well-formed" in truncated.json()["file"][0]

    pain = content.replace(b"camt.053.001.02", b"pain.001.001.03")
    assert upload(auth_client, pain).status_code == 415  # not a format we read
    explicit = upload(auth_client, pain, format="camt")
    assert explicit.status_code == 400
    assert "pain.001.001.03" in explicit.json()["file"][0]
    assert ImportBatch.objects.count() == 0


@pytest.mark.django_db
def test_huge_amounts_and_dates_out_of_range_are_row_errors_beside_good_rows(
    auth_client, euro_user
):
    body = entry(amount="1E+999", ref="A") + entry(day="2250-01-01", ref="B") + entry(ref="C")
    batch = upload(auth_client, camt(body)).json()

    assert batch["total_rows"] == 1
    messages = [e["message"] for e in batch["errors"]]
    assert len(messages) == 2
    assert "not an amount" in messages[0]
    assert "outside the supported range" in messages[1]


@pytest.mark.django_db
def test_only_unreadable_entries_is_400(auth_client, euro_user):
    response = upload(auth_client, camt(entry(amount="1E+999")))
    assert response.status_code == 400
    assert ImportBatch.objects.count() == 0


@pytest.mark.django_db
def test_over_the_row_cap_is_400_naming_it(auth_client, euro_user, settings):
    settings.IMPORT_MAX_ROWS = 20
    response = upload(auth_client, camt(entry() * 25))

    assert response.status_code == 400
    assert "IMPORT_MAX_ROWS" in response.json()["file"][0]
    assert ImportBatch.objects.count() == 0
