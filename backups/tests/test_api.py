"""The backup endpoints: auth, ownership, merge matching, errors, limits, atomicity."""

from __future__ import annotations

import copy
import json
from datetime import date
from decimal import Decimal
from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError, connection
from django.test.utils import CaptureQueriesContext

from budgets.models import Budget
from categories.models import Category, Kind, Tag
from categories.services import category_create, tag_create
from expenses.models import Expense
from expenses.services import expense_create
from expenses.tests.factories import ExpenseFactory
from goals.models import Goal
from goals.tests.factories import GoalFactory
from users.tests.factories import UserFactory

from .conftest import (
    EXPORT_URL,
    RESTORE_URL,
    comparable,
    export,
    owned_counts,
    restore,
    system,
)

pytestmark = pytest.mark.django_db

EMPTY_COUNTS = {
    "categories": 0,
    "tags": 0,
    "rules": 0,
    "expenses": 0,
    "incomes": 0,
    "budgets": 0,
    "goals": 0,
    "contributions": 0,
    "preferences": 0,
}


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def minimal(**sections):
    return {
        "format": "budget-tracker-backup",
        "version": 1,
        "user": {"base_currency": "USD"},
        **sections,
    }


def expense(**fields):
    return {
        "amount": "10.00",
        "currency": "USD",
        "date": "2026-03-10",
        "description": "Lunch",
        **fields,
    }


# --- auth and ownership ---------------------------------------------------------------


def test_both_endpoints_need_a_token(api_client):
    assert api_client.get(EXPORT_URL).status_code == 401
    response = api_client.post(RESTORE_URL, minimal(), format="json")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_export_is_a_json_attachment_streamed(auth_client, user):
    response = auth_client.get(EXPORT_URL, HTTP_ACCEPT="application/octet-stream")

    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"].startswith("application/json")
    assert response["Content-Disposition"].startswith(
        'attachment; filename="budget-tracker-backup-'
    )
    assert response["Cache-Control"] == "no-store"
    doc = json.loads(b"".join(response.streaming_content))
    assert doc["user"]["base_currency"] == user.base_currency
    assert doc["expenses"] == [] and doc["recurring"] == []


def test_other_users_data_is_never_exported(auth_client, user, other_user):
    mine = category_create(user=user, data={"name": "Mine", "kind": Kind.EXPENSE})
    theirs = category_create(user=other_user, data={"name": "Theirs", "kind": Kind.EXPENSE})
    tag_create(user=other_user, name="secret-tag")
    ExpenseFactory(user=user, description="my lunch", category=mine)
    ExpenseFactory(user=other_user, description="their lunch", category=theirs)
    GoalFactory(user=other_user, name="their goal")

    text = b"".join(auth_client.get(EXPORT_URL).streaming_content).decode()
    doc = json.loads(text)

    assert [c["name"] for c in doc["categories"]] == ["Mine"]
    assert [e["description"] for e in doc["expenses"]] == ["my lunch"]
    assert doc["tags"] == [] and doc["goals"] == []
    for secret in ("Theirs", "secret-tag", "their lunch", "their goal"):
        assert secret not in text


def test_restore_writes_only_into_the_requesting_account(auth_client, user, other_user):
    before = owned_counts(other_user)
    response = restore(auth_client, minimal(expenses=[expense()]))
    assert response.status_code == 200
    assert owned_counts(other_user) == before
    assert Expense.objects.get().user == user


def test_export_reads_a_constant_number_of_queries(auth_client, user):
    def queries() -> int:
        with CaptureQueriesContext(connection) as context:
            b"".join(auth_client.get(EXPORT_URL).streaming_content)
        return len(context)

    food = system(Kind.EXPENSE, "Food")
    for _ in range(3):
        expense_create(
            user=user,
            data={
                "amount": Decimal(1),
                "date": date(2026, 3, 1),
                "description": "x",
                "category": food,
                "tags": ["a"],
            },
        )
    few = queries()
    for _ in range(30):
        expense_create(
            user=user,
            data={
                "amount": Decimal(1),
                "date": date(2026, 3, 2),
                "description": "y",
                "tags": ["a", "b"],
            },
        )
    assert queries() == few


