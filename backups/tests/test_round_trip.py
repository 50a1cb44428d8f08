"""Export → restore into a fresh account → export gives the same document (SPEC §11)."""

from __future__ import annotations

import copy
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from expenses.models import Expense
from goals.models import Goal
from notifications.services import preferences_for
from users.tests.factories import UserFactory

from .conftest import RESTORE_URL, comparable, export, owned_counts, restore

pytestmark = pytest.mark.django_db


def test_the_rich_account_exports_every_kind_of_record(backup_of_rich):
    doc = backup_of_rich
    assert doc["format"] == "budget-tracker-backup" and doc["version"] == 1
    assert doc["user"] == {
        "base_currency": "USD",
        "timezone": "Europe/Berlin",
        "month_start_day": 5,
        "first_name": "Ada",
        "last_name": "Lovelace",
    }
    assert [c["name"] for c in doc["categories"]] == [
        "Coffee",
        "Hobbies",
        "Model trains",
        "Side gigs",
    ]
    coffee = doc["categories"][0]
    assert coffee["parent"] == {"system": True, "kind": "expense", "name": "Food"}
    assert doc["categories"][2]["parent"] == {"key": doc["categories"][1]["key"]}
    assert {t["name"] for t in doc["tags"]} >= {"Unused tag", "caffeine", "work"}
    assert doc["rules"][0]["add_tags"] == ["caffeine", "work"]
    assert doc["rules"][1]["category"] == {"system": True, "kind": "income", "name": "Salary"}
    assert {e["currency"] for e in doc["expenses"]} == {"USD", "EUR"}
    flat_white = next(e for e in doc["expenses"] if e["description"] == "Flat white")
    assert flat_white == {
        "amount": "3.80",
        "currency": "EUR",
        "base_amount": "4.15",
        "exchange_rate": "1.0925",
        "date": "2026-03-07",
        "description": "Flat white",
        "category": {"key": coffee["key"]},
        "payment_method": "cash",
        "merchant": "Espresso Bar Roma",
        "paid_by": None,  # a personal book's expenses are all its owner's
        "split": None,
        "notes": "",
        "tags": ["travel"],
        "has_receipt": False,
    }
    assert len(doc["incomes"]) == 2 and doc["incomes"][1]["source"] == ""
    assert {(b["scope"], b["rollover"]) for b in doc["budgets"]} == {
        ("overall", True),
        ("category", False),
    }
    vacation = next(g for g in doc["goals"] if g["name"] == "Vacation")
    assert [c["amount"] for c in vacation["contributions"]] == ["500.00", "300.00", "-120.50"]
    assert {g["name"]: g["status"] for g in doc["goals"]} == {
        "Vacation": "active",
        "Laptop": "achieved",
        "Old plan": "archived",
    }
    assert doc["notification_preferences"]["budget_warn"] == {"in_app": True, "email": True}
    assert doc["notification_preferences"]["monthly_summary"]["in_app"] is False
    assert doc["recurring"] == []


def test_restore_into_a_fresh_account_then_export_gives_the_same_document(
    backup_of_rich, client_for
):
    fresh = UserFactory(base_currency="EUR", timezone="UTC")
    client = client_for(fresh)

    response = restore(client, backup_of_rich, mode="replace")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["mode"] == "replace" and body["settings_applied"] is True
    assert body["sections"]["expenses"] == {"created": 5, "skipped": 0, "deleted": 0}
    assert body["sections"]["contributions"]["created"] == 5
    again = export(client)
    assert comparable(again) == comparable(backup_of_rich)
    fresh.refresh_from_db()
    assert (fresh.base_currency, fresh.timezone, fresh.month_start_day) == (
        "USD",
        "Europe/Berlin",
        5,
    )


def test_the_file_upload_restores_the_same_as_the_json_body(backup_of_rich, client_for):
    fresh = UserFactory()
    client = client_for(fresh)
    upload = SimpleUploadedFile(
        "backup.json", json.dumps(backup_of_rich).encode(), content_type="application/json"
    )

    response = client.post(RESTORE_URL, {"file": upload, "mode": "replace"}, format="multipart")

    assert response.status_code == 200, response.json()
    assert comparable(export(client)) == comparable(backup_of_rich)


