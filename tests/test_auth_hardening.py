"""Auth hardening across the API: forged and revoked tokens, deactivated users, mass
assignment of server-owned fields, the page-size cap and throttling across processes.

The basics live in users/tests/test_api.py (tampered/expired/`alg: none` access tokens on
/auth/me/, refresh rotation and blacklisting, inactive login/refresh, per-address login
throttling); this file extends them to the forms an attacker would actually try.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import textwrap
import uuid
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import jwt
import pytest
from django.conf import settings as django_settings
from django.urls import reverse
from django.utils import timezone
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from categories.models import Category, Tag
from categories.tests.factories import CategoryFactory
from core.serializers import READ_ONLY_FIELD, UNKNOWN_FIELD
from expenses.models import Expense
from goals.tests.factories import GoalFactory
from users.tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

TOKEN = "/api/v1/auth/token/"
REFRESH = "/api/v1/auth/token/refresh/"
VERIFY = "/api/v1/auth/token/verify/"
LOGOUT = "/api/v1/auth/logout/"
ME = "/api/v1/auth/me/"
PROTECTED = ["/api/v1/auth/me/", "/api/v1/expenses/", "/api/v1/reports/summary/"]


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def unsigned(token: Any) -> str:
    return f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(dict(token.payload))}."


def signed_with(token: Any, key: str, algorithm: str = "HS256") -> str:
    return jwt.encode(dict(token.payload), key, algorithm=algorithm)


def forged_access_tokens(user: Any) -> dict[str, str]:
    good = AccessToken.for_user(user)
    expired = AccessToken.for_user(user)
    expired.set_exp(lifetime=-timedelta(seconds=1))
    refresh = RefreshToken.for_user(user)
    blacklisted = RefreshToken.for_user(user)
    blacklisted.blacklist()
    return {
        "alg none": unsigned(good),
        "alg none, upper case": f"{b64({'alg': 'NONE', 'typ': 'JWT'})}.{b64(dict(good.payload))}.",
        "other key": signed_with(good, "not-the-signing-key-" + "x" * 32),
        "other algorithm, same key": signed_with(
            good, django_settings.SIMPLE_JWT["SIGNING_KEY"], "HS384"
        ),
        "expired": str(expired),
        "refresh as access": str(refresh),
        "blacklisted refresh as access": str(blacklisted),
    }


@pytest.mark.parametrize("path", PROTECTED)
def test_forged_and_wrong_type_access_tokens_are_401(api_client, user, path):
    for label, token in forged_access_tokens(user).items():
        api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        response = api_client.get(path)
        assert response.status_code == 401, label
        assert response.json()["code"] == "token_not_valid", label


def test_forged_refresh_tokens_are_401_and_mint_nothing(api_client, user):
    refresh = RefreshToken.for_user(user)
    blacklisted = RefreshToken.for_user(user)
    blacklisted.blacklist()
    forged = {
        "alg none": unsigned(refresh),
        "other key": signed_with(refresh, "not-the-signing-key-" + "x" * 32),
        "blacklisted": str(blacklisted),
    }
    for label, token in forged.items():
        response = api_client.post(REFRESH, {"refresh": token})
        assert response.status_code == 401, label
        assert "access" not in response.json(), label
        assert api_client.post(VERIFY, {"token": token}).status_code == 401, label


def test_logged_out_refresh_token_cannot_refresh_or_authenticate(api_client, user):
    tokens = api_client.post(TOKEN, {"username": user.username, "password": DEFAULT_PASSWORD})
    refresh = tokens.json()["refresh"]
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens.json()['access']}")
    assert api_client.post(LOGOUT, {"refresh": refresh}).status_code == 204
    api_client.credentials()
    assert api_client.post(REFRESH, {"refresh": refresh}).status_code == 401
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {refresh}")
    assert api_client.get(ME).status_code == 401


def test_deactivated_user_is_locked_out_everywhere(api_client, user):
    """Login, refresh and existing access tokens all stop at once (401)."""
    tokens = api_client.post(
        TOKEN, {"username": user.username, "password": DEFAULT_PASSWORD}
    ).json()
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert (
        api_client.post(TOKEN, {"username": user.email, "password": DEFAULT_PASSWORD}).status_code
        == 401
    )
    refreshed = api_client.post(REFRESH, {"refresh": tokens["refresh"]})
    assert refreshed.status_code == 401
    assert "access" not in refreshed.json()
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    for path in PROTECTED:
        assert api_client.get(path).status_code == 401, path


# --- mass assignment -------------------------------------------------------------------------

SERVER_OWNED = {
    "id": 987654,
    "is_system": True,
    "base_amount": "1.00",
    "exchange_rate": "9.500000",
    "created_at": "2000-01-01T00:00:00Z",
    "updated_at": "2000-01-01T00:00:00Z",
    "saved_amount": "999.00",
}


def _today() -> str:
    return timezone.localdate().isoformat()


def _payloads(user: Any) -> dict[str, tuple[str, dict[str, Any]]]:
    category = CategoryFactory(user=user, name="Mine")
    goal = GoalFactory(user=user)
    return {
        "categories": (reverse("category-list"), {"name": "MA cat", "kind": "expense"}),
        "tags": (reverse("tag-list"), {"name": "ma-tag"}),
        "rules": (
            reverse("rule-list"),
            {
                "name": "MA rule",
                "field": "any",
                "operator": "contains",
                "value": "x",
                "category": category.pk,
            },
        ),
        "expenses": (
            reverse("expense-list"),
            {"amount": "12.50", "date": _today(), "description": "MA expense"},
        ),
        "incomes": (
            reverse("income-list"),
            {"amount": "12.50", "date": _today(), "description": "MA income"},
        ),
        "budgets": (
            reverse("budget-list"),
            {"month": "2026-03", "scope": "overall", "amount": "100.00"},
        ),
        "goals": (reverse("goal-list"), {"name": "MA goal", "target_amount": "100.00"}),
        "recurring": (
            reverse("recurring-list"),
            {
                "kind": "expense",
                "amount": "5.00",
                "description": "MA bill",
                "frequency": "monthly",
                "start_date": _today(),
            },
        ),
        "contributions": (
            reverse("goal-contribution-list", kwargs={"goal_pk": goal.pk}),
            {"amount": "5.00", "date": _today()},
        ),
    }


def _model_of(url: str) -> Any:
    from django.urls import resolve

    view = resolve(url).func
    return view.cls.queryset.model


def _owner(instance: Any) -> Any:
    return instance.goal.user if hasattr(instance, "goal") else instance.user


def _assert_server_owned_fields_kept(instance: Any, user: Any, name: str) -> None:
    assert instance.pk != SERVER_OWNED["id"], name
    assert _owner(instance) == user, name
    if hasattr(instance, "created_at"):
        assert instance.created_at.year > 2000, name
    if hasattr(instance, "updated_at"):
        assert instance.updated_at.year > 2000, name
    if isinstance(instance, Category):
        assert not instance.is_system and instance.user == user, name
    if hasattr(instance, "base_amount"):
        # USD record for a USD user: the server computes 1:1, whatever was sent.
        assert instance.base_amount == instance.amount, name
        assert instance.exchange_rate == Decimal(1), name


@pytest.mark.parametrize(
    "endpoint",
    [
        "categories",
        "tags",
        "rules",
        "expenses",
        "incomes",
        "budgets",
        "goals",
        "recurring",
        "contributions",
    ],
)
def test_mass_assignment_of_server_owned_fields_is_refused(endpoint, user, other_user, auth_client):
    """Server-owned and unknown fields are a 400 naming each (core.serializers.
    StrictFieldsMixin), on create and update alike, and nothing is stored."""
    url, payload = _payloads(user)[endpoint]
    model = _model_of(url)
    hostile = {**SERVER_OWNED, "user": other_user.pk, "goal": GoalFactory(user=other_user).pk}
    if endpoint == "categories":
        # A real field there, honoured only for an Admin (test_non_admin_is_system_flag_is_ignored).
        hostile.pop("is_system")
    before = model.objects.count()
    refused = auth_client.post(url, {**payload, **hostile}, format="json")
    assert refused.status_code == 400, refused.content
    assert set(refused.json()) == set(hostile), refused.json()
    assert model.objects.count() == before

    created = auth_client.post(url, payload, format="json")
    assert created.status_code == 201, created.content
    instance = model.objects.get(pk=created.json()["id"])
    detail = f"{url}{instance.pk}/"
    refused = auth_client.patch(detail, hostile, format="json")
    assert refused.status_code == 400, refused.content
    assert set(refused.json()) == set(hostile), refused.json()
    instance.refresh_from_db()
    _assert_server_owned_fields_kept(instance, user, endpoint)
    assert not model.objects.filter(pk=SERVER_OWNED["id"]).exists()


def test_me_refuses_identity_and_role_fields(auth_client, user, other_user):
    response = auth_client.patch(
        ME,
        {
            "id": other_user.pk,
            "username": "root",
            "is_staff": True,
            "is_superuser": True,
            "is_active": False,
            "roles": ["Admin"],
            "date_joined": "2000-01-01T00:00:00Z",
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {
        "id": [READ_ONLY_FIELD],
        "username": [READ_ONLY_FIELD],
        "is_staff": [UNKNOWN_FIELD],
        "is_superuser": [UNKNOWN_FIELD],
        "is_active": [UNKNOWN_FIELD],
        "roles": [READ_ONLY_FIELD],
        "date_joined": [READ_ONLY_FIELD],
    }
    username = user.username
    user.refresh_from_db()
    assert (user.username, user.is_staff, user.is_superuser, user.is_active) == (
        username,
        False,
        False,
        True,
    )
    assert user.date_joined.year > 2000
    assert list(user.groups.values_list("name", flat=True)) == ["User"]


# --- page size cap ---------------------------------------------------------------------------


def test_page_size_is_capped_on_page_number_and_cursor_lists(auth_client, user):
    book = user.personal_book  # bulk_create does not fill it in
    Tag.objects.bulk_create(Tag(book=book, user=user, name=f"t{i:03}") for i in range(501))
    Expense.objects.bulk_create(
        Expense(
            book=book,
            user=user,
            amount=Decimal("1.00"),
            currency="USD",
            base_amount=Decimal("1.00"),
            exchange_rate=Decimal(1),
            date=timezone.localdate(),
            description=f"e{i}",
        )
        for i in range(501)
    )
    for url in (reverse("tag-list"), reverse("expense-list")):
        page = auth_client.get(url, {"page_size": 100000}).json()
        assert len(page["results"]) == 500, url
        assert page["next"], url


# --- throttling shared across processes ------------------------------------------------------

REDIS_URL = os.environ.get("THROTTLE_TEST_REDIS_URL", "redis://127.0.0.1:6379/14")

CHILD = textwrap.dedent(
    """
    import json, os, sys
    import django
    django.setup()
    from django.test.utils import override_settings
    from rest_framework.test import APIClient

    caches = json.loads(os.environ["CHILD_CACHES"])
    rest = json.loads(os.environ["CHILD_REST_FRAMEWORK"])
    with override_settings(CACHES=caches, REST_FRAMEWORK=rest, ALLOWED_HOSTS=["testserver"]):
        client = APIClient()
        answers = []
        for _ in range(int(sys.argv[1])):
            response = client.post("/api/v1/auth/token/", {}, format="json")
            answers.append([response.status_code, sorted(response.json())])
    print(json.dumps(answers))
    """
)


def _redis_available() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5).ping())
    except Exception:
        return False


def _child(attempts: int, caches: dict, rest: dict) -> list[int]:
    """Status codes of `attempts` empty logins made by a separate Python process."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "budget_tracker.settings",
        # The child never needs the database: an empty login body is a 400 before any lookup.
        "DATABASE_URL": "sqlite://:memory:",
        "CHILD_CACHES": json.dumps(caches),
        "CHILD_REST_FRAMEWORK": json.dumps(rest, default=str),
        "PYTHONPATH": str(Path(__file__).resolve().parent.parent),
    }
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(attempts)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    answers = json.loads(result.stdout.strip().splitlines()[-1])
    for code, keys in answers:
        # Reached the login view (a 400 naming the fields), or was throttled there.
        assert (code, keys) in ((400, ["password", "username"]), (429, ["code", "detail"]))
    return [code for code, _ in answers]


@pytest.mark.skipif(
    not _redis_available(), reason=f"needs Redis at {REDIS_URL} for a cache shared by processes"
)
def test_login_throttle_is_shared_by_worker_processes(settings, api_client):
    caches = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            # A fresh namespace: concurrent runs and earlier runs never share counts.
            "KEY_PREFIX": f"throttle-test-{uuid.uuid4().hex}",
        }
    }
    rest = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            # Per hour, not per minute: starting the child processes on a loaded machine
            # can take long enough for a one-minute window to slide past the first counts.
            "login": "4/hour",
        },
    }
    settings.CACHES = caches
    settings.REST_FRAMEWORK = rest
    rest_json = json.loads(json.dumps(rest, default=str))

    # Process 1 spends two of the four attempts, process 2 the other two and is then
    # refused; this process (a third worker) is refused as well.
    assert _child(2, caches, rest_json) == [400, 400]
    assert _child(3, caches, rest_json) == [400, 400, 429]
    response = api_client.post(TOKEN, {}, format="json")
    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    UserFactory(username="late")
    login = api_client.post(TOKEN, {"username": "late", "password": DEFAULT_PASSWORD})
    assert login.status_code == 429
