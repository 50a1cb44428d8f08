"""The access URL is a secret: encrypted at rest, never in a response, an admin page, a
notification or a log line — also when things fail — and key rotation keeps it working."""

from __future__ import annotations

import logging

import pytest
from cryptography.fernet import Fernet
from django.core import mail
from django.core.management import call_command
from django.db import connection as db
from django.urls import reverse

from connections.models import Connection, ConnectionAccount
from core.crypto import decrypt
from expenses.models import Expense
from notifications.models import Notification
from users.tests.factories import UserFactory

from .conftest import URL, map_account

pytestmark = pytest.mark.django_db


def secrets_of(bridge) -> list[str]:
    return [bridge.password, bridge.username, bridge.access_url]


def assert_secret_free(text: str, bridge) -> None:
    for secret in secrets_of(bridge):
        assert secret not in text


def raw_access_url(connection_id: int) -> str:
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT access_url FROM connections_connection WHERE id = %s", [connection_id]
        )
        return cursor.fetchone()[0]


def test_the_secret_never_leaves_through_the_api_notifications_or_logs(
    auth_client, user, bridge, connect, sync, caplog, settings
):
    caplog.set_level(logging.DEBUG)
    bridge.add_transaction("ACT-checking", "T1", days_ago=1, amount="-1.00", description="a")
    created = auth_client.post(
        URL, {"kind": "simplefin", "setup_token": bridge.setup_token()}, format="json"
    )
    assert created.status_code == 201
    connection = created.json()
    map_account(auth_client, connection, "ACT-checking", user.personal_book.pk)
    pages = [created.content.decode()]
    cid = connection["id"]
    # Every way the sync can fail, each with the bridge's own text around the secret.
    bridge.error_message = f"login failed for {bridge.username}:{bridge.password}"
    for mode in ("errors", "revoked", "bad_json", "http500", "ok"):
        bridge.mode = mode
        pages.append(str(sync(cid)))
    settings.SIMPLEFIN_TIMEOUT_SECONDS = 0.2
    bridge.mode = "slow"
    pages.append(str(sync(cid)))
    bridge.mode = "ok"
    pages += [
        auth_client.get(path).content.decode()
        for path in (URL, f"{URL}{cid}/", f"{URL}{cid}/accounts/", "/api/v1/notifications/")
    ]
    pages.append(auth_client.patch(f"{URL}{cid}/", {"name": "x"}).content.decode())
    bridge.stop()
    pages.append(str(sync(cid)))  # unreachable

    assert Expense.objects.count() == 1  # the syncs really ran
    bank_errors = [p for p in pages if "login failed for ***:***" in p]
    assert bank_errors  # the bridge's message is shown, redacted
    for text in pages:
        assert_secret_free(text, bridge)
    for notification in Notification.objects.all():
        assert_secret_free(f"{notification.title} {notification.body} {notification.data}", bridge)
    for email in mail.outbox:
        assert_secret_free(f"{email.subject} {email.body}", bridge)
    # The requests themselves were logged (urllib3 at DEBUG), and the failures (the app).
    assert "/simplefin/accounts" in caplog.text and "bank_error" in caplog.text
    assert_secret_free(caplog.text, bridge)
    for record in caplog.records:
        assert_secret_free(record.getMessage() + str(record.exc_info), bridge)


def test_a_claim_failure_leaves_no_secret_in_the_answer_or_the_logs(
    auth_client, bridge, caplog, settings
):
    caplog.set_level(logging.DEBUG)
    token = bridge.setup_token()
    assert auth_client.post(URL, {"kind": "simplefin", "setup_token": token}).status_code == 201
    again = auth_client.post(URL, {"kind": "simplefin", "setup_token": token})
    assert again.status_code == 400
    assert_secret_free(again.content.decode() + caplog.text, bridge)


def test_the_database_holds_ciphertext(auth_client, bridge, connect):
    connection = connect()
    stored = raw_access_url(connection["id"])
    assert_secret_free(stored, bridge)
    assert decrypt(stored) == bridge.access_url
    assert Connection.objects.get(pk=connection["id"]).access_url == bridge.access_url


def test_the_admin_never_shows_the_secret(client, bridge, connect):
    connection = connect()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    account = ConnectionAccount.objects.filter(connection_id=connection["id"]).first()
    pages = [
        reverse("admin:connections_connection_changelist"),
        reverse("admin:connections_connection_change", args=[connection["id"]]),
        reverse("admin:connections_connectionaccount_changelist"),
        reverse("admin:connections_connectionaccount_change", args=[account.pk]),
    ]
    for page in pages:
        response = client.get(page)
        assert response.status_code == 200, page
        html = response.content.decode()
        assert_secret_free(html, bridge)
        assert raw_access_url(connection["id"]) not in html
    change = client.get(pages[1]).content.decode()
    assert connection["name"] in change and 'name="access_url"' not in change
    # Saving the change page keeps the secret as it was.
    response = client.post(pages[1], {"name": "Renamed", **_inline_management()})
    assert response.status_code == 302, response.content[:2000]
    saved = Connection.objects.get(pk=connection["id"])
    assert saved.name == "Renamed" and saved.access_url == bridge.access_url


def _inline_management() -> dict[str, str]:
    """The account inline's formset fields, with its rows unchanged."""
    accounts = ConnectionAccount.objects.all()
    data = {
        "accounts-TOTAL_FORMS": str(accounts.count()),
        "accounts-INITIAL_FORMS": str(accounts.count()),
        "accounts-MIN_NUM_FORMS": "0",
        "accounts-MAX_NUM_FORMS": "1000",
    }
    for index, account in enumerate(accounts):
        data[f"accounts-{index}-id"] = str(account.pk)
        data[f"accounts-{index}-connection"] = str(account.connection_id)
        data[f"accounts-{index}-book"] = ""
    return data


def test_key_rotation_keeps_the_connection_working(
    auth_client, user, bridge, connect, sync, settings
):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.ENCRYPTION_KEYS = [old]
    connection = connect()
    before = raw_access_url(connection["id"])
    assert Fernet(old.encode()).decrypt(before.encode()).decode() == bridge.access_url

    settings.ENCRYPTION_KEYS = [new, old]  # 1. the new key first, the old one after it
    call_command("rotate_encryption_keys", stdout=_Sink(), stderr=_Sink())  # 2. re-encrypt
    settings.ENCRYPTION_KEYS = [new]  # 3. the old key removed
    after = raw_access_url(connection["id"])
    assert after != before
    assert Fernet(new.encode()).decrypt(after.encode()).decode() == bridge.access_url

    bridge.add_transaction("ACT-checking", "T1", days_ago=1, amount="-1.00", description="a")
    map_account(auth_client, connection, "ACT-checking", user.personal_book.pk)
    synced = sync(connection["id"])
    assert synced["status"] == "active" and Expense.objects.count() == 1


class _Sink:
    def write(self, text: str) -> None:
        pass

    def flush(self) -> None:
        pass
