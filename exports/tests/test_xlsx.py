"""XLSX export (SPEC §11): sheets Expenses, Income and Summary, numbers and dates typed."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from io import BytesIO
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from categories.tests.factories import CategoryFactory, TagFactory
from core.dates import user_today
from expenses.models import Expense
from expenses.tests.factories import ExpenseFactory
from exports.xlsx_export import XLSX_CONTENT_TYPE, build_workbook
from income.models import Income
from income.tests.factories import IncomeFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/export/transactions.xlsx"


def workbook(response):
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == XLSX_CONTENT_TYPE
    return load_workbook(BytesIO(b"".join(response.streaming_content)))


def records(sheet) -> list[dict]:
    header, *rows = sheet.iter_rows(values_only=True)
    return [dict(zip(header, row, strict=True)) for row in rows]


def summary(sheet) -> dict[str, tuple]:
    return {row[0]: row[1:] for row in sheet.iter_rows(values_only=True) if row and row[0]}


def test_three_sheets_with_typed_cells(auth_client, user, ledger):
    response = auth_client.get(URL, HTTP_ACCEPT=XLSX_CONTENT_TYPE)

    today = user_today(user)
    assert response["Content-Disposition"] == (f'attachment; filename="transactions-{today}.xlsx"')
    book = workbook(response)
    assert book.sheetnames == ["Expenses", "Income", "Summary"]
    expenses = records(book["Expenses"])
    assert [row["description"] for row in expenses] == [
        "April groceries",
        "Sushi in Tokyo",
        "Latte",
        "Lunch with team",
        "March rent",
    ]
    lunch = expenses[3]
    assert lunch["id"] == ledger["lunch"].id
    assert lunch["date"] == datetime(2026, 3, 5)
    assert lunch["amount"] == 12.5 and lunch["base_amount"] == 12.5
    assert lunch["category"] == "Food" and lunch["merchant"] == "Corner Bistro"
    assert lunch["payment_method"] == "card" and lunch["tags"] == "trip;work"
    assert lunch["notes"] == "split, 3 ways" and lunch["currency"] == "USD"
    created = ledger["lunch"].created_at
    assert lunch["created_at (UTC)"] == created.replace(tzinfo=None, microsecond=0)

    sheet = book["Expenses"]
    date_cell, amount_cell = sheet["B5"], sheet["D5"]
    assert date_cell.is_date and date_cell.number_format == "yyyy-mm-dd"
    assert amount_cell.data_type == "n" and amount_cell.number_format == "#,##0.00"
    sushi = sheet["D3"]
    assert sushi.value == 1500 and sushi.number_format == "#,##0"
    assert sheet["F3"].value == 10.01 and sheet["F3"].number_format == "#,##0.00"


def test_income_sheet_mirrors_the_income_list(auth_client, ledger):
    income = records(workbook(auth_client.get(URL))["Income"])

    assert [row["description"] for row in income] == ["Birthday money", "March salary"]
    assert "payment_method" not in income[0]
    assert income[1]["source"] == "Acme Corp" and income[1]["amount"] == 3000
    assert income[1]["category"] == "Salary" and income[1]["tags"] == "work"


def test_summary_totals_by_the_database(auth_client, user, ledger):
    book = workbook(auth_client.get(URL))
    figures = summary(book["Summary"])

    assert figures["Currency"][0] == "USD"
    assert figures["Period start"][0] == datetime(2026, 3, 1)
    assert figures["Period end"][0] == datetime(2026, 4, 3)
    # 12.50 + 4.75 + 10.01 (the yen expense in USD) + 900 + 55
    assert figures["Expenses"][:2] == (982.26, 5)
    assert figures["Income"][:2] == (3050, 2)
    assert figures["Net"][0] == 2067.74
    rows = list(book["Summary"].iter_rows(values_only=True))
    start = rows.index(("Expenses by category", "Total", "Count"))
    assert rows[start + 1 : start + 5] == [
        ("Rent", 900, 1),
        ("Uncategorized", 55, 1),
        ("Food", 22.51, 2),
        ("Coffee", 4.75, 1),
    ]
    income_start = rows.index(("Income by category", "Total", "Count"))
    assert rows[income_start + 1 : income_start + 3] == [
        ("Salary", 3000, 1),
        ("Uncategorized", 50, 1),
    ]
    net_cell = next(c for c in book["Summary"]["B"] if c.value == 2067.74)
    assert net_cell.number_format == "#,##0.00"


def test_filters_apply_to_both_sheets_and_the_summary(auth_client, ledger):
    book = workbook(auth_client.get(URL, {"month": "2026-03", "search": "a"}))

    expenses = [row["description"] for row in records(book["Expenses"])]
    income = [row["description"] for row in records(book["Income"])]
    assert expenses == ["Latte", "Lunch with team", "March rent"]
    assert income == ["March salary"]
    figures = summary(book["Summary"])
    assert figures["Period start"][0] == datetime(2026, 3, 1)
    assert figures["Period end"][0] == datetime(2026, 3, 31)
    assert figures["Filters"][0] == "month=2026-03&search=a"
    assert figures["Expenses"][:2] == (917.25, 3)
    assert figures["Income"][:2] == (3000, 1)


def test_kind_specific_filters_only_narrow_their_sheet(auth_client, ledger):
    book = workbook(auth_client.get(URL, {"payment_method": "cash", "source": "acme"}))

    assert [row["description"] for row in records(book["Expenses"])] == ["Latte"]
    assert [row["description"] for row in records(book["Income"])] == ["March salary"]


def test_empty_export_still_has_headers_and_zero_totals(auth_client):
    book = workbook(auth_client.get(URL))

    assert book.sheetnames == ["Expenses", "Income", "Summary"]
    assert records(book["Expenses"]) == [] and records(book["Income"]) == []
    figures = summary(book["Summary"])
    assert figures["Expenses"][:2] == (0, 0) and figures["Net"][0] == 0
    assert figures["Period start"][0] is None


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ({"month": "March"}, "month"),
        ({"min_amount": "x"}, "min_amount"),
        ({"ordering": "notes"}, "ordering"),
        ({"payment_method": "barter"}, "payment_method"),
    ],
)
def test_bad_filter_is_a_json_400(auth_client, query, parameter):
    response = auth_client.get(URL, query, HTTP_ACCEPT=XLSX_CONTENT_TYPE)

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert parameter in response.json()


def test_text_cells_are_neutralised_and_never_formulas(auth_client, user):
    ExpenseFactory(user=user, description="=1+1", merchant="#N/A", notes="\x07=bell ring")

    sheet = workbook(auth_client.get(URL))["Expenses"]
    row = records(sheet)[0]

    assert row["description"] == "'=1+1" and sheet["C2"].data_type == "s"
    assert row["merchant"] == "'#N/A" and sheet["J2"].data_type == "s"
    assert row["notes"] == "'=bell ring"


def test_other_users_records_never_appear(auth_client, other_user, ledger):
    ExpenseFactory(user=other_user, description="Not yours", amount=Decimal("77"))
    IncomeFactory(user=other_user, description="Not yours", date=date(2026, 3, 2))

    book = workbook(auth_client.get(URL))

    for name in ("Expenses", "Income"):
        assert "Not yours" not in [row["description"] for row in records(book[name])]
    assert summary(book["Summary"])["Expenses"][:2] == (982.26, 5)


def test_unauthenticated_is_a_401(api_client):
    response = api_client.get(URL)

    assert response.status_code == 401 and response.json()["code"] == "not_authenticated"


def test_a_full_sheet_continues_on_the_next(auth_client, user, monkeypatch):
    monkeypatch.setattr("exports.xlsx_export.MAX_SHEET_ROWS", 3)
    ExpenseFactory.create_batch(5, user=user)

    book = workbook(auth_client.get(URL))

    assert book.sheetnames == ["Expenses", "Expenses (2)", "Expenses (3)", "Income", "Summary"]
    counts = [len(records(book[name])) for name in book.sheetnames[:3]]
    assert counts == [2, 2, 1]


# --- streaming -----------------------------------------------------------------------------------


def _export_with_queries(client) -> tuple[int, Any]:
    with CaptureQueriesContext(connection) as queries:
        book = workbook(client.get(URL))
    return len(queries), book


def test_query_count_does_not_grow_with_rows(auth_client, user):
    tags = [TagFactory(user=user) for _ in range(3)]

    def add(count: int) -> None:
        for factory in (ExpenseFactory, IncomeFactory):
            for record in factory.create_batch(count, user=user):
                record.tags.set(tags[: record.id % 4])

    add(4)
    few, book = _export_with_queries(auth_client)
    assert len(records(book["Expenses"])) == 4 and len(records(book["Income"])) == 4
    add(56)
    many, book = _export_with_queries(auth_client)
    assert len(records(book["Expenses"])) == 60 and len(records(book["Income"])) == 60

    assert few == many


def test_records_are_read_chunk_by_chunk_never_one_query_per_row(user):
    tag = TagFactory(user=user, name="x")
    for index, expense in enumerate(ExpenseFactory.create_batch(7, user=user)):
        if index % 2:
            expense.tags.set([tag])
    IncomeFactory.create_batch(2, user=user)
    target = BytesIO()

    with CaptureQueriesContext(connection) as queries:
        build_workbook(
            target,
            expenses=Expense.objects.filter(user=user).order_by("id"),
            incomes=Income.objects.filter(user=user).order_by("id"),
            book=user.personal_book,
            user=user,
            period=(None, None),
            filters="",
            chunk_size=3,
        )

    # Expenses: the rows, then the tags of 3 chunks (3, 3, 1); income: the rows and one
    # chunk's tags; then totals and categories for each kind.
    assert len(queries) == (1 + 3) + (1 + 1) + 2 * 2
    sheet = load_workbook(target)["Expenses"]
    assert [row["tags"] for row in records(sheet)] == [None, "x", None, "x", None, "x", None]


def test_values_round_trip_exactly(auth_client, user):
    """Dates (down to Excel's 1900 oddity), amounts to the last minor unit, unicode and
    markup as typed, spreadsheet-active text neutralised, XML-illegal characters dropped."""
    coffee = CategoryFactory(user=user, name="Café & <Co> ☕")
    cases = [
        # date, amount, currency, base_amount, description, merchant, notes
        (date(1900, 1, 1), "0.01", "USD", "0.01", "first day", "", ""),
        (date(1900, 2, 28), "999999999998.99", "USD", "999999999998.99", "big", "", ""),
        (date(1900, 3, 1), "1500", "JPY", "10.01", "yen", "", ""),
        (date(2026, 3, 5), "1.234", "KWD", "4.02", "Zürich 東京 🚀 مرحبا", "Ünïcødé", ""),
        (date(2026, 3, 6), "12.5", "USD", "12.50", "a & b <c> \"d\" 'e'", "", "  two  spaces  "),
        (date(2026, 3, 7), "3.10", "USD", "3.10", "+cmd|' /C calc'!A0", "@SUM(1)", "-2+3"),
        (date(2026, 3, 8), "4", "USD", "4.00", "tab\there", "#REF!", "\rCR first"),
        (date(2026, 3, 9), "5", "USD", "5.00", "soh\x01 vt\x0b and bell\x07", "", "line 1\nline 2"),
    ]
    for day, amount, currency, base_amount, description, merchant, notes in cases:
        ExpenseFactory(
            user=user,
            date=day,
            amount=Decimal(amount),
            currency=currency,
            base_amount=Decimal(base_amount),
            description=description,
            merchant=merchant,
            notes=notes,
            category=coffee,
        )
    long_notes = ExpenseFactory(user=user, date=date(2026, 3, 10), notes="n" * 40_000)
    moment = datetime(2026, 3, 5, 9, 30, 15, 750_000, tzinfo=UTC)
    Expense.objects.filter(user=user).update(created_at=moment)

    sheet = workbook(auth_client.get(URL, {"ordering": "date"}))["Expenses"]
    rows = records(sheet)

    assert [row["date"].date() for row in rows[:8]] == [case[0] for case in cases]
    assert [row["amount"] for row in rows[:8]] == [
        0.01,
        999999999998.99,
        1500,
        1.234,
        12.5,
        3.1,
        4,
        5,
    ]
    assert [sheet[f"D{n}"].number_format for n in range(2, 6)] == [
        "#,##0.00",
        "#,##0.00",
        "#,##0",
        "#,##0.000",
    ]
    assert [row["base_amount"] for row in rows[:4]] == [0.01, 999999999998.99, 10.01, 4.02]
    assert {row["created_at (UTC)"] for row in rows} == {datetime(2026, 3, 5, 9, 30, 15)}
    assert rows[3]["description"] == "Zürich 東京 🚀 مرحبا" and rows[3]["merchant"] == "Ünïcødé"
    assert rows[3]["category"] == "Café & <Co> ☕"
    assert rows[4]["description"] == "a & b <c> \"d\" 'e'"
    assert rows[4]["notes"] == "  two  spaces  "
    assert rows[5]["description"] == "'+cmd|' /C calc'!A0"
    assert rows[5]["merchant"] == "'@SUM(1)" and rows[5]["notes"] == "'-2+3"
    assert rows[6]["description"] == "tab\there" and rows[6]["merchant"] == "'#REF!"
    assert rows[6]["notes"] == "'\rCR first".replace("\r", "\n")  # XML reads a CR as LF
    assert rows[7]["description"] == "soh vt and bell"
    assert rows[7]["notes"] == "line 1\nline 2"
    assert rows[8]["id"] == long_notes.id and rows[8]["notes"] == "n" * 32_767
    text_cells = [sheet[f"{column}{n}"] for column in "CIJM" for n in range(2, 11)]
    assert {cell.data_type for cell in text_cells if cell.value is not None} == {"s"}


def test_a_sheet_past_the_part_size_continues_on_the_next(auth_client, user, monkeypatch):
    # Each record row is ~600 bytes of XML and a sheet's header ~1.5 KB: about 3 rows a sheet.
    monkeypatch.setattr("exports.xlsx_writer.MAX_PART_BYTES", 3_500)
    created = [
        ExpenseFactory(user=user, date=date(2026, 3, day), notes="x" * 50) for day in range(1, 11)
    ]

    book = workbook(auth_client.get(URL, {"ordering": "date"}))

    titles = [name for name in book.sheetnames if name.startswith("Expenses")]
    assert len(titles) > 2 and titles[:2] == ["Expenses", "Expenses (2)"]
    ids = [row["id"] for title in titles for row in records(book[title])]
    assert ids == [expense.id for expense in created]
    assert book.sheetnames[len(titles) :] == ["Income", "Summary"]


def test_repeated_texts_stay_right_when_their_cache_is_emptied(auth_client, user, monkeypatch):
    monkeypatch.setattr("exports.xlsx_export.TEXT_CACHE_SIZE", 2)
    names = ["Alpha", "=Beta", "Gamma & co", "Alpha", "Delta", "=Beta"]
    for index, name in enumerate(names):
        ExpenseFactory(user=user, merchant=name, date=date(2026, 3, index + 1))

    rows = records(workbook(auth_client.get(URL, {"ordering": "date"}))["Expenses"])

    assert [row["merchant"] for row in rows] == [
        "Alpha",
        "'=Beta",
        "Gamma & co",
        "Alpha",
        "Delta",
        "'=Beta",
    ]
