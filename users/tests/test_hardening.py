"""Auth and identity hardening (issue #11): client identity for throttling, token
verification, email-login squatting, time zone names, request-body limits and hostile
input on the anonymous endpoints. Refresh-token races: test_token_races.py (PostgreSQL).
"""

from __future__ import annotations

import importlib
import json
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo, available_timezones

import pytest
from django.conf import settings as django_settings
from django.core.exceptions import ValidationError
from django.test import RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from rest_framework.settings import api_settings
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from core.serializers import READ_ONLY_FIELD
from core.throttling import ClientAddressMixin, client_address
from tests.fuzz_depth import examples
from users.models import User
from users.tests.factories import DEFAULT_PASSWORD, UserFactory
from users.validators import (
    PSEUDO_TIMEZONE_PREFIXES,
    PSEUDO_TIMEZONES,
    UsernameValidator,
    supported_timezones,
    validate_timezone,
)

pytestmark = pytest.mark.django_db

REGISTER = "/api/v1/auth/register/"
TOKEN = "/api/v1/auth/token/"
REFRESH = "/api/v1/auth/token/refresh/"
VERIFY = "/api/v1/auth/token/verify/"
LOGOUT = "/api/v1/auth/logout/"
ME = "/api/v1/auth/me/"
RESET = "/api/v1/auth/password/reset/"
RESET_CONFIRM = "/api/v1/auth/password/reset/confirm/"

FUZZ = hypothesis_settings(
    max_examples=examples(60),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _rest(settings, **changes: Any) -> None:
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, **changes}


def _rates(settings, **rates: str) -> None:
    _rest(
        settings,
        DEFAULT_THROTTLE_RATES={**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], **rates},
    )


def _unthrottled(settings) -> None:
    _rates(settings, login="10000/min", register="10000/min", password_reset="10000/min")


def _xff(i: int) -> dict[str, str]:
    return {"HTTP_X_FORWARDED_FOR": f"203.0.113.{i}"}


def _is_json_error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert isinstance(body, dict) and body
    return body


# --- 1. client identity for throttling -------------------------------------------------


def test_num_proxies_defaults_to_zero(monkeypatch):
    """Unset must mean "no proxy is trusted"; DRF reads None as "trust X-Forwarded-For"."""
    import budget_tracker.settings as settings_module

    monkeypatch.delenv("NUM_PROXIES", raising=False)
    try:
        assert importlib.reload(settings_module).REST_FRAMEWORK["NUM_PROXIES"] == 0
    finally:
        importlib.reload(settings_module)


@pytest.mark.parametrize("num_proxies", [None, 0])
def test_rotating_x_forwarded_for_does_not_escape_the_login_throttle(
    api_client, user, settings, num_proxies
):
    _rest(settings, NUM_PROXIES=num_proxies)
    _rates(settings, login="3/min")
    for i in range(3):
        response = api_client.post(
            TOKEN, {"username": user.username, "password": "wrong"}, **_xff(i)
        )
        assert response.status_code == 401
    response = api_client.post(
        TOKEN, {"username": user.username, "password": DEFAULT_PASSWORD}, **_xff(99)
    )
    assert response.status_code == 429
    assert response.json()["code"] == "throttled"


@pytest.mark.parametrize("num_proxies", [None, 0])
def test_rotating_x_forwarded_for_does_not_escape_the_register_throttle(
    api_client, settings, num_proxies
):
    _rest(settings, NUM_PROXIES=num_proxies)
    _rates(settings, register="2/min")
    for i in range(2):
        data = {"username": f"r{i}", "email": f"r{i}@example.com", "password": DEFAULT_PASSWORD}
        assert api_client.post(REGISTER, data, **_xff(i)).status_code == 201
    data = {"username": "r9", "email": "r9@example.com", "password": DEFAULT_PASSWORD}
    assert api_client.post(REGISTER, data, **_xff(9)).status_code == 429
    assert not User.objects.filter(username="r9").exists()


