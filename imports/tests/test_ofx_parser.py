"""OFX/QFX statements: the real fixtures of SOURCES.md and the cases they do not cover."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from imports.parsers.base import StatementError
from imports.parsers.ofx_parser import parse_ofx

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "statements"


def fixture_bytes(name: str) -> bytes:
    path = FIXTURES / name
    if not path.exists():
        pytest.skip(f"statement fixture {path} is not present")
    return path.read_bytes()


@pytest.mark.parametrize(
    ("name", "fmt", "count", "total", "currency", "first", "last"),
    [
        ("ofx__actual__8859-1.qfx", "qfx", 1, "-20.00", "CAD", "2022-10-19", "2022-10-19"),
        (
            "ofx__asgrim-ofxparser__ofxdata-bb-two-stmtrs.ofx",
            "ofx",
            36,
            "-3648.66",
            "BRL",
            "2017-03-01",
            "2017-03-27",
        ),
        (
            "ofx__asgrim-ofxparser__ofxdata-cmfr.ofx",
            "ofx",
            42,
            "-13491.59",
            "EUR",
            "2016-06-01",
            "2016-06-27",
        ),
        (
            "ofx__asgrim-ofxparser__ofxdata-memoWithAmpersand.ofx",
            "ofx",
            16,
            "393.82",
            "BRL",
            "2018-09-13",
            "2018-10-05",
        ),
        (
            "ofx__asgrim-ofxparser__ofxdata-xml.ofx",
            "ofx",
            3,
            "250.00",
            "USD",
            "2007-03-15",
            "2007-07-09",
        ),
    ],
)
def test_real_statement_gives_the_counted_rows_and_total(
    name, fmt, count, total, currency, first, last
):
    content = fixture_bytes(name)

    result = parse_ofx(content, fmt=fmt)

    assert result.format == fmt
    assert result.errors == []
    assert len(result.rows) == count
    assert sum((row.amount for row in result.rows), Decimal(0)) == Decimal(total)
    assert result.currency == currency
    assert {row.currency for row in result.rows} == {currency}
    assert result.rows[0].date == date.fromisoformat(first)
    assert result.rows[-1].date == date.fromisoformat(last)
    fitids = [row.fitid for row in result.rows]
    assert all(fitids) and len(set(fitids)) == len(fitids)
    assert all(row.description for row in result.rows)
    # Each row's line is where its <STMTTRN> is in the file.
    lines = content.decode("latin-1").splitlines()
    assert all(lines[row.line - 1].strip() == "<STMTTRN>" for row in result.rows)


def test_latin1_payee_is_decoded_not_mojibake():
    (row,) = parse_ofx(fixture_bytes("ofx__actual__8859-1.qfx"), fmt="qfx").rows

    assert row.merchant == "Paiement facture/Carte prépayée"
    assert row.description == "Paiement facture/Carte prépayée - PWW"
    assert row.memo == "PWW"
    assert row.fitid == "wSoKuCS77"


def test_cp1252_memos_with_trailing_spaces_and_crlf():
    result = parse_ofx(fixture_bytes("ofx__asgrim-ofxparser__ofxdata-bb-two-stmtrs.ofx"))

    first = result.rows[0]
    assert first.description == "TED-CRÉDITO EM CONTA"
    assert first.merchant == ""
    assert first.amount == Decimal("13318.36")
    assert first.fitid == "2017030101331836"
    assert result.rows[-1].description == "TARIFA PACOTE DE SERVIÇOS"


def test_raw_ampersands_and_quotes_in_memos_and_short_amounts():
    rows = parse_ofx(fixture_bytes("ofx__asgrim-ofxparser__ofxdata-memoWithAmpersand.ofx")).rows

    assert rows[0].description == "Amazon.Com.Br Amazon & Cloud 3/3"
    assert str(rows[0].amount) == "-33.3"
    assert 'IOF de "Leupay.Eu" & Whoelse' in [row.memo for row in rows]
    assert Decimal("-140") in [row.amount for row in rows]


def test_ofx2_name_and_memo_make_the_description():
    rows = parse_ofx(fixture_bytes("ofx__asgrim-ofxparser__ofxdata-xml.ofx")).rows

    assert [(row.merchant, row.description) for row in rows] == [
        ("DEPOSIT", "DEPOSIT - automatic deposit"),
        ("TRANSFER", "TRANSFER - Transfer from checking"),
        ("Cheque", "Cheque"),
    ]


def test_truncated_real_file_is_a_statement_error():
    content = fixture_bytes("ofx__asgrim-ofxparser__ofxdata-cmfr.ofx")

    with pytest.raises(StatementError, match="truncated"):
        parse_ofx(content[: len(content) // 2])


# --- synthetic files -------------------------------------------------------------

SGML_HEADER = (
    "OFXHEADER:100\nDATA:OFXSGML\nVERSION:102\nSECURITY:NONE\nENCODING:USASCII\n"
    "CHARSET:{charset}\nCOMPRESSION:NONE\nOLDFILEUID:NONE\nNEWFILEUID:NONE\n\n"
)


def sgml(transactions: str, *, statement: str = "STMTRS", curdef: str = "EUR", charset="1252"):
    """An OFX 1 file whose (CC)STMTRS holds `transactions`."""
    wrapper = "CREDITCARDMSGSRSV1" if statement == "CCSTMTRS" else "BANKMSGSRSV1"
    response = "CCSTMTTRNRS" if statement == "CCSTMTRS" else "STMTTRNRS"
    return SGML_HEADER.format(charset=charset) + (
        "<OFX>\n"
        "<SIGNONMSGSRSV1>\n<SONRS>\n<STATUS>\n<CODE>0\n<SEVERITY>INFO\n</STATUS>\n"
        "<DTSERVER>20240105\n<LANGUAGE>ENG\n</SONRS>\n</SIGNONMSGSRSV1>\n"
        f"<{wrapper}>\n<{response}>\n<TRNUID>1\n<STATUS>\n<CODE>0\n<SEVERITY>INFO\n</STATUS>\n"
        f"<{statement}>\n<CURDEF>{curdef}\n"
        "<BANKTRANLIST>\n<DTSTART>20240101\n<DTEND>20240131\n"
        f"{transactions}"
        "</BANKTRANLIST>\n"
        f"</{statement}>\n</{response}>\n</{wrapper}>\n</OFX>\n"
    )


def sgml_trn(fitid: str, *, amount: str | None = "-1.00", posted: str | None = "20240102") -> str:
    lines = ["<STMTTRN>", "<TRNTYPE>DEBIT"]
    if posted is not None:
        lines.append(f"<DTPOSTED>{posted}")
    if amount is not None:
        lines.append(f"<TRNAMT>{amount}")
    lines += [f"<FITID>{fitid}", f"<NAME>Shop {fitid}", "</STMTTRN>"]
    return "\n".join(lines) + "\n"


def line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


def test_sgml_transaction_without_amount_is_an_error_on_its_line():
    text = sgml(sgml_trn("A") + sgml_trn("B", amount=None) + sgml_trn("C", amount="2.50"))
    b_line = line_of(text, "<STMTTRN>\n<TRNTYPE>DEBIT\n<DTPOSTED>20240102\n<FITID>B")

    result = parse_ofx(text.encode())

    assert [row.fitid for row in result.rows] == ["A", "C"]
    assert result.errors == [(b_line, "The transaction has no TRNAMT.")]
    assert result.rows[1].amount == Decimal("2.50")


def test_sgml_transaction_without_date_or_with_a_bad_one_is_an_error():
    text = sgml(sgml_trn("A", posted=None) + sgml_trn("B", posted="20240231") + sgml_trn("C"))

    result = parse_ofx(text.encode())

    assert [row.fitid for row in result.rows] == ["C"]
    assert [message for _, message in result.errors] == [
        "The transaction has no DTPOSTED.",
        "DTPOSTED '20240231' is not a date.",
    ]


def test_ofx2_transaction_without_amount_is_an_error_on_its_line():
    text = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<?OFX OFXHEADER="200" VERSION="211" SECURITY="NONE" OLDFILEUID="NONE" '
        'NEWFILEUID="NONE"?>\n'
        "<OFX><BANKMSGSRSV1><STMTTRNRS><TRNUID>1</TRNUID>"
        "<STATUS><CODE>0</CODE><SEVERITY>INFO</SEVERITY></STATUS>\n"
        "<STMTRS><CURDEF>GBP</CURDEF><BANKTRANLIST>\n"
        "<STMTTRN><TRNTYPE>DEBIT</TRNTYPE><DTPOSTED>20240102</DTPOSTED>"
        "<TRNAMT>-4.20</TRNAMT><FITID>1</FITID><NAME>Caf&#233; &amp; Bar</NAME></STMTTRN>\n"
        "<STMTTRN><TRNTYPE>DEBIT</TRNTYPE><DTPOSTED>20240103</DTPOSTED>"
        "<FITID>2</FITID><NAME>No amount</NAME></STMTTRN>\n"
        "</BANKTRANLIST></STMTRS></STMTTRNRS></BANKMSGSRSV1></OFX>\n"
    )

    result = parse_ofx(text.encode())

    assert len(result.rows) == 1
    assert result.rows[0].currency == "GBP"
    assert result.rows[0].line == 5
    assert result.rows[0].merchant == "Café & Bar"
    assert result.errors == [(6, "The transaction has no TRNAMT.")]


def test_credit_card_statement_and_per_transaction_currency():
    foreign = (
        "<STMTTRN>\n<TRNTYPE>DEBIT\n<DTPOSTED>20240103\n<TRNAMT>-12.00\n<FITID>F\n"
        "<NAME>Abroad\n<CURRENCY>\n<CURRATE>1.1\n<CURSYM>USD\n</CURRENCY>\n</STMTTRN>\n"
    )
    converted = (
        "<STMTTRN>\n<TRNTYPE>DEBIT\n<DTPOSTED>20240104\n<TRNAMT>-9.00\n<FITID>O\n"
        "<NAME>Converted\n<ORIGCURRENCY>\n<CURRATE>1.1\n<CURSYM>USD\n</ORIGCURRENCY>\n"
        "</STMTTRN>\n"
    )
    text = sgml(sgml_trn("A") + foreign + converted, statement="CCSTMTRS", curdef="GBP")

    result = parse_ofx(text.encode(), fmt="qfx")

    assert result.format == "qfx"
    assert result.currency == "GBP"
    # ORIGCURRENCY says TRNAMT was already converted into CURDEF (OFX §5.2).
    assert [(row.fitid, row.currency) for row in result.rows] == [
        ("A", "GBP"),
        ("F", "USD"),
        ("O", "GBP"),
    ]


def test_investment_statements_are_ignored():
    investment = (
        "<INVSTMTMSGSRSV1>\n<INVSTMTTRNRS>\n<TRNUID>2\n<STATUS>\n<CODE>0\n<SEVERITY>INFO\n"
        "</STATUS>\n<INVSTMTRS>\n<DTASOF>20240131\n<CURDEF>USD\n<INVACCTFROM>\n<BROKERID>b\n"
        "<ACCTID>1\n</INVACCTFROM>\n<INVTRANLIST>\n<DTSTART>20240101\n<DTEND>20240131\n"
        "<INVBANKTRAN>\n<STMTTRN>\n<TRNTYPE>CREDIT\n<DTPOSTED>20240110\n<TRNAMT>99.00\n"
        "<FITID>INV\n<NAME>Dividend\n</STMTTRN>\n<SUBACCTFUND>CASH\n</INVBANKTRAN>\n"
        "</INVTRANLIST>\n</INVSTMTRS>\n</INVSTMTTRNRS>\n</INVSTMTMSGSRSV1>\n"
    )
    text = sgml(sgml_trn("A")).replace("</OFX>", investment + "</OFX>")

    result = parse_ofx(text.encode())

    assert [row.fitid for row in result.rows] == ["A"]
    assert result.rows[0].line == line_of(text, "<STMTTRN>")


def test_only_an_investment_statement_is_a_statement_error():
    text = sgml(sgml_trn("A")).replace("STMTRS>", "INVSTMTRS>")

    with pytest.raises(StatementError, match="no bank or credit-card statement"):
        parse_ofx(text.encode())


def test_posted_date_is_the_date_the_bank_wrote_not_utc():
    text = sgml(sgml_trn("A", posted="20240102230000.000[-5:EST]"))

    (row,) = parse_ofx(text.encode()).rows

    assert row.date == date(2024, 1, 2)


def test_charset_alias_is_normalised_and_text_cleaned():
    long_name = "Caf\xe9   de   la   gare " * 20
    trn = sgml_trn("A").replace("<NAME>Shop A", f"<NAME>{long_name}\n<MEMO>ticket  42")
    text = sgml(trn, charset="8859-1")

    (row,) = parse_ofx(text.encode("latin-1")).rows

    assert row.merchant.startswith("Café de la gare Café")
    assert len(row.merchant) == 255 and len(row.description) == 255
    assert row.memo == "ticket 42"


def test_file_without_header_is_still_read():
    text = sgml(sgml_trn("A"))
    body = text[text.index("<OFX>") :]

    assert [row.fitid for row in parse_ofx(body.encode()).rows] == ["A"]


def test_truncated_synthetic_file_is_a_statement_error():
    text = sgml(sgml_trn("A") + sgml_trn("B"))
    cut = text[: text.index("<FITID>B")]

    with pytest.raises(StatementError, match="truncated"):
        parse_ofx(cut.encode())


@pytest.mark.parametrize(
    "content",
    [b"", b"hello world", b"<html><body>no</body></html>", b'{"OFX": 1}', b"%PDF-1.4\n"],
)
def test_not_ofx_is_a_statement_error(content):
    with pytest.raises(StatementError, match="not an OFX file"):
        parse_ofx(content)


def test_unknown_fmt_is_a_programming_error():
    with pytest.raises(ValueError, match="fmt"):
        parse_ofx(b"", fmt="csv")


def test_external_entity_is_refused_and_the_file_is_not_read(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-MARKER")
    content = fixture_bytes("ofx__asgrim-ofxparser__ofxdata-xml.ofx")
    payload = content.replace(
        b"<OFX>",
        f'<!DOCTYPE OFX [<!ENTITY xxe SYSTEM "{secret.as_uri()}">]>\n<OFX>'.encode(),
        1,
    ).replace(b"<NAME>DEPOSIT</NAME>", b"<NAME>&xxe;</NAME>")

    with pytest.raises(StatementError, match="DTD or entities") as raised:
        parse_ofx(payload)

    assert "TOP-SECRET-MARKER" not in str(raised.value)


def test_entity_reference_without_declaration_is_left_as_text():
    content = fixture_bytes("ofx__asgrim-ofxparser__ofxdata-xml.ofx")
    payload = content.replace(b"<NAME>DEPOSIT</NAME>", b"<NAME>&xxe;</NAME>")

    rows = parse_ofx(payload).rows

    assert rows[0].merchant == "&xxe;"


LAUGHS = (
    '<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
        for i in range(1, 10)
    )
    + "]>\n"
)


@pytest.mark.parametrize("version", [1, 2])
def test_billion_laughs_is_refused(version):
    if version == 1:
        text = sgml(sgml_trn("A").replace("<NAME>Shop A", "<NAME>&lol9;"))
        text = text.replace("<OFX>", LAUGHS + "<OFX>", 1)
    else:
        text = (
            '<?xml version="1.0"?>\n'
            '<?OFX OFXHEADER="200" VERSION="200" SECURITY="NONE" OLDFILEUID="NONE" '
            'NEWFILEUID="NONE"?>\n' + LAUGHS + "<OFX><NAME>&lol9;</NAME></OFX>\n"
        )

    with pytest.raises(StatementError, match="DTD or entities"):
        parse_ofx(text.encode())


def test_one_line_header_with_charset_alias():
    text = sgml(sgml_trn("A").replace("Shop A", "Caf\xe9"), charset="8859-1")
    header, _, body = text.partition("\n\n")

    (row,) = parse_ofx((header.replace("\n", " ") + " " + body).encode("latin-1")).rows

    assert row.merchant == "Café"


# --- currencies and amounts we do not support (issue 11) ------------------------------


@pytest.mark.parametrize("curdef", ["XYZ", "XAU", "EURO", "usd1"])
def test_unsupported_statement_currency_refuses_the_file(curdef):
    with pytest.raises(StatementError, match="CURDEF"):
        parse_ofx(sgml(sgml_trn("A"), curdef=curdef).encode())


def test_transaction_in_an_unsupported_currency_is_a_row_error_naming_it():
    foreign = (
        "<STMTTRN>\n<TRNTYPE>DEBIT\n<DTPOSTED>20240103\n<TRNAMT>-12.00\n<FITID>F\n"
        "<NAME>Abroad\n<CURRENCY>\n<CURRATE>1.1\n<CURSYM>XBT\n</CURRENCY>\n</STMTTRN>\n"
    )
    converted = (
        "<STMTTRN>\n<TRNTYPE>DEBIT\n<DTPOSTED>20240104\n<TRNAMT>-9.00\n<FITID>O\n"
        "<NAME>Converted\n<ORIGCURRENCY>\n<CURRATE>1.1\n<CURSYM>XBT\n</ORIGCURRENCY>\n"
        "</STMTTRN>\n"
    )
    text = sgml(sgml_trn("A") + foreign + converted, curdef="GBP")

    result = parse_ofx(text.encode())

    # the ORIGCURRENCY row's amount is already in CURDEF, which we support
    assert [(row.fitid, row.currency) for row in result.rows] == [("A", "GBP"), ("O", "GBP")]
    assert len(result.errors) == 1
    assert "XBT" in result.errors[0][1]
    assert result.errors[0][0] == line_of(text, "<FITID>F") - 4


@pytest.mark.parametrize("amount", ["1e1000000", "-1.5E3", "1_000", "\u0661\u0662", "1" * 30])
def test_amounts_outside_the_one_grammar_are_row_errors(amount):
    result = parse_ofx(sgml(sgml_trn("A", amount=amount) + sgml_trn("B")).encode())

    assert [row.fitid for row in result.rows] == ["B"]
    assert len(result.errors) == 1
    assert "TRNAMT" in result.errors[0][1]
