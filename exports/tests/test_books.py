"""Exports of a book (SPEC §14): `/books/{id}/export/…` writes that book's records in its
base currency and budget months and names the book; personal exports leave them out;
members (viewers too) may download, strangers get 404, another book's ids are a 400."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from io import BytesIO

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from categories.tests.factories import CategoryFactory, TagFactory
from core.dates import user_today
from expenses.tests.factories import ExpenseFactory
from exports.tests.conftest import as_dicts, read_csv
from exports.tests.test_pdf import pdf_text
from exports.xlsx_export import XLSX_CONTENT_TYPE
from income.tests.factories import IncomeFactory
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

API = "/api/v1"
FILES = ["export/expenses.csv", "export/incomes.csv", "export/transactions.xlsx"]


def in_book(book, path: str) -> str:
    return f"{API}/books/{book.pk}/{path}"


def spend(user, book, amount: str, day: date, **extra):
    """An expense in `book`, in the book's base currency (rate 1)."""
    value = Decimal(amount)
    return ExpenseFactory(
        user=user,
        book=book,
        amount=value,
        currency=book.base_currency,
        base_amount=value,
        date=day,
        **extra,
    )


@pytest.fixture
def viewer(db):
    return UserFactory()


@pytest.fixture
def household(user, other_user, viewer, shared_book):
    """A EUR book with months from the 15th: `user` owns it, `other_user` edits, `viewer`
    reads. `user` also has a record of their own."""
    book = shared_book(
        name="Flat 3B",
        editors=[other_user],
        viewers=[viewer],
        base_currency="EUR",
        month_start_day=15,
    )
    groceries = CategoryFactory(user=user, book=book, name="Groceries")
    spend(user, book, "40.00", date(2026, 3, 15), category=groceries, description="Shared food")
    spend(other_user, book, "25.00", date(2026, 3, 14), description="Shared February")
    IncomeFactory(
        user=other_user,
        book=book,
        amount=Decimal("500"),
        currency="EUR",
        base_amount=Decimal("500"),
        date=date(2026, 3, 16),
        description="Shared refund",
    )
    spend(user, user.personal_book, "7.00", date(2026, 3, 15), description="Mine only")
    return book


def descriptions(response) -> list[str]:
    return [row["description"] for row in as_dicts(read_csv(response))]


def test_a_books_csv_holds_its_records_in_its_currency(household, user, client_for):
    response = client_for(user).get(in_book(household, "export/expenses.csv"))

    rows = as_dicts(read_csv(response))
    assert sorted(row["description"] for row in rows) == ["Shared February", "Shared food"]
    assert {row["base_currency"] for row in rows} == {"EUR"}
    today = user_today(user)
    assert response["Content-Disposition"] == (
        f'attachment; filename="flat-3b-expenses-{today}.csv"'
    )


def test_personal_exports_leave_out_the_shared_books_records(household, user, client_for):
    client = client_for(user)
    assert descriptions(client.get(f"{API}/export/expenses.csv")) == ["Mine only"]
    assert descriptions(client.get(f"{API}/export/incomes.csv")) == []
    assert descriptions(client.get(in_book(household, "export/incomes.csv"))) == ["Shared refund"]


def test_month_filter_uses_the_books_budget_months(household, user, client_for):
    response = client_for(user).get(in_book(household, "export/expenses.csv"), {"month": "2026-03"})

    # The book's March starts on the 15th: the 14th belongs to February.
    assert descriptions(response) == ["Shared food"]


def test_every_member_may_download_and_a_stranger_gets_404(household, viewer, client_for):
    stranger = client_for(UserFactory())
    for path in [*FILES, "export/report.pdf"]:
        assert client_for(viewer).get(in_book(household, path)).status_code == 200, path
        response = stranger.get(in_book(household, path))
        assert response.status_code == 404, path
        assert b"Shared" not in response.content


def test_another_books_category_in_a_filter_is_a_400(household, user, client_for):
    mine = CategoryFactory(user=user, name="Personal stuff")
    client = client_for(user)

    for path in FILES:
        response = client.get(in_book(household, path), {"category": mine.pk})
        assert response.status_code == 400, (path, response.content)
        assert "category" in response.json()
    theirs = CategoryFactory(user=user, book=household, name="Flat things")
    response = client.get(f"{API}/export/expenses.csv", {"category": theirs.pk})
    assert response.status_code == 400


def test_the_workbook_names_the_book_and_sums_in_its_currency(household, user, client_for):
    response = client_for(user).get(
        in_book(household, "export/transactions.xlsx"), HTTP_ACCEPT=XLSX_CONTENT_TYPE
    )

    assert response.status_code == 200, response.content
    assert 'filename="flat-3b-transactions-' in response["Content-Disposition"]
    book = load_workbook(BytesIO(b"".join(response.streaming_content)))
    summary = {row[0]: row[1:] for row in book["Summary"].iter_rows(values_only=True) if row[0]}
    assert summary["Book"][0] == "Flat 3B"
    assert summary["Currency"][0] == "EUR"
    assert summary["Expenses"][:2] == (65, 2)
    assert summary["Income"][:2] == (500, 1)


def test_the_pdf_names_the_book_and_uses_its_months(household, viewer, client_for):
    response = client_for(viewer).get(
        in_book(household, "export/report.pdf"), {"month": "2026-03"}, HTTP_ACCEPT="application/pdf"
    )

    assert response["Content-Disposition"] == 'attachment; filename="flat-3b-report-2026-03.pdf"'
    text = pdf_text(response)
    assert "Flat 3B" in text
    assert "2026-03-15 to 2026-04-14" in text and "amounts in EUR" in text
    assert "Groceries" in text and "40.00" in text and "500.00" in text
    assert "Mine only" not in text and "7.00" not in text


def test_csv_query_count_does_not_grow_with_the_books_records(household, user, client_for):
    client = client_for(user)
    counts = []
    for extra in (1, 10):
        for _ in range(extra):
            record = spend(user, household, "1.00", date(2026, 3, 20))
            record.tags.set([TagFactory(user=user, book=household)])
        with CaptureQueriesContext(connection) as queries:
            read_csv(client.get(in_book(household, "export/expenses.csv")))
        counts.append(len(queries))
    assert counts[0] == counts[1], counts