def test_merge_into_a_fresh_account_restores_the_data_but_not_the_settings(
    backup_of_rich, client_for
):
    fresh = UserFactory(base_currency="USD", timezone="UTC")
    client = client_for(fresh)

    response = restore(client, backup_of_rich)

    assert response.status_code == 200, response.json()
    assert response.json()["settings_applied"] is False
    again = export(client)
    assert again["user"]["timezone"] == "UTC"
    assert again["notification_preferences"] == preferences_for(user=fresh)
    for section in ("categories", "tags", "rules", "expenses", "incomes", "budgets", "goals"):
        assert again[section] == backup_of_rich[section], section


def test_merging_the_same_backup_twice_stores_nothing_new(backup_of_rich, client_for):
    fresh = UserFactory()
    client = client_for(fresh)
    assert restore(client, backup_of_rich).status_code == 200
    before = owned_counts(fresh)

    second = restore(client, backup_of_rich)

    assert second.status_code == 200, second.json()
    sections = second.json()["sections"]
    assert all(counts["created"] == 0 for counts in sections.values()), sections
    assert sections["expenses"]["skipped"] == 5
    assert sections["categories"]["skipped"] == 4
    assert owned_counts(fresh) == before


def test_merge_keeps_genuine_identical_records_counted_per_occurrence(backup_of_rich, client_for):
    doc = copy.deepcopy(backup_of_rich)
    misc = next(e for e in doc["expenses"] if e["description"] == "Misc")
    doc["expenses"].append(dict(misc))  # two identical purchases on one day
    fresh = UserFactory()
    client = client_for(fresh)
    restore(client, backup_of_rich)

    response = restore(client, doc)

    assert response.json()["sections"]["expenses"] == {"created": 1, "skipped": 5, "deleted": 0}
    assert Expense.objects.filter(user=fresh, description="Misc").count() == 2


def test_replace_removes_previous_data_and_restores_exactly(backup_of_rich, rich_user, client_for):
    client = client_for(rich_user)
    doc = copy.deepcopy(backup_of_rich)
    restore(client, doc, mode="replace")
    assert comparable(export(client)) == comparable(backup_of_rich)

    # Change things after the backup: all of it must go on the next replace.
    client.post(
        "/api/v1/expenses/",
        {"amount": "5.00", "date": "2026-04-01", "description": "After the backup"},
        format="json",
    )
    client.post("/api/v1/categories/", {"name": "Later", "kind": "expense"}, format="json")
    client.patch("/api/v1/auth/me/", {"timezone": "Asia/Tokyo"}, format="json")
    Goal.objects.filter(user=rich_user, name="Vacation").update(name="Renamed")

    response = restore(client, doc, mode="replace")

    assert response.status_code == 200, response.json()
    sections = response.json()["sections"]
    assert sections["expenses"]["deleted"] == 6 and sections["expenses"]["created"] == 5
    assert sections["categories"]["deleted"] == 5
    assert comparable(export(client)) == comparable(backup_of_rich)


def test_restore_converts_into_an_account_with_another_base_currency(backup_of_rich, client_for):
    fresh = UserFactory(base_currency="EUR")
    client = client_for(fresh)

    response = restore(client, backup_of_rich)

    assert response.status_code == 200, response.json()
    again = export(client)
    groceries = next(e for e in again["expenses"] if e["description"] == "Groceries for the week")
    # 42.10 USD at 1 / 1.0925 (the latest EUR/USD on or before 2026-03-06)
    assert groceries["base_amount"] == "38.54"
    flat_white = next(e for e in again["expenses"] if e["description"] == "Flat white")
    assert (flat_white["base_amount"], flat_white["exchange_rate"]) == ("3.80", "1")
    overall = next(b for b in again["budgets"] if b["scope"] == "overall")
    assert overall["amount"] == "1373.00"  # 1500 USD at today's (latest) rate
