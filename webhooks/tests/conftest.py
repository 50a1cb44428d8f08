"""Fixtures of the webhook tests: a receiver on 127.0.0.1 and hooks pointing at it.

Private addresses are allowed here (WEBHOOKS_ALLOW_PRIVATE, as the issue says the tests
set it); the SSRF tests turn it off again. Writes run inside `committed()`, which runs
the on-commit callbacks (the queued sends, eager as in development) at its end.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

import pytest

from .helpers import api
from .receiver import Receiver


@pytest.fixture(autouse=True)
def _webhook_settings(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    settings.WEBHOOKS_TIMEOUT_SECONDS = 5.0
    settings.WEBHOOKS_MAX_ATTEMPTS = 8
    settings.WEBHOOKS_RETRY_BASE_SECONDS = 60
    settings.WEBHOOKS_RETRY_MAX_SECONDS = 6 * 3600
    settings.WEBHOOKS_DISABLE_AFTER_HOURS = 24
    settings.WEBHOOKS_SECRET_GRACE_HOURS = 24
    settings.WEBHOOKS_LOG_DAYS = 30


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


@pytest.fixture
def committed(django_capture_on_commit_callbacks) -> Callable[[], AbstractContextManager]:
    """`with committed(): …` — the block's on-commit callbacks run at its end, as after a
    real commit (the test's own transaction never commits)."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def hook_for(client_for, receiver):
    """`hook_for(user, events=[...], book=None)` → the created hook (with its secret); the
    receiver learns the secret."""

    def make(user: Any, *, events: list[str] | None = None, book: Any = None, path: str = "/hook"):
        response = client_for(user).post(
            f"{api(book)}/webhooks/",
            {"url": receiver.url(path), "events": events or ["expense.created"]},
            format="json",
        )
        assert response.status_code == 201, response.content
        receiver.secrets.append(response.json()["secret"])
        return response.json()

    return make
