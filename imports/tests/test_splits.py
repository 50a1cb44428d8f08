"""Imports into a shared book produce split expenses (SPEC §15): each committed outflow
takes the book's default split (equal, or the owner's fixed shares) and is paid by the
member who imported it; the parts sum exactly to the amount in both currencies; undoing
the import removes the parts with the expenses."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db.models import Sum

from currencies.models import ExchangeRate
from expenses.models import Expense, ExpenseShare
from users.tests.factories import UserFactory

from .test_books import commit, csv_bytes, imports_url, preview

pytestmark = pytest.mark.django_db

STATEMENT = (
    "2026-03-01,Rent,-1000.00",
    "2026-03-02,Groceries,-10.00",
    "2026-03-03,Salary,2500",
    "2026-03-04,Bakery,-0.01",
)


@pytest.fixture
def members(db):
    return {"editor": UserFactory(), "viewer": UserFactory()}


@pytest.fixture
def book(shared_book, user, members):
    return shared_book(
        owner=user, editors=[members["editor"]], viewers=[members["viewer"]], base_currency="EUR"
    )


def parts_of(expense: Expense) -> dict[int, tuple[Decimal, Decimal]]:
    return {
        share.user_id: (share.amount, share.base_amount)
        for share in ExpenseShare.objects.filter(expense=expense)
    }


def odd_cent(ids: list[int], record: Expense, floor: str, raised: str) -> dict[int, Decimal]:
    """An equal split's parts of `record` by user id (ordered): the odd cent to the part at
    position (expense id mod number of parts)."""
    odd = record.pk % len(ids)
    return {
        user_id: Decimal(raised if position == odd else floor)
        for position, user_id in enumerate(ids)
    }


def expense(book, description: str) -> Expense:
    return Expense.objects.get(book=book, description=description)


def assert_parts_sum_exactly(book) -> None:
    for record in Expense.objects.filter(book=book):
        totals = ExpenseShare.objects.filter(expense=record).aggregate(
            amount=Sum("amount"), base=Sum("base_amount")
        )
        assert (totals["amount"], totals["base"]) == (record.amount, record.base_amount)


def test_an_import_splits_equally_paid_by_the_importing_member(book, client_for, members, user):
    editor = client_for(members["editor"])
    url = imports_url(book)
    batch = preview(editor, url, csv_bytes(*STATEMENT))
    response = commit(editor, url, batch["id"])
    assert response.status_code == 200, response.content
    assert response.json()["expenses"] == 3

    ids = sorted([user.pk, members["editor"].pk, members["viewer"].pk])
    records = Expense.objects.filter(book=book)
    assert {(r.split_mode, r.paid_by_id) for r in records} == {("equal", members["editor"].pk)}
    # Largest remainder, the odd cent to the part at position (expense id mod 3): each
    # row of the bulk split rotates by its own id.
    rent, bakery = expense(book, "Rent"), expense(book, "Bakery")
    expected = odd_cent(ids, rent, "333.33", "333.34")
    assert parts_of(rent) == {user_id: (part, part) for user_id, part in expected.items()}
    expected = odd_cent(ids, bakery, "0", "0.01")
    assert parts_of(bakery) == {user_id: (part, part) for user_id, part in expected.items()}
    assert_parts_sum_exactly(book)
    # The API shows them like any split expense.
    listed = editor.get(f"/api/v1/books/{book.pk}/expenses/?ordering=date").json()["results"]
    shown = next(row for row in listed if row["description"] == "Rent")
    assert shown["paid_by"] == members["editor"].pk
    assert shown["split"]["mode"] == "equal"
    expected = odd_cent(ids, rent, "333.33", "333.34")
    assert [part["amount"] for part in shown["split"]["parts"]] == [
        str(expected[user_id]) for user_id in ids
    ]


def test_an_import_takes_the_owners_fixed_shares(book, auth_client, members, user):
    editor_id = members["editor"].pk
    response = auth_client.patch(
        f"/api/v1/books/{book.pk}/",
        {
            "default_split": {
                "mode": "shares",
                "parts": [{"user": user.pk, "value": "2"}, {"user": editor_id, "value": "1"}],
            }
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    # Rows in dollars: parts in dollars, and in euros from the converted base amount.
    ExchangeRate.objects.create(base="USD", quote="EUR", date=date(2026, 1, 1), rate=Decimal("0.9"))
    url = imports_url(book)
    batch = preview(auth_client, url, csv_bytes(*STATEMENT), default_currency="USD")
    assert commit(auth_client, url, batch["id"]).status_code == 200

    records = Expense.objects.filter(book=book)
    assert {(r.split_mode, r.paid_by_id, r.currency) for r in records} == {
        ("shares", user.pk, "USD")
    }
    # The viewer is not in the fixed shares: no part for them.
    assert parts_of(expense(book, "Rent")) == {
        user.pk: (Decimal("666.67"), Decimal("600.00")),
        editor_id: (Decimal("333.33"), Decimal("300.00")),
    }
    groceries = expense(book, "Groceries")
    assert groceries.base_amount == Decimal("9.00")
    assert parts_of(groceries) == {
        user.pk: (Decimal("6.67"), Decimal("6.00")),
        editor_id: (Decimal("3.33"), Decimal("3.00")),
    }
    assert_parts_sum_exactly(book)


def test_undoing_an_import_removes_its_parts(book, client_for, members, auth_client):
    editor = client_for(members["editor"])
    url = imports_url(book)
    kept = preview(editor, url, csv_bytes("2026-03-05,Gym,-30"))
    assert commit(editor, url, kept["id"]).status_code == 200
    batch = preview(editor, url, csv_bytes(*STATEMENT))
    assert commit(editor, url, batch["id"]).status_code == 200
    assert ExpenseShare.objects.filter(book=book).count() == 4 * 3

    undone = editor.delete(f"{url}{batch['id']}/")
    assert undone.status_code == 200, undone.content
    assert undone.json() == {"expenses": 3, "incomes": 1}
    gym = expense(book, "Gym")
    assert set(ExpenseShare.objects.filter(book=book).values_list("expense_id", flat=True)) == {
        gym.pk
    }
    assert ExpenseShare.objects.filter(book=book).count() == 3


def test_a_personal_import_is_not_split(auth_client, user):
    batch = preview(auth_client, "/api/v1/imports/", csv_bytes(*STATEMENT))
    assert commit(auth_client, "/api/v1/imports/", batch["id"]).status_code == 200
    records = Expense.objects.filter(book__personal_owner=user)
    assert records.count() == 3
    assert {(r.split_mode, r.paid_by_id) for r in records} == {("", None)}
    assert not ExpenseShare.objects.exists()
