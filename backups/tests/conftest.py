"""A rich account (every kind of record), built through the apps' services, and helpers
to export and restore backups through the API."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from budgets.models import Budget
from budgets.services import budget_upsert
from categories.models import Category, Kind, Rule, Tag
from categories.services import category_create, rule_create, tag_create
from currencies.tests.factories import ExchangeRateFactory
from expenses.models import Expense
from expenses.services import expense_create
from goals.models import Contribution, Goal
from goals.services import contribution_create, goal_create, goal_update
from income.models import Income
from income.services import income_create
from notifications.models import NotificationPreference
from notifications.services import preferences_update
from users.services import user_update

EXPORT_URL = "/api/v1/export/backup.json"
RESTORE_URL = "/api/v1/import/backup/"


def system(kind: str, name: str) -> Category:
    return Category.objects.get(user__isnull=True, kind=kind, name=name)


def export(client: APIClient) -> dict[str, Any]:
    response = client.get(EXPORT_URL)
    assert response.status_code == 200, response.content
    return json.loads(b"".join(response.streaming_content))


def restore(client: APIClient, document: Any, mode: str | None = None) -> Any:
    url = RESTORE_URL if mode is None else f"{RESTORE_URL}?mode={mode}"
    return client.post(url, document, format="json")


def comparable(document: dict[str, Any]) -> dict[str, Any]:
    """The document without what may differ between two exports of the same data."""
    return {key: value for key, value in document.items() if key != "exported_at"}


def owned_counts(user: Any) -> dict[str, int]:
    return {
        "categories": Category.objects.filter(user=user).count(),
        "tags": Tag.objects.filter(user=user).count(),
        "rules": Rule.objects.filter(user=user).count(),
        "expenses": Expense.objects.filter(user=user).count(),
        "incomes": Income.objects.filter(user=user).count(),
        "budgets": Budget.objects.filter(user=user).count(),
        "goals": Goal.objects.filter(user=user).count(),
        "contributions": Contribution.objects.filter(goal__user=user).count(),
        "preferences": NotificationPreference.objects.filter(user=user).count(),
    }


@pytest.fixture
def eur_rates(db) -> None:
    ExchangeRateFactory(base="EUR", quote="USD", date=date(2026, 1, 1), rate=Decimal("1.0850"))
    ExchangeRateFactory(base="EUR", quote="USD", date=date(2026, 3, 1), rate=Decimal("1.0925"))


def build_rich_account(user: Any) -> None:
    """Every kind of record the backup carries, each through its app's service."""
    user_update(
        user=user,
        data={
            "first_name": "Ada",
            "last_name": "Lovelace",
            "timezone": "Europe/Berlin",
            "month_start_day": 5,
        },
    )
    food, salary = system(Kind.EXPENSE, "Food"), system(Kind.INCOME, "Salary")
    coffee = category_create(
        user=user,
        data={"name": "Coffee", "kind": Kind.EXPENSE, "parent": food, "icon": "cup"},
    )
    hobbies = category_create(
        user=user, data={"name": "Hobbies", "kind": Kind.EXPENSE, "color": "#12AB34"}
    )
    models = category_create(
        user=user, data={"name": "Model trains", "kind": Kind.EXPENSE, "parent": hobbies}
    )
    gigs = category_create(user=user, data={"name": "Side gigs", "kind": Kind.INCOME})
    tag_create(user=user, name="Unused tag")
    rule_create(
        user=user,
        data={
            "name": "Coffee shops",
            "field": "merchant",
            "operator": "contains",
            "value": "espresso",
            "category": coffee,
            "add_tags": ["caffeine", "work"],
            "priority": 10,
        },
    )
    rule_create(
        user=user,
        data={
            "name": "Payroll",
            "field": "description",
            "operator": "regex",
            "value": r"^ACME\s+payroll",
            "case_sensitive": True,
            "category": salary,
            "priority": 20,
            "active": False,
        },
    )
    expense_create(
        user=user,
        data={
            "amount": Decimal("42.10"),
            "date": date(2026, 3, 6),
            "description": "Groceries for the week",
            "category": food,
            "payment_method": "card",
            "merchant": "Corner shop",
            "notes": "with\nnewline",
            "tags": ["Home", "work"],
        },
    )
    expense_create(
        user=user,
        data={
            "amount": Decimal("3.80"),
            "currency": "EUR",
            "date": date(2026, 3, 7),
            "description": "Flat white",
            "category": coffee,
            "merchant": "Espresso Bar Roma",
            "payment_method": "cash",
            "tags": ["travel"],
        },
    )
    expense_create(  # categorised by the rule, in EUR at the January rate
        user=user,
        data={
            "amount": Decimal("2.50"),
            "currency": "EUR",
            "date": date(2026, 2, 14),
            "description": "Cappuccino",
            "merchant": "Espresso Corner",
        },
    )
    expense_create(
        user=user,
        data={
            "amount": Decimal("120"),
            "date": date(2026, 3, 20),
            "description": "Locomotive",
            "category": models,
            "payment_method": "bank_transfer",
        },
    )
    expense_create(
        user=user,
        data={"amount": Decimal("9.99"), "date": date(2026, 3, 20), "description": "Misc"},
    )
    income_create(
        user=user,
        data={
            "amount": Decimal("3000.00"),
            "date": date(2026, 3, 1),
            "description": "March salary",
            "category": salary,
            "source": "ACME Corp",
        },
    )
    income_create(
        user=user,
        data={
            "amount": Decimal("250.00"),
            "currency": "EUR",
            "date": date(2026, 3, 15),
            "description": "Logo design",
            "category": gigs,
            "tags": ["freelance", "Work"],
        },
    )
    for month in (date(2026, 2, 1), date(2026, 3, 1)):
        budget_upsert(
            book=user.personal_book,
            user=user,
            data={
                "month": month,
                "scope": "overall",
                "amount": Decimal("1500.00"),
                "rollover": True,
            },
        )
    budget_upsert(
        book=user.personal_book,
        user=user,
        data={
            "month": date(2026, 3, 1),
            "scope": "category",
            "category": food,
            "amount": Decimal("400.00"),
            "warn_threshold": Decimal("0.650"),
        },
    )
    budget_upsert(
        book=user.personal_book,
        user=user,
        data={
            "month": date(2026, 3, 1),
            "scope": "category",
            "category": coffee,
            "amount": Decimal("30.00"),
        },
    )
    vacation = goal_create(
        user=user,
        data={
            "name": "Vacation",
            "target_amount": Decimal("2000.00"),
            "target_date": date(2026, 12, 1),
            "notes": "Lisbon",
        },
    )
    for amount, day, note in (
        ("500.00", date(2026, 1, 10), "January"),
        ("300.00", date(2026, 2, 10), ""),
        ("-120.50", date(2026, 2, 20), "Car repair"),
    ):
        contribution_create(
            goal=vacation, data={"amount": Decimal(amount), "date": day, "note": note}
        )
    laptop = goal_create(user=user, data={"name": "Laptop", "target_amount": Decimal("800.00")})
    contribution_create(goal=laptop, data={"amount": Decimal("850.00"), "date": date(2026, 3, 2)})
    old = goal_create(user=user, data={"name": "Old plan", "target_amount": Decimal("100.00")})
    contribution_create(goal=old, data={"amount": Decimal("10.00"), "date": date(2025, 12, 1)})
    goal_update(goal=old, data={"status": "archived"})
    preferences_update(
        user=user,
        changes={"budget_warn": {"email": True}, "monthly_summary": {"in_app": False}},
    )


@pytest.fixture
def rich_user(user, eur_rates):
    build_rich_account(user)
    user.refresh_from_db()
    return user


@pytest.fixture
def backup_of_rich(rich_user, client_for) -> dict[str, Any]:
    return export(client_for(rich_user))
