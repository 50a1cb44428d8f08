"""Format detection for `format: auto`: every real fixture, and files that are no statement."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest

from imports.parsers.detect import detect_format

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "statements"


def fixture_bytes(name: str) -> bytes:
    path = FIXTURES / name
    if not path.exists():
        pytest.skip(f"statement fixture {path} is not present")
    return path.read_bytes()


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("csv__bank2ynab__CSV_A_20180414_112204.csv", "csv"),
        ("csv__bank2ynab__TransactionHistory_20180418043121.csv", "csv"),
        ("csv__bank2ynab__Umsaetze_KtoNr538917600_EUR_02-03-2018_1503.CSV", "csv"),
        ("csv__bank2ynab__test_BOI_TransactionExport.csv", "csv"),
        ("ofx__actual__8859-1.qfx", "qfx"),
        ("ofx__asgrim-ofxparser__ofxdata-bb-two-stmtrs.ofx", "ofx"),
        ("ofx__asgrim-ofxparser__ofxdata-cmfr.ofx", "ofx"),
        ("ofx__asgrim-ofxparser__ofxdata-memoWithAmpersand.ofx", "ofx"),
        ("ofx__asgrim-ofxparser__ofxdata-xml.ofx", "ofx"),
        ("qif__actual__data-payee-memo.qif", "qif"),
    ],
)
def test_real_fixture_is_detected_by_content(name, expected):
    content = fixture_bytes(name)

    assert detect_format(content, name) == expected
    assert detect_format(content, "upload.bin") == expected
    assert detect_format(content, None) == expected


def test_qfx_is_told_from_ofx_by_name_or_intuit_fields():
    ofx = fixture_bytes("ofx__asgrim-ofxparser__ofxdata-cmfr.ofx")
    qfx = fixture_bytes("ofx__actual__8859-1.qfx")

    assert detect_format(ofx, "statement.QFX") == "qfx"
    assert detect_format(qfx, "statement.ofx") == "qfx"  # it has <INTU.BID>


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"\xef\xbb\xbf!Type:CCard\nD01/02/2024\nT-1\n^\n", "qif"),
        (b"!Account\nNChecking\nTBank\n^\n!Type:Bank\n", "qif"),
        (b'<?xml version="1.0"?>\n<?OFX OFXHEADER="200" VERSION="200"?>\n<OFX></OFX>', "ofx"),
        (b"<OFX>\n<SIGNONMSGSRSV1>\n", "ofx"),
        (b"Date\tAmount\tPayee\n2024-01-02\t-3.50\tCoffee\n", "csv"),
        (b"date;amount\n02.01.2024;-3,50\n", "csv"),
    ],
)
def test_other_statement_shapes(content, expected):
    assert detect_format(content, None) == expected


def xlsx_bytes(member: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr(member, "<workbook/>")
    return buffer.getvalue()


def test_xlsx_is_a_zip_with_a_workbook():
    assert detect_format(xlsx_bytes("xl/workbook.xml"), "statement.xlsx") == "xlsx"
    assert detect_format(xlsx_bytes("word/document.xml"), "letter.docx") is None
    assert detect_format(b"PK\x03\x04 not really a zip", "broken.xlsx") is None


PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00"
    b"\x00\x00IEND\xaeB`\x82"
)
PDF = (
    b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
    b"2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
)


@pytest.mark.parametrize(
    ("content", "filename"),
    [
        (b"", None),
        (b"   \n\n", "empty.csv"),
        (json.dumps([{"date": "2024-01-02", "amount": "-3.50"}] * 5, indent=2).encode(), "a.json"),
        (json.dumps({"rows": [[1, 2], [3, 4]]}).encode(), "a.csv"),
        (b"<!DOCTYPE html>\n<html><body>\n<p>a,b,c</p>\n<p>d,e,f</p>\n</body></html>\n", None),
        (b"<html><body><OFX>not at the start</OFX></body></html>", "x.ofx"),
        (PDF, "statement.pdf"),
        (PNG, "statement.csv"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(200), "old.xls"),
        (b"just one line of text without delimiters\nand another\n", "notes.txt"),
    ],
)
def test_non_statements_are_not_detected(content, filename):
    assert detect_format(content, filename) is None
