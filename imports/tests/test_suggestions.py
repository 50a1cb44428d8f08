"""The learned categoriser in statement imports (SPEC §16): preview rows no rule matches
carry the model's suggestion (one batched prediction), committed records keep it as
`suggested_category` without being categorised by it, and a large commit queues a
retrain of the book's model."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from ai import suggestions
from ai.training import clear_cache, train_book
from categories.models import Kind
from categories.tests.factories import CategoryFactory, RuleFactory
from expenses.models import Expense
from expenses.tests.factories import ExpenseFactory
from income.models import Income

pytestmark = pytest.mark.django_db

URL = "/api/v1/imports/"


def csv_bytes(*lines: str) -> bytes:
    return ("Date,Description,Amount\n" + "\n".join(lines) + "\n").encode()


def preview(client, content, url=URL):
    file = SimpleUploadedFile("s.csv", content, content_type="text/csv")
    response = client.post(url, {"file": file}, format="multipart")
    assert response.status_code == 201, response.content
    return response.json()


def commit(client, batch_id, url=URL):
    return client.post(f"{url}{batch_id}/commit/", {}, format="json")


@pytest.fixture
def trained(user, settings):
    """The user's personal book with a fitted expense model: coffee shops → Coffee, fuel
    stations → Fuel (40 categorised records)."""
    settings.AI_SUGGEST_MIN_CONFIDENCE = 0.5
    clear_cache()
    coffee = CategoryFactory(user=user, name="Coffee", kind=Kind.EXPENSE)
    fuel = CategoryFactory(user=user, name="Fuel", kind=Kind.EXPENSE)
    for n in range(20):
        day = date(2026, 1, 1) + timedelta(days=n)
        ExpenseFactory(
            user=user, description=f"SQ *BLUE BOTTLE {1000 + n}", category=coffee, date=day
        )
        ExpenseFactory(
            user=user,
            description=f"SHELL OIL {5000 + 7 * n} STATION",
            category=fuel,
            date=day,
            amount=Decimal("55.00"),
        )
    assert train_book(book=user.personal_book, kind="expense") is not None
    yield {"coffee": coffee, "fuel": fuel}
    clear_cache()


def test_without_a_model_rows_have_rule_suggestions_only(auth_client, user):
    groceries = CategoryFactory(user=user, name="Groceries", kind=Kind.EXPENSE)
    RuleFactory(user=user, value="market", category=groceries)
    batch = preview(auth_client, csv_bytes("2026-03-01,Corner Market,-20", "2026-03-02,Bus,-2"))
    market, bus = batch["rows"]
    assert (market["suggested_category"], market["suggestion_source"]) == (groceries.pk, "rules")
    assert market["suggested_confidence"] is None
    assert (bus["suggested_category"], bus["suggestion_source"]) == (None, None)


def test_the_model_suggests_for_rows_no_rule_matches(auth_client, user, trained):
    fuel = trained["fuel"]
    RuleFactory(user=user, value="shell", category=fuel)
    batch = preview(
        auth_client,
        csv_bytes(
            "2026-03-01,SQ *BLUE BOTTLE 8812,-4.50",
            "2026-03-02,SHELL OIL 7777 STATION,-60",
            "2026-03-03,Salary,2500",
        ),
    )
    coffee_row, fuel_row, salary_row = batch["rows"]
    assert coffee_row["suggested_category"] == trained["coffee"].pk
    assert coffee_row["suggested_category_name"] == "Coffee"
    assert coffee_row["suggestion_source"] == "model"
    assert Decimal("0.5") <= Decimal(coffee_row["suggested_confidence"]) <= 1
    # A rule's category wins over the model and is applied on commit.
    assert (fuel_row["suggested_category"], fuel_row["suggestion_source"]) == (fuel.pk, "rules")
    # No income model: nothing suggested.
    assert (salary_row["suggested_category"], salary_row["suggestion_source"]) == (None, None)

    assert commit(auth_client, batch["id"]).status_code == 200
    coffee = Expense.objects.get(description="SQ *BLUE BOTTLE 8812")
    assert coffee.category_id is None  # a suggestion never categorises by itself
    assert coffee.suggested_category_id == trained["coffee"].pk
    assert coffee.suggested_confidence == Decimal(coffee_row["suggested_confidence"])
    shell = Expense.objects.get(description="SHELL OIL 7777 STATION")
    assert (shell.category_id, shell.suggested_category_id) == (fuel.pk, None)
    assert Income.objects.get(description="Salary").suggested_category_id is None
    shown = auth_client.get(f"/api/v1/expenses/{coffee.pk}/").json()
    assert (shown["category"], shown["suggested_category_name"]) == (None, "Coffee")


def test_one_batched_prediction_per_kind_whatever_the_rows(auth_client, user, monkeypatch):
    food = CategoryFactory(user=user, name="Food", kind=Kind.EXPENSE)
    calls = []

    def fake(*, book, kind, samples):
        calls.append((kind, len(samples)))
        return [(food.pk, 0.91) if "Pizza" in s.description else None for s in samples]

    monkeypatch.setattr("imports.services.rows_suggestions", fake)
    lines = [f"2026-03-{day:02d},Pizza {day},-{day}" for day in range(1, 29)]
    batch = preview(auth_client, csv_bytes(*lines, "2026-03-29,Refund,5", "2026-03-30,Bus,-2"))
    assert sorted(calls) == [("expense", 29), ("income", 1)]
    pizza = batch["rows"][0]
    assert (pizza["suggested_category"], pizza["suggested_confidence"]) == (food.pk, "0.910")
    assert batch["rows"][-1]["suggested_category"] is None


def test_exact_duplicates_are_not_asked_about(auth_client, monkeypatch):
    asked = []
    monkeypatch.setattr(
        "imports.services.rows_suggestions",
        lambda *, book, kind, samples: (
            asked.extend(s.description for s in samples) or [None] * len(samples)
        ),
    )
    first = preview(auth_client, csv_bytes("2026-03-01,Pizza,-9", "2026-03-02,Pasta,-8"))
    assert commit(auth_client, first["id"]).status_code == 200
    asked.clear()
    again = preview(auth_client, csv_bytes("2026-03-01,Pizza,-9", "2026-03-02,Pasta,-8"))
    assert all(row["duplicate"] for row in again["rows"])
    assert asked == []


def test_a_failing_model_leaves_the_preview_without_suggestions(auth_client, monkeypatch, caplog):
    def broken(**kwargs):
        raise RuntimeError("corrupt model")

    monkeypatch.setattr("imports.services.rows_suggestions", broken)
    batch = preview(auth_client, csv_bytes("2026-03-01,Pizza,-9"))
    assert batch["rows"][0]["suggested_category"] is None
    assert "Suggesting categories for an import preview failed" in caplog.text


def test_a_suggested_category_deleted_before_the_commit_is_dropped(auth_client, user, trained):
    batch = preview(auth_client, csv_bytes("2026-03-01,SQ *BLUE BOTTLE 8812,-4.50"))
    assert batch["rows"][0]["suggestion_source"] == "model"
    # Only suggested, never used as a category by a new record: deletable.
    new_coffee = Expense.objects.filter(category=trained["coffee"])
    new_coffee.update(category=trained["fuel"])
    assert auth_client.delete(f"/api/v1/categories/{trained['coffee'].pk}/").status_code == 204
    assert commit(auth_client, batch["id"]).status_code == 200
    stored = Expense.objects.get(description="SQ *BLUE BOTTLE 8812")
    assert (stored.category_id, stored.suggested_category_id) == (None, None)


def test_a_shared_books_preview_uses_that_books_model(auth_client, user, shared_book, trained):
    book = shared_book(owner=user)
    url = f"/api/v1/books/{book.pk}/imports/"
    batch = preview(auth_client, csv_bytes("2026-03-01,SQ *BLUE BOTTLE 8812,-4.50"), url)
    assert batch["rows"][0]["suggested_category"] is None  # the personal book's model only


# --- retraining after a large import -----------------------------------------------------


@pytest.fixture
def retrains(monkeypatch):
    """The (book id, kind) pairs the retrain task fitted (tasks run eagerly in tests)."""
    fitted = []
    monkeypatch.setattr(
        suggestions, "train_book", lambda *, book, kind: fitted.append((book.pk, kind))
    )
    return fitted


def rows(n: int, *, income: int = 0) -> bytes:
    lines = [f"2026-03-{1 + i % 28:02d},Shop {i},-{i + 1}" for i in range(n)]
    lines += [f"2026-03-{1 + i % 28:02d},Client {i},{i + 100}" for i in range(income)]
    return csv_bytes(*lines)


def test_a_large_commit_queues_a_retrain_of_the_book(
    auth_client, user, settings, retrains, django_capture_on_commit_callbacks
):
    settings.AI_RETRAIN_AFTER_IMPORT_ROWS = 6
    batch = preview(auth_client, rows(5, income=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert commit(auth_client, batch["id"]).status_code == 200
    assert retrains == [(user.personal_book.pk, "expense"), (user.personal_book.pk, "income")]


def test_a_small_commit_does_not(
    auth_client, settings, retrains, django_capture_on_commit_callbacks
):
    settings.AI_RETRAIN_AFTER_IMPORT_ROWS = 6
    batch = preview(auth_client, rows(5))
    with django_capture_on_commit_callbacks(execute=True):
        assert commit(auth_client, batch["id"]).status_code == 200
    assert retrains == []


def test_only_records_stored_count_and_only_kinds_that_got_any_are_refitted(
    auth_client, user, settings, retrains, django_capture_on_commit_callbacks
):
    settings.AI_RETRAIN_AFTER_IMPORT_ROWS = 4
    first = preview(auth_client, rows(3))
    with django_capture_on_commit_callbacks(execute=True):
        commit(auth_client, first["id"])
    again = preview(auth_client, rows(4))  # 3 duplicates, 1 new
    with django_capture_on_commit_callbacks(execute=True):
        commit(auth_client, again["id"])
    assert retrains == []
    more = preview(auth_client, rows(9))
    with django_capture_on_commit_callbacks(execute=True):
        commit(auth_client, more["id"])
    assert retrains == [(user.personal_book.pk, "expense")]


def test_a_queued_commit_queues_the_retrain_too(
    auth_client, user, settings, retrains, django_capture_on_commit_callbacks
):
    settings.AI_RETRAIN_AFTER_IMPORT_ROWS = 5
    settings.IMPORT_ASYNC_ROWS = 3
    batch = preview(auth_client, rows(6))
    with django_capture_on_commit_callbacks(execute=True):
        assert commit(auth_client, batch["id"]).status_code == 202
    assert Expense.objects.filter(user=user).count() == 6
    assert retrains == [(user.personal_book.pk, "expense")]


def test_the_retrain_task_fits_the_model_and_survives_a_failure(user, trained, monkeypatch):
    from ai.models import CategoryModel

    book = user.personal_book
    CategoryModel.objects.filter(book=book).delete()
    suggestions.retrain_book_task(book.pk, ["expense"])
    assert CategoryModel.objects.filter(book=book, kind="expense").exists()

    def broken(**kwargs):
        raise RuntimeError("out of memory")

    monkeypatch.setattr(suggestions, "train_book", broken)
    suggestions.retrain_book_task(book.pk, ["expense", "income"])  # logged, not raised
    suggestions.retrain_book_task(book.pk + 10_000, ["expense"])  # a book gone: nothing
