"""CSV exports (SPEC §11): the list's filters, streamed rows, formula-injection safety."""

from __future__ import annotations

import csv
import re
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from categories.tests.factories import CategoryFactory, TagFactory
from core.dates import user_today
from core.money import format_amount
from expenses.models import Expense
from expenses.tests.factories import ExpenseFactory
from exports.csv_export import csv_stream
from exports.formatting import amount_text
from exports.selectors import EXPENSE
from income.tests.factories import IncomeFactory

from .conftest import as_dicts, read_csv

pytestmark = pytest.mark.django_db

EXPENSES = "/api/v1/export/expenses.csv"
INCOMES = "/api/v1/export/incomes.csv"

EXPENSE_HEADER = [
    "id",
    "date",
    "description",
    "amount",
    "currency",
    "base_amount",
    "base_currency",
    "exchange_rate",
    "category",
    "merchant",
    "payment_method",
    "tags",
    "notes",
    "created_at",
]
INCOME_HEADER = [
    "id",
    "date",
    "description",
    "amount",
    "currency",
    "base_amount",
    "base_currency",
    "exchange_rate",
    "category",
    "source",
    "tags",
    "notes",
    "created_at",
]


def descriptions(response) -> list[str]:
    return [row["description"] for row in as_dicts(read_csv(response))]


# --- shape ---------------------------------------------------------------------------------------


def test_header_then_one_row_per_expense_newest_first(auth_client, user, ledger):
    response = auth_client.get(EXPENSES)

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    today = user_today(user)
    assert response["Content-Disposition"] == f'attachment; filename="expenses-{today}.csv"'
    rows = read_csv(response)
    assert rows[0] == EXPENSE_HEADER
    assert [row[2] for row in rows[1:]] == [
        "April groceries",
        "Sushi in Tokyo",
        "Latte",
        "Lunch with team",
        "March rent",
    ]
    lunch = ledger["lunch"]
    assert as_dicts(rows)[3] == {
        "id": str(lunch.id),
        "date": "2026-03-05",
        "description": "Lunch with team",
        "amount": "12.50",
        "currency": "USD",
        "base_amount": "12.50",
        "base_currency": "USD",
        "exchange_rate": "1",
        "category": "Food",
        "merchant": "Corner Bistro",
        "payment_method": "card",
        "tags": "trip;work",
        "notes": "split, 3 ways",
        "created_at": rows[4][13],
    }
    created = datetime.strptime(rows[4][13], "%Y-%m-%dT%H:%M:%S.%f%z")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", rows[4][13])
    assert abs(created - lunch.created_at) < timedelta(milliseconds=1)


def test_uncategorised_untagged_record_has_empty_cells(auth_client, ledger):
    april = as_dicts(read_csv(auth_client.get(EXPENSES)))[0]

    assert april["description"] == "April groceries"
    assert april["category"] == april["tags"] == april["merchant"] == april["notes"] == ""


def test_amounts_have_their_currencys_minor_units(auth_client, ledger):
    rows = {row["description"]: row for row in as_dicts(read_csv(auth_client.get(EXPENSES)))}

    assert rows["Sushi in Tokyo"]["amount"] == "1500"
    assert rows["Sushi in Tokyo"]["currency"] == "JPY"
    assert rows["Sushi in Tokyo"]["base_amount"] == "10.01"
    assert rows["Sushi in Tokyo"]["base_currency"] == "USD"
    assert rows["Sushi in Tokyo"]["exchange_rate"] == "0.006673333333"
    assert rows["Latte"]["amount"] == "4.75"
    assert rows["March rent"]["amount"] == "900.00"


@pytest.mark.parametrize(
    ("amount", "currency"),
    [
        ("12.5", "USD"),
        ("0.005", "USD"),
        ("1500", "JPY"),
        ("1499.5", "JPY"),
        ("1.25", "KWD"),
        ("999999999999", "EUR"),
        ("7", "XXX"),
    ],
)
def test_fast_amount_text_is_format_amount(amount, currency):
    assert amount_text(Decimal(amount), currency) == format_amount(Decimal(amount), currency)


