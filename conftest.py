"""Fixtures shared by every test: users, API clients with real JWTs, clean caches."""

from __future__ import annotations

import ipaddress
import socket
from collections import Counter
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


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test item gets a node id of its own, and the longest run first.

    Schemathesis makes one item per API operation, named `test_x[GET /api/v1/…]`, but
    pytest 9 builds an item's id from its bare function name, so ~190 items shared two ids:
    the progress percentage (distinct ids reported / items) stopped short of 100 %, and
    pytest-xdist, `-k` and `--lf` could not tell them apart. Such an item gets its full
    name as its id; a duplicate left over fails the collection instead of the display."""
    for item in items:
        full = f"{item.parent.nodeid}::{item.name}"
        if item.nodeid != full and item.name != getattr(item, "originalname", item.name):
            item._id = type(item.id).parse(full)
    counts = Counter(item.nodeid for item in items)
    duplicates = sorted(nodeid for nodeid, count in counts.items() if count > 1)
    if duplicates:
        raise pytest.UsageError(f"duplicate test ids: {duplicates[:5]}")
    # Within pytest-django's order (database tests, then transactional ones, which flush
    # the migrated rows, then the rest), the longest tests first; the rest keep their
    # order. pytest-xdist's workers start from the front of their share and steal from the
    # back of another's, so a 15-second test never starts last while the other core has
    # nothing left to do.
    items.sort(key=lambda item: (_db_order(item), item.nodeid.split("::")[0] not in LONGEST_FIRST))


def _db_order(item: pytest.Item) -> int:
    """pytest-django's rank of a test: 0 database, 1 transactional database, 2 none."""
    marker = item.get_closest_marker("django_db")
    fixtures = set(getattr(item, "fixturenames", ()))
    transactional = bool(fixtures & {"transactional_db", "live_server"}) or bool(
        marker and (marker.kwargs.get("transaction") or marker.kwargs.get("reset_sequences"))
    )
    if transactional:
        return 1
    return 0 if marker or "db" in fixtures else 2


# Test files whose tests take several seconds each (migrations run back and forth, a
# server started, property tests against the database), found with `pytest --durations`.
LONGEST_FIRST = {
    "tests/test_migrations.py",
    "books/tests/test_migrations.py",
    "books/tests/test_record_migrations.py",
    "expenses/tests/test_split_migration.py",
    "expenses/tests/test_suggestions_migration.py",
    "tests/test_docs.py",
    "tests/test_production.py",
    "tests/test_auth_hardening.py",
    "frontend/tests/test_webapp.py",
    "reports/tests/test_properties.py",
    "splits/tests/test_properties.py",
}


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


@pytest.fixture
def shared_book(db, user):
    """Makes shared books: `shared_book(owner=user, editors=[...], viewers=[...], name=…,
    base_currency=…, month_start_day=…)` → the Book, with those memberships (SPEC §14)."""
    from books.models import Membership, Role
    from books.services import book_create

    def make(owner=None, *, editors=(), viewers=(), owners=(), name="Household", **fields):
        book = book_create(user=owner or user, name=name, **fields)
        for role, members in ((Role.EDITOR, editors), (Role.VIEWER, viewers), (Role.OWNER, owners)):
            for member in members:
                Membership.objects.create(book=book, user=member, role=role)
        return book

    return make


PUBLIC_TEST_ADDRESS = "93.184.215.14"  # a public address; nothing is ever sent to it


@pytest.fixture
def public_dns(monkeypatch):
    """Host names resolve to a public address (this machine has no DNS), so a webhook
    URL such as https://hooks.example.com/ passes the outbound check; IP literals
    (127.0.0.1 of the test servers) resolve as usual."""
    use_public_dns(monkeypatch)


def use_public_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    """`public_dns` for any monkeypatch (a module-scoped one too)."""
    real = socket.getaddrinfo

    def resolve(host, port, *args, **kwargs):
        try:
            ipaddress.ip_address(str(host).strip("[]"))
        except ValueError:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (PUBLIC_TEST_ADDRESS, port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
