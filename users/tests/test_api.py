"""End-to-end behaviour of the auth endpoints (SPEC §4)."""

from __future__ import annotations

import base64
import json
import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.core import mail
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from core.serializers import READ_ONLY_FIELD
from users.models import User
from users.tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

REGISTER = "/api/v1/auth/register/"
TOKEN = "/api/v1/auth/token/"
REFRESH = "/api/v1/auth/token/refresh/"
VERIFY = "/api/v1/auth/token/verify/"
LOGOUT = "/api/v1/auth/logout/"
ME = "/api/v1/auth/me/"
CHANGE = "/api/v1/auth/password/change/"
RESET = "/api/v1/auth/password/reset/"
RESET_CONFIRM = "/api/v1/auth/password/reset/confirm/"

NEW_PASSWORD = "Another-Str0ng-Phrase"


def login(api_client, username, password=DEFAULT_PASSWORD):
    return api_client.post(TOKEN, {"username": username, "password": password})


def bearer(api_client, token):
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return api_client


def tamper(token: str) -> str:
    head, payload, sig = token.split(".")
    return f"{head}.{payload}.{sig[:-4]}{'AAAA' if not sig.endswith('AAAA') else 'BBBB'}"


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


# --- register ----------------------------------------------------------------


def test_register_creates_user_in_user_role_without_exposing_password(api_client):
    response = api_client.post(
        REGISTER,
        {"username": "alice", "email": "alice@example.com", "password": DEFAULT_PASSWORD},
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["username"] == "alice"
    assert body["email"] == "alice@example.com"
    assert body["base_currency"] == "USD"
    assert body["month_start_day"] == 1
    assert body["timezone"] == "UTC"
    assert body["roles"] == ["User"]
    assert "password" not in body
    user = User.objects.get(username="alice")
    assert user.password != DEFAULT_PASSWORD and user.check_password(DEFAULT_PASSWORD)
    assert login(api_client, "alice").status_code == 200


def test_register_accepts_base_currency(api_client):
    response = api_client.post(
        REGISTER,
        {
            "username": "bob",
            "email": "b@example.com",
            "password": DEFAULT_PASSWORD,
            "base_currency": "EUR",
        },
    )
    assert response.status_code == 201
    assert response.json()["base_currency"] == "EUR"


@pytest.mark.parametrize(
    ("field", "value"),
    [("username", "ALICE"), ("email", "Alice@Example.COM")],
)
def test_register_rejects_duplicates_in_other_case(api_client, field, value):
    UserFactory(username="alice", email="alice@example.com")
    data = {"username": "someone", "email": "someone@example.com", "password": DEFAULT_PASSWORD}
    data[field] = value
    response = api_client.post(REGISTER, data)
    assert response.status_code == 400
    assert field in response.json()
    assert User.objects.count() == 1


@pytest.mark.parametrize(
    "password",
    ["password", "12345678901", "Sh0rt!", "carol-example"],
    ids=["common", "numeric", "short", "similar-to-username"],
)
def test_register_rejects_weak_passwords(api_client, password):
    response = api_client.post(
        REGISTER, {"username": "carol-example", "email": "carol@example.com", "password": password}
    )
    assert response.status_code == 400
    assert "password" in response.json()
    assert not User.objects.filter(username="carol-example").exists()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"email": "x@example.com", "password": DEFAULT_PASSWORD}, "username"),
        ({"username": "x", "password": DEFAULT_PASSWORD}, "email"),
        ({"username": "x", "email": "x@example.com"}, "password"),
        ({"username": "x", "email": "not-an-email", "password": DEFAULT_PASSWORD}, "email"),
        ({"username": "x y!", "email": "x@example.com", "password": DEFAULT_PASSWORD}, "username"),
        (
            {
                "username": "x",
                "email": "x@example.com",
                "password": DEFAULT_PASSWORD,
                "base_currency": "eur",
            },
            "base_currency",
        ),
        (
            {
                "username": "x",
                "email": "x@example.com",
                "password": DEFAULT_PASSWORD,
                "base_currency": "XYZ",
            },
            "base_currency",
        ),
    ],
)
def test_register_bad_input_names_the_field_and_stores_nothing(api_client, data, field):
    response = api_client.post(REGISTER, data)
    assert response.status_code == 400
    assert field in response.json()
    assert User.objects.count() == 0


