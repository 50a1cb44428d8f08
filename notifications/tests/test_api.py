from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from notifications import services
from notifications.models import Notification, NotificationPreference
from notifications.tests.factories import NotificationFactory

pytestmark = pytest.mark.django_db

NOTIFICATIONS = "/api/v1/notifications/"
READ_ALL = "/api/v1/notifications/read-all/"
UNREAD_COUNT = "/api/v1/notifications/unread-count/"
PREFERENCES = "/api/v1/notifications/preferences/"

DEFAULT_PREFERENCES = {
    "budget_warn": {"in_app": True, "email": False},
    "budget_exceeded": {"in_app": True, "email": True},
    "bill_due": {"in_app": True, "email": True},
    "goal_achieved": {"in_app": True, "email": True},
    "unusual_spending": {"in_app": True, "email": False},
    "monthly_summary": {"in_app": True, "email": True},
    "connection_error": {"in_app": True, "email": True},
    "webhook_disabled": {"in_app": True, "email": True},
}


def detail(obj_or_id, suffix=""):
    return f"{NOTIFICATIONS}{getattr(obj_or_id, 'pk', obj_or_id)}/{suffix}"


def ids(response):
    assert response.status_code == 200, response.json()
    return [row["id"] for row in response.json()["results"]]


# --- auth and visibility --------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", NOTIFICATIONS),
        ("get", f"{NOTIFICATIONS}1/"),
        ("post", f"{NOTIFICATIONS}1/read/"),
        ("post", READ_ALL),
        ("get", UNREAD_COUNT),
        ("get", PREFERENCES),
        ("patch", PREFERENCES),
    ],
)
def test_requires_authentication(api_client, method, url):
    response = getattr(api_client, method)(url)
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_list_shape_and_newest_first(auth_client, user):
    older = NotificationFactory(user=user, data={"budget": 7, "percent": "80"})
    newer = NotificationFactory(user=user, kind="bill_due")
    Notification.objects.filter(pk=older.pk).update(created_at=timezone.now() - timedelta(days=1))
    response = auth_client.get(NOTIFICATIONS)
    body = response.json()
    assert body["count"] == 2
    assert [row["id"] for row in body["results"]] == [newer.pk, older.pk]
    row = body["results"][1]
    assert set(row) == {"id", "kind", "title", "body", "data", "read_at", "created_at"}
    assert row["kind"] == "budget_warn"
    assert row["data"] == {"budget": 7, "percent": "80"}
    assert row["read_at"] is None


def test_other_users_notifications_are_not_listed(auth_client, user, other_user):
    mine = NotificationFactory(user=user)
    NotificationFactory(user=other_user)
    assert ids(auth_client.get(NOTIFICATIONS)) == [mine.pk]
    assert auth_client.get(UNREAD_COUNT).json() == {"unread": 1}


@pytest.mark.parametrize(("method", "suffix"), [("get", ""), ("delete", ""), ("post", "read/")])
def test_other_users_notification_is_not_found(auth_client, other_user, method, suffix):
    theirs = NotificationFactory(user=other_user)
    response = getattr(auth_client, method)(detail(theirs, suffix))
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_notifications_hidden_in_app_are_not_listed_or_found(auth_client, user):
    hidden = NotificationFactory(user=user, in_app=False)
    assert ids(auth_client.get(NOTIFICATIONS)) == []
    assert auth_client.get(detail(hidden)).status_code == 404
    assert auth_client.post(detail(hidden, "read/")).status_code == 404


def test_in_app_preference_off_hides_what_notify_creates(auth_client, user):
    auth_client.patch(PREFERENCES, {"unusual_spending": {"in_app": False}}, format="json")
    services.notify(user=user, kind="unusual_spending", title="Big spend")
    services.notify(user=user, kind="budget_warn", title="80%")
    rows = auth_client.get(NOTIFICATIONS).json()["results"]
    assert [row["title"] for row in rows] == ["80%"]


# --- filters and ordering -------------------------------------------------------------


def test_unread_filter(auth_client, user):
    unread = NotificationFactory(user=user)
    read = NotificationFactory(user=user, read_at=timezone.now())
    assert ids(auth_client.get(NOTIFICATIONS, {"unread": "true"})) == [unread.pk]
    assert ids(auth_client.get(NOTIFICATIONS, {"unread": "false"})) == [read.pk]
    assert set(ids(auth_client.get(NOTIFICATIONS))) == {unread.pk, read.pk}


def test_kind_filter(auth_client, user):
    bill = NotificationFactory(user=user, kind="bill_due")
    NotificationFactory(user=user, kind="budget_warn")
    assert ids(auth_client.get(NOTIFICATIONS, {"kind": "bill_due"})) == [bill.pk]


def test_ordering_oldest_first(auth_client, user):
    first, second = NotificationFactory.create_batch(2, user=user)
    Notification.objects.filter(pk=first.pk).update(created_at=timezone.now() - timedelta(hours=1))
    assert ids(auth_client.get(NOTIFICATIONS, {"ordering": "created_at"})) == [first.pk, second.pk]


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"unread": "maybe"}, "unread"),
        ({"kind": "birthday"}, "kind"),
        ({"ordering": "title"}, "ordering"),
        ({"page_size": "0"}, "page_size"),
    ],
)
def test_bad_query_values_are_400_naming_the_parameter(auth_client, user, params, name):
    NotificationFactory(user=user)
    response = auth_client.get(NOTIFICATIONS, params)
    assert response.status_code == 400
    assert name in response.json()


