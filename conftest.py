"""Fixtures shared by every test: users, API clients with real JWTs, clean caches."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from users.tests.factories import DEFAULT_PASSWORD, UserFactory


def pytest_configure(config: pytest.Config) -> None:
    # The test database starts without the ~190 000 bundled ECB rates (each test sets up
    # the rates it needs, and every flush would load them again); the tests of the
    # autoload turn it on (tests/test_statements_out_of_the_box.py).
    from django.conf import settings

    settings.RATES_BUNDLED_AUTOLOAD = False


@pytest.fixture(autouse=True)
def _isolated_and_fast(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def password() -> str:
    return DEFAULT_PASSWORD


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def other_user(db):
    return UserFactory()


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def client_for(db) -> Callable[..., APIClient]:
    """An API client carrying a real access token for the given user."""

    def make(user) -> APIClient:
        client = APIClient()
        token = RefreshToken.for_user(user).access_token
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        return client

    return make


@pytest.fixture
def auth_client(user, client_for) -> APIClient:
    return client_for(user)


@pytest.fixture
def other_client(other_user, client_for) -> APIClient:
    return client_for(other_user)
