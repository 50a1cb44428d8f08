"""Export fixtures: records with categories, tags and foreign currencies, and file readers."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from categories.models import Category
from categories.tests.factories import CategoryFactory, TagFactory
from expenses.tests.factories import ExpenseFactory
from income.tests.factories import IncomeFactory


def read_csv(response: Any) -> list[list[str]]:
    """The rows of a streamed CSV response (the BOM checked and stripped)."""
    assert response.status_code == 200, response.content
    assert response.streaming is True
    body = b"".join(response.streaming_content)
    assert body.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))


def as_dicts(rows: list[list[str]]) -> list[dict[str, str]]:
    header, *records = rows
    return [dict(zip(header, record, strict=True)) for record in records]


def system_category(name: str, kind: str = "expense") -> Category:
    return Category.objects.get(user__isnull=True, kind=kind, name=name)


@pytest.fixture
def ledger(user) -> dict[str, Any]:
    """Four March and one April expense, two income records, in USD and JPY."""
    food = system_category("Food")
    coffee = CategoryFactory(user=user, name="Coffee", parent=food)
    rent = system_category("Rent")
    salary = system_category("Salary", "income")
    work, trip = TagFactory(user=user, name="work"), TagFactory(user=user, name="trip")
    lunch = ExpenseFactory(
        user=user,
        date=date(2026, 3, 5),
        description="Lunch with team",
        amount=Decimal("12.5"),
        category=food,
        merchant="Corner Bistro",
        payment_method="card",
        notes="split, 3 ways",
    )
    lunch.tags.set([work, trip])
    latte = ExpenseFactory(
        user=user,
        date=date(2026, 3, 9),
        description="Latte",
        amount=Decimal("4.75"),
        category=coffee,
        payment_method="cash",
    )
    latte.tags.set([work])
    sushi = ExpenseFactory(
        user=user,
        date=date(2026, 3, 20),
        description="Sushi in Tokyo",
        amount=Decimal("1500"),
        currency="JPY",
        base_amount=Decimal("10.01"),
        exchange_rate=Decimal("0.006673333333"),
        category=food,
    )
    rent_march = ExpenseFactory(
        user=user,
        date=date(2026, 3, 1),
        description="March rent",
        amount=Decimal("900"),
        category=rent,
        payment_method="bank_transfer",
    )
    april = ExpenseFactory(
        user=user, date=date(2026, 4, 2), description="April groceries", amount=Decimal("55")
    )
    pay = IncomeFactory(
        user=user,
        date=date(2026, 3, 25),
        description="March salary",
        amount=Decimal("3000"),
        category=salary,
        source="Acme Corp",
    )
    pay.tags.set([work])
    gift = IncomeFactory(
        user=user, date=date(2026, 4, 3), description="Birthday money", amount=Decimal("50")
    )
    return {
        "food": food,
        "coffee": coffee,
        "rent": rent,
        "salary": salary,
        "lunch": lunch,
        "latte": latte,
        "sushi": sushi,
        "rent_march": rent_march,
        "april": april,
        "pay": pay,
        "gift": gift,
    }