@pytest.mark.parametrize("num_proxies", [None, 0])
def test_rotating_x_forwarded_for_does_not_escape_the_password_reset_throttle(
    api_client, settings, num_proxies
):
    _rest(settings, NUM_PROXIES=num_proxies)
    _rates(settings, password_reset="2/min")
    for i in range(2):
        assert api_client.post(RESET, {"email": "a@example.com"}, **_xff(i)).status_code == 200
    assert api_client.post(RESET, {"email": "a@example.com"}, **_xff(7)).status_code == 429
    confirm = {"uid": "x", "token": "y", "new_password": "z"}
    assert api_client.post(RESET_CONFIRM, confirm, **_xff(8)).status_code == 429


def test_with_one_trusted_proxy_the_client_address_comes_from_x_forwarded_for(
    api_client, user, settings
):
    _rest(settings, NUM_PROXIES=1)
    _rates(settings, login="2/min")
    # The proxy appends the real client address; what the client wrote before it is ignored.
    for spoofed in ("1.1.1.1", "2.2.2.2"):
        response = api_client.post(
            TOKEN,
            {"username": user.username, "password": "wrong"},
            HTTP_X_FORWARDED_FOR=f"{spoofed}, 198.51.100.7",
        )
        assert response.status_code == 401
    blocked = api_client.post(
        TOKEN,
        {"username": user.username, "password": DEFAULT_PASSWORD},
        HTTP_X_FORWARDED_FOR="3.3.3.3, 198.51.100.7",
    )
    assert blocked.status_code == 429
    # Same REMOTE_ADDR (the proxy), another client: its own allowance.
    other = api_client.post(
        TOKEN,
        {"username": user.username, "password": DEFAULT_PASSWORD},
        HTTP_X_FORWARDED_FOR="198.51.100.8",
    )
    assert other.status_code == 200


@pytest.mark.parametrize(
    ("num_proxies", "xff", "expected"),
    [
        (None, "6.6.6.6", "10.0.0.1"),
        (0, "6.6.6.6, 7.7.7.7", "10.0.0.1"),
        (-1, "6.6.6.6", "10.0.0.1"),
        (1, None, "10.0.0.1"),
        (1, "", "10.0.0.1"),
        (1, "6.6.6.6", "6.6.6.6"),
        (1, "6.6.6.6, 7.7.7.7", "7.7.7.7"),
        (1, " 6.6.6.6 ,  7.7.7.7 ", "7.7.7.7"),
        (1, "6.6.6.6, ", "10.0.0.1"),
        (2, "5.5.5.5, 6.6.6.6, 7.7.7.7", "6.6.6.6"),
        # Fewer entries than trusted proxies: the header did not come through them all.
        (2, "6.6.6.6", "10.0.0.1"),
        (3, "6.6.6.6, 7.7.7.7", "10.0.0.1"),
    ],
)
def test_client_address(settings, num_proxies, xff, expected):
    _rest(settings, NUM_PROXIES=num_proxies)
    extra = {} if xff is None else {"HTTP_X_FORWARDED_FOR": xff}
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", **extra)
    assert client_address(request) == expected


@FUZZ
@given(header=st.text(max_size=200), num_proxies=st.sampled_from([None, 0]))
def test_without_trusted_proxies_x_forwarded_for_never_changes_the_identity(
    settings, header, num_proxies
):
    _rest(settings, NUM_PROXIES=num_proxies)
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=header)
    assert client_address(request) == "10.0.0.1"


def _views(patterns: list[Any]) -> list[type]:
    found = []
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            found += _views(pattern.url_patterns)
        elif isinstance(pattern, URLPattern):
            view = getattr(pattern.callback, "cls", None) or getattr(
                pattern.callback, "view_class", None
            )
            if view is not None:
                found.append(view)
    return found


def test_every_throttle_in_the_project_identifies_clients_by_client_address():
    views = [
        view for view in _views(get_resolver().url_patterns) if hasattr(view, "throttle_classes")
    ]
    throttled = [view for view in views if view.throttle_classes]
    assert len(throttled) >= 4  # login, register, password reset, reset confirm
    for view in throttled:
        for throttle in view.throttle_classes:
            assert issubclass(throttle, ClientAddressMixin), (view, throttle)
    for throttle in api_settings.DEFAULT_THROTTLE_CLASSES:
        assert issubclass(throttle, ClientAddressMixin), throttle


# --- 3. verify -------------------------------------------------------------------------


