"""Commit and undo of one import racing each other (PostgreSQL): never a 500, never a
half-state. Each thread has its own API client and database connection."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from expenses.models import Expense
from imports.models import ImportBatch
from income.models import Income
from tests.concurrency import require_postgresql, run_concurrently
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

URL = "/api/v1/imports/"
THREADS = 8


@pytest.fixture(autouse=True)
def _postgresql_only() -> None:
    require_postgresql()


def client_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    return client


def preview(user, rows: int = 30) -> int:
    lines = ["Date,Description,Amount"]
    lines += [f"2024-01-{i % 28 + 1:02d},Shop {i},-{i + 1}.25" for i in range(rows)]
    file = SimpleUploadedFile("s.csv", ("\n".join(lines) + "\n").encode())
    response = client_for(user).post(URL, {"file": file}, format="multipart")
    assert response.status_code == 201, response.content
    return response.json()["id"]


def stored(user) -> int:
    return Expense.objects.filter(user=user).count() + Income.objects.filter(user=user).count()


def test_parallel_commits_store_once_and_the_others_get_409():
    user = UserFactory()
    batch = preview(user)

    results, errors = run_concurrently(
        lambda i: client_for(user).post(f"{URL}{batch}/commit/", {}, format="json"),
        threads=THREADS,
    )

    assert errors == []
    codes = sorted(response.status_code for response in results)
    assert codes == [200] + [409] * (THREADS - 1), [r.content for r in results]
    assert stored(user) == 30


def test_parallel_undos_delete_once_and_the_others_get_404():
    user = UserFactory()
    batch = preview(user)
    assert client_for(user).post(f"{URL}{batch}/commit/", {}, format="json").status_code == 200

    results, errors = run_concurrently(
        lambda i: client_for(user).delete(f"{URL}{batch}/"), threads=THREADS
    )

    assert errors == []
    codes = sorted(response.status_code for response in results)
    assert codes == [200] + [404] * (THREADS - 1), [r.content for r in results]
    assert [r.json() for r in results if r.status_code == 200] == [{"expenses": 30, "incomes": 0}]
    assert stored(user) == 0


def test_commit_and_undo_at_once_leave_either_everything_or_nothing():
    for _ in range(3):
        user = UserFactory()
        batch = preview(user)

        def act(i: int):
            client = client_for(user)
            if i % 2:
                return client.post(f"{URL}{batch}/commit/", {}, format="json")
            return client.delete(f"{URL}{batch}/")

        results, errors = run_concurrently(act, threads=4)

        assert errors == []
        assert all(r.status_code in (200, 404, 409) for r in results), [r.content for r in results]
        assert not ImportBatch.objects.filter(pk=batch).exists() or stored(user) == 30
        if not ImportBatch.objects.filter(pk=batch).exists():
            # undone after the commit, or discarded before it: nothing is left behind
            assert stored(user) == 0
