"""Fixtures of the connection tests: a fake SimpleFIN Bridge on 127.0.0.1 and helpers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .fake_simplefin import FakeBridge

URL = "/api/v1/connections/"


@pytest.fixture
def bridge(settings) -> Iterator[FakeBridge]:
    """A running fake bridge with two accounts; private addresses allowed (127.0.0.1)."""
    settings.SIMPLEFIN_ALLOW_PRIVATE = True
    settings.SIMPLEFIN_TIMEOUT_SECONDS = 5
    fake = FakeBridge().start()
    fake.add_account("ACT-checking", name="Checking", balance="1520.35")
    fake.add_account("ACT-card", name="Card", balance="-210.00")
    yield fake
    fake.stop()


@pytest.fixture
def connect(auth_client, bridge):
    """POST a fresh setup token of the bridge → the created connection (JSON)."""

    def make(client=None, **body):
        response = (client or auth_client).post(
            URL, {"kind": "simplefin", "setup_token": bridge.setup_token(), **body}, format="json"
        )
        assert response.status_code == 201, response.content
        return response.json()

    return make


@pytest.fixture
def sync(auth_client, django_capture_on_commit_callbacks):
    """POST /sync/ and run the queued task → the connection (JSON) after the sync."""

    def run(connection_id, client=None):
        client = client or auth_client
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(f"{URL}{connection_id}/sync/")
        assert response.status_code == 202, response.content
        after = client.get(f"{URL}{connection_id}/")
        assert after.status_code == 200
        return after.json()

    return run


def account_id(connection, remote_id):
    return next(a["id"] for a in connection["accounts"] if a["remote_id"] == remote_id)


def map_account(client, connection, remote_id, book_id):
    response = client.patch(
        f"{URL}{connection['id']}/accounts/{account_id(connection, remote_id)}/",
        {"book": book_id},
        format="json",
    )
    assert response.status_code == 200, response.content
    return response.json()
