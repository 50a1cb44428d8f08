"""The hardening migrations, run over data written before them (SQLite and PostgreSQL).

The database is migrated back to the state before issue 11, filled through the
historical models as the old code would have written it, then migrated forward:
amounts keep every digit in the wider columns, budgets and goals get originals equal
to their amounts in the owner's base currency, unusable exchange rates are dropped,
and the new tables start empty.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [
    ("users", "0002_roles"),
    ("currencies", "0001_initial"),
    ("categories", "0002_system_categories"),
    ("expenses", "0005_category_restrict"),
    ("income", "0005_category_restrict"),
    ("budgets", "0002_category_restrict"),
    ("goals", "0001_initial"),
    ("recurring", "0002_category_restrict"),
    ("imports", "0001_initial"),
]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def latest_targets():
    executor = MigrationExecutor(connection)
    return executor.loader.graph.leaf_nodes()


def test_hardening_migrations_keep_existing_data():
    old = migrate(BEFORE)
    User = old.get_model("users", "User")
    Expense = old.get_model("expenses", "Expense")
    Budget = old.get_model("budgets", "Budget")
    Goal = old.get_model("goals", "Goal")
    Contribution = old.get_model("goals", "Contribution")
    Rate = old.get_model("currencies", "ExchangeRate")

    owner = User.objects.create(username="old@style", email="o@example.com", base_currency="KWD")
    expense = Expense.objects.create(
        user=owner,
        amount=Decimal("12.345"),
        currency="KWD",
        base_amount=Decimal("12.345"),
        exchange_rate=1,
        date=date(2020, 5, 1),
        description="before",
    )
    budget = Budget.objects.create(
        user=owner, month=date(2026, 3, 1), scope="overall", amount=Decimal("500.125")
    )
    goal = Goal.objects.create(user=owner, name="Car", target_amount=Decimal("1000.500"))
    deposit = Contribution.objects.create(
        goal=goal, amount=Decimal("20.250"), date=date(2026, 1, 1)
    )
    kept = Rate.objects.create(base="EUR", quote="USD", date=date(2020, 1, 1), rate=Decimal("1.1"))
    Rate.objects.create(base="EUR", quote="XAF", date=date(2020, 1, 1), rate=Decimal("1E+9"))

    new = migrate(latest_targets())
    Expense = new.get_model("expenses", "Expense")
    Budget = new.get_model("budgets", "Budget")
    Goal = new.get_model("goals", "Goal")
    Contribution = new.get_model("goals", "Contribution")
    Rate = new.get_model("currencies", "ExchangeRate")
    User = new.get_model("users", "User")

    assert Expense.objects.get(pk=expense.pk).amount == Decimal("12.345")
    migrated_budget = Budget.objects.get(pk=budget.pk)
    assert (migrated_budget.amount_original, migrated_budget.currency_original) == (
        Decimal("500.125"),
        "KWD",
    )
    migrated_goal = Goal.objects.get(pk=goal.pk)
    assert (migrated_goal.target_amount_original, migrated_goal.currency_original) == (
        Decimal("1000.500"),
        "KWD",
    )
    migrated_deposit = Contribution.objects.get(pk=deposit.pk)
    assert (migrated_deposit.amount_original, migrated_deposit.currency_original) == (
        Decimal("20.250"),
        "KWD",
    )
    assert list(Rate.objects.values_list("pk", flat=True)) == [kept.pk]
    # An existing username with "@" is kept (its owner logs in by email).
    assert User.objects.filter(username="old@style").exists()
    assert not new.get_model("users", "BaseCurrencyChange").objects.exists()
    assert not new.get_model("categories", "RuleApplication").objects.exists()
