from unittest import mock

import pytest
from django.core import mail
from django.db import connection

from notifications import services
from notifications.models import Notification, NotificationKind, NotificationPreference
from notifications.tests.factories import NotificationFactory
from tests.concurrency import run_concurrently
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

EMAIL_ON = {
    "budget_exceeded",
    "bill_due",
    "goal_achieved",
    "monthly_summary",
    "connection_error",
    "webhook_disabled",
}


def test_defaults_email_only_what_a_user_would_not_want_to_miss(user):
    prefs = services.preferences_for(user=user)
    assert set(prefs) == set(NotificationKind.values)
    for kind, flags in prefs.items():
        assert flags == {"in_app": True, "email": kind in EMAIL_ON}


def test_notify_creates_an_in_app_row(user):
    notification = services.notify(
        user=user, kind="budget_warn", title="80% of Food", body="b", data={"budget": 1}
    )
    assert notification is not None
    row = Notification.objects.get()
    assert (row.user, row.kind, row.title, row.body, row.data) == (
        user,
        "budget_warn",
        "80% of Food",
        "b",
        {"budget": 1},
    )
    assert row.in_app is True and row.read_at is None


@pytest.mark.parametrize("kind", sorted(EMAIL_ON))
def test_notify_emails_by_default_for_important_kinds_after_commit(
    user, kind, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        notification = services.notify(user=user, kind=kind, title="Heads up", body="Details")
        assert mail.outbox == []  # nothing leaves before the transaction commits
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [user.email]
    assert "Heads up" in message.subject and message.body == "Details"
    notification.refresh_from_db()
    assert notification.emailed_at is not None


@pytest.mark.parametrize("kind", ["budget_warn", "unusual_spending"])
def test_notify_does_not_email_by_default_for_minor_kinds(
    user, kind, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        notification = services.notify(user=user, kind=kind, title="FYI")
    assert callbacks == []
    assert mail.outbox == []
    notification.refresh_from_db()
    assert notification.emailed_at is None


def test_email_is_not_sent_when_the_transaction_rolls_back(
    user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.notify(user=user, kind="bill_due", title="Rent")
    assert len(callbacks) == 1  # queued for commit; never run here
    assert mail.outbox == []


def test_email_off_sends_nothing(user, django_capture_on_commit_callbacks):
    services.preferences_update(user=user, changes={"bill_due": {"email": False}})
    with django_capture_on_commit_callbacks(execute=True):
        notification = services.notify(user=user, kind="bill_due", title="Rent")
    assert mail.outbox == []
    assert notification.in_app is True


def test_email_on_for_a_minor_kind_sends_it(user, django_capture_on_commit_callbacks):
    services.preferences_update(user=user, changes={"budget_warn": {"email": True}})
    with django_capture_on_commit_callbacks(execute=True):
        services.notify(user=user, kind="budget_warn", title="80%")
    assert len(mail.outbox) == 1


def test_user_without_an_address_gets_no_email(django_capture_on_commit_callbacks):
    user = UserFactory(email="")
    with django_capture_on_commit_callbacks(execute=True):
        assert services.notify(user=user, kind="bill_due", title="Rent") is not None
    assert mail.outbox == []


def test_in_app_off_stores_a_hidden_row_and_still_emails(user, django_capture_on_commit_callbacks):
    services.preferences_update(user=user, changes={"goal_achieved": {"in_app": False}})
    with django_capture_on_commit_callbacks(execute=True):
        notification = services.notify(user=user, kind="goal_achieved", title="Bike")
    assert notification.in_app is False
    assert not Notification.objects.visible_to(user).exists()
    assert len(mail.outbox) == 1


def test_both_channels_off_stores_nothing(user, django_capture_on_commit_callbacks):
    services.preferences_update(user=user, changes={"bill_due": {"in_app": False, "email": False}})
    with django_capture_on_commit_callbacks(execute=True):
        assert services.notify(user=user, kind="bill_due", title="Rent") is None
    assert not Notification.objects.exists()
    assert mail.outbox == []


def test_dedupe_key_allows_one_notification_and_one_email(user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = services.notify(
            user=user, kind="budget_exceeded", title="Over", dedupe_key="budget:1:100:2026-01"
        )
        second = services.notify(
            user=user, kind="budget_exceeded", title="Over again", dedupe_key="budget:1:100:2026-01"
        )
    assert first is not None and second is None
    assert Notification.objects.filter(user=user).count() == 1
    assert len(mail.outbox) == 1


def test_dedupe_key_is_per_user_and_blank_keys_never_clash(user, other_user):
    key = "budget:1:80:2026-01"
    assert services.notify(user=user, kind="budget_warn", title="a", dedupe_key=key)
    assert services.notify(user=other_user, kind="budget_warn", title="a", dedupe_key=key)
    assert services.notify(user=user, kind="budget_warn", title="b")
    assert services.notify(user=user, kind="budget_warn", title="c")
    assert Notification.objects.count() == 4


def test_dedupe_key_holds_even_while_both_channels_are_off(user):
    services.preferences_update(
        user=user, changes={"budget_warn": {"in_app": False, "email": False}}
    )
    assert services.notify(user=user, kind="budget_warn", title="a", dedupe_key="k") is not None
    services.preferences_update(user=user, changes={"budget_warn": {"in_app": True}})
    assert services.notify(user=user, kind="budget_warn", title="a", dedupe_key="k") is None


def test_dedupe_inside_an_outer_transaction_leaves_it_usable(user):
    from django.db import transaction

    with transaction.atomic():
        services.notify(user=user, kind="budget_warn", title="a", dedupe_key="k")
        assert services.notify(user=user, kind="budget_warn", title="a", dedupe_key="k") is None
        # The failed insert was rolled back to its savepoint; the transaction goes on.
        assert Notification.objects.filter(user=user).count() == 1


def test_failing_mail_backend_is_logged_not_raised(user, django_capture_on_commit_callbacks):
    with (
        mock.patch(
            "notifications.services.send_mail", side_effect=ConnectionRefusedError("smtp down")
        ) as send,
        django_capture_on_commit_callbacks(execute=True),
    ):
        notification = services.notify(user=user, kind="bill_due", title="Rent")
    assert send.call_count == 1
    notification.refresh_from_db()
    assert notification.emailed_at is None


def test_unknown_kind_is_a_programming_error(user):
    with pytest.raises(ValueError, match="nope"):
        services.notify(user=user, kind="nope", title="x")


def test_preferences_update_is_partial_per_kind(user):
    prefs = services.preferences_update(user=user, changes={"bill_due": {"in_app": False}})
    assert prefs["bill_due"] == {"in_app": False, "email": True}
    prefs = services.preferences_update(user=user, changes={"bill_due": {"email": False}})
    assert prefs["bill_due"] == {"in_app": False, "email": False}
    assert NotificationPreference.objects.filter(user=user).count() == 1


@pytest.mark.parametrize("changes", [{"nope": {"email": True}}, {"bill_due": {"push": True}}])
def test_preferences_update_rejects_unknown_names(user, changes):
    with pytest.raises(ValueError):
        services.preferences_update(user=user, changes=changes)
    assert not NotificationPreference.objects.exists()


def test_mark_read_keeps_the_first_read_time(user):
    notification = NotificationFactory(user=user)
    services.notification_mark_read(notification=notification)
    first = notification.read_at
    assert first is not None
    stale = Notification.objects.get(pk=notification.pk)
    stale.read_at = None  # a second request that loaded the row before the first wrote
    services.notification_mark_read(notification=stale)
    assert stale.read_at == first
    notification.refresh_from_db()
    assert notification.read_at == first


def test_mark_all_read_counts_only_unread_visible_own(user, other_user):
    NotificationFactory.create_batch(2, user=user)
    NotificationFactory(user=user, read_at="2026-01-01T00:00:00Z")
    NotificationFactory(user=user, in_app=False)
    NotificationFactory(user=other_user)
    assert services.notifications_mark_all_read(user=user) == 2
    assert services.notifications_mark_all_read(user=user) == 0
    assert Notification.objects.filter(user=other_user, read_at__isnull=True).count() == 1


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs real concurrent writers: SQLite serialises all writes to one connection's lock",
)
@pytest.mark.django_db(transaction=True)
def test_concurrent_notify_with_one_dedupe_key_stores_one_row(user):
    def work(i: int):
        return services.notify(
            user=user, kind="budget_warn", title="80%", dedupe_key="budget:1:80:2026-01"
        )

    results, errors = run_concurrently(work, threads=10)

    assert errors == []
    assert sum(result is not None for result in results) == 1
    assert Notification.objects.filter(user=user).count() == 1
