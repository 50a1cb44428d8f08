"""Recurring items travel in the backup document (the backups app's `recurring` section)."""

from __future__ import annotations

import json
from datetime import date

import pytest

from categories.tests.factories import CategoryFactory
from recurring.models import RecurringItem
from users.tests.factories import UserFactory

from .factories import RecurringItemFactory

pytestmark = pytest.mark.django_db

EXPORT_URL = "/api/v1/export/backup.json"
RESTORE_URL = "/api/v1/import/backup/"


def export(client):
    response = client.get(EXPORT_URL)
    assert response.status_code == 200, response.content
    return json.loads(b"".join(response.streaming_content))


def test_items_round_trip_and_bad_ones_are_refused(auth_client, user, client_for):
    housing = CategoryFactory(user=user, name="Housing")
    RecurringItemFactory(
        user=user, description="Rent", category=housing, remind_days_before=3, interval=2
    )
    doc = export(auth_client)
    assert len(doc["recurring"]) == 1
    item = doc["recurring"][0]
    assert (item["description"], item["amount"], item["start_date"]) == (
        "Rent",
        "50.00",
        "2026-01-31",
    )

    client = client_for(UserFactory())
    response = client.post(f"{RESTORE_URL}?mode=replace", doc, format="json")
    assert response.status_code == 200, response.content
    assert export(client)["recurring"] == doc["recurring"]

    stranger = client_for(UserFactory())
    for change, field in (
        ({"end_date": "2025-01-01"}, "end_date"),
        ({"kind": "income"}, "category"),
    ):
        bad = {**doc, "recurring": [{**doc["recurring"][0], **change}]}
        response = stranger.post(RESTORE_URL, bad, format="json")
        assert response.status_code == 400
        assert field in response.json()["recurring"]["0"], response.json()
    assert RecurringItem.objects.count() == 2
    assert date(2026, 1, 31) in RecurringItem.objects.values_list("start_date", flat=True)