def test_list_query_count_does_not_grow_with_rows(auth_client, user):
    NotificationFactory.create_batch(3, user=user)
    with CaptureQueriesContext(connection) as few:
        assert len(ids(auth_client.get(NOTIFICATIONS))) == 3
    NotificationFactory.create_batch(27, user=user)
    with CaptureQueriesContext(connection) as many:
        assert len(ids(auth_client.get(NOTIFICATIONS))) == 30
    assert len(many) == len(few)


# --- read, read-all, unread-count, delete ---------------------------------------------


def test_read_marks_once_and_keeps_the_first_time(auth_client, user):
    notification = NotificationFactory(user=user)
    response = auth_client.post(detail(notification, "read/"))
    assert response.status_code == 200
    first = response.json()["read_at"]
    assert first is not None and response.json()["id"] == notification.pk
    again = auth_client.post(detail(notification, "read/"))
    assert again.status_code == 200
    assert again.json()["read_at"] == first


def test_read_all_marks_unread_and_reports_how_many(auth_client, other_client, user, other_user):
    NotificationFactory.create_batch(2, user=user)
    already = NotificationFactory(user=user, read_at=timezone.now() - timedelta(days=1))
    theirs = NotificationFactory(user=other_user)
    assert auth_client.get(UNREAD_COUNT).json() == {"unread": 2}

    response = auth_client.post(READ_ALL)
    assert response.status_code == 200
    assert response.json() == {"updated": 2}
    assert auth_client.get(UNREAD_COUNT).json() == {"unread": 0}
    assert ids(auth_client.get(NOTIFICATIONS, {"unread": "true"})) == []
    already_before = already.read_at
    already.refresh_from_db()
    assert already.read_at == already_before
    theirs.refresh_from_db()
    assert theirs.read_at is None
    assert auth_client.post(READ_ALL).json() == {"updated": 0}


def test_delete_own_notification(auth_client, user):
    notification = NotificationFactory(user=user)
    assert auth_client.delete(detail(notification)).status_code == 204
    assert not Notification.objects.filter(pk=notification.pk).exists()


@pytest.mark.parametrize(("method", "on_detail"), [("post", False), ("put", True), ("patch", True)])
def test_notifications_cannot_be_created_or_edited(auth_client, user, method, on_detail):
    notification = NotificationFactory(user=user, title="Original")
    url = detail(notification) if on_detail else NOTIFICATIONS
    response = getattr(auth_client, method)(url, {"title": "x", "kind": "bill_due"})
    assert response.status_code == 405
    assert Notification.objects.get().title == "Original"


# --- preferences ----------------------------------------------------------------------


def test_preferences_defaults(auth_client):
    response = auth_client.get(PREFERENCES)
    assert response.status_code == 200
    assert response.json() == DEFAULT_PREFERENCES


def test_preferences_patch_is_partial_and_returns_everything(auth_client, other_client, user):
    response = auth_client.patch(
        PREFERENCES,
        {"budget_warn": {"email": True}, "bill_due": {"in_app": False, "email": False}},
        format="json",
    )
    assert response.status_code == 200, response.json()
    expected = {
        **DEFAULT_PREFERENCES,
        "budget_warn": {"in_app": True, "email": True},
        "bill_due": {"in_app": False, "email": False},
    }
    assert response.json() == expected
    assert auth_client.get(PREFERENCES).json() == expected

    response = auth_client.patch(PREFERENCES, {"budget_warn": {"in_app": False}}, format="json")
    assert response.json()["budget_warn"] == {"in_app": False, "email": True}
    # Another user's preferences are untouched.
    assert other_client.get(PREFERENCES).json() == DEFAULT_PREFERENCES


def test_empty_patch_changes_nothing(auth_client, user):
    response = auth_client.patch(PREFERENCES, {}, format="json")
    assert response.status_code == 200
    assert response.json() == DEFAULT_PREFERENCES
    assert not NotificationPreference.objects.filter(user=user).exists()


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({"birthday": {"email": True}}, {"birthday"}),
        ({"bill_due": {"push": True}}, {"bill_due"}),
        ({"bill_due": {"email": "yes"}}, {"bill_due"}),
        ({"bill_due": {"email": 1}}, {"bill_due"}),
        ({"bill_due": {"email": None}}, {"bill_due"}),
        ({"bill_due": True}, {"bill_due"}),
        ({"budget_warn": {"email": True}, "birthday": {"email": True}}, {"birthday"}),
        ({"budget_warn": {"email": "x"}, "birthday": {}}, {"budget_warn", "birthday"}),
        (["bill_due"], {"non_field_errors"}),
    ],
)
def test_bad_preferences_are_400_and_change_nothing(auth_client, user, body, errors):
    response = auth_client.patch(PREFERENCES, body, format="json")
    assert response.status_code == 400
    assert set(response.json()) == errors
    assert not NotificationPreference.objects.filter(user=user).exists()
    assert auth_client.get(PREFERENCES).json() == DEFAULT_PREFERENCES


def test_bad_flag_error_names_the_flag(auth_client):
    response = auth_client.patch(
        PREFERENCES, {"bill_due": {"email": "yes", "push": True}}, format="json"
    )
    assert response.status_code == 400
    assert set(response.json()["bill_due"]) == {"email", "push"}


def test_preferences_reject_other_methods(auth_client):
    assert auth_client.put(PREFERENCES, {}, format="json").status_code == 405
    assert auth_client.post(PREFERENCES, {}, format="json").status_code == 405