# --- merge matching -------------------------------------------------------------------


def test_merge_reuses_a_same_named_category_and_tag(auth_client, user):
    existing = category_create(user=user, data={"name": "coffee", "kind": Kind.EXPENSE})
    existing_tag = tag_create(user=user, name="WORK")
    doc = minimal(
        categories=[
            {"key": "a", "name": "Coffee", "kind": "expense", "parent": None},
            {"key": "b", "name": "Coffee", "kind": "income", "parent": None},
        ],
        tags=[{"name": "work"}],
        expenses=[expense(category={"key": "a"}, tags=["Work", "new"])],
    )

    response = restore(auth_client, doc)

    assert response.status_code == 200, response.json()
    assert response.json()["sections"]["categories"] == {"created": 1, "skipped": 1, "deleted": 0}
    assert Category.objects.filter(user=user, kind=Kind.EXPENSE).get() == existing
    assert Category.objects.filter(user=user, kind=Kind.INCOME).get().name == "Coffee"
    lunch = Expense.objects.get(user=user)
    assert lunch.category == existing
    assert set(lunch.tags.all()) == {existing_tag, Tag.objects.get(user=user, name="new")}
    assert Tag.objects.filter(user=user).count() == 2


def test_an_own_category_named_like_a_system_one_maps_to_it(auth_client, user):
    doc = minimal(
        categories=[{"key": "x", "name": "food", "kind": "expense"}],
        expenses=[expense(category={"key": "x"})],
    )
    assert restore(auth_client, doc).status_code == 200
    assert Expense.objects.get().category == system(Kind.EXPENSE, "Food")
    assert not Category.objects.filter(user=user).exists()


def test_merge_adds_only_missing_contributions_to_a_goal_of_the_same_name(auth_client, user):
    goal = Goal.objects.create(user=user, name="Bike", target_amount=Decimal("300.00"))
    goal.contributions.create(amount=Decimal("100.00"), date=date(2026, 1, 1))
    doc = minimal(
        goals=[
            {
                "name": "bike",
                "target_amount": "999.00",
                "contributions": [
                    {"amount": "100.00", "date": "2026-01-01"},
                    {"amount": "250.00", "date": "2026-02-01"},
                ],
            }
        ]
    )

    response = restore(auth_client, doc)

    assert response.json()["sections"]["contributions"] == {
        "created": 1,
        "skipped": 1,
        "deleted": 0,
    }
    goal.refresh_from_db()
    assert goal.contributions.count() == 2
    assert (goal.target_amount, goal.status) == (Decimal("300.00"), "achieved")


def test_merge_keeps_an_existing_budget_for_the_same_month_and_scope(auth_client, user):
    restore(auth_client, minimal(budgets=[{"month": "2026-03", "scope": "overall", "amount": "5"}]))
    response = restore(
        auth_client, minimal(budgets=[{"month": "2026-03", "scope": "overall", "amount": "9"}])
    )
    assert response.json()["sections"]["budgets"] == {"created": 0, "skipped": 1, "deleted": 0}


def test_receipts_are_flagged_but_not_carried(auth_client, user, client_for):
    lunch = ExpenseFactory(user=user)
    lunch.receipt.save("r.pdf", SimpleUploadedFile("r.pdf", b"%PDF-1.4\n"), save=True)

    doc = export(auth_client)

    assert doc["expenses"][0]["has_receipt"] is True
    fresh = UserFactory()
    assert restore(client_for(fresh), doc, mode="replace").status_code == 200
    assert not Expense.objects.get(user=fresh).receipt


def test_replace_deletes_the_replaced_receipt_files(auth_client, user):
    lunch = ExpenseFactory(user=user)
    lunch.receipt.save("r.pdf", SimpleUploadedFile("r.pdf", b"%PDF-1.4\n"), save=True)
    storage, name = lunch.receipt.storage, lunch.receipt.name
    assert storage.exists(name)

    with mock.patch("django.db.transaction.on_commit", side_effect=lambda f, **kw: f()):
        assert restore(auth_client, minimal(), mode="replace").status_code == 200

    assert not storage.exists(name)
    assert not Expense.objects.filter(user=user).exists()