def test_verify_rejects_tokens_of_deleted_and_inactive_users(api_client):
    gone, inactive, fine = UserFactory(), UserFactory(), UserFactory()
    tokens = {}
    for label, owner in (("gone", gone), ("inactive", inactive), ("fine", fine)):
        refresh = RefreshToken.for_user(owner)
        tokens[label] = (str(refresh), str(refresh.access_token))
    gone.delete()
    inactive.is_active = False
    inactive.save(update_fields=["is_active"])
    for label in ("gone", "inactive"):
        for token in tokens[label]:
            response = api_client.post(VERIFY, {"token": token})
            assert _is_json_error(response, 401)["code"] == "token_not_valid", label
    for token in tokens["fine"]:
        assert api_client.post(VERIFY, {"token": token}).status_code == 200


def test_verify_rejects_blacklisted_refresh_and_tokens_without_a_real_user(api_client, user):
    spent = RefreshToken.for_user(user)
    spent.blacklist()
    assert api_client.post(VERIFY, {"token": str(spent)}).status_code == 401
    for claim in ("not-a-number", "", "999999999"):
        token = AccessToken()
        token["user_id"] = claim
        assert api_client.post(VERIFY, {"token": str(token)}).status_code == 401, claim
    anonymous = AccessToken()
    assert api_client.post(VERIFY, {"token": str(anonymous)}).status_code == 401


def test_verify_agrees_with_the_api_after_logout(api_client, user):
    tokens = api_client.post(TOKEN, {"username": user.username, "password": DEFAULT_PASSWORD})
    refresh, access = tokens.json()["refresh"], tokens.json()["access"]
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    assert api_client.post(LOGOUT, {"refresh": refresh}).status_code == 204
    api_client.credentials()
    assert api_client.post(VERIFY, {"token": refresh}).status_code == 401
    assert api_client.post(REFRESH, {"refresh": refresh}).status_code == 401


def test_logout_after_refresh_and_refresh_after_logout_each_lose(api_client, user):
    first = api_client.post(TOKEN, {"username": user.username, "password": DEFAULT_PASSWORD})
    refresh = first.json()["refresh"]
    assert api_client.post(REFRESH, {"refresh": refresh}).status_code == 200
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {first.json()['access']}")
    late_logout = api_client.post(LOGOUT, {"refresh": refresh})
    assert late_logout.status_code == 400 and "refresh" in late_logout.json()


# --- 4. email-login squatting ----------------------------------------------------------


def test_a_username_that_looks_like_an_email_cannot_be_registered(api_client, settings):
    _unthrottled(settings)
    victim = UserFactory(username="victim", email="victim@example.com")
    for name in ("victim@example.com", "VICTIM@EXAMPLE.COM", "someone@else.org", "a@b"):
        response = api_client.post(
            REGISTER, {"username": name, "email": "squatter@example.com", "password": "S3cret-pass"}
        )
        body = _is_json_error(response, 400)
        assert "username" in body, name
        assert "@" in body["username"][0]
    assert list(User.objects.values_list("pk", flat=True)) == [victim.pk]


def test_login_by_email_never_matches_a_legacy_username_that_looks_like_it(api_client, settings):
    """A squatter created before the rule (bypassing validators) cannot take the email login."""
    _unthrottled(settings)
    victim = UserFactory(username="victim", email="victim@example.com")
    squatter = User.objects.create_user(
        username="victim@example.com", email="squatter@example.com", password="Squat-pass-1"
    )
    # The squatter's password, given with the victim's address: no account matches.
    stolen = api_client.post(TOKEN, {"username": "victim@example.com", "password": "Squat-pass-1"})
    assert stolen.status_code == 401
    assert "access" not in stolen.json()
    own = api_client.post(TOKEN, {"username": "VICTIM@example.com", "password": DEFAULT_PASSWORD})
    assert own.status_code == 200
    assert AccessToken(own.json()["access"])["user_id"] == str(victim.pk)
    # The legacy account still gets in, by its own email address.
    legacy = api_client.post(
        TOKEN, {"username": "squatter@example.com", "password": "Squat-pass-1"}
    )
    assert legacy.status_code == 200
    assert AccessToken(legacy.json()["access"])["user_id"] == str(squatter.pk)