def test_register_ignores_a_bad_bearer_header(api_client):
    bearer(api_client, "garbage")
    response = api_client.post(
        REGISTER, {"username": "dora", "email": "dora@example.com", "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 201


# --- token obtain --------------------------------------------------------------


def test_login_with_username_or_email_in_any_case(api_client):
    UserFactory(username="erin", email="erin@example.com")
    for name in ["erin", "ERIN", "erin@example.com", "Erin@Example.com"]:
        response = login(api_client, name)
        assert response.status_code == 200, name
        tokens = response.json()
        assert set(tokens) == {"access", "refresh"}
    access = tokens["access"]
    me = bearer(api_client, access).get(ME)
    assert me.status_code == 200 and me.json()["username"] == "erin"


@pytest.mark.parametrize("username", ["erin", "nobody"])
def test_bad_credentials_are_401_json(api_client, username):
    UserFactory(username="erin")
    response = login(api_client, username, "Wrong-password-1")
    assert response.status_code == 401
    body = response.json()
    assert body["code"] == "no_active_account"
    assert "detail" in body


def test_inactive_user_cannot_log_in(api_client):
    UserFactory(username="frank", is_active=False)
    assert login(api_client, "frank").status_code == 401


def test_login_missing_fields_is_400(api_client):
    response = api_client.post(TOKEN, {"username": "x"})
    assert response.status_code == 400
    assert "password" in response.json()


# --- refresh / rotation / blacklist -------------------------------------------------


def test_refresh_rotates_and_old_refresh_is_blacklisted(api_client, user):
    tokens = login(api_client, user.username).json()
    response = api_client.post(REFRESH, {"refresh": tokens["refresh"]})
    assert response.status_code == 200
    rotated = response.json()
    assert set(rotated) == {"access", "refresh"}
    assert rotated["refresh"] != tokens["refresh"]
    assert bearer(api_client, rotated["access"]).get(ME).status_code == 200

    reuse = api_client.post(REFRESH, {"refresh": tokens["refresh"]})
    assert reuse.status_code == 401
    assert reuse.json()["code"] == "token_not_valid"
    assert api_client.post(REFRESH, {"refresh": rotated["refresh"]}).status_code == 200


def test_refresh_rejects_tampered_expired_and_access_tokens(api_client, user):
    refresh = RefreshToken.for_user(user)
    expired = RefreshToken.for_user(user)
    expired.set_exp(lifetime=-timedelta(seconds=1))
    for bad in [tamper(str(refresh)), str(expired), str(refresh.access_token), "not.a.token"]:
        response = api_client.post(REFRESH, {"refresh": bad})
        assert response.status_code == 401, bad
        assert response.json()["code"] == "token_not_valid"


def test_refresh_for_deactivated_or_deleted_user_is_401(api_client):
    gone, inactive = UserFactory(), UserFactory()
    gone_refresh, inactive_refresh = (
        str(RefreshToken.for_user(gone)),
        str(RefreshToken.for_user(inactive)),
    )
    gone.delete()
    inactive.is_active = False
    inactive.save()
    assert api_client.post(REFRESH, {"refresh": gone_refresh}).status_code == 401
    assert api_client.post(REFRESH, {"refresh": inactive_refresh}).status_code == 401


# --- verify -------------------------------------------------------------------


def test_verify(api_client, user):
    refresh = RefreshToken.for_user(user)
    assert api_client.post(VERIFY, {"token": str(refresh.access_token)}).status_code == 200
    assert api_client.post(VERIFY, {"token": str(refresh)}).status_code == 200
    assert api_client.post(VERIFY, {"token": tamper(str(refresh.access_token))}).status_code == 401
    expired = AccessToken.for_user(user)
    expired.set_exp(lifetime=-timedelta(seconds=1))
    assert api_client.post(VERIFY, {"token": str(expired)}).status_code == 401
    refresh.blacklist()
    response = api_client.post(VERIFY, {"token": str(refresh)})
    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


# --- access token checks -----------------------------------------------------------


def test_protected_endpoint_rejects_missing_bad_expired_and_unsigned_tokens(api_client, user):
    response = api_client.get(ME)
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert response["WWW-Authenticate"].startswith("Bearer")

    good = AccessToken.for_user(user)
    expired = AccessToken.for_user(user)
    expired.set_exp(lifetime=-timedelta(seconds=1))
    unsigned = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(dict(good.payload))}."
    for bad in [tamper(str(good)), str(expired), unsigned, str(RefreshToken.for_user(user))]:
        response = bearer(api_client, bad).get(ME)
        assert response.status_code == 401, bad
        assert response.json()["code"] == "token_not_valid"


def test_deactivated_user_access_token_stops_working(api_client, user):
    token = AccessToken.for_user(user)
    user.is_active = False
    user.save()
    assert bearer(api_client, token).get(ME).status_code == 401


# --- logout ----------------------------------------------------------------------


def test_logout_blacklists_the_refresh_token(api_client, user):
    tokens = login(api_client, user.username).json()
    bearer(api_client, tokens["access"])
    assert api_client.post(LOGOUT, {"refresh": tokens["refresh"]}).status_code == 204
    assert api_client.post(REFRESH, {"refresh": tokens["refresh"]}).status_code == 401
    again = api_client.post(LOGOUT, {"refresh": tokens["refresh"]})
    assert again.status_code == 400 and "refresh" in again.json()


def test_logout_rejects_another_users_token_and_garbage(auth_client, other_user):
    other_refresh = str(RefreshToken.for_user(other_user))
    response = auth_client.post(LOGOUT, {"refresh": other_refresh})
    assert response.status_code == 400
    assert auth_client.post(LOGOUT, {"refresh": "garbage"}).status_code == 400
    assert auth_client.post(LOGOUT, {}).status_code == 400
    # the other user's token was not revoked
    assert auth_client.post(REFRESH, {"refresh": other_refresh}).status_code == 200


def test_logout_requires_authentication(api_client, user):
    response = api_client.post(LOGOUT, {"refresh": str(RefreshToken.for_user(user))})
    assert response.status_code == 401


# --- me ------------------------------------------------------------------------


def test_me_shows_profile(auth_client, user):
    body = auth_client.get(ME).json()
    assert set(body) == {
        "id",
        "username",
        "email",
        "first_name",
        "last_name",
        "base_currency",
        "timezone",
        "month_start_day",
        "roles",
        "date_joined",
        "base_currency_change",
    }
    assert body["id"] == user.id and body["roles"] == ["User"]
    assert body["base_currency_change"] is None  # no queued change ever


ME_SETTINGS = {
    "first_name": "Ada",
    "last_name": "Lovelace",
    "email": "ada@example.org",
    "base_currency": "JPY",
    "timezone": "Asia/Kolkata",
    "month_start_day": 25,
}


def test_me_patch_updates_settings(auth_client, user):
    response = auth_client.patch(ME, ME_SETTINGS)
    assert response.status_code == 200, response.content
    user.refresh_from_db()
    assert (user.first_name, user.last_name, user.email) == ("Ada", "Lovelace", "ada@example.org")
    assert (user.base_currency, user.timezone, user.month_start_day) == ("JPY", "Asia/Kolkata", 25)


def test_me_patch_with_read_only_fields_is_400_and_changes_nothing(auth_client, user):
    before = auth_client.get(ME).json()
    response = auth_client.patch(
        ME, {**ME_SETTINGS, "username": "hacker", "id": 999, "roles": ["Admin"]}, format="json"
    )
    assert response.status_code == 400, response.content
    assert response.json() == {name: [READ_ONLY_FIELD] for name in ("username", "id", "roles")}
    assert auth_client.get(ME).json() == before
    assert list(user.groups.values_list("name", flat=True)) == ["User"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("month_start_day", 29),
        ("month_start_day", 0),
        ("timezone", "Mars/Olympus_Mons"),
        ("base_currency", "eur"),
        ("base_currency", "ABC"),
        ("email", "not-an-email"),
    ],
)
def test_me_patch_bad_values_are_400_and_change_nothing(auth_client, user, field, value):
    before = auth_client.get(ME).json()
    response = auth_client.patch(ME, {field: value, "first_name": "Changed"})
    assert response.status_code == 400
    assert field in response.json()
    assert auth_client.get(ME).json() == before