# --- the list's filters, search and ordering ----------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"month": "2026-04"}, ["April groceries"]),
        ({"start_date": "2026-03-05", "end_date": "2026-03-09"}, ["Latte", "Lunch with team"]),
        ({"search": "TOKYO"}, ["Sushi in Tokyo"]),
        ({"search": "bistro"}, ["Lunch with team"]),
        ({"min_amount": "100"}, ["Sushi in Tokyo", "March rent"]),
        ({"max_amount": "5"}, ["Latte"]),
        ({"tag": "TRIP"}, ["Lunch with team"]),
        ({"uncategorized": "true"}, ["April groceries"]),
        ({"payment_method": "cash"}, ["Latte"]),
        ({"currency": "JPY"}, ["Sushi in Tokyo"]),
        ({"merchant": "corner"}, ["Lunch with team"]),
    ],
)
def test_list_filters_apply(auth_client, ledger, query, expected):
    assert descriptions(auth_client.get(EXPENSES, query)) == expected


def test_category_filter_includes_subcategories(auth_client, ledger):
    food = descriptions(auth_client.get(EXPENSES, {"category": ledger["food"].id}))
    both = descriptions(
        auth_client.get(EXPENSES, {"category": [ledger["coffee"].id, ledger["rent"].id]})
    )

    assert food == ["Sushi in Tokyo", "Latte", "Lunch with team"]
    assert both == ["Latte", "March rent"]


def test_filters_combine_with_search_and_ordering(auth_client, ledger):
    response = auth_client.get(
        EXPENSES, {"month": "2026-03", "category": ledger["food"].id, "ordering": "amount"}
    )

    assert descriptions(response) == ["Latte", "Lunch with team", "Sushi in Tokyo"]


@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        ("amount", ["Latte", "Lunch with team", "April groceries", "March rent", "Sushi in Tokyo"]),
        (
            "-amount",
            ["Sushi in Tokyo", "March rent", "April groceries", "Lunch with team", "Latte"],
        ),
        ("date", ["March rent", "Lunch with team", "Latte", "Sushi in Tokyo", "April groceries"]),
    ],
)
def test_ordering_as_the_list(auth_client, ledger, ordering, expected):
    assert descriptions(auth_client.get(EXPENSES, {"ordering": ordering})) == expected


def test_same_rows_as_the_list(auth_client, ledger):
    query = {"month": "2026-03", "ordering": "-amount", "search": "a"}
    listed = auth_client.get("/api/v1/expenses/", query).json()["results"]

    assert descriptions(auth_client.get(EXPENSES, query)) == [r["description"] for r in listed]


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ({"min_amount": "lots"}, "min_amount"),
        ({"month": "2026-13"}, "month"),
        ({"start_date": "yesterday"}, "start_date"),
        ({"start_date": "2026-03-10", "end_date": "2026-03-01"}, "end_date"),
        ({"min_amount": "10", "max_amount": "5"}, "max_amount"),
        ({"ordering": "description"}, "ordering"),
        ({"payment_method": "cheque"}, "payment_method"),
        ({"uncategorized": "maybe"}, "uncategorized"),
        ({"category": "999999"}, "category"),
    ],
)
def test_bad_filter_is_a_json_400_naming_the_parameter(auth_client, ledger, query, parameter):
    response = auth_client.get(EXPENSES, query, HTTP_ACCEPT="text/csv")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert parameter in response.json()


def test_accept_header_naming_csv_or_anything_else_is_not_406(auth_client, ledger):
    for accept in ("text/csv", "application/json", "application/xml", "*/*"):
        response = auth_client.get(EXPENSES, HTTP_ACCEPT=accept)
        assert response.status_code == 200, accept
        assert len(read_csv(response)) == 6


# --- formula injection ---------------------------------------------------------------------------


@pytest.mark.parametrize("trigger", ["=", "+", "-", "@", "\t", "\r"])
def test_cells_starting_with_a_formula_trigger_are_neutralised(auth_client, user, trigger):
    payload = f'{trigger}HYPERLINK("http://evil.example","x")'
    record = ExpenseFactory(
        user=user, description=payload, merchant=payload, notes=payload, date=date(2026, 3, 1)
    )
    record.tags.set([TagFactory(user=user, name=payload)])

    row = as_dicts(read_csv(auth_client.get(EXPENSES)))[0]

    for column in ("description", "merchant", "notes", "tags"):
        assert row[column] == "'" + payload, column


def test_category_names_are_neutralised(auth_client, user):
    ExpenseFactory(user=user, category=CategoryFactory(user=user, name="=SUM(A1:A9)"))

    assert as_dicts(read_csv(auth_client.get(EXPENSES)))[0]["category"] == "'=SUM(A1:A9)"


