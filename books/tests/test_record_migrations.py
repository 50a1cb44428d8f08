"""Accounts written before books get a personal book with their settings (books.0002),
and their records move into it (the `*_books` migrations), on SQLite and PostgreSQL;
system categories stay in no book."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE_BOOKS = [
    ("users", "0004_base_currency_change"),
    ("books", "0001_initial"),
    ("categories", "0003_rule_application"),
    ("expenses", "0006_amounts_four_minor_units"),
    ("income", "0006_amounts_four_minor_units"),
    ("budgets", "0004_budget_originals"),
    ("goals", "0003_goal_originals"),
    ("imports", "0003_possible_duplicates_and_profiles"),
    ("recurring", "0003_amounts_four_minor_units"),
]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def test_every_record_moves_into_its_owners_personal_book():
    old = migrate(BEFORE_BOOKS)
    User = old.get_model("users", "User")
    Category = old.get_model("categories", "Category")
    Tag = old.get_model("categories", "Tag")
    Rule = old.get_model("categories", "Rule")
    Expense = old.get_model("expenses", "Expense")
    Income = old.get_model("income", "Income")
    Budget = old.get_model("budgets", "Budget")
    Goal = old.get_model("goals", "Goal")
    Change = old.get_model("users", "BaseCurrencyChange")

    ann = User.objects.create(username="ann", email="ann@example.com", base_currency="EUR")
    bob = User.objects.create(username="bob", email="bob@example.com", base_currency="JPY")
    # (A transactional test before this one may have flushed the seeded system rows.)
    system, _ = Category.objects.get_or_create(user=None, kind="expense", name="Food")
    made = {}
    for user in (ann, bob):
        own = Category.objects.create(user=user, name="Pets", kind="expense")
        made[user.username] = {
            "category": own,
            "tag": Tag.objects.create(user=user, name="home"),
            "rule": Rule.objects.create(user=user, name="vet", value="vet", category=own),
            "expense": Expense.objects.create(
                user=user,
                amount=Decimal("12.50"),
                currency="EUR",
                base_amount=Decimal("12.50"),
                date=date(2026, 3, 1),
                description="Vet",
                category=system,
            ),
            "income": Income.objects.create(
                user=user,
                amount=Decimal("100"),
                currency="EUR",
                base_amount=Decimal("100"),
                date=date(2026, 3, 1),
                description="Pay",
            ),
            "budget": Budget.objects.create(
                user=user,
                month=date(2026, 3, 1),
                scope="overall",
                amount=Decimal("500"),
                amount_original=Decimal("500"),
                currency_original=user.base_currency,
            ),
            "goal": Goal.objects.create(
                user=user,
                name="Bike",
                target_amount=Decimal("900"),
                target_amount_original=Decimal("900"),
                currency_original=user.base_currency,
            ),
        }
    Change.objects.create(user=ann, from_currency="USD", to_currency="EUR", status="done")

    new = migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
    Book = new.get_model("books", "Book")
    books = {b.personal_owner.username: b for b in Book.objects.select_related("personal_owner")}
    assert set(books) == {"ann", "bob"}
    assert (books["bob"].kind, books["bob"].base_currency) == ("personal", "JPY")
    Membership = new.get_model("books", "Membership")
    assert sorted(Membership.objects.values_list("user__username", "role")) == [
        ("ann", "owner"),
        ("bob", "owner"),
    ]
    for username, records in made.items():
        for kind, record in records.items():
            model = new.get_model(record._meta.app_label, record._meta.object_name)
            stored = model.objects.get(pk=record.pk)
            assert stored.book_id == books[username].pk, (username, kind)
            assert stored.user_id == record.user_id
    assert new.get_model("categories", "Category").objects.get(pk=system.pk).book_id is None
    change = new.get_model("users", "BaseCurrencyChange").objects.get()
    assert change.book_id == books["ann"].pk
