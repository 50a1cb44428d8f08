"""A shared book's backup carries who paid each expense, how it splits and the book's
settlements (SPEC §15), members named by username: restored into a shared book with the
same members it gives the same balances; a name that is not a member there is refused
under its path, nothing stored; into a personal book the splits and settlements are
dropped (its expenses are all its owner's)."""

from __future__ import annotations

import copy
import json
from datetime import date
from decimal import Decimal

import pytest

from books.models import Book
from currencies.models import ExchangeRate
from expenses.models import Expense, ExpenseShare
from splits.models import Settlement
from splits.selectors import book_balances
from splits.services import settlement_create
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def export_url(book):
    return f"/api/v1/books/{book.pk}/export/backup.json"


def restore_url(book, mode="merge"):
    return f"/api/v1/books/{book.pk}/import/backup/?mode={mode}"


def book_export(client, book):
    response = client.get(export_url(book))
    assert response.status_code == 200, response.content
    return json.loads(b"".join(response.streaming_content))


def balances(book):
    """Per username: (paid, share, settled_out, settled_in, balance)."""
    return {
        row["username"]: tuple(
            row[key] for key in ("paid", "share", "settled_out", "settled_in", "balance")
        )
        for row in book_balances(book=book)
    }


@pytest.fixture
def people(user):
    return {"ann": user, "bob": UserFactory(), "cat": UserFactory()}


@pytest.fixture
def rates(db):
    ExchangeRate.objects.create(base="EUR", quote="USD", date=date(2026, 1, 1), rate="1.1")
    ExchangeRate.objects.create(base="EUR", quote="JPY", date=date(2026, 1, 1), rate="160")


@pytest.fixture
def source(shared_book, people, client_for, rates):
    """A shared EUR book of ann, bob and cat with expenses in every split mode and two
    currencies, paid by different members, and two settlements."""
    ann, bob, cat = people["ann"], people["bob"], people["cat"]
    book = shared_book(owner=ann, editors=[bob, cat], base_currency="EUR")
    client = client_for(ann)

    def expense(amount, currency, paid_by, split=None, description="Dinner"):
        body = {
            "amount": amount,
            "currency": currency,
            "date": "2026-03-01",
            "description": description,
            "paid_by": paid_by.pk,
        }
        if split is not None:
            body["split"] = split
        response = client.post(f"/api/v1/books/{book.pk}/expenses/", body, format="json")
        assert response.status_code == 201, response.content

    expense("100.00", "EUR", ann, description="Rent")
    expense("10.01", "USD", bob, {"mode": "shares", "parts": parts(ann=1, bob=2, cat=3)})
    expense(
        "50.00",
        "EUR",
        cat,
        {"mode": "exact", "parts": parts(ann="20.00", bob="30.00")},
        description="Tickets",
    )
    expense("3333", "JPY", ann, {"mode": "percent", "parts": parts(bob="33.3", cat="66.7")})
    expense("0.05", "EUR", bob, {"mode": "equal", "parts": parts(ann=None, cat=None)})
    settlement_create(
        book=book,
        user=bob,
        data={
            "from_user": bob.pk,
            "to_user": ann.pk,
            "amount": Decimal("12.34"),
            "date": date(2026, 3, 5),
        },
    )
    settlement_create(
        book=book,
        user=cat,
        data={
            "from_user": cat.pk,
            "to_user": ann.pk,
            "amount": Decimal("5.00"),
            "currency": "USD",
            "date": date(2026, 3, 6),
            "note": "Taxi back",
        },
    )
    return book


_PEOPLE: dict[str, int] = {}


def parts(**values):
    """Parts by name → [{"user": id, "value": ...}] (value omitted when None)."""
    return [
        {"user": _PEOPLE[name], **({} if value is None else {"value": str(value)})}
        for name, value in values.items()
    ]


@pytest.fixture(autouse=True)
def _names(people):
    _PEOPLE.clear()
    _PEOPLE.update({name: person.pk for name, person in people.items()})


