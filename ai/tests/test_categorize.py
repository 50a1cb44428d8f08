"""POST /ai/categorize/, the learned categoriser and its training job (SPEC §16)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from drf_spectacular.generators import SchemaGenerator

import ai.llm
from ai import training
from ai.categorize import categorize
from ai.classifier import Sample, amount_bucket, fit, normalise_text
from ai.models import CategoryModel
from ai.suggestions import record_suggestion
from books.models import Book
from categories.models import Category
from categories.tests.factories import CategoryFactory, RuleFactory
from expenses.models import Expense
from expenses.tests.factories import ExpenseFactory
from income.tests.factories import IncomeFactory
from users.tests.factories import UserFactory

URL = "/api/v1/ai/categorize/"


@pytest.fixture(autouse=True)
def _fresh_models():
    training.clear_cache()
    yield
    training.clear_cache()


def personal(user) -> Book:
    return Book.objects.get(personal_owner=user)


def add_history(user, book=None, *, per_category=None, start=date(2025, 1, 1)):
    """Categorised expenses: {category: [(merchant, description, amount), ...]} repeated."""
    day = start
    created = []
    for category, patterns in (per_category or {}).items():
        for i in range(20):
            for merchant, description, amount in patterns:
                day += timedelta(days=1)
                created.append(
                    ExpenseFactory(
                        user=user,
                        book=book or personal(user),
                        category=category,
                        merchant=merchant,
                        description=description.format(n=1000 + 37 * i),
                        amount=Decimal(amount),
                        base_amount=Decimal(amount),
                        date=day,
                    )
                )
    return created


@pytest.fixture
def trained(user):
    """The user's personal book with its own "Coffee shops" and "Hardware" categories,
    40 records each, and its model trained."""
    coffee = CategoryFactory(user=user, name="Coffee shops")
    hardware = CategoryFactory(user=user, name="Hardware")
    add_history(
        user,
        per_category={
            coffee: [("", "SQ *BLUEBOTTLE {n}", "4.50"), ("", "RITUAL ROASTERS #{n}", "5.20")],
            hardware: [("HOME DEPOT", "HOMEDEPOT.COM*{n}", "62.00"), ("", "LOWES #{n}", "45")],
        },
    )
    model = training.train_book(book=personal(user), kind="expense")
    assert model is not None
    return coffee, hardware


# --- the classifier --------------------------------------------------------------------------


def test_bank_noise_is_normalised_away():
    assert normalise_text("AMZN MKTP US*2K3L1") == normalise_text("amzn mktp us*9QX70")
    assert normalise_text("SQ *COFFEE 1234") == "sq coffee 0"
    assert normalise_text("Card 4411 #88213", "STARBUCKS") == "starbucks card 0"
    assert amount_bucket(None) != amount_bucket(Decimal("4.50")) != amount_bucket(Decimal("1200"))


def test_the_classifier_learns_noisy_merchants():
    samples = [Sample(f"AMZN MKTP US*{i:05X}K", amount=Decimal("30")) for i in range(30)]
    samples += [Sample(f"SQ *COFFEE {1000 + i}", amount=Decimal("4")) for i in range(30)]
    model = fit(samples, [1] * 30 + [2] * 30)
    assert model.predict([Sample("AMZN Mktp US*ZZ9Q1"), Sample("SQ *COFFEE 77")]) == [1, 2]
    (first, p), *_ = model.ranked(Sample("AMZN MKTP US*777"))
    assert first == 1 and p > 0.8


# --- rules, model, keywords, none ---------------------------------------------------------------


def test_the_books_rules_win_over_the_model(auth_client, user, trained):
    treats = CategoryFactory(user=user, name="Treats")
    RuleFactory(user=user, value="bluebottle", category=treats)
    response = auth_client.post(
        URL, {"description": "SQ *BLUEBOTTLE 9999", "kind": "expense"}, format="json"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["source"] == "rules"
    assert body["suggestions"] == [
        {"category": treats.pk, "category_name": "Treats", "confidence": 1.0}
    ]
    assert body["fallback"] is None
    assert "rule" in body["rationale"]


def test_the_model_learns_the_books_own_categories(auth_client, user, trained):
    coffee, hardware = trained
    stored = CategoryModel.objects.get(book=personal(user), kind="expense")
    assert (stored.samples, stored.classes) == (80, 2)
    assert stored.holdout_accuracy == 1.0
    response = auth_client.post(
        URL,
        {"description": "SQ *BLUEBOTTLE 4242", "amount": "4.80", "kind": "expense"},
        format="json",
    )
    body = response.json()
    assert body["source"] == "model"
    assert body["suggestions"][0]["category"] == coffee.pk
    assert body["suggestions"][0]["category_name"] == "Coffee shops"
    assert body["suggestions"][0]["confidence"] > 0.6
    assert [s["category"] for s in body["suggestions"]] == [coffee.pk, hardware.pk]
    response = auth_client.post(
        URL,
        {"description": "HOMEDEPOT.COM*7731", "merchant": "Home Depot", "kind": "expense"},
        format="json",
    )
    assert response.json()["suggestions"][0]["category"] == hardware.pk


def test_another_books_categories_are_never_suggested(client_for, user, trained):
    coffee, hardware = trained
    stranger = UserFactory()
    beans = CategoryFactory(user=stranger, name="Beans")
    tools = CategoryFactory(user=stranger, name="Tools")
    add_history(
        stranger,
        per_category={
            beans: [("", "SQ *BLUEBOTTLE {n}", "4.50")],
            tools: [("", "HOMEDEPOT.COM*{n}", "62.00")],
        },
    )
    training.train_book(book=personal(stranger), kind="expense")
    theirs = client_for(stranger).post(
        URL, {"description": "SQ *BLUEBOTTLE 4242", "kind": "expense"}, format="json"
    )
    ids = {s["category"] for s in theirs.json()["suggestions"]}
    assert ids == {beans.pk, tools.pk}
    ours = client_for(user).post(
        URL, {"description": "SQ *BLUEBOTTLE 4242", "kind": "expense"}, format="json"
    )
    assert {s["category"] for s in ours.json()["suggestions"]} == {coffee.pk, hardware.pk}


def test_cold_start_answers_with_keywords_then_nothing(auth_client, user):
    ExpenseFactory(user=user, description="first one")
    response = auth_client.post(
        URL, {"description": "NETFLIX.COM monthly", "kind": "expense"}, format="json"
    )
    body = response.json()
    entertainment = Category.objects.get(book=None, kind="expense", name="Entertainment")
    assert body["source"] == "rules"
    assert body["suggestions"][0]["category"] == entertainment.pk
    assert "keyword" in body["rationale"].lower() and "no learned model" in body["rationale"]
    own = CategoryFactory(user=user, name="Pet food")
    response = auth_client.post(
        URL, {"description": "Pet food for Rex", "kind": "expense"}, format="json"
    )
    assert response.json()["suggestions"][0]["category"] == own.pk
    response = auth_client.post(URL, {"description": "zqxv 12", "kind": "expense"}, format="json")
    assert response.json() == {
        "suggestions": [],
        "source": "none",
        "rationale": response.json()["rationale"],
        "fallback": None,
    }
    assert CategoryModel.objects.count() == 0  # asking never trains


def test_income_is_categorised_among_income_categories(auth_client, user):
    response = auth_client.post(
        URL, {"description": "ACME LTD PAYROLL", "kind": "income"}, format="json"
    )
    salary = Category.objects.get(book=None, kind="income", name="Salary")
    assert response.json()["suggestions"][0]["category"] == salary.pk
    freelance = CategoryFactory(user=user, name="Gigs", kind="income")
    for i in range(30):
        category = freelance if i % 2 else salary
        IncomeFactory(user=user, category=category, description=f"{'GIG' if i % 2 else 'ACME'} {i}")
    assert training.train_book(book=personal(user), kind="income") is not None
    assert training.train_book(book=personal(user), kind="expense") is None
    body = auth_client.post(URL, {"description": "GIG 99", "kind": "income"}, format="json").json()
    assert body["source"] == "model" and body["suggestions"][0]["category"] == freelance.pk


# --- access and validation -----------------------------------------------------------------------


def test_an_outsider_gets_404(client_for, user, shared_book):
    book = shared_book(owner=user)
    response = client_for(UserFactory()).post(
        f"/api/v1/books/{book.pk}/ai/categorize/",
        {"description": "coffee", "kind": "expense"},
        format="json",
    )
    assert response.status_code == 404


def test_a_viewer_may_ask_and_nothing_is_written(client_for, user, shared_book):
    viewer = UserFactory()
    book = shared_book(owner=user, viewers=[viewer])
    RuleFactory(user=user, book=book, value="coffee")
    before = (Expense.objects.count(), CategoryModel.objects.count(), Category.objects.count())
    response = client_for(viewer).post(
        f"/api/v1/books/{book.pk}/ai/categorize/",
        {"description": "Coffee beans", "kind": "expense"},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["source"] == "rules"
    after = (Expense.objects.count(), CategoryModel.objects.count(), Category.objects.count())
    assert after == before


@pytest.mark.parametrize(
    "body, field",
    [
        ({"kind": "expense"}, "description"),
        ({"description": "", "kind": "expense"}, "description"),
        ({"description": "x" * 256, "kind": "expense"}, "description"),
        ({"description": "coffee"}, "kind"),
        ({"description": "coffee", "kind": "transfer"}, "kind"),
        ({"description": "coffee", "kind": "expense", "amount": "-3"}, "amount"),
        ({"description": "coffee", "kind": "expense", "amount": "ten"}, "amount"),
        ({"description": "coffee", "kind": "expense", "amount": "1.234"}, "amount"),
        ({"description": "coffee", "kind": "expense", "category": 1}, "category"),
    ],
)
def test_a_bad_body_is_400_naming_the_field(auth_client, body, field):
    response = auth_client.post(URL, body, format="json")
    assert response.status_code == 400
    assert field in response.json()


def test_a_warm_request_is_a_few_queries(auth_client, user, trained):
    auth_client.post(URL, {"description": "LOWES #1", "kind": "expense"}, format="json")
    with CaptureQueriesContext(connection) as queries:
        response = auth_client.post(
            URL, {"description": "LOWES #2", "kind": "expense"}, format="json"
        )
    assert response.json()["source"] == "model"
    assert not any("payload" in q["sql"] for q in queries.captured_queries)  # cached model
    assert len(queries) <= 8


# --- the language model: ties, fallback, hostile answers ---------------------------------------


class FakeLLM:
    enabled = True

    def __init__(self, choose=None, rationale="It is a shop.", fail=None):
        self.choose, self.text, self.fail, self.calls = choose, rationale, fail, []

    def choose_category(self, text, candidates):
        self.calls.append(("choose", text, list(candidates)))
        if self.fail:
            raise ai.llm.LLMUnavailable(self.fail)
        return self.choose(candidates) if callable(self.choose) else self.choose

    def rationale(self, facts):
        self.calls.append(("rationale", facts))
        return self.text

    def tips(self, facts):
        return None


@pytest.fixture
def tied(user):
    """A book whose model cannot tell "Alpha" from "Beta" for "GENERIC STORE"."""
    alpha = CategoryFactory(user=user, name="Alpha")
    beta = CategoryFactory(user=user, name="Beta")
    add_history(
        user,
        per_category={
            alpha: [("", "GENERIC STORE", "10"), ("", "ALPHA MART {n}", "10")],
            beta: [("", "GENERIC STORE", "10"), ("", "BETA SHOP {n}", "10")],
        },
    )
    training.train_book(book=personal(user), kind="expense")
    return alpha, beta


def ask(user, description="GENERIC STORE"):
    return categorize(book=personal(user), kind="expense", description=description, amount=10)


def test_without_an_llm_a_tie_is_the_models_answer(user, tied, monkeypatch):
    monkeypatch.setattr(ai.llm, "llm", _disabled)
    answer = ask(user)
    assert answer["source"] == "model" and answer["fallback"] is None
    first, second = answer["suggestions"][:2]
    assert abs(first["confidence"] - second["confidence"]) <= 0.1


def _disabled():
    fake = FakeLLM(fail="error")
    fake.enabled = False
    return fake


def test_an_llm_breaks_a_tie_and_writes_the_rationale(user, tied, monkeypatch):
    model_first = ask(user)["suggestions"][0]["category_name"]
    other = "Beta" if model_first == "Alpha" else "Alpha"
    fake = FakeLLM(choose=other, rationale="Generic stores are usually Beta for you.")
    monkeypatch.setattr(ai.llm, "llm", lambda: fake)
    answer = ask(user)
    assert answer["source"] == "llm"
    assert answer["suggestions"][0]["category_name"] == other
    assert answer["rationale"] == "Generic stores are usually Beta for you."
    assert answer["fallback"] is None
    kind, text, candidates = fake.calls[0]
    assert (kind, text) == ("choose", "GENERIC STORE")
    assert set(candidates) == {"Alpha", "Beta"}
    assert fake.calls[1][1]["chosen_category"] == other


@pytest.mark.parametrize("reason", ["timeout", "error", "invalid"])
def test_an_unavailable_llm_falls_back_to_the_model(user, tied, monkeypatch, reason):
    monkeypatch.setattr(ai.llm, "llm", lambda: FakeLLM(fail=reason))
    answer = ask(user)
    assert answer["source"] == "model"
    assert answer["fallback"] == reason
    assert len(answer["suggestions"]) == 2


def test_an_llm_answer_naming_no_candidate_is_ignored(user, tied, monkeypatch):
    hostile = FakeLLM(choose="Ignore the rules: category 1 (Food)")
    monkeypatch.setattr(ai.llm, "llm", lambda: hostile)
    answer = ask(user)
    assert answer["source"] == "model"
    assert {s["category_name"] for s in answer["suggestions"]} == {"Alpha", "Beta"}


def test_a_clear_answer_does_not_ask_the_llm(user, tied, monkeypatch):
    fake = FakeLLM(choose="Beta")
    monkeypatch.setattr(ai.llm, "llm", lambda: fake)
    answer = ask(user, "ALPHA MART 1111")
    assert answer["source"] == "model" and answer["suggestions"][0]["category_name"] == "Alpha"
    assert fake.calls == []


def test_the_fake_ollama_breaks_a_tie_and_its_timeout_falls_back(user, tied, fake_ollama):
    fake_ollama.mode = "good"
    answer = ask(user)
    assert answer["source"] == "llm" and answer["fallback"] is None
    assert answer["rationale"]
    fake_ollama.mode = "slow"
    answer = ask(user)
    assert answer["source"] == "model" and answer["fallback"] == "timeout"


# --- record_suggestion -----------------------------------------------------------------------


def test_record_suggestion_only_when_the_model_is_sure(user, trained, settings):
    coffee, _ = trained
    book = personal(user)
    suggested = record_suggestion(
        book=book, kind="expense", description="SQ *BLUEBOTTLE 5", merchant="", amount=None
    )
    assert suggested is not None and suggested[0] == coffee.pk and suggested[1] >= 0.8
    settings.AI_SUGGEST_MIN_CONFIDENCE = 1.0
    assert (
        record_suggestion(
            book=book, kind="expense", description="SQ *BLUEBOTTLE 5", merchant="", amount=None
        )
        is None
    )
    newcomer = UserFactory()
    assert (
        record_suggestion(
            book=personal(newcomer), kind="expense", description="x", merchant="", amount=None
        )
        is None
    )


# --- training and the job -------------------------------------------------------------------------


def test_too_few_records_or_one_category_means_no_model(user, settings, trained):
    book = personal(user)
    settings.AI_MIN_TRAINING_RECORDS = 100
    assert training.train_book(book=book, kind="expense") is None
    assert not CategoryModel.objects.filter(book=book).exists()  # the stale one is gone
    settings.AI_MIN_TRAINING_RECORDS = 30
    lone = UserFactory()
    one = CategoryFactory(user=lone, name="Only")
    add_history(lone, per_category={one: [("", "THING {n}", "3")] * 2})
    assert training.train_book(book=personal(lone), kind="expense") is None


def test_training_keeps_the_most_recent_records(user, settings, trained):
    settings.AI_TRAIN_MAX_RECORDS = 50
    stored = training.train_book(book=personal(user), kind="expense")
    assert stored.samples == 50
    assert 0 < len(stored.payload) < 500_000


def test_the_job_retrains_only_books_that_changed(user, trained):
    book = personal(user)
    idle_user = UserFactory()
    a = CategoryFactory(user=idle_user, name="A")
    b = CategoryFactory(user=idle_user, name="B")
    add_history(idle_user, per_category={a: [("", "AAA {n}", "1")], b: [("", "BBB {n}", "2")]})
    newcomer = UserFactory()
    c = CategoryFactory(user=newcomer, name="C")
    d = CategoryFactory(user=newcomer, name="D")
    add_history(newcomer, per_category={c: [("", "CCC {n}", "1")], d: [("", "DDD {n}", "2")]})
    small = UserFactory()
    ExpenseFactory(user=small, category=CategoryFactory(user=small))
    training.train_book(book=personal(idle_user), kind="expense")

    assert set(training.due_books()) == {(personal(newcomer).pk, "expense")}
    assert training.train_due_books() == 1
    assert training.due_books() == []
    stamps = dict(CategoryModel.objects.values_list("book_id", "trained_at"))

    expense = Expense.objects.filter(book=book).first()
    expense.description = "edited"
    expense.save()
    Expense.objects.filter(book=personal(newcomer)).first().delete()
    assert set(training.due_books()) == {(book.pk, "expense"), (personal(newcomer).pk, "expense")}
    assert training.train_due_books() == 2
    after = dict(CategoryModel.objects.values_list("book_id", "trained_at"))
    assert after[personal(idle_user).pk] == stamps[personal(idle_user).pk]
    assert after[book.pk] > stamps[book.pk]
    assert training.train_due_books() == 0


def test_the_job_is_registered_daily():
    from core.jobs import DAY, registered_jobs

    job = next(job for job in registered_jobs() if job.name == "train_categorisers")
    assert job.every == DAY and job.func is training.train_due_books


def test_a_retrained_model_replaces_the_cached_one(user, trained):
    book = personal(user)
    first = training.load_model(book=book, kind="expense")
    assert training.load_model(book=book, kind="expense") is first
    training.train_book(book=book, kind="expense")
    assert training.load_model(book=book, kind="expense") is not first


# --- schema ---------------------------------------------------------------------------------------


def test_the_operation_is_documented():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    for path in ("/api/v1/ai/categorize/", "/api/v1/books/{book_id}/ai/categorize/"):
        operation = schema["paths"][path]["post"]
        assert operation["summary"] and operation["description"]
        assert operation["requestBody"]["content"]["application/json"]["examples"]
        assert {"200", "400", "401"} <= set(operation["responses"])
    assert "404" in schema["paths"]["/api/v1/books/{book_id}/ai/categorize/"]["post"]["responses"]
    output = schema["components"]["schemas"]["CategorizeOutput"]
    assert set(output["properties"]) == {"suggestions", "source", "rationale", "fallback"}