def test_an_identifier_without_at_matches_usernames_only(api_client, settings):
    _unthrottled(settings)
    UserFactory(username="carol", email="carol@example.com")
    assert (
        api_client.post(TOKEN, {"username": "CAROL", "password": DEFAULT_PASSWORD}).status_code
        == 200
    )
    assert (
        api_client.post(
            TOKEN, {"username": "carol@example", "password": DEFAULT_PASSWORD}
        ).status_code
        == 401
    )


def test_username_rule_holds_wherever_a_username_is_validated(auth_client, user):
    with pytest.raises(ValidationError) as error:
        User(username="x@y.z", email="x@y.z").full_clean()
    assert "username" in error.value.message_dict
    # /auth/me/ never changes the username at all: it is read-only there (a 400).
    response = auth_client.patch(ME, {"username": "x@y.z"})
    assert response.status_code == 400
    assert response.json() == {"username": [READ_ONLY_FIELD]}
    user.refresh_from_db()
    assert "@" not in user.username


@given(name=st.text(min_size=1, max_size=40))
def test_no_accepted_username_contains_at(name):
    try:
        UsernameValidator()(name)
    except ValidationError:
        return
    assert "@" not in name
    assert "\uff20" not in name  # nor the full-width look-alike


# --- 5. time zones ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "localtime",
        "Factory",
        "posixrules",
        "posix/Europe/Berlin",
        "right/UTC",
        "Mars/Olympus_Mons",
        "",
        "UTC\x00",
        "../../etc/passwd",
        "/usr/share/zoneinfo/UTC",
    ],
)
def test_pseudo_and_unknown_time_zones_are_400_naming_the_field(auth_client, user, value):
    response = auth_client.patch(ME, {"timezone": value}, format="json")
    assert "timezone" in _is_json_error(response, 400)
    user.refresh_from_db()
    assert user.timezone == "UTC"


@pytest.mark.parametrize(
    "value", ["UTC", "Europe/Berlin", "America/Argentina/Buenos_Aires", "Etc/GMT+5", "Asia/Kolkata"]
)
def test_real_time_zones_are_accepted(auth_client, user, value):
    response = auth_client.patch(ME, {"timezone": value}, format="json")
    assert response.status_code == 200
    user.refresh_from_db()
    assert user.timezone == value


def _rejected_kind(value: str) -> bool:
    return value in PSEUDO_TIMEZONES or value.startswith(PSEUDO_TIMEZONE_PREFIXES)


@given(
    value=st.one_of(
        st.sampled_from(sorted(PSEUDO_TIMEZONES | {"posix/UTC", "right/Europe/Paris"})),
        st.sampled_from(sorted(available_timezones())),
        st.text(max_size=40),
    )
)
def test_every_accepted_time_zone_is_a_usable_location(value):
    try:
        validate_timezone(value)
    except ValidationError:
        return
    assert not _rejected_kind(value)
    ZoneInfo(value)  # usable


def test_supported_time_zones_keep_utc_and_the_locations():
    zones = supported_timezones()
    assert {"UTC", "Europe/Berlin", "America/New_York"} <= zones
    assert not {name for name in zones if _rejected_kind(name)}
    assert len(zones) > 300


# --- 6. request-body limits on the anonymous endpoints ---------------------------------


@pytest.mark.parametrize("path", [TOKEN, REGISTER])
def test_body_over_the_upload_limit_is_413_json(api_client, settings, path):
    _unthrottled(settings)
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 4096
    body = json.dumps({"username": "u" * 8000, "email": "big@example.com", "password": "x"})
    response = api_client.post(path, body, content_type="application/json")
    assert "detail" in _is_json_error(response, 413)
    assert not User.objects.exists()


@pytest.mark.parametrize("path", [TOKEN, REGISTER])
def test_json_nested_a_thousand_deep_is_400_json(api_client, settings, path):
    _unthrottled(settings)
    for body in (
        "[" * 1000 + "]" * 1000,
        '{"username": ' + "[" * 1000 + "]" * 1000 + ', "password": "x"}',
    ):
        response = api_client.post(path, body, content_type="application/json")
        assert _is_json_error(response, 400)["code"] == "parse_error"
    assert not User.objects.exists()