def test_the_backup_names_payers_parts_and_settlements_by_username(source, people, auth_client):
    doc = book_export(auth_client, source)
    names = {person.pk: person.username for person in people.values()}
    ann, bob, cat = (names[people[n].pk] for n in ("ann", "bob", "cat"))

    rent = next(e for e in doc["expenses"] if e["description"] == "Rent")
    assert rent["paid_by"] == ann
    # Parts by user id; the odd cent at position (expense id mod 3).
    odd = Expense.objects.get(book=source, description="Rent").pk % 3
    assert rent["split"] == {
        "mode": "equal",
        "parts": [
            {"user": names[pk], "value": "1", "amount": "33.34" if position == odd else "33.33"}
            for position, pk in enumerate(sorted(names))
        ],
    }
    tickets = next(e for e in doc["expenses"] if e["description"] == "Tickets")
    assert tickets["paid_by"] == cat
    assert tickets["split"]["mode"] == "exact"
    assert {(p["user"], p["value"], p["amount"]) for p in tickets["split"]["parts"]} == {
        (ann, "20", "20"),
        (bob, "30", "30"),
    }
    assert doc["settlements"] == [
        {
            "from": bob,
            "to": ann,
            "amount": "12.34",
            "currency": "EUR",
            "base_amount": "12.34",
            "exchange_rate": "1",
            "date": "2026-03-05",
            "note": "",
        },
        {
            "from": cat,
            "to": ann,
            "amount": "5.00",
            "currency": "USD",
            "base_amount": "4.55",
            "exchange_rate": "0.909090909091",
            "date": "2026-03-06",
            "note": "Taxi back",
        },
    ]


