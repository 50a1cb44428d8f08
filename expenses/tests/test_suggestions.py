"""`suggested_category` on expenses and income (SPEC §16): what the learned categoriser
suggests for a record written with no category and matched by no rule — shown, never
applied; setting `category` clears it; a failing or slow categoriser never fails a write."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
from django.db import connection

from categories.models import Category, Kind
from categories.tests.factories import CategoryFactory, RuleFactory
from expenses.models import Expense
from income.models import Income
from ledger import services as ledger_services

pytestmark = pytest.mark.django_db

KINDS = {
    "expense": ("/api/v1/expenses/", Expense, "merchant", Kind.EXPENSE),
    "income": ("/api/v1/incomes/", Income, "source", Kind.INCOME),
}


@pytest.fixture
def suggester(monkeypatch):
    """Install a fake categoriser (instead of any registered one): `suggester.answer` is
    what it returns (or an exception it raises); `suggester.calls` what it was asked."""

    class Fake:
        answer: object = None
        delay = 0.0

        def __init__(self) -> None:
            self.calls: list[dict] = []

        def __call__(self, **kwargs):
            self.calls.append(kwargs)
            time.sleep(self.delay)
            if isinstance(self.answer, Exception):
                raise self.answer
            return self.answer(**kwargs) if callable(self.answer) else self.answer

    fake = Fake()
    monkeypatch.setattr(ledger_services, "_suggesters", [fake])
    monkeypatch.setitem(ledger_services._suggester_pause, "until", 0.0)
    monkeypatch.setitem(ledger_services._suggester_pause, "slow", 0)
    return fake


def body(kind: str, **extra):
    text_field = KINDS[kind][2]
    return {
        "amount": "12.50",
        "date": "2026-03-10",
        "description": "SQ *BLUE BOTTLE 1234",
        text_field: "Blue Bottle",
        **extra,
    }


@pytest.mark.parametrize("kind", KINDS)
def test_no_suggestion_without_a_trained_model(auth_client, kind):
    url, model, *_ = KINDS[kind]
    response = auth_client.post(url, body(kind), format="json")
    assert response.status_code == 201, response.content
    got = response.json()
    assert got["category"] is None
    assert (got["suggested_category"], got["suggested_category_name"]) == (None, None)
    assert got["suggested_confidence"] is None
    record = model.objects.get(pk=got["id"])
    assert record.suggested_category_id is None and record.suggested_confidence is None


@pytest.mark.parametrize("kind", KINDS)
def test_the_suggestion_is_stored_and_shown_but_not_applied(auth_client, user, suggester, kind):
    url, model, _, category_kind = KINDS[kind]
    coffee = CategoryFactory(user=user, name="Coffee", kind=category_kind)
    suggester.answer = (coffee.pk, 0.8666)
    response = auth_client.post(url, body(kind), format="json")
    assert response.status_code == 201, response.content
    got = response.json()
    assert got["category"] is None and got["category_name"] is None
    assert got["suggested_category"] == coffee.pk
    assert got["suggested_category_name"] == "Coffee"
    assert got["suggested_confidence"] == "0.867"
    record = model.objects.get(pk=got["id"])
    assert record.category_id is None
    assert (record.suggested_category_id, record.suggested_confidence) == (
        coffee.pk,
        Decimal("0.867"),
    )
    [call] = suggester.calls
    assert call == {
        "book": user.personal_book,
        "kind": kind,
        "description": "SQ *BLUE BOTTLE 1234",
        "merchant": "Blue Bottle",
        "amount": Decimal("12.50"),
    }
    assert auth_client.get(f"{url}{got['id']}/").json()["suggested_category"] == coffee.pk
    listed = auth_client.get(url).json()["results"][0]
    assert (listed["suggested_category_name"], listed["suggested_confidence"]) == (
        "Coffee",
        "0.867",
    )


@pytest.mark.parametrize("kind", KINDS)
def test_a_given_category_or_a_matching_rule_is_never_second_guessed(
    auth_client, user, suggester, kind
):
    url, _, _, category_kind = KINDS[kind]
    coffee = CategoryFactory(user=user, name="Coffee", kind=category_kind)
    other = CategoryFactory(user=user, name="Other", kind=category_kind)
    suggester.answer = (other.pk, 0.99)
    given = auth_client.post(url, body(kind, category=coffee.pk), format="json").json()
    assert (given["category"], given["suggested_category"]) == (coffee.pk, None)
    RuleFactory(user=user, value="blue bottle", category=coffee)
    ruled = auth_client.post(url, body(kind), format="json").json()
    assert (ruled["category"], ruled["suggested_category"]) == (coffee.pk, None)
    assert suggester.calls == []


@pytest.mark.parametrize("kind", KINDS)
def test_setting_the_category_accepts_or_overrides_and_clears_the_suggestion(
    auth_client, user, suggester, kind
):
    url, model, _, category_kind = KINDS[kind]
    coffee = CategoryFactory(user=user, name="Coffee", kind=category_kind)
    other = CategoryFactory(user=user, name="Other", kind=category_kind)
    suggester.answer = (coffee.pk, 0.9)
    first = auth_client.post(url, body(kind), format="json").json()
    second = auth_client.post(url, body(kind), format="json").json()

    notes = auth_client.patch(f"{url}{first['id']}/", {"notes": "x"}, format="json").json()
    assert notes["suggested_category"] == coffee.pk  # an unrelated edit keeps it

    accepted = auth_client.patch(f"{url}{first['id']}/", {"category": coffee.pk}, format="json")
    assert accepted.status_code == 200
    assert (accepted.json()["category"], accepted.json()["suggested_category"]) == (coffee.pk, None)
    overridden = auth_client.patch(
        f"{url}{second['id']}/", {"category": other.pk}, format="json"
    ).json()
    assert (overridden["category"], overridden["suggested_confidence"]) == (other.pk, None)
    assert not model.objects.filter(suggested_category__isnull=False).exists()
    assert not model.objects.filter(suggested_confidence__isnull=False).exists()


@pytest.mark.parametrize("kind", KINDS)
def test_the_suggestion_is_read_only(auth_client, user, kind):
    url, _, _, category_kind = KINDS[kind]
    coffee = CategoryFactory(user=user, name="Coffee", kind=category_kind)
    response = auth_client.post(
        url, body(kind, suggested_category=coffee.pk, suggested_confidence="1"), format="json"
    )
    assert response.status_code == 400
    assert set(response.json()) >= {"suggested_category", "suggested_confidence"}


@pytest.mark.parametrize("kind", KINDS)
def test_a_failing_categoriser_never_fails_the_write(auth_client, suggester, kind, caplog):
    url, model, *_ = KINDS[kind]
    suggester.answer = RuntimeError("model file corrupt")
    response = auth_client.post(url, body(kind), format="json")
    assert response.status_code == 201
    assert response.json()["suggested_category"] is None
    assert "category suggester failed" in caplog.text

    def broken_query(**kwargs):
        with connection.cursor() as cursor:  # aborts a PostgreSQL transaction
            cursor.execute("SELECT * FROM no_such_table_for_suggestions")

    suggester.answer = broken_query
    response = auth_client.post(url, body(kind, description="Second"), format="json")
    assert response.status_code == 201, response.content
    assert model.objects.filter(description="Second").exists()


@pytest.mark.parametrize(
    "answer",
    ["other book", "wrong kind", "missing", "confidence", "not an id"],
)
def test_an_answer_that_is_no_category_of_the_book_is_dropped(
    auth_client, user, other_user, suggester, answer
):
    mine = CategoryFactory(user=user, kind=Kind.EXPENSE)
    answers = {
        "other book": (CategoryFactory(user=other_user, kind=Kind.EXPENSE).pk, 0.9),
        "wrong kind": (CategoryFactory(user=user, kind=Kind.INCOME).pk, 0.9),
        "missing": (Category.objects.order_by("-pk").first().pk + 1000, 0.9),
        "confidence": (mine.pk, 1.5),
        "not an id": (str(mine.pk), 0.9),
    }
    suggester.answer = answers[answer]
    response = auth_client.post("/api/v1/expenses/", body("expense"), format="json")
    assert response.status_code == 201, response.content
    assert response.json()["suggested_category"] is None


def test_a_system_category_can_be_suggested(auth_client, suggester):
    system = CategoryFactory(user=None, name="Suggested system one", kind=Kind.EXPENSE)
    assert system.book_id is None
    suggester.answer = (system.pk, 0.95)
    got = auth_client.post("/api/v1/expenses/", body("expense"), format="json").json()
    assert got["suggested_category"] == system.pk
    assert got["suggested_category_name"] == "Suggested system one"


def test_a_slow_categoriser_is_not_asked_again_for_a_while(
    auth_client, user, suggester, settings, caplog
):
    settings.AI_SUGGEST_BUDGET_MS = 5
    coffee = CategoryFactory(user=user, kind=Kind.EXPENSE)
    suggester.answer, suggester.delay = (coffee.pk, 0.9), 0.02
    for _ in range(2):  # once may be a cold start; twice in a row is a slow model
        slow = auth_client.post("/api/v1/expenses/", body("expense"), format="json").json()
        assert slow["suggested_category"] == coffee.pk  # the answer came; it was just slow
    skipped = auth_client.post("/api/v1/expenses/", body("expense"), format="json")
    assert skipped.status_code == 201 and skipped.json()["suggested_category"] is None
    assert len(suggester.calls) == 2
    assert "not asked for 60 s" in caplog.text


def test_one_slow_answer_alone_pauses_nothing(auth_client, user, suggester, settings):
    # Wide margins both ways: the fast calls stay far under the budget on a loaded machine.
    settings.AI_SUGGEST_BUDGET_MS = 250
    coffee = CategoryFactory(user=user, kind=Kind.EXPENSE)
    suggester.answer = (coffee.pk, 0.9)
    for delay in (0.4, 0, 0.4, 0):
        suggester.delay = delay
        got = auth_client.post("/api/v1/expenses/", body("expense"), format="json").json()
        assert got["suggested_category"] == coffee.pk


def test_deleting_the_suggested_category_drops_the_suggestion(auth_client, user, suggester):
    coffee = CategoryFactory(user=user, kind=Kind.EXPENSE)
    suggester.answer = (coffee.pk, 0.9)
    got = auth_client.post("/api/v1/expenses/", body("expense"), format="json").json()
    assert auth_client.delete(f"/api/v1/categories/{coffee.pk}/").status_code == 204
    record = Expense.objects.get(pk=got["id"])
    assert record.suggested_category_id is None


def test_a_record_categorised_otherwise_shows_no_stale_suggestion(auth_client, user, suggester):
    coffee = CategoryFactory(user=user, kind=Kind.EXPENSE)
    suggester.answer = (coffee.pk, 0.9)
    got = auth_client.post("/api/v1/expenses/", body("expense"), format="json").json()
    Expense.objects.filter(pk=got["id"]).update(category=coffee)  # e.g. rules applied later
    shown = auth_client.get(f"/api/v1/expenses/{got['id']}/").json()
    assert shown["category"] == coffee.pk
    assert (shown["suggested_category"], shown["suggested_confidence"]) == (None, None)


def test_a_shared_book_record_gets_its_books_suggestion(auth_client, user, shared_book, suggester):
    book = shared_book(owner=user)
    food = CategoryFactory(user=user, book=book, kind=Kind.EXPENSE, name="Food")
    suggester.answer = lambda **kw: (food.pk, 0.9) if kw["book"] == book else None
    url = f"/api/v1/books/{book.pk}/expenses/"
    got = auth_client.post(url, body("expense"), format="json")
    assert got.status_code == 201, got.content
    assert got.json()["suggested_category_name"] == "Food"
    personal = auth_client.post("/api/v1/expenses/", body("expense"), format="json").json()
    assert personal["suggested_category"] is None
