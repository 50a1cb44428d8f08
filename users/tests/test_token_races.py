"""A refresh token is spent exactly once, however many requests race for it (PostgreSQL).

Each test starts 10 threads behind a barrier (tests/concurrency.py), every one with its
own API client and database connection, and real tokens from the login endpoint.
"""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from tests.concurrency import require_postgresql, run_concurrently
from users import services
from users.models import User
from users.tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

TOKEN = "/api/v1/auth/token/"
REFRESH = "/api/v1/auth/token/refresh/"
LOGOUT = "/api/v1/auth/logout/"
THREADS = 10


@pytest.fixture(autouse=True)
def _postgresql_only() -> None:
    require_postgresql()


def _login(user: User) -> dict[str, str]:
    response = APIClient().post(TOKEN, {"username": user.username, "password": DEFAULT_PASSWORD})
    assert response.status_code == 200
    return response.json()


def _live_tokens(user: User) -> set[str]:
    """jti of the user's refresh tokens that are not blacklisted."""
    return set(
        OutstandingToken.objects.filter(user=user, blacklistedtoken__isnull=True).values_list(
            "jti", flat=True
        )
    )


def _refresh(token: str) -> Any:
    return APIClient().post(REFRESH, {"refresh": token})


def test_ten_simultaneous_refreshes_of_one_token_give_exactly_one_new_pair():
    user = UserFactory()
    refresh = _login(user)["refresh"]

    results, errors = run_concurrently(lambda i: _refresh(refresh), threads=THREADS)

    assert errors == []
    codes = sorted(response.status_code for response in results)
    assert codes == [200] + [401] * (THREADS - 1)
    winner = next(response.json() for response in results if response.status_code == 200)
    for response in results:
        if response.status_code == 401:
            assert response.json()["code"] == "token_not_valid"
            assert "refresh" not in response.json()
    # One new refresh token was minted, not one per request: the login's is spent, the
    # winner's is the only live one.
    assert OutstandingToken.objects.filter(user=user).count() == 2
    assert len(_live_tokens(user)) == 1
    # The spent token stays spent; the winner's keeps working, once.
    assert _refresh(refresh).status_code == 401
    assert _refresh(winner["refresh"]).status_code == 200
    assert _refresh(winner["refresh"]).status_code == 401


def test_refreshes_racing_a_logout_with_the_same_token_have_one_winner():
    user = UserFactory()
    tokens = _login(user)

    def work(i: int) -> Any:
        if i % 2:
            return _refresh(tokens["refresh"])
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
        return client.post(LOGOUT, {"refresh": tokens["refresh"]})

    results, errors = run_concurrently(work, threads=THREADS)

    assert errors == []
    codes = [response.status_code for response in results]
    assert sum(code in (200, 204) for code in codes) == 1, codes
    assert all(code in (200, 204, 400, 401) for code in codes), codes
    assert _refresh(tokens["refresh"]).status_code == 401
    # If the logout won, nothing was minted; if a refresh won, exactly one token.
    minted = 1 if 200 in codes else 0
    assert len(_live_tokens(user)) == minted


def test_no_token_minted_during_a_password_change_survives_it():
    """Refreshes racing a password change: only the pair the change returns stays live."""
    user = UserFactory()
    refreshes = [_login(user)["refresh"] for _ in range(THREADS - 1)]

    def work(i: int) -> Any:
        if i == THREADS - 1:
            return services.password_change(
                user=User.objects.get(pk=user.pk), new_password="N3w-Password-42"
            )
        return _refresh(refreshes[i])

    results, errors = run_concurrently(work, threads=THREADS)

    assert errors == []
    changed = next(result for result in results if isinstance(result, dict))
    assert _live_tokens(user) == {RefreshToken(changed["refresh"])["jti"]}
    for response in results:
        if not isinstance(response, dict) and response.status_code == 200:
            assert _refresh(response.json()["refresh"]).status_code == 401