@pytest.mark.parametrize("path", [TOKEN, REGISTER])
@pytest.mark.parametrize("form", ["urlencoded", "multipart"])
def test_form_with_too_many_fields_is_400_json(api_client, settings, path, form):
    _unthrottled(settings)
    fields = {f"f{i}": "1" for i in range(django_settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1)}
    fields.update(username="many", email="many@example.com", password="S3cret-pass")
    if form == "urlencoded":
        response = api_client.post(
            path, urlencode(fields), content_type="application/x-www-form-urlencoded"
        )
    else:
        response = api_client.post(path, fields, format="multipart")
    _is_json_error(response, 400)
    assert not User.objects.exists()


# --- odd input on register and password reset ------------------------------------------

HOSTILE_REGISTER = [
    {"username": "nul\x00", "email": "n@example.com", "password": DEFAULT_PASSWORD},
    {"username": "nul", "email": "n\x00@example.com", "password": DEFAULT_PASSWORD},
    {"username": "nul", "email": "n@example.com", "password": "Corr3ct\x00Horse"},
    {"username": "u" * 10_000, "email": "n@example.com", "password": DEFAULT_PASSWORD},
    {"username": "nul", "email": "e" * 10_000 + "@example.com", "password": DEFAULT_PASSWORD},
    {"username": ["a"], "email": {"a": 1}, "password": 123456789012},
    {"username": 12, "email": True, "password": None},
    {
        "username": "nul",
        "email": "n@example.com",
        "password": DEFAULT_PASSWORD,
        "base_currency": [],
    },
    {"username": "nul", "email": "n@example.com", "password": DEFAULT_PASSWORD, "base_currency": 1},
    {
        "username": "nul",
        "email": "n@example.com",
        "password": DEFAULT_PASSWORD,
        "base_currency": "U\x00D",
    },
    [1, 2],
    "text",
    None,
    1e400,
]


@pytest.mark.parametrize("payload", HOSTILE_REGISTER, ids=range(len(HOSTILE_REGISTER)))
def test_hostile_register_input_is_400_json_and_creates_nothing(api_client, settings, payload):
    _unthrottled(settings)
    body = json.dumps(payload) if not isinstance(payload, float) else "1e400"
    response = api_client.post(REGISTER, body, content_type="application/json")
    _is_json_error(response, 400)
    assert not User.objects.exists()


HOSTILE_RESET_CONFIRM = [
    {"uid": "\x00", "token": "x", "new_password": "y"},
    {"uid": "MQ", "token": "\x00", "new_password": "y"},
    {"uid": "a" * 100_000, "token": "b" * 100_000, "new_password": "y"},
    {"uid": "OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5", "token": "x", "new_password": "y"},
    {"uid": "LTE", "token": "x", "new_password": "y"},  # "-1"
    {"uid": "w4k", "token": "x", "new_password": "y"},  # not ASCII once decoded
    {"uid": "====", "token": "x", "new_password": "y"},
    {"uid": 1, "token": 2, "new_password": 3},
    {"uid": [1], "token": {}, "new_password": None},
    {"uid": "MQ", "token": "x-" + "y" * 5000, "new_password": "y"},
    {},
    [],
]


@pytest.mark.parametrize("payload", HOSTILE_RESET_CONFIRM, ids=range(len(HOSTILE_RESET_CONFIRM)))
def test_hostile_reset_confirm_input_is_400_json(api_client, settings, user, payload):
    _unthrottled(settings)
    before = user.password
    response = api_client.post(RESET_CONFIRM, payload, format="json")
    _is_json_error(response, 400)
    user.refresh_from_db()
    assert user.password == before


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)


@FUZZ
@given(username=json_values, email=json_values, password=json_values, currency=json_values)
def test_register_never_fails_with_a_server_error(
    api_client, settings, username, email, password, currency
):
    _unthrottled(settings)
    payload = {
        "username": username,
        "email": email,
        "password": password,
        "base_currency": currency,
    }
    response = api_client.post(REGISTER, payload, format="json")
    assert response.status_code in (201, 400), response.content[:300]
    if response.status_code == 201:
        assert "@" not in response.json()["username"]


@FUZZ
@given(uid=json_values, token=json_values, new_password=json_values)
def test_reset_confirm_never_fails_with_a_server_error(
    api_client, settings, uid, token, new_password
):
    _unthrottled(settings)
    response = api_client.post(
        RESET_CONFIRM, {"uid": uid, "token": token, "new_password": new_password}, format="json"
    )
    assert response.status_code == 400, response.content[:300]
