"""Statement import end to end: preview → commit → undo, duplicates, errors (SPEC §11)."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Sum

from categories.tests.factories import CategoryFactory, RuleFactory
from currencies.models import ExchangeRate
from expenses.models import Expense
from imports.models import ImportBatch
from income.models import Income

pytestmark = pytest.mark.django_db

URL = "/api/v1/imports/"
FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "statements"

# (file, rows, signed total) from shared/fixtures/statements/SOURCES.md
REAL_STATEMENTS = [
    ("csv__bank2ynab__CSV_A_20180414_112204.csv", 3, Decimal("-1037.49")),
    ("csv__bank2ynab__TransactionHistory_20180418043121.csv", 8, Decimal("-173.28")),
    ("csv__bank2ynab__Umsaetze_KtoNr538917600_EUR_02-03-2018_1503.CSV", 1, Decimal("-17.22")),
    ("csv__bank2ynab__test_BOI_TransactionExport.csv", 27, Decimal("-419.61")),
    ("ofx__actual__8859-1.qfx", 1, Decimal("-20.00")),
    ("ofx__asgrim-ofxparser__ofxdata-bb-two-stmtrs.ofx", 36, Decimal("-3648.66")),
    ("ofx__asgrim-ofxparser__ofxdata-cmfr.ofx", 42, Decimal("-13491.59")),
    ("ofx__asgrim-ofxparser__ofxdata-memoWithAmpersand.ofx", 16, Decimal("393.82")),
    ("ofx__asgrim-ofxparser__ofxdata-xml.ofx", 3, Decimal("250.00")),
    ("qif__actual__data-payee-memo.qif", 4, Decimal("-100.00")),
]


@pytest.fixture
def rates(db):
    """A rate to USD for every currency the real statements use (any date after 2000)."""
    for code in ("EUR", "BRL", "SGD", "CAD", "GBP", "AUD"):
        ExchangeRate.objects.create(
            base=code, quote="USD", date=date(2000, 1, 1), rate=Decimal("1.5")
        )


def upload(client, name, content, **extra):
    file = SimpleUploadedFile(name, content, content_type="application/octet-stream")
    return client.post(URL, {"file": file, **extra}, format="multipart")


def preview(client, name, content, **extra):
    response = upload(client, name, content, **extra)
    assert response.status_code == 201, response.content
    return response.json()


def commit(client, batch_id, **body):
    return client.post(f"{URL}{batch_id}/commit/", body, format="json")


def signed_total(user) -> Decimal:
    spent = Expense.objects.filter(user=user).aggregate(t=Sum("amount"))["t"] or Decimal(0)
    earned = Income.objects.filter(user=user).aggregate(t=Sum("amount"))["t"] or Decimal(0)
    return earned - spent


def stored(user) -> int:
    return Expense.objects.filter(user=user).count() + Income.objects.filter(user=user).count()


# --- the real statements ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "rows", "total"), REAL_STATEMENTS, ids=[r[0] for r in REAL_STATEMENTS]
)
def test_real_statements_preview_commit_and_reimport(auth_client, user, rates, name, rows, total):
    if not FIXTURES.is_dir():
        pytest.skip(f"fixtures folder {FIXTURES} is absent")
    content = (FIXTURES / name).read_bytes()
    batch = preview(auth_client, name, content)
    assert batch["status"] == "preview"
    assert batch["errors"] == []
    assert (batch["total_rows"], batch["new_rows"], batch["duplicate_rows"]) == (rows, rows, 0)
    assert len(batch["rows"]) == rows
    assert stored(user) == 0  # preview stores nothing
    signed = sum(
        Decimal(r["amount"]) * (-1 if r["kind"] == "expense" else 1) for r in batch["rows"]
    )
    assert signed == total

    result = commit(auth_client, batch["id"])
    assert result.status_code == 200, result.content
    assert result.json()["expenses"] + result.json()["incomes"] == rows
    assert stored(user) == rows
    assert signed_total(user) == total

    again = preview(auth_client, name, content)
    assert (again["new_rows"], again["duplicate_rows"]) == (0, rows)
    assert commit(auth_client, again["id"]).json()["expenses"] == 0
    assert stored(user) == rows


# --- duplicates ---------------------------------------------------------------------------------

HEADER = "Date,Description,Amount\n"


def csv_bytes(*lines: str) -> bytes:
    return (HEADER + "\n".join(lines) + "\n").encode()


def test_overlapping_statement_stores_only_new_rows(auth_client, user):
    first = preview(
        auth_client,
        "a.csv",
        csv_bytes("2026-03-01,Rent,-900", "2026-03-02,Coffee,-3.50", "2026-03-03,Salary,2500"),
    )
    commit(auth_client, first["id"])
    second = preview(
        auth_client,
        "b.csv",
        csv_bytes("2026-03-02,Coffee,-3.50", "2026-03-03,Salary,2500", "2026-03-04,Bus,-2.40"),
    )
    assert (second["new_rows"], second["duplicate_rows"]) == (1, 2)
    assert [r["duplicate"] for r in second["rows"]] == [True, True, False]
    commit(auth_client, second["id"])
    assert stored(user) == 4


def test_identical_rows_in_one_file_all_survive_and_count_per_occurrence(auth_client, user):
    two = csv_bytes("2026-03-02,Coffee,-3.50", "2026-03-02, coffee ,-3.50")
    batch = preview(auth_client, "a.csv", two)
    assert batch["new_rows"] == 2
    commit(auth_client, batch["id"])
    assert Expense.objects.filter(user=user).count() == 2
    three = csv_bytes(
        "2026-03-02,Coffee,-3.50", "2026-03-02,Coffee,-3.50", "2026-03-02,COFFEE,-3.50"
    )
    batch = preview(auth_client, "b.csv", three)
    assert (batch["new_rows"], batch["duplicate_rows"]) == (1, 2)
    commit(auth_client, batch["id"])
    assert Expense.objects.filter(user=user).count() == 3


OFX = """OFXHEADER:100
DATA:OFXSGML
VERSION:102
SECURITY:NONE
ENCODING:USASCII
CHARSET:1252
COMPRESSION:NONE
OLDFILEUID:NONE
NEWFILEUID:NONE

