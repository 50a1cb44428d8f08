"""Notifications and books (SPEC §14): alerts of a shared book go to every member, each
per their own preferences; notifications themselves stay per user."""

from __future__ import annotations

import pytest
from django.core import mail

from notifications.models import Notification, NotificationKind
from notifications.services import notify_members, preferences_update
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def members(db):
    return UserFactory(), UserFactory()


def test_every_member_is_told_once_per_key_each_per_their_preferences(
    shared_book, user, members, django_capture_on_commit_callbacks
):
    editor, viewer = members
    outsider = UserFactory()
    book = shared_book(owner=user, editors=[editor], viewers=[viewer], name="Flat 3B")
    preferences_update(user=editor, changes={"bill_due": {"in_app": False, "email": False}})
    preferences_update(user=viewer, changes={"bill_due": {"email": False}})

    def tell():
        return notify_members(
            book=book,
            kind=NotificationKind.BILL_DUE,
            title="Rent due",
            body="Rent is due on 2026-04-01.",
            data={"recurring": 7},
            dedupe_key="bill:7:2026-04-01",
        )

    with django_capture_on_commit_callbacks(execute=True):
        first = tell()
        again = tell()

    assert sorted(n.user_id for n in first) == sorted([user.pk, editor.pk, viewer.pk])
    assert again == []
    assert not Notification.objects.filter(user=outsider).exists()
    rows = {n.user_id: n for n in Notification.objects.all()}
    assert len(rows) == 3
    # Per user, naming the book: title and data.
    for notification in rows.values():
        assert notification.title == "[Flat 3B] Rent due"
        assert notification.data == {"recurring": 7, "book": book.pk}
    # Each member's own preferences: the editor turned it off in-app (stored for the
    # dedupe, not listed), only the owner gets an email.
    assert (rows[user.pk].in_app, rows[editor.pk].in_app, rows[viewer.pk].in_app) == (
        True,
        False,
        True,
    )
    assert [message.to for message in mail.outbox] == [[user.email]]


def test_a_personal_books_notification_reads_as_before(user):
    [notification] = notify_members(
        book=user.personal_book,
        kind=NotificationKind.GOAL_ACHIEVED,
        title="Goal reached: Bike",
        data={"goal": 1},
        dedupe_key="goal:1:achieved",
    )
    assert (notification.user_id, notification.title) == (user.pk, "Goal reached: Bike")
    assert notification.data == {"goal": 1}


def test_notifications_are_per_user_and_only_at_the_top_level(
    shared_book, user, members, client_for
):
    editor, _ = members
    book = shared_book(owner=user, editors=[editor])
    notify_members(book=book, kind=NotificationKind.BILL_DUE, title="Rent due", dedupe_key="k")
    mine = Notification.objects.get(user=editor)
    owners = Notification.objects.get(user=user)
    client = client_for(editor)

    listed = client.get("/api/v1/notifications/").json()["results"]
    assert [row["id"] for row in listed] == [mine.pk]
    assert listed[0]["data"] == {"book": book.pk}
    assert client.get(f"/api/v1/notifications/{owners.pk}/").status_code == 404
    assert client.post(f"/api/v1/notifications/{owners.pk}/read/").status_code == 404
    assert client.delete(f"/api/v1/notifications/{owners.pk}/").status_code == 404
    assert client.get(f"/api/v1/books/{book.pk}/notifications/").status_code == 404
    assert client.get("/api/v1/notifications/unread-count/").json() == {"unread": 1}
    assert client.post("/api/v1/notifications/read-all/").json() == {"updated": 1}
    owners.refresh_from_db()
    assert owners.read_at is None
