"""No request waits on a row lock longer than DB_LOCK_TIMEOUT_MS (PostgreSQL).

A long write (a queued base-currency change rewriting a million rows, an import) holds
row locks for longer than a worker may wait; a request that needs one of those rows gets
a 409 `records_busy` with Retry-After and changes nothing, instead of hanging until
gunicorn kills the worker.
"""

from __future__ import annotations

import threading
import time

import pytest
from django.conf import settings
from django.db import connection, transaction

from categories.models import Tag
from tests.concurrency import require_postgresql

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_lock_timeout_is_set_on_every_postgresql_connection():
    require_postgresql()
    with connection.cursor() as cursor:
        cursor.execute("SHOW lock_timeout")
        shown = cursor.fetchone()[0]
    assert shown == f"{settings.DB_LOCK_TIMEOUT_MS // 1000}s"


def test_a_request_blocked_by_a_long_write_gets_409_records_busy(user, auth_client):
    require_postgresql()
    tag = Tag.objects.create(user=user, name="Busy")
    held, release = threading.Event(), threading.Event()

    def long_write() -> None:
        try:
            with transaction.atomic():
                Tag.objects.select_for_update().get(pk=tag.pk)
                held.set()
                release.wait(30)
        finally:
            connection.close()

    holder = threading.Thread(target=long_write)
    holder.start()
    assert held.wait(10)
    try:
        with connection.cursor() as cursor:  # this test's requests share this connection
            cursor.execute("SET lock_timeout = '300ms'")
        started = time.monotonic()
        response = auth_client.patch(f"/api/v1/tags/{tag.pk}/", {"name": "Renamed"})
        elapsed = time.monotonic() - started
    finally:
        release.set()
        holder.join()
    assert response.status_code == 409, response.content
    assert response.json()["code"] == "records_busy"
    assert int(response["Retry-After"]) > 0
    assert elapsed < 5
    tag.refresh_from_db()
    assert tag.name == "Busy"
