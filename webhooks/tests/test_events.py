"""Book events arrive at a real receiver, signed (SPEC §17): what each write sends, once.

Every write goes through the API (or the import pipeline) inside `committed()`, so the
queued send runs as it does in development (eagerly, after the commit); the receiver on
127.0.0.1 verifies each signature with the hook's secret.
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from budgets.services import budget_upsert
from categories.tests.factories import TagFactory
from expenses.models import Expense
from expenses.services import expense_create
from webhooks.models import DeliveryStatus, WebhookDelivery

from .helpers import api, deliveries

pytestmark = pytest.mark.django_db

EXPENSE_EVENTS = ["expense.created", "expense.updated", "expense.deleted"]
INCOME_EVENTS = ["income.created", "income.updated", "income.deleted"]


def test_an_expense_created_arrives_signed_with_its_data(
    user, auth_client, hook_for, receiver, committed
):
    hook = hook_for(user, events=["expense.created"])
    TagFactory(user=user, name="work")
    with committed():
        response = auth_client.post(
            "/api/v1/expenses/",
            {
                "amount": "12.5",
                "date": "2026-03-10",
                "description": "Taxi",
                "merchant": "Cab Co",
                "tags": ["work"],
            },
            format="json",
        )
    assert response.status_code == 201, response.content
    expense_id = response.json()["id"]

    [request] = receiver.received
    assert request.verified, request.headers
    delivery = WebhookDelivery.objects.get(webhook_id=hook["id"])
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["X-Webhook-Event"] == "expense.created"
    assert request.headers["X-Webhook-Id"] == str(delivery.event_id)
    assert request.headers["X-Webhook-Delivery"] == str(delivery.pk)
    assert request.headers["User-Agent"].startswith("BudgetTracker-Webhooks/")
    assert request.body == delivery.body.encode()
    body = request.json
    assert body["id"] == str(delivery.event_id)
    assert body["event"] == "expense.created"
    assert body["book"] == user.personal_book.pk
    assert body["data"] == {
        "id": expense_id,
        "amount": "12.50",
        "currency": "USD",
        "base_amount": "12.50",
        "base_currency": "USD",
        "date": "2026-03-10",
        "description": "Taxi",
        "category": None,
        "tags": ["work"],
        "notes": "",
        "has_receipt": False,
        "created_by": user.pk,
        "merchant": "Cab Co",
        "payment_method": "other",
    }
    assert delivery.status == DeliveryStatus.SUCCEEDED
    assert delivery.attempt_count == 1
    assert delivery.last_status_code == 200
    assert delivery.attempts[0]["response_excerpt"] == '{"ok": true}'


def test_updates_and_deletes_arrive_as_their_own_events(
    user, auth_client, hook_for, receiver, committed
):
    hook_for(user, events=EXPENSE_EVENTS)
    with committed():
        expense_id = auth_client.post(
            "/api/v1/expenses/",
            {"amount": "5", "date": "2026-03-10", "description": "Lunch"},
            format="json",
        ).json()["id"]
    with committed():
        response = auth_client.patch(
            f"/api/v1/expenses/{expense_id}/", {"amount": "7.25"}, format="json"
        )
        assert response.status_code == 200, response.content
    with committed():
        assert auth_client.delete(f"/api/v1/expenses/{expense_id}/").status_code == 204

    events = [
        (r.json["event"], r.json["data"]["id"], r.json["data"]["amount"]) for r in receiver.received
    ]
    assert events == [
        ("expense.created", expense_id, "5.00"),
        ("expense.updated", expense_id, "7.25"),
        ("expense.deleted", expense_id, "7.25"),
    ]
    assert all(r.verified for r in receiver.received)
    assert len({r.json["id"] for r in receiver.received}) == 3  # one event id each


def test_income_events(user, auth_client, hook_for, receiver, committed):
    hook_for(user, events=INCOME_EVENTS)
    with committed():
        response = auth_client.post(
            "/api/v1/incomes/",
            {"amount": "3200", "date": "2026-03-25", "description": "Salary", "source": "ACME"},
            format="json",
        )
    income_id = response.json()["id"]
    with committed():
        auth_client.patch(f"/api/v1/incomes/{income_id}/", {"source": "ACME Ltd"}, format="json")
    with committed():
        auth_client.delete(f"/api/v1/incomes/{income_id}/")
    bodies = [r.json for r in receiver.received]
    assert [b["event"] for b in bodies] == INCOME_EVENTS
    assert bodies[0]["data"]["amount"] == "3200.00"
    assert bodies[0]["data"]["source"] == "ACME"
    assert bodies[1]["data"]["source"] == "ACME Ltd"
    assert "merchant" not in bodies[0]["data"]


def test_events_not_subscribed_to_are_not_sent(user, auth_client, hook_for, receiver, committed):
    hook = hook_for(user, events=["income.created"])
    with committed():
        auth_client.post(
            "/api/v1/expenses/",
            {"amount": "5", "date": "2026-03-10", "description": "Lunch"},
            format="json",
        )
    assert receiver.received == []
    assert deliveries(hook) == []


def test_a_rolled_back_write_sends_nothing(user, hook_for, receiver, committed):
    hook = hook_for(user, events=["expense.created"])
    with committed(), pytest.raises(RuntimeError), transaction.atomic():
        expense_create(
            user=user,
            data={"amount": Decimal("5"), "date": date(2026, 3, 10), "description": "Lunch"},
        )
        raise RuntimeError("the write fails after the expense was saved")
    assert not Expense.objects.exists()
    assert deliveries(hook) == []
    assert receiver.received == []


def test_every_subscribed_hook_gets_the_same_event(
    user, auth_client, hook_for, receiver, committed
):
    first = hook_for(user, events=["expense.created"], path="/one")
    second = hook_for(user, events=["expense.created", "expense.deleted"], path="/two")
    with committed():
        auth_client.post(
            "/api/v1/expenses/",
            {"amount": "5", "date": "2026-03-10", "description": "Lunch"},
            format="json",
        )
    assert sorted(r.path for r in receiver.received) == ["/one", "/two"]
    [one], [two] = deliveries(first), deliveries(second)
    assert one.event_id == two.event_id and one.body == two.body
    # Each request verifies with its own hook's secret only.
    secrets = {r.path: r.verified_with for r in receiver.received}
    assert secrets == {"/one": [first["secret"]], "/two": [second["secret"]]}


def test_a_shared_book_hook_hears_every_members_writes(
    user, shared_book, client_for, hook_for, receiver, committed
):
    from users.tests.factories import UserFactory

    editor = UserFactory()
    book = shared_book(editors=[editor])
    hook_for(user, events=["expense.created"], book=book)
    hook_for(user, events=["expense.created"], path="/personal")  # the owner's personal book
    with committed():
        response = client_for(editor).post(
            f"{api(book)}/expenses/",
            {"amount": "8", "date": "2026-03-10", "description": "Groceries"},
            format="json",
        )
    assert response.status_code == 201, response.content
    [request] = receiver.received
    assert request.path == "/hook"
    assert request.json["book"] == book.pk
    assert request.json["data"]["created_by"] == editor.pk


def test_budget_exceeded_is_sent_once_when_the_alert_is_new(
    user, auth_client, hook_for, receiver, committed
):
    today = timezone.localdate()
    budget, _ = budget_upsert(
        book=user.personal_book,
        user=user,
        data={"month": today.replace(day=1), "scope": "overall", "amount": Decimal("10")},
    )
    hook_for(user, events=["budget.warn", "budget.exceeded"])
    for amount in ("12", "3"):  # the second expense: still exceeded, nothing new to say
        with committed():
            response = auth_client.post(
                "/api/v1/expenses/",
                {"amount": amount, "date": today.isoformat(), "description": "Dinner"},
                format="json",
            )
            assert response.status_code == 201, response.content
    [request] = receiver.received
    assert request.verified
    assert request.json["event"] == "budget.exceeded"
    assert request.json["data"] == {
        "budget": budget.pk,
        "month": today.strftime("%Y-%m"),
        "level": "exceeded",
        "category": None,
        "category_name": "Overall",
        "spent": "12.00",
        "available": "10.00",
        "percent_used": request.json["data"]["percent_used"],
        "currency": "USD",
    }
    assert Decimal(request.json["data"]["percent_used"]) == Decimal(120)


STATEMENT = (
    b"Date,Description,Amount\n"
    b"2026-03-02,Corner Market,-42.80\n"
    b"2026-03-03,Bakery,-3.10\n"
    b"2026-03-25,Salary,3200.00\n"
)


def _upload(client, content=STATEMENT):
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = client.post(
        "/api/v1/imports/",
        {"file": SimpleUploadedFile("statement.csv", content, "text/csv")},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    return response.json()["id"]


def test_an_import_commit_is_one_event_and_its_undo_another(
    user, auth_client, hook_for, receiver, committed
):
    hook_for(
        user, events=["expense.created", "income.created", "import.committed", "import.undone"]
    )
    batch_id = _upload(auth_client)
    with committed():
        response = auth_client.post(f"/api/v1/imports/{batch_id}/commit/", {}, format="json")
        assert response.status_code == 200, response.content
    with committed():
        assert auth_client.delete(f"/api/v1/imports/{batch_id}/").status_code == 200

    bodies = [r.json for r in receiver.received]
    assert [b["event"] for b in bodies] == ["import.committed", "import.undone"]  # no per-row
    assert bodies[0]["data"] == {
        "batch": batch_id,
        "format": "csv",
        "filename": "statement.csv",
        "expenses": 2,
        "incomes": 1,
        "duplicates_skipped": 0,
        "possible_duplicates_skipped": 0,
        "kept": 0,
        "errors_skipped": 0,
    }
    assert bodies[1]["data"] == {
        "batch": batch_id,
        "format": "csv",
        "filename": "statement.csv",
        "expenses": 2,
        "incomes": 1,
    }
    assert all(r.verified for r in receiver.received)


def test_queued_imports_and_undos_are_announced_too(
    user, auth_client, hook_for, receiver, committed, settings
):
    settings.IMPORT_ASYNC_ROWS = 1  # both the commit and the undo go to the task queue
    hook_for(user, events=["import.committed", "import.undone"])
    batch_id = _upload(auth_client)
    with committed():
        assert (
            auth_client.post(f"/api/v1/imports/{batch_id}/commit/", {}, format="json").status_code
            == 202
        )
    with committed():
        assert auth_client.delete(f"/api/v1/imports/{batch_id}/").status_code == 202
    bodies = [r.json for r in receiver.received]
    assert [b["event"] for b in bodies] == ["import.committed", "import.undone"]
    assert bodies[1]["data"]["expenses"] == 2


def test_discarding_a_preview_announces_nothing(user, auth_client, hook_for, receiver, committed):
    hook_for(user, events=["import.committed", "import.undone"])
    batch_id = _upload(auth_client)
    with committed():
        assert auth_client.delete(f"/api/v1/imports/{batch_id}/").status_code == 200
    assert receiver.received == []


def test_settlements_are_announced(user, shared_book, client_for, hook_for, receiver, committed):
    from users.tests.factories import UserFactory

    member = UserFactory()
    book = shared_book(editors=[member])
    hook_for(user, events=["settlement.created", "settlement.deleted"], book=book)
    client = client_for(member)
    with committed():
        response = client.post(
            f"{api(book)}/settlements/",
            {"from": member.pk, "to": user.pk, "amount": "25", "date": "2026-03-28"},
            format="json",
        )
        assert response.status_code == 201, response.content
    settlement_id = response.json()["id"]
    with committed():
        assert client.delete(f"{api(book)}/settlements/{settlement_id}/").status_code == 204
    bodies = [r.json for r in receiver.received]
    assert [b["event"] for b in bodies] == ["settlement.created", "settlement.deleted"]
    assert bodies[0]["data"] == {
        "id": settlement_id,
        "from": member.pk,
        "to": user.pk,
        "amount": "25.00",
        "currency": "USD",
        "base_amount": "25.00",
        "base_currency": "USD",
        "date": "2026-03-28",
        "note": "",
        "created_by": member.pk,
    }
    assert all(r.verified for r in receiver.received)


def test_a_disabled_hook_gets_no_new_deliveries(user, auth_client, hook_for, receiver, committed):
    hook = hook_for(user, events=["expense.created"])
    auth_client.patch(f"/api/v1/webhooks/{hook['id']}/", {"is_active": False}, format="json")
    with committed():
        auth_client.post(
            "/api/v1/expenses/",
            {"amount": "5", "date": "2026-03-10", "description": "Lunch"},
            format="json",
        )
    assert deliveries(hook) == []
    assert receiver.received == []


def test_the_event_id_is_a_uuid_and_created_at_has_a_zone(
    user, auth_client, hook_for, receiver, committed
):
    hook_for(user)
    with committed():
        auth_client.post(
            "/api/v1/expenses/",
            {"amount": "5", "date": "2026-03-10", "description": "Lunch"},
            format="json",
        )
    body = receiver.received[0].json
    assert uuid.UUID(body["id"])
    assert body["created_at"].endswith("+00:00")
