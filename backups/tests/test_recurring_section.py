"""The `recurring` section, declared from the recurring app's model and restored through
the recurring app's own service (`recurring_restore`)."""

from __future__ import annotations

from datetime import date
from unittest import mock

import pytest

from categories.models import Kind
from categories.services import category_create
from recurring.models import RecurringItem
from recurring.tests.factories import RecurringItemFactory
from users.tests.factories import UserFactory

from .conftest import export, restore, system

pytestmark = pytest.mark.django_db


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


def test_items_round_trip_through_the_recurring_apps_restore(auth_client, user, client_for):
    own = category_create(user=user, data={"name": "Rent share", "kind": Kind.EXPENSE})
    for category in (own, system(Kind.EXPENSE, "Food")):
        RecurringItemFactory(user=user, category=category, start_date=date(2026, 3, 1))
    doc = export(auth_client)
    assert [item["category"] for item in doc["recurring"]] == [
        {"key": "c1"},
        {"system": True, "kind": "expense", "name": "Food"},
    ]

    fresh = UserFactory()
    client = client_for(fresh)
    response = restore(client, doc, mode="replace")

    assert response.status_code == 200, response.json()
    assert response.json()["sections"]["recurring"]["created"] == 2
    restored = RecurringItem.objects.filter(book=fresh.personal_book)
    assert restored.count() == 2 and {item.user_id for item in restored} == {fresh.pk}
    assert export(client)["recurring"] == doc["recurring"]
    again = restore(client, doc)
    assert again.json()["sections"]["recurring"] == {"created": 0, "skipped": 2, "deleted": 0}


def test_an_invalid_item_is_a_400_naming_its_field(auth_client, user):
    item = {
        "kind": "expense",
        "amount": "5.00",
        "currency": "USD",
        "description": "Gym",
        "frequency": "monthly",
        "start_date": "2026-03-01",
    }
    doc = {
        "format": "budget-tracker-backup",
        "version": 1,
        "user": {"base_currency": "USD"},
        "recurring": [
            item,
            {**item, "start_date": "not a date"},
            {**item, "colour": "red"},
        ],
    }
    errors = restore(auth_client, doc).json()
    assert list(errors["recurring"]) == ["1", "2"]
    assert "start_date" in errors["recurring"]["1"]
    assert errors["recurring"]["2"] == {"colour": ["Unknown field."]}
    # Read fine, refused by the recurring app's own checks (full_clean) when stored.
    doc["recurring"] = [item, {**item, "end_date": "2026-01-01"}]
    errors = restore(auth_client, doc).json()
    assert list(errors["recurring"]) == ["1"] and "end_date" in errors["recurring"]["1"]
    assert not RecurringItem.objects.filter(book=user.personal_book).exists()


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