# --- invalid documents: 400 and nothing stored --------------------------------------


def _bad_amount_deep_in_the_list():
    return minimal(expenses=[expense() for _ in range(12)] + [expense(amount="12.345")])


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (
            _bad_amount_deep_in_the_list(),
            {"expenses": {"12": {"amount": ["USD amounts allow at most 2 decimal places."]}}},
        ),
        (
            minimal(expenses=[expense(currency="XYZ")]),
            {
                "expenses": {
                    "0": {
                        "currency": [
                            "XYZ is not a supported ISO 4217 currency code (upper case, e.g. EUR)."
                        ]
                    }
                }
            },
        ),
        (
            minimal(expenses=[expense(category={"key": "nope"})]),
            {"expenses": {"0": {"category": ["No category with key 'nope' in this backup."]}}},
        ),
        (
            minimal(
                expenses=[expense(category={"system": True, "kind": "income", "name": "Salary"})]
            ),
            {"expenses": {"0": {"category": ["Must be a category of kind 'expense'."]}}},
        ),
        (
            minimal(budgets=[{"month": "2026-3", "scope": "overall", "amount": "-5"}]),
            {
                "budgets": {
                    "0": {
                        "month": ["Use a month in the form YYYY-MM."],
                        "amount": ["Amount must be greater than 0."],
                    }
                }
            },
        ),
        (
            {**minimal(), "version": 2},
            {"version": ["Unsupported backup version 2; this server reads version 1."]},
        ),
        (
            {**minimal(), "format": "something-else"},
            {"format": ["Not a Budget Tracker backup: expected format 'budget-tracker-backup'."]},
        ),
        (
            [minimal()],
            {"non_field_errors": ["A backup is a JSON object; this is not one."]},
        ),
        (
            minimal(
                goals=[
                    {
                        "name": "G",
                        "target_amount": "10",
                        "contributions": [
                            {"amount": "5", "date": "2026-01-01"},
                            {"amount": "-6", "date": "2026-01-02"},
                        ],
                    }
                ]
            ),
            {
                "goals": {
                    "0": {
                        "contributions": [
                            "Withdrawals exceed deposits: the saved amount would be < 0."
                        ]
                    }
                }
            },
        ),
        (
            minimal(expenses=[{**expense(), "ammount": "1"}], colours=[]),
            {"colours": ["Unknown section."], "expenses": {"0": {"ammount": ["Unknown field."]}}},
        ),
    ],
    ids=[
        "bad-amount-at-12",
        "unknown-currency",
        "dangling-category",
        "wrong-kind",
        "bad-budget",
        "wrong-version",
        "wrong-format",
        "top-level-list",
        "goal-below-zero",
        "unknown-keys",
    ],
)
def test_invalid_documents_are_rejected_with_precise_errors(auth_client, user, document, expected):
    valid_part = minimal(
        categories=[{"key": "a", "name": "Kept?", "kind": "expense"}],
        tags=[{"name": "kept?"}],
    )
    if isinstance(document, dict) and document.get("version") == 1 and "format" not in expected:
        document = {**valid_part, **document}

    response = restore(auth_client, document, mode="replace")

    assert response.status_code == 400
    assert response.json() == expected
    assert owned_counts(user) == EMPTY_COUNTS


def test_every_problem_is_listed_at_once(auth_client, user):
    doc = minimal(
        user={"base_currency": "usd", "month_start_day": 31},
        categories=[{"key": "a", "name": "", "kind": "thing", "color": "red"}],
        expenses=[expense(date="2026-02-30"), expense(amount=5, tags=[""])],
    )
    errors = restore(auth_client, doc).json()
    assert set(errors["user"]) == {"base_currency", "month_start_day"}
    assert set(errors["categories"]["0"]) == {"name", "kind", "color"}
    assert errors["expenses"]["0"] == {"date": ["Use a date in the form YYYY-MM-DD."]}
    assert errors["expenses"]["1"] == {"tags": ["Tag names cannot be empty."]}