<OFX><SIGNONMSGSRSV1><SONRS><STATUS><CODE>0<SEVERITY>INFO</STATUS><DTSERVER>20260305<LANGUAGE>ENG</SONRS></SIGNONMSGSRSV1>
<BANKMSGSRSV1><STMTTRNRS><TRNUID>1<STATUS><CODE>0<SEVERITY>INFO</STATUS>
<STMTRS><CURDEF>USD<BANKACCTFROM><BANKID>1<ACCTID>2<ACCTTYPE>CHECKING</BANKACCTFROM>
<BANKTRANLIST><DTSTART>20260301<DTEND>20260305
{rows}
</BANKTRANLIST><LEDGERBAL><BALAMT>0<DTASOF>20260305</LEDGERBAL></STMTRS></STMTTRNRS></BANKMSGSRSV1></OFX>
"""


def ofx(*fitids: str) -> bytes:
    rows = "".join(
        f"<STMTTRN><TRNTYPE>DEBIT<DTPOSTED>20260302<TRNAMT>-3.50<FITID>{f}<NAME>Coffee</STMTTRN>\n"
        for f in fitids
    )
    return OFX.format(rows=rows).encode()


def test_fitid_decides_when_present(auth_client, user):
    batch = preview(auth_client, "s.ofx", ofx("A1", "A2"))
    assert batch["new_rows"] == 2  # identical rows, different FITIDs: both genuine
    commit(auth_client, batch["id"])
    again = preview(auth_client, "s.ofx", ofx("A1", "A2", "A3"))
    assert [r["duplicate"] for r in again["rows"]] == [True, True, False]
    assert Expense.objects.filter(user=user, import_fitid="A1").count() == 1


# --- rules, errors, currencies ------------------------------------------------------------------


def test_rules_suggest_at_preview_and_categorise_at_commit(auth_client, user):
    food = CategoryFactory(user=user, name="Cafe")
    RuleFactory(user=user, value="coffee", category=food)
    batch = preview(
        auth_client, "a.csv", csv_bytes("2026-03-02,Coffee shop,-3.50", "2026-03-03,Salary,2500")
    )
    assert batch["rows"][0]["suggested_category"] == food.id
    assert batch["rows"][0]["suggested_category_name"] == "Cafe"
    assert batch["rows"][1]["suggested_category"] is None
    commit(auth_client, batch["id"])
    assert Expense.objects.get(user=user).category == food
    income = Income.objects.get(user=user)
    assert income.amount == Decimal("2500") and income.category is None


def test_rows_with_errors_block_commit_until_skipped(auth_client, user):
    batch = preview(
        auth_client,
        "a.csv",
        csv_bytes("2026-03-02,Coffee,-3.50", "2026-13-45,Broken,-1", "2026-03-03,Bus,abc"),
    )
    assert batch["total_rows"] == 1
    assert [e["line"] for e in batch["errors"]] == [3, 4]
    refused = commit(auth_client, batch["id"])
    assert refused.status_code == 400 and "skip_errors" in refused.json()
    assert stored(user) == 0
    done = commit(auth_client, batch["id"], skip_errors=True)
    assert done.status_code == 200 and done.json()["errors_skipped"] == 2
    assert stored(user) == 1


def test_missing_rate_is_a_row_error_and_file_currency_wins(auth_client, user):
    content = (
        b"Date,Description,Amount,Currency\n"
        b"2026-03-02,Croissant,-3.50,EUR\n2026-03-02,Bagel,-2.00,USD\n"
    )
    batch = preview(auth_client, "a.csv", content)
    assert [r["description"] for r in batch["rows"]] == ["Bagel"]
    assert batch["errors"] == [
        {"line": 2, "message": "No exchange rate for EUR->USD on or before 2026-03-02."}
    ]
    ExchangeRate.objects.create(base="EUR", quote="USD", date=date(2026, 1, 1), rate=Decimal("1.2"))
    batch = preview(auth_client, "a.csv", content)
    assert [r["currency"] for r in batch["rows"]] == ["EUR", "USD"]
    commit(auth_client, batch["id"])
    croissant = Expense.objects.get(user=user, description="Croissant")
    assert (croissant.currency, croissant.amount, croissant.base_amount) == (
        "EUR",
        Decimal("3.50"),
        Decimal("4.20"),
    )


def test_default_currency_applies_when_the_file_has_none(auth_client, user):
    ExchangeRate.objects.create(base="GBP", quote="USD", date=date(2026, 1, 1), rate=Decimal("2"))
    batch = preview(auth_client, "a.csv", csv_bytes("2026-03-02,Tea,-3.00"), default_currency="GBP")
    assert batch["default_currency"] == "GBP" and batch["rows"][0]["currency"] == "GBP"
    only_unrated = upload(
        auth_client, "a.csv", csv_bytes("2026-03-02,Tea,-3.00"), default_currency="CHF"
    )
    assert only_unrated.status_code == 400 and "file" in only_unrated.json()


@pytest.mark.parametrize(
    ("name", "content", "status"),
    [
        ("x.csv", b"", 400),
        ("notes.txt", b"hello world, this is not a statement at all", 415),
        ("pic.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, 415),
        ("data.json", b'{"date": "2026-01-01", "amount": 5}', 415),
        ("x.csv", b"Name,Colour\nApple,Red\nPear,Green\n", 400),
    ],
)
def test_unreadable_files_store_nothing(auth_client, user, name, content, status):
    response = upload(auth_client, name, content)
    assert response.status_code == status, response.content
    assert ImportBatch.objects.count() == 0 and stored(user) == 0


def test_explicit_format_that_does_not_fit_is_400(auth_client):
    response = upload(auth_client, "a.ofx", csv_bytes("2026-03-02,Coffee,-3.50"), format="ofx")
    assert response.status_code == 400 and "file" in response.json()


def test_oversized_file_is_413(auth_client, settings):
    settings.IMPORT_MAX_BYTES = 50
    response = upload(auth_client, "a.csv", csv_bytes(*["2026-03-02,Coffee,-3.50"] * 10))
    assert response.status_code == 413
    assert ImportBatch.objects.count() == 0


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("format", "pdf"),
        ("columns", "not json"),
        ("columns", '{"colour": 1}'),
        ("decimal_separator", ";"),
        ("default_currency", "XYZ"),
        ("skip_rows", "-1"),
        ("encoding", "klingon"),
    ],
)
def test_bad_options_are_400_naming_them(auth_client, field, value):
    response = upload(auth_client, "a.csv", csv_bytes("2026-03-02,Coffee,-3.50"), **{field: value})
    assert response.status_code == 400 and field in response.json()


def test_column_mapping_and_negate(auth_client, user):
    content = b"Booked;Text;Charge\n02.03.2026;Card payment;12,50\n"
    batch = preview(
        auth_client,
        "card.csv",
        content,
        columns='{"date": "Booked", "description": "Text", "amount": "Charge"}',
        negate="true",
        delimiter=";",
        decimal_separator=",",
        date_format="%d.%m.%Y",
    )
    assert batch["rows"][0]["kind"] == "expense" and batch["rows"][0]["amount"] == "12.50"


def test_xlsx_statement(auth_client, user):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["Date", "Description", "Amount"])
    sheet.append([date(2026, 3, 2), "Coffee", -3.5])
    sheet.append([date(2026, 3, 3), "Salary", 2500])
    buffer = io.BytesIO()
    book.save(buffer)
    batch = preview(auth_client, "s.xlsx", buffer.getvalue())
    assert batch["format"] == "xlsx" and batch["total_rows"] == 2
    commit(auth_client, batch["id"])
    assert signed_total(user) == Decimal("2496.50")


# --- lifecycle and isolation ---------------------------------------------------------------------


def test_commit_twice_is_409_and_undo_removes_the_records(auth_client, user):
    batch = preview(
        auth_client, "a.csv", csv_bytes("2026-03-01,Rent,-900", "2026-03-03,Salary,2500")
    )
    assert commit(auth_client, batch["id"]).status_code == 200
    again = commit(auth_client, batch["id"])
    assert again.status_code == 409 and again.json()["code"] == "already_committed"
    manual = Expense.objects.create(
        user=user,
        amount=Decimal("1"),
        currency="USD",
        base_amount=Decimal("1"),
        date=date(2026, 3, 1),
        description="cash",
    )
    undone = auth_client.delete(f"{URL}{batch['id']}/")
    assert undone.status_code == 200 and undone.json() == {"expenses": 1, "incomes": 1}
    assert (
        list(Expense.objects.filter(user=user)) == [manual]
        and not Income.objects.filter(user=user).exists()
    )
    assert auth_client.get(f"{URL}{batch['id']}/").status_code == 404
    # after undo, the same file imports again in full
    assert (
        preview(auth_client, "a.csv", csv_bytes("2026-03-01,Rent,-900", "2026-03-03,Salary,2500"))[
            "new_rows"
        ]
        == 2
    )


def test_list_and_other_users_batches_are_404(auth_client, other_client, user):
    batch = preview(auth_client, "a.csv", csv_bytes("2026-03-01,Rent,-900"))
    listed = auth_client.get(URL).json()
    assert [b["id"] for b in listed["results"]] == [batch["id"]] and "rows" not in listed[
        "results"
    ][0]
    assert other_client.get(URL).json()["count"] == 0
    assert other_client.get(f"{URL}{batch['id']}/").status_code == 404
    assert commit(other_client, batch["id"]).status_code == 404
    assert other_client.delete(f"{URL}{batch['id']}/").status_code == 404
    assert ImportBatch.objects.filter(pk=batch["id"], status="preview").exists()


def test_duplicates_are_per_user(auth_client, other_client, user, other_user):
    content = csv_bytes("2026-03-01,Rent,-900")
    commit(auth_client, preview(auth_client, "a.csv", content)["id"])
    theirs = preview(other_client, "a.csv", content)
    assert theirs["new_rows"] == 1


def test_unauthenticated_is_401(api_client):
    assert upload(api_client, "a.csv", csv_bytes("2026-03-01,Rent,-900")).status_code == 401