def test_restored_into_a_shared_book_with_the_same_members_the_balances_are_identical(
    source, people, auth_client, shared_book
):
    doc = book_export(auth_client, source)
    before = balances(source)
    assert any(figures[-1] for figures in before.values())  # not all square
    assert sum(figures[-1] for figures in before.values()) == 0

    fresh = shared_book(
        owner=people["ann"], editors=[people["bob"], people["cat"]], base_currency="EUR"
    )
    response = auth_client.post(restore_url(fresh, "replace"), doc, format="json")
    assert response.status_code == 200, response.content
    sections = response.json()["sections"]
    assert sections["expenses"]["created"] == 5
    assert sections["settlements"] == {"created": 2, "skipped": 0, "deleted": 0}

    assert balances(fresh) == before
    again = book_export(auth_client, fresh)
    assert again["expenses"] == doc["expenses"]
    assert again["settlements"] == doc["settlements"]
    # Parts sum exactly in both currencies.
    for expense in Expense.objects.filter(book=fresh):
        shares = ExpenseShare.objects.filter(expense=expense)
        assert sum(s.amount for s in shares) == expense.amount
        assert sum(s.base_amount for s in shares) == expense.base_amount
        assert {s.book_id for s in shares} == {fresh.pk}

    # Merging the same backup again adds nothing: the balances stay.
    response = auth_client.post(restore_url(fresh), doc, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["sections"]["settlements"] == {"created": 0, "skipped": 2, "deleted": 0}
    assert response.json()["sections"]["expenses"]["skipped"] == 5
    assert balances(fresh) == before

    # Replace clears the settlements with the records.
    response = auth_client.post(restore_url(fresh, "replace"), doc, format="json")
    assert response.json()["sections"]["settlements"] == {"created": 2, "skipped": 0, "deleted": 2}
    assert balances(fresh) == before


def test_someone_who_is_not_a_member_is_refused_under_each_path(
    source, people, auth_client, shared_book
):
    doc = book_export(auth_client, source)
    cat = people["cat"].username
    other = shared_book(owner=people["ann"], editors=[people["bob"]], base_currency="EUR")
    doc["expenses"][0]["paid_by"] = "nobody-at-all"

    response = auth_client.post(restore_url(other), doc, format="json")

    assert response.status_code == 400, response.content
    errors = response.json()
    expenses = errors["expenses"]
    assert "'nobody-at-all' is not a member of this book" in expenses["0"]["paid_by"][0]
    cat_paths = [
        (index, part)
        for index, expense in enumerate(doc["expenses"])
        for part, p in enumerate(expense["split"]["parts"])
        if p["user"] == cat
    ]
    assert cat_paths
    for index, part in cat_paths:
        message = expenses[str(index)]["split"]["parts"][str(part)]["user"][0]
        assert message.startswith(f"'{cat}' is not a member of this book: invite them")
    tickets = next(i for i, e in enumerate(doc["expenses"]) if e["description"] == "Tickets")
    assert f"'{cat}' is not a member" in expenses[str(tickets)]["paid_by"][0]
    assert f"'{cat}' is not a member" in errors["settlements"]["1"]["from"][0]
    assert "0" not in errors["settlements"]
    # All or nothing.
    assert not Expense.objects.filter(book=other).exists()
    assert not Settlement.objects.filter(book=other).exists()


def test_into_a_personal_book_splits_and_settlements_are_dropped(source, auth_client, user):
    doc = book_export(auth_client, source)
    personal = Book.objects.get(personal_owner=user)
    response = auth_client.post(restore_url(personal), doc, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["sections"]["settlements"] == {"created": 0, "skipped": 2, "deleted": 0}
    records = Expense.objects.filter(book=personal)
    assert records.count() == 5
    assert {(e.split_mode, e.paid_by_id) for e in records} == {("", None)}
    assert not ExpenseShare.objects.filter(book=personal).exists()
    assert not Settlement.objects.filter(book=personal).exists()
    mine = book_export(auth_client, personal)
    assert {(e["paid_by"], e["split"]) for e in mine["expenses"]} == {(None, None)}
    assert mine["settlements"] == []


@pytest.mark.parametrize(
    ("change", "path", "message"),
    [
        (
            lambda e: e["split"].update(mode="halves"),
            ("split", "mode"),
            "Must be one of: equal, shares, exact, percent.",
        ),
        (
            lambda e: e["split"]["parts"].append(dict(e["split"]["parts"][0])),
            ("split", "parts"),
            "names '",
        ),
        (lambda e: e.update(split="equal"), ("split",), "Must be a JSON object."),
        (lambda e: e["split"].update(colour=1), ("split", "colour"), "Unknown field."),
        (
            lambda e: e["split"]["parts"][0].update(value="-1"),
            ("split", "parts", "0", "value"),
            "Must be a number ≥ 0",
        ),
        (lambda e: e.update(paid_by=7), ("paid_by",), "Must be a username"),
        (lambda e: e["split"]["parts"][0].update(user=""), ("split", "parts", "0", "user"), ""),
    ],
)
def test_a_bad_split_is_refused_under_its_path(
    source, auth_client, shared_book, people, change, path, message
):
    doc = book_export(auth_client, source)
    index = next(i for i, e in enumerate(doc["expenses"]) if e["description"] == "Rent")
    change(doc["expenses"][index])
    response = auth_client.post(restore_url(source), doc, format="json")
    assert response.status_code == 400, response.content
    node = response.json()["expenses"][str(index)]
    for key in path:
        node = node[key]
    assert any(message in problem for problem in node), node


def test_the_split_rules_are_the_expenses_apps(source, auth_client, shared_book, people):
    """A split that reads well but breaks a rule of splits (exact parts that do not add
    up) is refused under the expense's `split`, by the expenses app's own message."""
    doc = book_export(auth_client, source)
    index = next(i for i, e in enumerate(doc["expenses"]) if e["description"] == "Tickets")
    doc["expenses"][index]["split"]["parts"][0]["value"] = "19.99"
    fresh = shared_book(
        owner=people["ann"], editors=[people["bob"], people["cat"]], base_currency="EUR"
    )
    response = auth_client.post(restore_url(fresh), doc, format="json")
    assert response.status_code == 400, response.content
    assert response.json() == {
        "expenses": {
            str(index): {
                "split": ["Exact parts must sum to the amount 50.00 EUR; they sum to 49.99."]
            }
        }
    }
    assert not Expense.objects.filter(book=fresh).exists()


def test_a_settlement_between_one_person_is_refused(source, auth_client):
    doc = book_export(auth_client, source)
    doc["settlements"][0]["to"] = doc["settlements"][0]["from"]
    doc["settlements"][1]["amount"] = "0"
    response = auth_client.post(restore_url(source), doc, format="json")
    assert response.status_code == 400
    errors = response.json()["settlements"]
    assert errors["0"]["to"] == ["A settlement is a payment between two different members."]
    assert "amount" in errors["1"]


def test_without_a_split_an_expense_takes_the_books_default_paid_by_the_restorer(
    source, auth_client, shared_book, people, client_for
):
    doc = book_export(auth_client, source)
    fresh = shared_book(
        owner=people["ann"], editors=[people["bob"], people["cat"]], base_currency="EUR"
    )
    ann, bob = people["ann"], people["bob"]
    fresh.default_split = {
        "mode": "shares",
        "parts": [{"user": ann.pk, "value": "1"}, {"user": bob.pk, "value": "4"}],
    }
    fresh.save()
    small = copy.deepcopy(doc)
    small["settlements"] = []
    small["expenses"] = [{**doc["expenses"][0], "paid_by": None, "split": None}]
    small["expenses"][0].update(amount="10.00", currency="EUR")
    response = client_for(bob).post(restore_url(fresh), small, format="json")
    assert response.status_code == 200, response.content
    expense = Expense.objects.get(book=fresh)
    assert (expense.split_mode, expense.paid_by_id) == ("shares", bob.pk)
    assert dict(ExpenseShare.objects.filter(expense=expense).values_list("user_id", "amount")) == {
        ann.pk: Decimal("2.00"),
        bob.pk: Decimal("8.00"),
    }


def test_a_part_whose_account_is_gone_is_kept(source, auth_client, people, shared_book):
    cat = people["cat"]
    # Square cat first, then her account goes: her parts stay, without a user.
    doc_before = book_export(auth_client, source)
    Settlement.objects.filter(book=source).delete()
    ExpenseShare.objects.filter(book=source, user=cat).update(user=None)
    Expense.objects.filter(book=source, paid_by=cat).update(paid_by=None)
    doc = book_export(auth_client, source)
    tickets = next(e for e in doc["expenses"] if e["description"] == "Tickets")
    assert tickets["paid_by"] is None
    rent = next(e for e in doc["expenses"] if e["description"] == "Rent")
    assert [p["user"] for p in rent["split"]["parts"]].count(None) == 1
    assert len(doc_before["expenses"]) == len(doc["expenses"])

    fresh = shared_book(owner=people["ann"], editors=[people["bob"]], base_currency="EUR")
    response = auth_client.post(restore_url(fresh), doc, format="json")
    assert response.status_code == 200, response.content
    restored = Expense.objects.get(book=fresh, description="Rent")
    shares = ExpenseShare.objects.filter(expense=restored)
    assert shares.count() == 3 and shares.filter(user__isnull=True).count() == 1
    assert sum(s.amount for s in shares) == restored.amount
    assert Expense.objects.get(book=fresh, description="Tickets").paid_by_id is None
    assert book_export(auth_client, fresh)["expenses"] == doc["expenses"]


def test_the_parts_amounts_only_place_the_odd_cents(source, auth_client, people, shared_book):
    """Amounts that are not the split with its odd cents elsewhere are ignored: the parts
    come from the mode and values."""
    doc = book_export(auth_client, source)
    index = next(i for i, e in enumerate(doc["expenses"]) if e["description"] == "Rent")
    rent_parts = doc["expenses"][index]["split"]["parts"]
    for part, amount in zip(rent_parts, ("50.00", "50.00", "0.00"), strict=True):
        part["amount"] = amount
    fresh = shared_book(
        owner=people["ann"], editors=[people["bob"], people["cat"]], base_currency="EUR"
    )
    assert auth_client.post(restore_url(fresh), doc, format="json").status_code == 200
    rent = Expense.objects.get(book=fresh, description="Rent")
    # Computed afresh: the odd cent at position (the new expense's id mod 3).
    ids = sorted(person.pk for person in people.values())
    expected = [Decimal("33.34" if i == rent.pk % 3 else "33.33") for i in range(3)]
    shares = ExpenseShare.objects.filter(expense=rent).order_by("user_id")
    assert list(shares.values_list("user_id", "amount")) == list(zip(ids, expected, strict=True))
    # Moving the odd cent is kept, wherever the new expense's id would have put it (each
    # position in turn: at least two of them differ from what is computed).
    for position in range(3):
        for i, part in enumerate(rent_parts):
            part["amount"] = "33.34" if i == position else "33.33"
        other = shared_book(
            owner=people["ann"], editors=[people["bob"], people["cat"]], base_currency="EUR"
        )
        assert auth_client.post(restore_url(other), doc, format="json").status_code == 200
        rent = Expense.objects.get(book=other, description="Rent")
        kept = ExpenseShare.objects.get(expense=rent, user_id=ids[position])
        assert (kept.amount, kept.base_amount) == (Decimal("33.34"), Decimal("33.34"))
