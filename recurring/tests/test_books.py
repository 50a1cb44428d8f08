"""Recurring items in books (SPEC §12, §14): served under /books/{id}/recurring/, held by
that book, read by its viewers, written by its editors, invisible to everyone else; the
jobs record their expenses and income in the item's book, in its base currency, and
remind every member of it."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from categories.tests.factories import CategoryFactory
from currencies.models import ExchangeRate
from expenses.models import Expense
from income.models import Income
from notifications.models import Notification
from recurring.models import RecurringItem
from recurring.services import create_due_occurrences, send_bill_reminders
from users.tests.factories import UserFactory

from .factories import RecurringItemFactory

pytestmark = pytest.mark.django_db

TODAY = date(2026, 3, 10)
TOP = "/api/v1/recurring/"


@pytest.fixture(autouse=True)
def _today(travel_to):
    travel_to(TODAY)


@pytest.fixture
def world(user, client_for, shared_book):
    """`user` owns a shared EUR book with an editor and a viewer; `stranger` is in none."""
    editor, viewer, stranger = UserFactory(), UserFactory(), UserFactory()
    book = shared_book(owner=user, editors=[editor], viewers=[viewer], base_currency="EUR")
    return {
        "book": book,
        "owner_user": user,
        "editor_user": editor,
        "viewer_user": viewer,
        "stranger_user": stranger,
        "owner": client_for(user),
        "editor": client_for(editor),
        "viewer": client_for(viewer),
        "stranger": client_for(stranger),
    }


def url(book, suffix=""):
    return f"/api/v1/books/{book.pk}/recurring/{suffix}"


def body(**extra):
    return {
        "kind": "expense",
        "amount": "900.00",
        "description": "Rent",
        "frequency": "monthly",
        "start_date": "2026-03-01",
        **extra,
    }


def item_in(book, user, **fields):
    fields.setdefault("currency", book.base_currency)
    return RecurringItemFactory(book=book, user=user, **fields)


def ids(response):
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def test_an_editors_item_lands_in_the_book_not_in_a_personal_one(world):
    book, editor = world["book"], world["editor_user"]
    response = world["editor"].post(url(book), body(), format="json")
    assert response.status_code == 201, response.content
    created = RecurringItem.objects.get(pk=response.json()["id"])
    assert (created.book_id, created.user_id) == (book.pk, editor.pk)
    # The currency defaults to the book's, not the editor's own base currency (USD).
    assert response.json()["currency"] == "EUR"
    assert ids(world["editor"].get(TOP)) == set()
    assert ids(world["owner"].get(url(book))) == {created.pk}

    personal = world["editor"].post(TOP, body(description="Own gym"), format="json")
    assert personal.status_code == 201
    mine = RecurringItem.objects.get(pk=personal.json()["id"])
    assert mine.book_id == editor.personal_book.pk
    assert mine.pk not in ids(world["editor"].get(url(book)))


def test_a_viewer_reads_but_cannot_write(world):
    book = world["book"]
    item = item_in(book, world["owner_user"])
    viewer = world["viewer"]
    assert ids(viewer.get(url(book))) == {item.pk}
    assert viewer.get(url(book, f"{item.pk}/")).status_code == 200
    assert viewer.get(url(book, "upcoming/")).status_code == 200
    assert viewer.get(url(book, f"{item.pk}/occurrences/")).status_code == 200
    assert viewer.post(url(book), body(), format="json").status_code == 403
    patch = viewer.patch(url(book, f"{item.pk}/"), {"amount": "1.00"}, format="json")
    assert patch.status_code == 403
    assert viewer.delete(url(book, f"{item.pk}/")).status_code == 403
    item.refresh_from_db()
    assert item.amount == Decimal("50.00")
    assert RecurringItem.objects.filter(book=book).count() == 1


def test_a_non_member_gets_404_everywhere(world):
    book = world["book"]
    item = item_in(book, world["owner_user"])
    stranger = world["stranger"]
    assert stranger.get(url(book)).status_code == 404
    assert stranger.get(url(book, f"{item.pk}/")).status_code == 404
    assert stranger.get(url(book, "upcoming/")).status_code == 404
    assert stranger.post(url(book), body(), format="json").status_code == 404
    patch = stranger.patch(url(book, f"{item.pk}/"), {"amount": "1.00"}, format="json")
    assert patch.status_code == 404
    assert stranger.delete(url(book, f"{item.pk}/")).status_code == 404
    # Nor through their own personal book: the item is not there.
    assert stranger.get(f"{TOP}{item.pk}/").status_code == 404
    assert RecurringItem.objects.filter(book=book).count() == 1


def test_another_books_category_is_a_400_and_the_books_own_is_accepted(world):
    book, editor = world["book"], world["editor_user"]
    personal = CategoryFactory(user=editor, book=editor.personal_book, kind="expense")
    refused = world["editor"].post(url(book), body(category=personal.pk), format="json")
    assert refused.status_code == 400
    assert "category" in refused.json()
    own = CategoryFactory(user=editor, book=book, kind="expense")
    accepted = world["editor"].post(url(book), body(category=own.pk), format="json")
    assert accepted.status_code == 201, accepted.content
    item = RecurringItem.objects.get(pk=accepted.json()["id"])
    patch = world["editor"].patch(
        url(book, f"{item.pk}/"), {"category": personal.pk}, format="json"
    )
    assert patch.status_code == 400
    item.refresh_from_db()
    assert item.category_id == own.pk


def test_the_job_records_in_the_items_book_in_its_base_currency(world):
    book, owner, editor = world["book"], world["owner_user"], world["editor_user"]
    ExchangeRate.objects.create(
        base="EUR", quote="USD", date=date(2026, 3, 1), rate=Decimal("1.25")
    )
    item_in(book, editor, currency="USD", amount=Decimal("100.00"), start_date=date(2026, 3, 2))
    item_in(book, owner, kind="income", amount=Decimal("40.00"), start_date=date(2026, 3, 3))

    assert create_due_occurrences(today=TODAY) == 2
    assert create_due_occurrences(today=TODAY) == 0

    expense = Expense.objects.get()
    assert (expense.book_id, expense.user_id) == (book.pk, editor.pk)
    assert (expense.amount, expense.currency, expense.base_amount) == (
        Decimal("100.00"),
        "USD",
        Decimal("80.00"),
    )
    income = Income.objects.get()
    assert (income.book_id, income.user_id, income.base_amount) == (
        book.pk,
        owner.pk,
        Decimal("40.00"),
    )
    assert not Expense.objects.filter(book=editor.personal_book).exists()


def test_an_item_whose_creator_left_the_service_keeps_running(world):
    book, editor = world["book"], world["editor_user"]
    item = item_in(book, editor, start_date=date(2026, 3, 2))
    editor.delete()
    item.refresh_from_db()
    assert item.user_id is None
    assert create_due_occurrences(today=TODAY) == 1
    expense = Expense.objects.get()
    assert (expense.book_id, expense.user_id) == (book.pk, world["owner_user"].pk)


def test_reminders_notify_every_member_of_the_book_once(world):
    book = world["book"]
    item = item_in(book, world["editor_user"], remind_days_before=3, start_date=date(2026, 3, 12))

    assert send_bill_reminders(today=TODAY) == 1
    assert send_bill_reminders(today=TODAY) == 0

    notified = Notification.objects.filter(kind="bill_due")
    members = {world[f"{role}_user"].pk for role in ("owner", "editor", "viewer")}
    assert {n.user_id for n in notified} == members
    assert notified.count() == 3
    first = notified.first()
    assert first.data["book"] == book.pk and first.data["recurring"] == item.pk
    assert book.name in first.title
    assert not Notification.objects.filter(user=world["stranger_user"]).exists()


def test_upcoming_lists_only_the_books_items(world):
    book, owner = world["book"], world["owner_user"]
    shared = item_in(book, owner, description="Shared rent", start_date=date(2026, 3, 12))
    RecurringItemFactory(user=owner, description="Own gym", start_date=date(2026, 3, 12))
    rows = world["viewer"].get(url(book, "upcoming/?days=5")).json()["results"]
    assert [(row["recurring"], row["description"]) for row in rows] == [(shared.pk, "Shared rent")]
    personal = world["owner"].get(f"{TOP}upcoming/?days=5").json()["results"]
    assert [row["description"] for row in personal] == ["Own gym"]


def test_the_books_list_takes_a_constant_number_of_queries(world):
    book, owner = world["book"], world["owner_user"]
    category = CategoryFactory(user=owner, book=book, kind="expense")
    client = world["viewer"]

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url(book)).status_code == 200
        return len(queries)

    item_in(book, owner, category=category)
    one = count()
    for _ in range(9):
        item_in(book, owner, category=category)
    assert count() == one
