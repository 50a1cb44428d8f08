"""The `recurring` section, built from whatever model the recurring app defines.

The recurring app is not installed yet, so these tests stand Budget in for its model
(an owned model with a category, decimals, dates, booleans and constraints).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from unittest import mock

import pytest

from budgets.models import Budget
from budgets.services import budget_upsert
from categories.models import Kind
from categories.services import category_create
from users.tests.factories import UserFactory

from .conftest import export, restore, system

pytestmark = pytest.mark.django_db


@pytest.fixture
def budget_as_recurring():
    with mock.patch("backups.recurring.recurring_model", return_value=Budget):
        yield


def test_without_the_app_the_section_is_empty_and_items_are_refused(auth_client):
    # A server without the recurring app (the section is optional in the format).
    with mock.patch("backups.recurring.recurring_model", return_value=None):
        _without_app(auth_client)


def _without_app(auth_client):
    assert export(auth_client)["recurring"] == []
    doc = {
        "format": "budget-tracker-backup",
        "version": 1,
        "user": {"base_currency": "USD"},
        "recurring": [{"description": "Rent"}],
    }
    response = restore(auth_client, doc)
    assert response.status_code == 400
    assert response.json() == {
        "recurring": ["This server has no recurring items, so these 1 cannot be restored."]
    }


def test_items_round_trip_through_the_generic_section(
    budget_as_recurring, auth_client, user, client_for
):
    own = category_create(user=user, data={"name": "Rent share", "kind": Kind.EXPENSE})
    for category in (own, system(Kind.EXPENSE, "Food")):
        budget_upsert(
            user=user,
            data={
                "month": date(2026, 3, 1),
                "scope": "category",
                "category": category,
                "amount": Decimal("12.50"),
                "rollover": True,
            },
        )
    doc = export(auth_client)
    assert doc["recurring"][0]["category"] in (
        {"key": "c1"},
        {"system": True, "kind": "expense", "name": "Food"},
    )
    assert {item["month"] for item in doc["recurring"]} == {"2026-03-01"}
    doc["budgets"] = []  # the stand-in model would otherwise be restored twice

    fresh = UserFactory()
    client = client_for(fresh)
    response = restore(client, doc, mode="replace")

    assert response.status_code == 200, response.json()
    assert response.json()["sections"]["recurring"]["created"] == 2
    assert export(client)["recurring"] == doc["recurring"]
    again = restore(client, doc)
    assert again.json()["sections"]["recurring"] == {"created": 0, "skipped": 2, "deleted": 0}


def test_an_invalid_item_is_a_400_naming_its_field(budget_as_recurring, auth_client, user):
    doc = {
        "format": "budget-tracker-backup",
        "version": 1,
        "user": {"base_currency": "USD"},
        "recurring": [
            {"month": "2026-03-01", "scope": "overall", "amount": "5", "rollover": False},
            {"month": "not a date", "scope": "overall", "amount": "5"},
            {"month": "2026-03-01", "scope": "overall", "amount": "5", "colour": "red"},
        ],
    }
    errors = restore(auth_client, doc).json()
    assert list(errors["recurring"]) == ["1", "2"]
    assert "month" in errors["recurring"]["1"]
    assert errors["recurring"]["2"] == {"colour": ["Unknown field."]}
    assert not Budget.objects.filter(user=user).exists()


@pytest.mark.parametrize("value", [{}, [], 5, True])
def test_a_non_text_date_is_a_400_naming_the_field(auth_client, value):
    document = {
        "format": "budget-tracker-backup",
        "version": 1,
        "recurring": [
            {
                "kind": "expense",
                "amount": "5.00",
                "currency": "EUR",
                "description": "Gym",
                "frequency": "monthly",
                "start_date": "2026-01-01",
                "resumed_on": value,
            }
        ],
    }
    response = auth_client.post("/api/v1/import/backup/?mode=merge", document, format="json")
    assert response.status_code == 400, response.content
    assert "resumed_on" in str(response.json())
