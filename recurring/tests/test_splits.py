"""Recurring items in a shared book produce split expenses (SPEC §15): each occurrence is
recorded through expense_create, so it takes the book's default split (equal, or the
owner's fixed shares) and is paid by the item's creator (the longest-standing owner once
the creator is gone); the parts sum exactly to the amount in both currencies."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db.models import Sum

from books.models import Membership
from books.services import book_update
from currencies.models import ExchangeRate
from expenses.models import Expense, ExpenseShare
from income.models import Income
from recurring.models import RecurringOccurrence
from recurring.services import create_due_occurrences
from users.tests.factories import UserFactory

from .factories import RecurringItemFactory

pytestmark = pytest.mark.django_db

TODAY = date(2026, 3, 10)


@pytest.fixture(autouse=True)
def _today(travel_to):
    travel_to(TODAY)


@pytest.fixture
def people(user):
    return {"owner": user, "editor": UserFactory(), "viewer": UserFactory()}


@pytest.fixture
def book(shared_book, people):
    return shared_book(
        owner=people["owner"],
        editors=[people["editor"]],
        viewers=[people["viewer"]],
        base_currency="EUR",
    )


def item_in(book, user, **fields):
    fields.setdefault("currency", book.base_currency)
    fields.setdefault("start_date", date(2026, 3, 2))
    return RecurringItemFactory(book=book, user=user, **fields)


def parts_of(expense: Expense) -> dict[int, tuple[Decimal, Decimal]]:
    return {
        share.user_id: (share.amount, share.base_amount)
        for share in ExpenseShare.objects.filter(expense=expense)
    }


def assert_parts_sum_exactly(expense: Expense) -> None:
    totals = ExpenseShare.objects.filter(expense=expense).aggregate(
        amount=Sum("amount"), base=Sum("base_amount")
    )
    assert (totals["amount"], totals["base"]) == (expense.amount, expense.base_amount)


def test_an_occurrence_splits_equally_paid_by_the_items_creator(book, people):
    item = item_in(book, people["editor"], amount=Decimal("100.00"))
    assert create_due_occurrences(today=TODAY) == 1

    expense = Expense.objects.get(book=book)
    assert (expense.split_mode, expense.paid_by_id) == ("equal", people["editor"].pk)
    ids = sorted(member.pk for member in people.values())
    # The odd cent to the part at position (expense id mod 3), parts ordered by user id.
    odd = expense.pk % 3
    part = {user_id: Decimal("33.34" if i == odd else "33.33") for i, user_id in enumerate(ids)}
    assert parts_of(expense) == {user_id: (amount, amount) for user_id, amount in part.items()}
    assert_parts_sum_exactly(expense)
    assert RecurringOccurrence.objects.get(item=item).expense_id == expense.pk


def test_an_occurrence_takes_the_owners_fixed_shares(book, people):
    owner, editor = people["owner"], people["editor"]
    book_update(
        book=book,
        data={
            "default_split": {
                "mode": "shares",
                "parts": [{"user": owner.pk, "value": "1"}, {"user": editor.pk, "value": "3"}],
            }
        },
        by=owner,
    )
    ExchangeRate.objects.create(base="USD", quote="EUR", date=date(2026, 1, 1), rate=Decimal("0.8"))
    item_in(book, owner, currency="USD", amount=Decimal("10.01"))
    item_in(book, editor, kind="income", amount=Decimal("40.00"), start_date=date(2026, 3, 3))
    assert create_due_occurrences(today=TODAY) == 2

    expense = Expense.objects.get(book=book)
    assert (expense.split_mode, expense.paid_by_id) == ("shares", owner.pk)
    assert (expense.amount, expense.base_amount) == (Decimal("10.01"), Decimal("8.01"))
    # 10.01 × 1/4 = 2.5025, × 3/4 = 7.5075: the odd cent to the larger dropped fraction;
    # the euro parts follow the dollar ones (8.01 × 2.50/10.01 = 2.0005…).
    assert parts_of(expense) == {
        owner.pk: (Decimal("2.50"), Decimal("2.00")),
        editor.pk: (Decimal("7.51"), Decimal("6.01")),
    }
    assert people["viewer"].pk not in parts_of(expense)
    assert_parts_sum_exactly(expense)
    # Income is never split.
    assert Income.objects.get(book=book).user_id == editor.pk
    assert ExpenseShare.objects.filter(book=book).count() == 2


def test_an_item_whose_creator_left_is_paid_by_the_longest_standing_owner(book, people):
    editor = people["editor"]
    item_in(book, editor, amount=Decimal("90.00"))
    Membership.objects.filter(book=book, user=editor).delete()  # left, account kept
    assert create_due_occurrences(today=TODAY) == 1
    expense = Expense.objects.get(book=book)
    assert (expense.user_id, expense.paid_by_id) == (editor.pk, people["owner"].pk)
    # Split among the members now: the one who left has no part.
    assert set(parts_of(expense)) == {people["owner"].pk, people["viewer"].pk}
    assert_parts_sum_exactly(expense)


def test_an_item_whose_creator_deleted_their_account(book, people):
    editor = people["editor"]
    item_in(book, editor, amount=Decimal("30.00"))
    editor.delete()
    assert create_due_occurrences(today=TODAY) == 1
    expense = Expense.objects.get(book=book)
    assert (expense.user_id, expense.paid_by_id) == (people["owner"].pk, people["owner"].pk)
    assert set(parts_of(expense).values()) == {(Decimal("15.00"), Decimal("15.00"))}


def test_a_personal_books_occurrence_is_not_split(user):
    item_in(user.personal_book, user, amount=Decimal("12.00"))
    assert create_due_occurrences(today=TODAY) == 1
    expense = Expense.objects.get(book=user.personal_book)
    assert (expense.split_mode, expense.paid_by_id) == ("", None)
    assert not ExpenseShare.objects.exists()
