"""A backup is of one book (SPEC §11, §14): `/books/{id}/export/backup.json` exports that
book, `/books/{id}/import/backup/` restores into it (replace clears that book only), its
viewers may download but not restore, non-members get 404, and its figures are in the
book's base currency."""

from __future__ import annotations

import copy
import json
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from budgets.models import Budget
from categories.models import Category, Rule, Tag
from currencies.models import ExchangeRate
from expenses.models import Expense
from goals.models import Contribution, Goal
from income.models import Income
from recurring.models import RecurringItem
from users.tests.factories import UserFactory

from .conftest import comparable, export

pytestmark = pytest.mark.django_db

MODELS = {
    "categories": Category,
    "tags": Tag,
    "rules": Rule,
    "expenses": Expense,
    "incomes": Income,
    "budgets": Budget,
    "goals": Goal,
    "recurring": RecurringItem,
}


def export_url(book):
    return f"/api/v1/books/{book.pk}/export/backup.json"


def restore_url(book, mode="merge"):
    return f"/api/v1/books/{book.pk}/import/backup/?mode={mode}"


def book_export(client, book):
    response = client.get(export_url(book))
    assert response.status_code == 200, response.content
    return json.loads(b"".join(response.streaming_content))


def counts(book):
    return {name: model.objects.filter(book=book).count() for name, model in MODELS.items()}


def recurring_item(**fields):
    return {
        "kind": "expense",
        "amount": "30.00",
        "currency": "USD",
        "description": "Gym",
        "frequency": "monthly",
        "start_date": "2026-01-05",
        **fields,
    }


@pytest.fixture
def world(rich_user, backup_of_rich, client_for, shared_book):
    """`rich_user` (every kind of record in their personal book) owns a shared USD book
    with an editor and a viewer; `stranger` is in none. `doc` is the rich backup plus a
    recurring item."""
    editor, viewer, stranger = UserFactory(), UserFactory(), UserFactory()
    book = shared_book(owner=rich_user, editors=[editor], viewers=[viewer], month_start_day=10)
    doc = copy.deepcopy(backup_of_rich)
    doc["recurring"] = [recurring_item()]
    return {
        "book": book,
        "doc": doc,
        "owner_user": rich_user,
        "editor_user": editor,
        "owner": client_for(rich_user),
        "editor": client_for(editor),
        "viewer": client_for(viewer),
        "stranger": client_for(stranger),
    }


