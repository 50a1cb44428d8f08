"""A sync never half-imports: bridge failures are stored, shown, told once (SPEC §17)."""

from __future__ import annotations

import pytest

from connections.models import Connection, ConnectionAccount
from expenses.models import Expense
from imports.models import ImportBatch
from notifications.models import Notification

from .conftest import URL, map_account

pytestmark = pytest.mark.django_db


@pytest.fixture
def mapped(auth_client, user, bridge, connect):
    """A connection whose checking account is mapped to the personal book, with two
    transactions waiting at the bridge (one 80 days back: a second date window)."""
    bridge.add_transaction("ACT-checking", "T1", days_ago=2, amount="-9.99", description="Books")
    bridge.add_transaction("ACT-checking", "T0", days_ago=80, amount="-5.00", description="Old")
    connection = connect()
    map_account(auth_client, connection, "ACT-checking", user.personal_book.pk)
    return connection


def told(user):
    return Notification.objects.filter(user=user, kind="connection_error")


def nothing_stored(user):
    return not Expense.objects.filter(user=user).exists() and not ImportBatch.objects.exists()


def test_a_bank_error_stores_nothing_is_shown_and_told_once_per_episode(user, bridge, mapped, sync):
    bridge.mode = "errors"
    first = sync(mapped["id"])
    assert first["status"] == "error" and first["last_error_code"] == "bank_error"
    assert "Connection to Test Bank may need attention" in first["last_error"]
    assert first["last_sync"] is None and first["last_sync_at"] is not None
    assert nothing_stored(user)
    cursor = ConnectionAccount.objects.get(remote_id="ACT-checking").synced_until
    assert cursor is None  # the sync left the cursor where it was

    second = sync(mapped["id"])
    assert second["status"] == "error"
    assert told(user).count() == 1  # two failing syncs, one notification
    notification = told(user).get()
    assert notification.data == {"connection": mapped["id"], "code": "bank_error"}
    assert "Test Bank" in notification.body

    bridge.mode = "ok"
    fixed = sync(mapped["id"])
    assert fixed["status"] == "active"
    assert (fixed["last_error"], fixed["last_error_code"]) == ("", "")
    assert Expense.objects.filter(user=user).count() == 2

    bridge.mode = "http500"  # a new episode after a success: told again
    again = sync(mapped["id"])
    assert again["last_error_code"] == "bridge_error" and "HTTP 500" in again["last_error"]
    assert told(user).count() == 2


def test_a_failure_in_a_later_window_stores_nothing_from_the_earlier_one(
    user, bridge, mapped, sync
):
    # The account list and the first window answer; the second window fails.
    bridge.fail_after = bridge.answered + 2
    after = sync(mapped["id"])
    assert after["status"] == "error" and after["last_error_code"] == "bridge_error"
    assert len(bridge.transaction_requests()) == 2
    assert nothing_stored(user)
    assert ConnectionAccount.objects.get(remote_id="ACT-checking").synced_until is None


@pytest.mark.parametrize(
    ("mode", "code"), [("bad_json", "bridge_invalid_response"), ("http500", "bridge_error")]
)
def test_an_answer_that_is_not_the_accounts_document_is_an_error(
    user, bridge, mapped, sync, mode, code
):
    bridge.mode = mode
    after = sync(mapped["id"])
    assert (after["status"], after["last_error_code"]) == ("error", code)
    assert nothing_stored(user)


def test_a_timeout_stores_nothing(user, bridge, mapped, sync, settings):
    settings.SIMPLEFIN_TIMEOUT_SECONDS = 0.3
    bridge.mode = "slow"
    after = sync(mapped["id"])
    assert (after["status"], after["last_error_code"]) == ("error", "bridge_timeout")
    assert "0.3 seconds" in after["last_error"]
    assert nothing_stored(user)


def test_an_unreachable_bridge_stores_nothing(user, bridge, mapped, sync):
    bridge.stop()
    after = sync(mapped["id"])
    assert (after["status"], after["last_error_code"]) == ("error", "bridge_unreachable")
    assert nothing_stored(user)


def test_revoked_access_stops_scheduled_syncs_until_reconnected(
    auth_client, user, bridge, mapped, sync, django_capture_on_commit_callbacks
):
    from connections.tasks import sync_due_connections

    bridge.mode = "revoked"
    after = sync(mapped["id"])
    assert (after["status"], after["last_error_code"]) == ("revoked", "access_revoked")
    assert "setup token" in after["last_error"]
    assert nothing_stored(user) and told(user).count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        Connection.objects.filter(pk=mapped["id"]).update(last_sync_at=None)
        assert sync_due_connections() == 0  # revoked: the schedule skips it

    # Reconnect with a new setup token (the fake bridge answers with new credentials).
    bridge.mode = "ok"
    bridge.password = "pw-rotated-credentials"
    response = auth_client.patch(
        f"{URL}{mapped['id']}/", {"setup_token": bridge.setup_token()}, format="json"
    )
    assert response.status_code == 200, response.content
    reconnected = response.json()
    assert (reconnected["status"], reconnected["last_error"]) == ("active", "")
    # The mapping survived the reconnection.
    assert [a["book"] for a in reconnected["accounts"] if a["remote_id"] == "ACT-checking"] == [
        user.personal_book.pk
    ]
    done = sync(mapped["id"])
    assert done["status"] == "active" and Expense.objects.filter(user=user).count() == 2


def test_a_secret_no_key_opens_asks_for_a_reconnection(user, bridge, mapped, sync, settings):
    from cryptography.fernet import Fernet

    settings.ENCRYPTION_KEYS = [Fernet.generate_key().decode()]  # the old key is gone
    after = sync(mapped["id"])
    assert (after["status"], after["last_error_code"]) == ("error", "secret_unreadable")
    assert "reconnect" in after["last_error"]
    assert nothing_stored(user)


def test_listing_failing_right_after_the_claim_keeps_the_connection_with_the_error(
    auth_client, user, bridge
):
    bridge.mode = "errors"
    response = auth_client.post(
        URL, {"kind": "simplefin", "setup_token": bridge.setup_token()}, format="json"
    )
    # The setup token is used up: the connection is kept, with the error, for a later sync.
    assert response.status_code == 201
    body = response.json()
    assert (body["status"], body["last_error_code"], body["accounts"]) == (
        "error",
        "bank_error",
        [],
    )
    assert told(user).count() == 0  # the answer said it already
