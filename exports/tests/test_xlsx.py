"""XLSX export (SPEC §11): sheets Expenses, Income and Summary, numbers and dates typed."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from io import BytesIO

import pytest
from openpyxl import load_workbook

from core.dates import user_today
from expenses.tests.factories import ExpenseFactory
from exports.xlsx_export import XLSX_CONTENT_TYPE
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
