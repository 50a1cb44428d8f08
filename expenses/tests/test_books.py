"""Expense-only rules in a shared book (SPEC §6, §14): the edit window holds for every
member, and the budget alerts hear of the book the expense went to. The behaviour shared
with income (scoping, roles, ids of other books, base currency) is in
ledger/tests/test_books.py."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from expenses.models import Expense
from expenses.services import expense_create
from expenses.signals import expenses_written
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_the_edit_window_closes_for_an_editor_in_a_shared_book(
    settings, user, client_for, shared_book
):
    settings.EXPENSE_EDIT_WINDOW_HOURS = 24
    editor = UserFactory()
    book = shared_book(owner=user, editors=[editor])
    old = Expense.objects.create(
        book=book,
        user=editor,
        amount=Decimal("5.00"),
        currency=book.base_currency,
        base_amount=Decimal("5.00"),
        date=date(2026, 3, 1),
        description="Old",
    )
    Expense.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(hours=25))
    url = f"/api/v1/books/{book.pk}/expenses/{old.pk}/"
    client = client_for(editor)
    for response in (client.patch(url, {"description": "New"}, format="json"), client.delete(url)):
        assert response.status_code == 403, response.content
        assert response.json()["code"] == "edit_window_closed"
    old.refresh_from_db()
    assert old.description == "Old"
    fresh = client.post(
        f"/api/v1/books/{book.pk}/expenses/",
        {"amount": "3.00", "date": "2026-03-02", "description": "Fresh"},
        format="json",
    ).json()
    assert (
        client.patch(
            f"/api/v1/books/{book.pk}/expenses/{fresh['id']}/", {"description": "Fixed"}
        ).status_code
        == 200
    )


def test_expenses_written_names_the_book_the_expense_went_to(user, shared_book):
    book = shared_book(owner=user)
    heard = []

    def receiver(sender, *, user, book, dates, **kwargs):
        heard.append((user.pk, book.pk, sorted(dates)))

    expenses_written.connect(receiver, dispatch_uid="test-books-expenses-written")
    try:
        expense_create(
            book=book,
            user=user,
            data={"amount": Decimal("2.00"), "date": date(2026, 3, 3), "description": "Milk"},
        )
    finally:
        expenses_written.disconnect(dispatch_uid="test-books-expenses-written")
    assert heard == [(user.pk, book.pk, [date(2026, 3, 3)])]
    assert Expense.objects.get().book == book