def test_me_patch_email_taken_in_other_case(auth_client, other_user):
    response = auth_client.patch(ME, {"email": other_user.email.upper()})
    assert response.status_code == 400 and "email" in response.json()


def test_me_put_is_405(auth_client):
    response = auth_client.put(ME, {"first_name": "x"})
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


def test_delete_account_needs_the_password(auth_client, user):
    assert auth_client.delete(ME, {"password": "wrong"}).status_code == 400
    assert auth_client.delete(ME, {}).status_code == 400
    assert User.objects.filter(pk=user.pk).exists()


def test_delete_account_removes_user_and_kills_their_tokens(api_client, user):
    tokens = login(api_client, user.username).json()
    bearer(api_client, tokens["access"])
    assert api_client.delete(ME, {"password": DEFAULT_PASSWORD}).status_code == 204
    assert not User.objects.filter(pk=user.pk).exists()
    assert api_client.get(ME).status_code == 401
    api_client.credentials()
    assert api_client.post(REFRESH, {"refresh": tokens["refresh"]}).status_code == 401
    assert login(api_client, user.username).status_code == 401


# --- password change -----------------------------------------------------------


def test_password_change(api_client, user):
    tokens = login(api_client, user.username).json()
    bearer(api_client, tokens["access"])
    assert (
        api_client.post(CHANGE, {"old_password": "wrong", "new_password": NEW_PASSWORD}).status_code
        == 400
    )
    weak = api_client.post(CHANGE, {"old_password": DEFAULT_PASSWORD, "new_password": "123"})
    assert weak.status_code == 400 and "new_password" in weak.json()
    user.refresh_from_db()
    assert user.check_password(DEFAULT_PASSWORD)

    response = api_client.post(
        CHANGE, {"old_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD}
    )
    assert response.status_code == 200
    fresh = response.json()
    assert {"access", "refresh"} <= set(fresh)
    api_client.credentials()
    assert login(api_client, user.username).status_code == 401
    assert login(api_client, user.username, NEW_PASSWORD).status_code == 200
    # the session that existed before the change is logged out, the new pair works
    assert api_client.post(REFRESH, {"refresh": tokens["refresh"]}).status_code == 401
    assert api_client.post(REFRESH, {"refresh": fresh["refresh"]}).status_code == 200


# --- password reset -------------------------------------------------------------


def _reset_values(message) -> tuple[str, str]:
    uid = re.search(r"uid:\s+(\S+)", message.body).group(1)
    token = re.search(r"token:\s+(\S+)", message.body).group(1)
    return uid, token


def test_password_reset_does_not_enumerate_accounts(api_client, user):
    unknown = api_client.post(RESET, {"email": "nobody@example.com"})
    known = api_client.post(RESET, {"email": user.email.upper()})
    assert unknown.status_code == known.status_code == 200
    assert unknown.json() == known.json()
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [user.email]


def test_password_reset_confirm_sets_password_once(api_client, user):
    refresh = str(RefreshToken.for_user(user))
    api_client.post(RESET, {"email": user.email})
    uid, token = _reset_values(mail.outbox[0])

    weak = api_client.post(RESET_CONFIRM, {"uid": uid, "token": token, "new_password": "abc"})
    assert weak.status_code == 400 and "new_password" in weak.json()
    user.refresh_from_db()
    assert user.check_password(DEFAULT_PASSWORD)

    response = api_client.post(
        RESET_CONFIRM, {"uid": uid, "token": token, "new_password": NEW_PASSWORD}
    )
    assert response.status_code == 200
    assert login(api_client, user.username, NEW_PASSWORD).status_code == 200
    assert login(api_client, user.username).status_code == 401
    assert api_client.post(REFRESH, {"refresh": refresh}).status_code == 401

    reuse = api_client.post(
        RESET_CONFIRM, {"uid": uid, "token": token, "new_password": "Yet-An0ther-One"}
    )
    assert reuse.status_code == 400 and "token" in reuse.json()


@pytest.mark.parametrize("which", ["token", "uid"])
def test_password_reset_confirm_rejects_bad_links(api_client, user, which):
    api_client.post(RESET, {"email": user.email})
    uid, token = _reset_values(mail.outbox[0])
    values = {"uid": uid, "token": token, "new_password": NEW_PASSWORD}
    values[which] = "bogus" if which == "token" else "MTIzNDU2Nzg"
    response = api_client.post(RESET_CONFIRM, values)
    assert response.status_code == 400 and "token" in response.json()
    user.refresh_from_db()
    assert user.check_password(DEFAULT_PASSWORD)


def test_password_reset_link_setting_is_used(api_client, user, settings):
    settings.PASSWORD_RESET_URL = "https://app.example/reset?uid={uid}&token={token}"
    api_client.post(RESET, {"email": user.email})
    uid, token = _reset_values(mail.outbox[0])
    assert f"https://app.example/reset?uid={uid}&token={token}" in mail.outbox[0].body


def test_password_reset_for_inactive_user_sends_nothing(api_client):
    inactive = UserFactory(is_active=False)
    assert api_client.post(RESET, {"email": inactive.email}).status_code == 200
    assert mail.outbox == []


# --- throttling ---------------------------------------------------------------------


def _rates(settings, **rates):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], **rates},
    }