@pytest.mark.parametrize(
    "text", ["Coffee - large", "a=b", "email me@example.com", "50% off", "'quoted'", "Café ☕"]
)
def test_ordinary_text_is_untouched(auth_client, user, text):
    ExpenseFactory(user=user, description=text, merchant=text, notes=text)

    row = as_dicts(read_csv(auth_client.get(EXPENSES)))[0]

    assert row["description"] == row["merchant"] == row["notes"] == text


# --- ownership and auth --------------------------------------------------------------------------


def test_other_users_records_never_appear(auth_client, user, other_user, ledger):
    ExpenseFactory(user=other_user, description="Not yours", date=date(2026, 3, 5))
    IncomeFactory(user=other_user, description="Not yours either", date=date(2026, 3, 5))

    assert "Not yours" not in descriptions(auth_client.get(EXPENSES))
    assert "Not yours" not in descriptions(auth_client.get(EXPENSES, {"search": "yours"}))
    assert "Not yours either" not in descriptions(auth_client.get(INCOMES))


def test_another_users_category_is_a_400(auth_client, other_user):
    theirs = CategoryFactory(user=other_user)

    response = auth_client.get(EXPENSES, {"category": theirs.id})

    assert response.status_code == 400 and "category" in response.json()


@pytest.mark.parametrize("url", [EXPENSES, INCOMES])
def test_unauthenticated_is_a_json_401(api_client, url):
    response = api_client.get(url, HTTP_ACCEPT="text/csv")

    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "not_authenticated"


# --- streaming -----------------------------------------------------------------------------------


def _count_queries(client, url) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
        rows = read_csv(response)
    return len(queries), len(rows) - 1


@pytest.mark.parametrize("url", [EXPENSES, INCOMES])
def test_query_count_does_not_grow_with_rows(auth_client, user, url):
    factory = ExpenseFactory if url == EXPENSES else IncomeFactory
    tags = [TagFactory(user=user) for _ in range(3)]

    def add(count: int) -> None:
        for record in factory.create_batch(count, user=user):
            record.tags.set(tags[: record.id % 4])

    add(5)
    few, rows = _count_queries(auth_client, url)
    assert rows == 5
    add(45)
    many, rows = _count_queries(auth_client, url)
    assert rows == 50

    assert few == many


def test_stream_reads_chunk_by_chunk_with_one_tag_query_each(user):
    tag = TagFactory(user=user, name="x")
    for index, record in enumerate(ExpenseFactory.create_batch(7, user=user)):
        if index % 2:
            record.tags.set([tag])
    records = Expense.objects.filter(user=user).order_by("id")

    with CaptureQueriesContext(connection) as queries:
        pieces = list(csv_stream(records, kind=EXPENSE, base_currency="USD", chunk_size=3))

    assert len(pieces) == 1 + 3  # header, then chunks of 3, 3 and 1
    assert len(queries) == 1 + 3  # the rows, then the tags of each chunk
    text = b"".join(pieces).decode("utf-8-sig")
    rows = as_dicts(list(csv.reader(text.splitlines())))
    assert [row["tags"] for row in rows] == ["", "x", "", "x", "", "x", ""]


# --- income mirrors expenses ---------------------------------------------------------------------


def test_income_export_mirrors_expenses(auth_client, user, ledger):
    response = auth_client.get(INCOMES)

    assert response["Content-Disposition"].startswith('attachment; filename="incomes-')
    rows = read_csv(response)
    assert rows[0] == INCOME_HEADER
    pay = as_dicts(rows)[1]
    assert pay["description"] == "March salary"
    assert pay["amount"] == "3000.00" and pay["base_amount"] == "3000.00"
    assert pay["category"] == "Salary" and pay["source"] == "Acme Corp" and pay["tags"] == "work"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, ["Birthday money", "March salary"]),
        ({"month": "2026-03"}, ["March salary"]),
        ({"source": "acme"}, ["March salary"]),
        ({"search": "birthday"}, ["Birthday money"]),
        ({"min_amount": "100"}, ["March salary"]),
        ({"ordering": "amount"}, ["Birthday money", "March salary"]),
        ({"tag": "work"}, ["March salary"]),
    ],
)
def test_income_filters_apply(auth_client, ledger, query, expected):
    assert descriptions(auth_client.get(INCOMES, query)) == expected


def test_income_category_filter_and_bad_value(auth_client, ledger):
    salary = descriptions(auth_client.get(INCOMES, {"category": ledger["salary"].id}))
    bad = auth_client.get(INCOMES, {"max_amount": "x"})

    assert salary == ["March salary"]
    assert bad.status_code == 400 and "max_amount" in bad.json()
