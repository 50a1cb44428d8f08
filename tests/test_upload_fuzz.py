"""Malformed uploads never cause a 500 or a partial write (issue 8, upload fuzzing).

Hypothesis generates statement files (random bytes, CSV-, OFX- and QIF-shaped text,
and real statements with bytes flipped, cut or inserted) and backup documents
(random JSON and valid backups with leaves replaced). Every answer must be a JSON
4xx or success; a rejected upload stores nothing, and an accepted statement commits
exactly what its preview promised.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl.utils import get_column_letter

from budgets.models import Budget
from categories.models import Category
from expenses.models import Expense
from imports.models import ImportBatch
from imports.tests.xlsx_builder import number_cell, statement_rows, xlsx
from income.models import Income
from tests.fuzz_depth import examples

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "statements"
SAMPLES = (
    sorted(p.read_bytes() for p in FIXTURES.glob("*.*") if p.suffix.lower() != ".md")
    if FIXTURES.is_dir()
    else []
)
FUZZ = settings(
    max_examples=examples(80),
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

csv_text = st.text(
    alphabet=st.sampled_from(list(',;\t"\n\r0123456789-+.()/ €éDateAmountDescription')),
    max_size=400,
)
ofx_text = st.lists(
    st.sampled_from(
        [
            "OFXHEADER:100\n",
            "DATA:OFXSGML\n",
            "<OFX>",
            "</OFX>",
            "<STMTTRN>",
            "</STMTTRN>",
            "<TRNAMT>-12.5",
            "<TRNAMT>abc",
            "<DTPOSTED>20260301",
            "<DTPOSTED>2026",
            "<FITID>1",
            "<NAME>Café & co",
            "<CURDEF>EUR",
            "<STMTRS>",
            "</STMTRS>",
            "<BANKTRANLIST>",
            "<!DOCTYPE x [<!ENTITY a 'b'>]>",
            "\n",
            "<?xml version='1.0'?>",
        ]
    ),
    max_size=40,
).map("".join)
qif_text = st.lists(
    st.sampled_from(
        [
            "!Type:Bank\n",
            "!Type:CCard\n",
            "D03/01/2026\n",
            "D31/31/99\n",
            "T-12.50\n",
            "Tabc\n",
            "PPayee\n",
            "MMemo\n",
            "^\n",
            "LCategory\n",
            "D1/ 2'24\n",
            "U1,234.56\n",
        ]
    ),
    max_size=40,
).map("".join)


@st.composite
def mutated_sample(draw):
    content = bytearray(draw(st.sampled_from(SAMPLES)))
    for _ in range(draw(st.integers(1, 3))):
        position = draw(st.integers(0, max(0, len(content) - 1)))
        action = draw(st.sampled_from(["flip", "cut", "insert"]))
        if action == "flip" and content:
            content[position] = draw(st.integers(0, 255))
        elif action == "cut":
            del content[position : position + draw(st.integers(1, 40))]
        else:
            content[position:position] = draw(st.binary(min_size=1, max_size=20))
    return bytes(content)


csv_cell = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["2026-03-01", "01/03/2026", "-12.50", "1.234,56", "(3.00)", "EUR", ""]),
)
structured_csv = st.lists(
    st.tuples(
        st.sampled_from(["2026-03-01", "2026-02-30", "03/01/2026", "", "x"]),
        csv_cell,
        st.sampled_from(["-12.50", "40", "0", "abc", "", "-0.001", "999999999999999"]),
    ),
    min_size=1,
    max_size=8,
).map(
    lambda rows: (
        "Date,Description,Amount\n" + "\n".join(",".join(f'"{c}"' for c in r) for r in rows)
    ).encode()
)

statement_bytes = st.one_of(
    st.binary(max_size=600),
    structured_csv,
    csv_text.map(str.encode),
    ofx_text.map(str.encode),
    qif_text.map(lambda t: t.encode("cp1252", "replace")),
    *([mutated_sample()] if SAMPLES else []),
)


def ledger_count(user) -> int:
    return Expense.objects.filter(user=user).count() + Income.objects.filter(user=user).count()


@FUZZ
@given(content=statement_bytes, fmt=st.sampled_from(["auto", "csv", "ofx", "qfx", "qif", "xlsx"]))
def test_malformed_statements_never_500_or_half_write(auth_client, user, content, fmt):
    batches, stored = ImportBatch.objects.filter(user=user).count(), ledger_count(user)
    file = SimpleUploadedFile("statement.dat", content)
    response = auth_client.post(
        "/api/v1/imports/", {"file": file, "format": fmt}, format="multipart"
    )
    assert response.status_code in (201, 400, 413, 415), response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    if response.status_code != 201:
        assert ImportBatch.objects.filter(user=user).count() == batches
        assert ledger_count(user) == stored
        return
    batch = response.json()
    committed = auth_client.post(
        f"/api/v1/imports/{batch['id']}/commit/", {"skip_errors": True}, format="json"
    )
    assert committed.status_code == 200, committed.content[:300]
    counts = committed.json()
    assert counts["expenses"] + counts["incomes"] == ledger_count(user) - stored
    assert ledger_count(user) - stored <= batch["total_rows"]


json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**20), 10**20),
    st.text(max_size=20),
    st.floats(allow_nan=False),
)
json_value = st.recursive(
    json_leaf,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)

VALID_BACKUP = {
    "format": "budget-tracker-backup",
    "version": 1,
    "user": {"base_currency": "USD"},
    "categories": [
        {"key": "c1", "name": "Fuzz", "kind": "expense", "parent": None, "icon": "", "color": ""}
    ],
    "expenses": [
        {
            "amount": "12.50",
            "currency": "USD",
            "base_amount": "12.50",
            "exchange_rate": "1",
            "date": "2026-03-01",
            "description": "Lunch",
            "category": {"key": "c1"},
            "payment_method": "card",
            "merchant": "",
            "notes": "",
            "tags": ["x"],
            "has_receipt": False,
        }
    ],
}


@st.composite
def mutated_backup(draw):
    document = json.loads(json.dumps(VALID_BACKUP))
    paths = [
        ("format",),
        ("version",),
        ("user", "base_currency"),
        ("categories", 0, "kind"),
        ("categories", 0, "name"),
        ("expenses", 0, "amount"),
        ("expenses", 0, "currency"),
        ("expenses", 0, "date"),
        ("expenses", 0, "category"),
        ("expenses", 0, "tags"),
        ("expenses", 0, "description"),
    ]
    for path in draw(st.lists(st.sampled_from(paths), min_size=0, max_size=3)):
        target = document
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = draw(json_value)
    return document


@FUZZ
@given(document=st.one_of(json_value, mutated_backup()), mode=st.sampled_from(["merge", "replace"]))
def test_malformed_backups_never_500_or_half_write(auth_client, user, document, mode):
    before = (
        ledger_count(user),
        Category.objects.filter(user=user).count(),
        Budget.objects.filter(user=user).count(),
    )
    file = SimpleUploadedFile("backup.json", json.dumps(document).encode())
    response = auth_client.post(
        "/api/v1/import/backup/", {"file": file, "mode": mode}, format="multipart"
    )
    assert response.status_code in (200, 201, 400, 409, 413, 415), response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    if response.status_code >= 400:
        after = (
            ledger_count(user),
            Category.objects.filter(user=user).count(),
            Budget.objects.filter(user=user).count(),
        )
        assert after == before


# --- hostile amount cells and XLSX shapes (issue 11) -------------------------------------

digits = st.text(alphabet="0123456789", min_size=1, max_size=6)
hostile_amount = st.one_of(
    st.tuples(digits, st.sampled_from(["e", "E", "E+", "e-"]), st.integers(0, 10**6)).map(
        lambda t: f"-{t[0]}{t[1]}{t[2]}"
    ),
    st.tuples(digits, st.sampled_from(["x", "_", "O", "l", "k"]), digits).map("".join),
    st.text(alphabet="\u0660\u0661\u0662\u06f3\u0966\uff11\uff12", min_size=1, max_size=5),
    st.integers(25, 60).map(lambda n: "1" * n),
)


@FUZZ
@given(cells=st.lists(hostile_amount, min_size=1, max_size=5))
def test_hostile_amount_cells_are_never_read_as_numbers(auth_client, user, cells):
    lines = ["Date,Description,Amount"] + [f'2026-03-01,Row {i},"{c}"' for i, c in enumerate(cells)]
    file = SimpleUploadedFile("s.csv", ("\n".join(lines) + "\n").encode())
    response = auth_client.post("/api/v1/imports/", {"file": file}, format="multipart")

    # every row is an error, so there is nothing to preview
    assert response.status_code == 400, response.content[:300]
    assert "could not be read" in response.json()["file"][0]
    assert not ImportBatch.objects.filter(user=user).exists()


@st.composite
def hostile_xlsx(draw):

    rows = [statement_rows(draw(st.integers(0, 3)))]
    for _ in range(draw(st.integers(0, 30))):
        row = draw(st.integers(5, 1_048_576))
        column = get_column_letter(draw(st.integers(1, 16_384)))
        empty = draw(st.booleans())
        cell = f'<c r="{column}{row}" s="1"/>' if empty else number_cell(f"{column}{row}", "1")
        rows.append(f'<row r="{row}">{cell}</row>')
    dimension = draw(st.sampled_from([None, "A1", "A1:C5", "A1:XFD1048576", "ZZZ", "A1:C999999"]))
    return xlsx("".join(rows), dimension=dimension)


@FUZZ
@given(content=hostile_xlsx())
def test_hostile_xlsx_shapes_are_answered_without_a_500(auth_client, user, content):
    file = SimpleUploadedFile("s.xlsx", content)
    response = auth_client.post("/api/v1/imports/", {"file": file}, format="multipart")

    assert response.status_code in (201, 400), response.content[:300]
    assert response["Content-Type"].startswith("application/json")