def test_a_restore_under_a_book_writes_into_that_book_only(world):
    book, editor = world["book"], world["editor_user"]
    personal_before = counts(world["owner_user"].personal_book)

    response = world["editor"].post(restore_url(book), world["doc"], format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["settings_applied"] is False
    doc = world["doc"]
    assert counts(book) == {name: len(doc[name]) for name in MODELS}
    assert Contribution.objects.filter(goal__book=book).count() == 5
    # Created by the editor, and nothing of it in anyone's personal book.
    assert set(Expense.objects.filter(book=book).values_list("user", flat=True)) == {editor.pk}
    assert counts(editor.personal_book) == dict.fromkeys(MODELS, 0)
    assert counts(world["owner_user"].personal_book) == personal_before
    # Every link stays inside the book: categories, tags and rules are the book's own.
    for model in (Expense, Income, Budget, RecurringItem, Rule):
        linked = model.objects.filter(book=book, category__isnull=False)
        assert (
            not linked.exclude(category__book__isnull=True).exclude(category__book=book).exists()
        ), model
    for expense in Expense.objects.filter(book=book).prefetch_related("tags"):
        assert {tag.book_id for tag in expense.tags.all()} <= {book.pk}


def test_the_books_backup_is_that_book_and_round_trips(world):
    book, doc = world["book"], world["doc"]
    assert world["owner"].post(restore_url(book), doc, format="json").status_code == 200

    shared = book_export(world["viewer"], book)

    for section in ("categories", "tags", "rules", "incomes", "budgets", "goals"):
        assert shared[section] == doc[section], section
    # A personal book's expenses (no payer, no split) take the shared book's default split,
    # paid by whoever restored them, as imported ones do (SPEC §15).
    unsplit = [{**e, "paid_by": None, "split": None} for e in shared["expenses"]]
    assert unsplit == doc["expenses"]
    owner_name = world["owner_user"].username
    assert {
        (e["paid_by"], e["split"]["mode"], len(e["split"]["parts"])) for e in shared["expenses"]
    } == {(owner_name, "equal", 3)}
    assert [item["description"] for item in shared["recurring"]] == ["Gym"]
    # The book's settings, not the account's (whose month starts on the 5th).
    assert shared["user"]["base_currency"] == "USD"
    assert shared["user"]["month_start_day"] == 10
    # The personal backup does not carry the book's records, and vice versa.
    personal = export(world["owner"])
    assert comparable(personal)["expenses"] == doc["expenses"]
    assert personal["recurring"] == []
    empty = book_export(world["editor"], world["editor_user"].personal_book)
    assert empty["expenses"] == [] and empty["recurring"] == []


def test_replace_clears_only_that_book_and_leaves_the_settings(world):
    book, owner = world["book"], world["owner_user"]
    client = world["owner"]
    assert client.post(restore_url(book), world["doc"], format="json").status_code == 200
    personal_before = counts(owner.personal_book)
    small = {
        "format": "budget-tracker-backup",
        "version": 1,
        "user": {"base_currency": "USD", "timezone": "Asia/Tokyo", "month_start_day": 20},
        "recurring": [recurring_item(description="Internet")],
    }

    response = client.post(restore_url(book, "replace"), small, format="json")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["settings_applied"] is False
    assert body["sections"]["expenses"]["deleted"] == 5
    assert body["sections"]["recurring"] == {"created": 1, "skipped": 0, "deleted": 1}
    assert counts(book) == {**dict.fromkeys(MODELS, 0), "recurring": 1}
    assert counts(owner.personal_book) == personal_before
    owner.refresh_from_db()
    book.refresh_from_db()
    assert (owner.timezone, owner.month_start_day) == ("Europe/Berlin", 5)
    assert book.month_start_day == 10


def test_a_viewer_downloads_but_cannot_restore(world):
    book = world["book"]
    viewer = world["viewer"]
    assert viewer.get(export_url(book)).status_code == 200
    for mode in ("merge", "replace"):
        response = viewer.post(restore_url(book, mode), world["doc"], format="json")
        assert response.status_code == 403
    assert counts(book) == dict.fromkeys(MODELS, 0)


def test_a_non_member_gets_404(world):
    book = world["book"]
    world["owner"].post(restore_url(book), world["doc"], format="json")
    before = counts(book)
    stranger = world["stranger"]
    assert stranger.get(export_url(book)).status_code == 404
    for mode in ("merge", "replace"):
        response = stranger.post(restore_url(book, mode), world["doc"], format="json")
        assert response.status_code == 404
    assert counts(book) == before
    assert stranger.get("/api/v1/books/999999/export/backup.json").status_code == 404


def test_figures_are_restored_in_the_books_base_currency(world, shared_book):
    owner = world["owner_user"]
    eur = shared_book(owner=owner, name="Trip", base_currency="EUR")
    ExchangeRate.objects.create(
        base="EUR", quote="USD", date=date(2026, 3, 10), rate=Decimal("1.2500")
    )
    doc = {
        "format": "budget-tracker-backup",
        "version": 1,
        "user": {"base_currency": "USD"},
        "expenses": [
            {
                "amount": "25.00",
                "currency": "USD",
                "date": "2026-03-12",
                "description": "Museum",
            }
        ],
        "budgets": [{"month": "2026-03", "scope": "overall", "amount": "100.00"}],
    }

    response = world["owner"].post(restore_url(eur), doc, format="json")

    assert response.status_code == 200, response.json()
    expense = Expense.objects.get(book=eur)
    assert (expense.base_amount, expense.exchange_rate) == (Decimal("20.00"), Decimal("0.8"))
    budget = Budget.objects.get(book=eur)
    assert (budget.amount, budget.currency_original) == (Decimal("80.00"), "EUR")
    exported = book_export(world["owner"], eur)
    assert exported["user"]["base_currency"] == "EUR"
    assert exported["budgets"][0]["amount"] == "80.00"


def test_a_books_export_takes_a_constant_number_of_queries(world, shared_book):
    book = shared_book(owner=world["owner_user"], name="Queries")
    client = world["owner"]

    def expenses(count):
        return [
            {
                "amount": f"{n + 1}.00",
                "currency": "USD",
                "date": "2026-03-12",
                "description": f"Item {n}",
                "tags": [f"t{n}"],
            }
            for n in range(count)
        ]

    def queries(count):
        Expense.objects.filter(book=book).delete()
        doc = {**world["doc"], "expenses": expenses(count)}
        assert client.post(restore_url(book), doc, format="json").status_code == 200
        with CaptureQueriesContext(connection) as captured:
            assert len(book_export(client, book)["expenses"]) == count
        return len(captured)

    assert queries(1) == queries(10)
