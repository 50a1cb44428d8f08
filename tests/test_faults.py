"""Faults: a database outage is a clean, retryable 503, and writes are all-or-nothing.

The outage test really stops and starts a throwaway PostgreSQL cluster under a running
gunicorn; it runs on the PostgreSQL pass of .ci/run. A restore that fails half-way is
covered in backups/tests/test_api.py (test_a_failure_in_the_middle_leaves_nothing_half_written
and test_a_failure_in_merge_mode_leaves_a_fresh_account_empty); the import commit is here.
"""

from __future__ import annotations

from datetime import date
from unittest import mock

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import HttpResponse
from django.test import override_settings
from django.urls import include, path

from expenses.models import Expense
from imports.models import BatchStatus, ImportBatch
from income.models import Income
from tests.live_server import PostgresCluster, gunicorn, http, manage, production_env

UNAVAILABLE = {"detail": "The database is unavailable.", "code": "database_unavailable"}


def _lost_connection(request) -> HttpResponse:
    raise InterfaceError("connection already closed")


urlpatterns = [
    path("api/v1/lost-connection/", _lost_connection),
    path("", include("budget_tracker.urls")),
]


# --- the error shape, in process (both databases) -----------------------------------------------


@pytest.mark.django_db
def test_lost_database_in_a_drf_view_is_503_json(auth_client):
    with mock.patch(
        "rest_framework_simplejwt.authentication.JWTAuthentication.get_user",
        side_effect=OperationalError("server closed the connection unexpectedly"),
    ):
        response = auth_client.get("/api/v1/expenses/")
    assert response.status_code == 503
    assert response.json() == UNAVAILABLE
    assert response["Retry-After"] == "5"


@pytest.mark.django_db
@override_settings(ROOT_URLCONF=__name__, DEBUG=False)
def test_lost_database_outside_drf_is_503_json(client):
    client.raise_request_exception = False
    response = client.get("/api/v1/lost-connection/")
    assert response.status_code == 503
    assert response["Content-Type"].startswith("application/json")
    assert response.json() == UNAVAILABLE


# --- a real outage: stop and start PostgreSQL under a running gunicorn --------------------------


@pytest.fixture
def cluster():
    if not settings.DATABASES["default"]["ENGINE"].startswith("django.db.backends.postgresql"):
        pytest.skip("runs on the PostgreSQL pass (.ci/run), where PostgreSQL tooling is present")
    reason = PostgresCluster.unavailable_reason()
    if reason:
        pytest.skip(f"cannot run a throwaway PostgreSQL cluster: {reason}")
    cluster = PostgresCluster()
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        cluster.destroy()


@pytest.mark.postgres
def test_database_outage_is_503_and_the_running_server_recovers(cluster, tmp_path):
    env = production_env(
        DATABASE_URL=cluster.url,
        CONN_MAX_AGE="60",  # persistent connections: the harder case to recover from
        DB_CONNECT_TIMEOUT="3",
        STATIC_ROOT=str(tmp_path / "static"),
    )
    manage("migrate", "--noinput", env=env)
    with gunicorn(env, workers=2) as base:
        credentials = {"username": "outage", "password": "Outage-pass-123"}
        registered = http(
            "POST", f"{base}/api/v1/auth/register/", body={**credentials, "email": "o@example.com"}
        )
        assert registered.status == 201, registered.body
        token = http("POST", f"{base}/api/v1/auth/token/", body=credentials).json()["access"]

        def health():
            return http("GET", f"{base}/health/")

        def expenses():
            return http("GET", f"{base}/api/v1/expenses/", token=token)

        for _ in range(4):  # both workers hold an open connection
            assert health().status == 200
            assert expenses().status == 200

        cluster.stop()
        for _ in range(4):
            down = health()
            assert down.status == 503
            assert down.json() == {"status": "unavailable", "database": "unreachable"}
            failed = expenses()
            assert failed.status == 503, failed.body
            assert failed.headers["Content-Type"].startswith("application/json")
            assert failed.json() == UNAVAILABLE
            assert b"Traceback" not in failed.body

        cluster.start()
        for _ in range(4):
            up = health()
            assert up.status == 200 and up.json() == {"status": "ok", "database": "ok"}
            listed = expenses()
            assert listed.status == 200 and listed.json()["results"] == []


# --- all-or-nothing writes ----------------------------------------------------------------------


@pytest.mark.django_db
def test_a_failure_in_the_middle_of_an_import_commit_leaves_nothing_half_written(auth_client, user):
    content = b"Date,Description,Amount\n2026-03-01,Rent,-900\n2026-03-02,Coffee,-3.50\n"
    content += b"2026-03-03,Salary,2500\n"
    upload = SimpleUploadedFile("a.csv", content, content_type="text/csv")
    batch = auth_client.post("/api/v1/imports/", {"file": upload}, format="multipart").json()
    url = f"/api/v1/imports/{batch['id']}/commit/"

    # Expenses are inserted first; the income insert after them fails.
    with mock.patch(
        "imports.services.incomes_bulk_import", side_effect=DatabaseError("disk full")
    ) as failing:
        response = auth_client.post(url, {}, format="json")
    assert failing.called
    assert response.status_code == 500
    assert response.json() == {"detail": "A server error occurred.", "code": "server_error"}
    assert not Expense.objects.filter(user=user).exists()
    assert not Income.objects.filter(user=user).exists()
    stored = ImportBatch.objects.get(pk=batch["id"])
    assert stored.status == BatchStatus.PREVIEW and stored.committed_at is None

    # Nothing is stuck: the same batch commits in full once the fault is gone.
    retried = auth_client.post(url, {}, format="json")
    assert retried.status_code == 200, retried.content
    assert Expense.objects.filter(user=user).count() == 2
    assert Income.objects.get(user=user).date == date(2026, 3, 3)