def test_login_is_throttled_per_client_address(api_client, user, settings):
    _rates(settings, login="3/min")
    for _ in range(3):
        assert login(api_client, user.username, "wrong").status_code == 401
    response = login(api_client, user.username)
    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    assert "Retry-After" in response
    other_address = api_client.post(
        TOKEN, {"username": user.username, "password": DEFAULT_PASSWORD}, REMOTE_ADDR="10.0.0.9"
    )
    assert other_address.status_code == 200


def test_register_is_throttled(api_client, settings):
    _rates(settings, register="2/min")
    for i in range(2):
        data = {"username": f"t{i}", "email": f"t{i}@example.com", "password": DEFAULT_PASSWORD}
        assert api_client.post(REGISTER, data).status_code == 201
    data = {"username": "t9", "email": "t9@example.com", "password": DEFAULT_PASSWORD}
    assert api_client.post(REGISTER, data).status_code == 429
    assert not User.objects.filter(username="t9").exists()


def test_password_reset_is_throttled(api_client, settings):
    _rates(settings, password_reset="2/min")
    for _ in range(2):
        assert api_client.post(RESET, {"email": "a@example.com"}).status_code == 200
    assert api_client.post(RESET, {"email": "a@example.com"}).status_code == 429
    assert (
        api_client.post(RESET_CONFIRM, {"uid": "x", "token": "y", "new_password": "z"}).status_code
        == 429
    )


# --- roles -----------------------------------------------------------------------


def test_roles_exist_and_new_users_join_user():
    assert set(Group.objects.values_list("name", flat=True)) >= {"Admin", "User"}
    user = User.objects.create_user(username="shell", email="shell@example.com", password="x")
    assert list(user.groups.values_list("name", flat=True)) == ["User"]
