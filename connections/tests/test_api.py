"""/connections/: claiming a setup token, CRUD, mapping accounts, ownership (SPEC §17)."""

from __future__ import annotations

import base64
import socket

import pytest
from django.db import connection as db
from django.test.utils import CaptureQueriesContext

from connections.models import Connection, ConnectionAccount
from expenses.models import Expense

from .conftest import URL, account_id, map_account

pytestmark = pytest.mark.django_db


def token_of(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def create(client, setup_token, **body):
    return client.post(
        URL, {"kind": "simplefin", "setup_token": setup_token, **body}, format="json"
    )


@pytest.mark.parametrize(
    "setup_token",
    [
        "not base64 at all!",
        token_of("hello, this is no URL"),
        token_of("ftp://bridge.example/claim/abc"),
        base64.b64encode(b"\xff\xfe\xfd").decode(),
    ],
)
def test_a_token_that_is_not_a_setup_token_is_a_400_on_setup_token(
    auth_client, bridge, setup_token
):
    response = create(auth_client, setup_token)
    assert response.status_code == 400
    assert list(response.json()) == ["setup_token"]
    assert not Connection.objects.exists()


def test_a_claim_url_on_a_private_address_is_refused_unless_allowed(auth_client, bridge, settings):
    settings.SIMPLEFIN_ALLOW_PRIVATE = False
    for url in (f"https://127.0.0.1:{bridge.port}/claim/x", f"{bridge.base}/claim/x"):
        response = create(auth_client, token_of(url))
        assert response.status_code == 400, url
        assert list(response.json()) == ["setup_token"]
    assert bridge.requests == []  # refused before any request
    assert not Connection.objects.exists()


def test_a_token_claimed_before_is_a_400_naming_what_to_do(auth_client, bridge):
    token = bridge.setup_token()
    assert create(auth_client, token).status_code == 201
    again = create(auth_client, token)
    assert again.status_code == 400
    body = again.json()
    assert body["code"] == "token_already_claimed"
    assert "new setup token" in body["detail"] and "setup_token" in body["detail"]
    assert Connection.objects.count() == 1


def test_an_unreachable_bridge_is_a_502_and_nothing_is_stored(auth_client, settings):
    settings.SIMPLEFIN_ALLOW_PRIVATE = True
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    response = create(auth_client, token_of(f"http://127.0.0.1:{port}/claim/x"))
    assert response.status_code == 502
    assert response.json()["code"] == "bridge_unreachable"
    assert not Connection.objects.exists()


def test_unknown_fields_and_kinds_are_400s(auth_client, bridge):
    response = create(auth_client, bridge.setup_token(), access_url="https://x")
    assert response.status_code == 400 and "access_url" in response.json()
    response = auth_client.post(URL, {"kind": "plaid", "setup_token": "x"}, format="json")
    assert response.status_code == 400 and "kind" in response.json()
    assert auth_client.post(URL, {"kind": "simplefin"}, format="json").json() == {
        "setup_token": ["This field is required."]
    }
    assert not Connection.objects.exists()


def test_rename_list_and_delete(auth_client, user, bridge, connect, sync):
    bridge.add_transaction("ACT-checking", "T1", days_ago=1, amount="-1.00", description="a")
    connection = connect()
    assert connection["name"] == "SimpleFIN (127.0.0.1)"
    renamed = auth_client.patch(f"{URL}{connection['id']}/", {"name": "Household bank"})
    assert renamed.status_code == 200 and renamed.json()["name"] == "Household bank"
    assert auth_client.patch(f"{URL}{connection['id']}/", {"name": ""}).status_code == 400
    assert auth_client.put(f"{URL}{connection['id']}/", {"name": "x"}).status_code == 405
    listed = auth_client.get(URL).json()
    assert [c["name"] for c in listed["results"]] == ["Household bank"]
    accounts = auth_client.get(f"{URL}{connection['id']}/accounts/").json()
    assert {a["remote_id"] for a in accounts} == {"ACT-checking", "ACT-card"}

    map_account(auth_client, connection, "ACT-checking", user.personal_book.pk)
    sync(connection["id"])
    assert auth_client.delete(f"{URL}{connection['id']}/").status_code == 204
    assert not Connection.objects.exists() and not ConnectionAccount.objects.exists()
    assert Expense.objects.count() == 1  # what was imported stays


def test_the_list_takes_the_same_queries_for_one_or_many_connections(auth_client, connect):
    connect()
    with CaptureQueriesContext(db) as one:
        assert auth_client.get(URL).status_code == 200
    connect()
    connect()
    with CaptureQueriesContext(db) as three:
        assert len(auth_client.get(URL).json()["results"]) == 3
    assert len(three) == len(one)


def test_mapping_takes_only_books_the_user_may_write_to(
    auth_client, user, other_user, bridge, connect, shared_book
):
    viewed = shared_book(owner=other_user, viewers=[user], name="Their flat")
    edited = shared_book(owner=other_user, editors=[user], name="Our flat")
    stranger = shared_book(owner=other_user, name="Not mine")
    connection = connect()
    url = f"{URL}{connection['id']}/accounts/{account_id(connection, 'ACT-checking')}/"
    for book in (viewed, stranger):
        response = auth_client.patch(url, {"book": book.pk}, format="json")
        assert response.status_code == 400
        assert "does not exist" in response.json()["book"][0]
    assert auth_client.patch(url, {"book": edited.pk}, format="json").json()["book"] == edited.pk
    assert auth_client.patch(url, {"book": None}, format="json").json()["book"] is None
    assert auth_client.patch(url, {"book": "x"}, format="json").status_code == 400
    assert auth_client.patch(url, {"bank": 1}, format="json").status_code == 400
    # An account id of no account of this connection is a 404.
    missing = f"{URL}{connection['id']}/accounts/999999/"
    assert auth_client.patch(missing, {"book": None}, format="json").status_code == 404


def test_another_users_connection_is_a_404_everywhere(
    auth_client, other_client, other_user, bridge, connect
):
    connection = connect()
    theirs = connect(client=other_client)
    account = account_id(connection, "ACT-checking")
    base = f"{URL}{connection['id']}/"
    assert other_client.get(base).status_code == 404
    assert other_client.patch(base, {"name": "mine now"}, format="json").status_code == 404
    assert other_client.post(f"{base}sync/").status_code == 404
    assert other_client.get(f"{base}accounts/").status_code == 404
    response = other_client.patch(
        f"{base}accounts/{account}/", {"book": other_user.personal_book.pk}, format="json"
    )
    assert response.status_code == 404
    assert other_client.delete(base).status_code == 404
    # Nor can the account be reached through one's own connection.
    response = other_client.patch(
        f"{URL}{theirs['id']}/accounts/{account}/", {"book": None}, format="json"
    )
    assert response.status_code == 404
    assert [c["id"] for c in other_client.get(URL).json()["results"]] == [theirs["id"]]
    assert Connection.objects.get(pk=connection["id"]).name == connection["name"]
    assert ConnectionAccount.objects.get(pk=account).book is None


def test_remapping_to_another_book_starts_that_books_history_over(
    auth_client, user, bridge, connect, sync, shared_book
):
    household = shared_book(owner=user)
    bridge.add_transaction("ACT-checking", "T1", days_ago=30, amount="-3.00", description="a")
    connection = connect()
    map_account(auth_client, connection, "ACT-checking", user.personal_book.pk)
    sync(connection["id"])
    map_account(auth_client, connection, "ACT-checking", household.pk)
    after = sync(connection["id"])
    assert after["last_sync"]["expenses"] == 1
    assert Expense.objects.filter(book=household).count() == 1
    assert Expense.objects.filter(book=user.personal_book).count() == 1


def test_sync_answers_202_with_the_connection(auth_client, connect):
    connection = connect()
    response = auth_client.post(f"{URL}{connection['id']}/sync/")
    assert response.status_code == 202
    # In a test the queued task runs at the commit, which has not happened yet.
    assert response.json()["sync_state"] == "queued"
