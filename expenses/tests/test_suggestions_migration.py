"""expenses.0010 / income.0009 add `suggested_category` and `suggested_confidence`:
records stored before stay as they were, with no suggestion. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("expenses", "0009_splits"), ("income", "0008_books_required")]
AFTER = [("expenses", "0010_suggested_category"), ("income", "0009_suggested_category")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def test_existing_records_get_no_suggestion():
    old = migrate(BEFORE)
    try:
        User = old.get_model("users", "User")
        Book = old.get_model("books", "Book")
        Category = old.get_model("categories", "Category")
        ann = User.objects.create(username="ann", email="ann@example.com", base_currency="EUR")
        book = Book.objects.create(
            name="Personal", kind="personal", personal_owner=ann, base_currency="EUR"
        )
        food = Category.objects.create(book=book, user=ann, name="Food", kind="expense")
        money = {
            "amount": Decimal("5.00"),
            "currency": "EUR",
            "base_amount": Decimal("5.00"),
            "date": date(2026, 3, 1),
        }
        spent = old.get_model("expenses", "Expense").objects.create(
            book=book, user=ann, description="Lunch", category=food, **money
        )
        loose = old.get_model("expenses", "Expense").objects.create(
            book=book, user=ann, description="Unknown", **money
        )
        earned = old.get_model("income", "Income").objects.create(
            book=book, user=ann, description="Pay", **money
        )

        new = migrate(AFTER)
        Expense, Income = new.get_model("expenses", "Expense"), new.get_model("income", "Income")
        rows = [
            *Expense.objects.filter(pk__in=[spent.pk, loose.pk]).values_list(
                "description", "category_id", "suggested_category_id", "suggested_confidence"
            ),
            *Income.objects.filter(pk=earned.pk).values_list(
                "description", "category_id", "suggested_category_id", "suggested_confidence"
            ),
        ]
        assert sorted(rows) == [
            ("Lunch", food.pk, None, None),
            ("Pay", None, None, None),
            ("Unknown", None, None, None),
        ]
        # The new field works on the migrated rows.
        Expense.objects.filter(pk=loose.pk).update(
            suggested_category=food, suggested_confidence=Decimal("0.912")
        )
        assert Expense.objects.get(pk=loose.pk).suggested_confidence == Decimal("0.912")
    finally:
        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