def test_the_error_list_is_capped(auth_client):
    doc = minimal(expenses=[expense(amount="0")] * 500)
    errors = restore(auth_client, doc).json()
    assert len(errors["expenses"]) == 200
    assert errors["non_field_errors"] == ["500 problems found; only the first 200 are listed."]


def test_not_json_is_a_400(auth_client, user):
    body = auth_client.post(RESTORE_URL, b"{not json", content_type="application/json")
    assert body.status_code == 400 and body.json()["code"] == "parse_error"

    upload = SimpleUploadedFile("backup.json", b"\xff\xfe garbage", content_type="application/json")
    response = auth_client.post(RESTORE_URL, {"file": upload}, format="multipart")
    assert response.status_code == 400
    assert response.json()["file"][0].startswith("Not a JSON document")
    assert owned_counts(user) == EMPTY_COUNTS


def test_missing_file_empty_body_and_bad_mode_are_400(auth_client):
    response = auth_client.post(RESTORE_URL, {"mode": "merge"}, format="multipart")
    assert response.json() == {"file": ["No file was submitted."]}
    assert auth_client.post(RESTORE_URL, content_type="application/json").status_code == 400
    response = restore(auth_client, minimal(), mode="overwrite")
    assert response.json() == {"mode": ["Use one of: merge, replace."]}


def test_an_unsupported_content_type_is_415(auth_client):
    response = auth_client.post(RESTORE_URL, "x", content_type="text/plain")
    assert response.status_code == 415


def test_an_oversized_backup_is_413(auth_client, user, settings):
    settings.IMPORT_MAX_BYTES = 2000
    doc = minimal(expenses=[expense(notes="x" * 100) for _ in range(30)])

    assert restore(auth_client, doc).status_code == 413
    upload = SimpleUploadedFile("b.json", json.dumps(doc).encode(), content_type="application/json")
    response = auth_client.post(RESTORE_URL, {"file": upload}, format="multipart")
    assert response.status_code == 413
    assert response.json()["code"] == "file_too_large"
    assert owned_counts(user) == EMPTY_COUNTS


# --- all or nothing --------------------------------------------------------------------


def test_a_missing_exchange_rate_names_the_pair_and_stores_nothing(auth_client, user):
    doc = minimal(expenses=[expense(), expense(currency="JPY", amount="1500")])

    response = restore(auth_client, doc)

    assert response.status_code == 400
    assert response.json() == {
        "expenses": {
            "1": {
                "currency": [
                    "No exchange rate for JPY->USD on or before 2026-03-10. An admin can add "
                    "the rate (POST /api/v1/rates/ or manage.py load_rates)."
                ]
            }
        }
    }
    assert owned_counts(user) == EMPTY_COUNTS


def test_a_failure_in_the_middle_leaves_nothing_half_written(backup_of_rich, rich_user, client_for):
    client = client_for(rich_user)
    before_counts = owned_counts(rich_user)
    before = export(client)
    doc = copy.deepcopy(backup_of_rich)
    doc["user"]["timezone"] = "Asia/Tokyo"

    # Budgets come after the settings, the deletions and the records (which the ledger
    # may COPY in on PostgreSQL rather than bulk_create).
    with mock.patch.object(Budget.objects, "bulk_create", side_effect=DatabaseError("disk full")):
        response = restore(client, doc, mode="replace")

    assert response.status_code == 500
    assert owned_counts(rich_user) == before_counts
    rich_user.refresh_from_db()
    assert rich_user.timezone == "Europe/Berlin"
    assert comparable(export(client)) == comparable(before)


def test_a_failure_in_merge_mode_leaves_a_fresh_account_empty(backup_of_rich, client_for):
    fresh = UserFactory()
    with mock.patch.object(Goal.objects, "bulk_create", side_effect=DatabaseError("boom")):
        response = restore(client_for(fresh), backup_of_rich)
    assert response.status_code == 500
    assert owned_counts(fresh) == EMPTY_COUNTS
