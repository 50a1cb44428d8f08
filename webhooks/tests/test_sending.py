"""Sending deliveries: retries and backoff, timeouts, disabling, replay, rotation, SSRF at
send time, claims (SPEC §17). Time is driven with time-machine, never slept through; the
retry job (`retry_webhook_deliveries`) is what sends retries, as in production."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from books.models import Membership, Role
from notifications.models import Notification, NotificationKind
from users.tests.factories import UserFactory
from webhooks import services
from webhooks.models import DeliveryStatus, Webhook, WebhookDelivery
from webhooks.tasks import retry_webhook_deliveries

from .helpers import api, deliveries

pytestmark = pytest.mark.django_db

START = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
EXPENSE = {"amount": "5", "date": "2026-03-10", "description": "Lunch"}


def write_expense(client_for, user, committed, book=None):
    """An expense written through the API by `user`, with a token made now (the clock may
    have been moved since the test began)."""
    with committed():
        response = client_for(user).post(f"{api(book)}/expenses/", EXPENSE, format="json")
    assert response.status_code == 201, response.content
    return response.json()["id"]


def run_retries_until_finished(traveller, delivery):
    """Move the clock to each retry and let the job send it, until the delivery ends."""
    while True:
        delivery.refresh_from_db()
        if delivery.status not in (DeliveryStatus.PENDING, DeliveryStatus.SENDING):
            return delivery
        traveller.move_to(delivery.next_attempt_at + timedelta(seconds=1))
        assert retry_webhook_deliveries() >= 1


def test_failures_are_retried_with_growing_delays_until_success(
    user, client_for, hook_for, receiver, committed
):
    hook = hook_for(user)
    receiver.plan = [500, 500, 502, 503]  # four failures, then the default 200
    with time_machine.travel(START, tick=False) as traveller:
        write_expense(client_for, user, committed)
        [delivery] = deliveries(hook)
        delays = []
        for failed in range(1, 5):
            delivery.refresh_from_db()
            assert (delivery.status, delivery.attempt_count) == (DeliveryStatus.PENDING, failed)
            delays.append((delivery.next_attempt_at - delivery.last_attempt_at).total_seconds())
            assert retry_webhook_deliveries() == 0  # not due yet: nothing is sent early
            traveller.move_to(delivery.next_attempt_at + timedelta(seconds=1))
            assert retry_webhook_deliveries() == 1
        delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED
    assert [a["status_code"] for a in delivery.attempts] == [500, 500, 502, 503, 200]
    assert delivery.attempts[0]["error"] == "The receiver answered HTTP 500."
    # 60 × 2^n seconds, each stretched by at most 25 % of jitter: always growing.
    for n, delay in enumerate(delays):
        assert 60 * 2**n <= delay <= 60 * 2**n * 1.25, delays
    assert delays == sorted(delays) and len(set(delays)) == 4
    # The same event, the same body, every time; each attempt signed afresh.
    assert len(receiver.received) == 5
    assert {r.body for r in receiver.received} == {delivery.body.encode()}
    assert len({r.timestamp for r in receiver.received}) == 5
    assert all(r.verified for r in receiver.received)
    webhook = Webhook.objects.get(pk=hook["id"])
    assert (webhook.consecutive_failures, webhook.failing_since) == (0, None)
    assert webhook.last_success_at is not None


def test_a_delivery_gives_up_after_the_last_attempt(
    user, client_for, hook_for, receiver, committed, settings
):
    settings.WEBHOOKS_MAX_ATTEMPTS = 3
    hook = hook_for(user)
    receiver.status = 500
    with time_machine.travel(START, tick=False) as traveller:
        write_expense(client_for, user, committed)
        delivery = run_retries_until_finished(traveller, deliveries(hook)[0])
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.attempt_count == 3 and delivery.next_attempt_at is None
    assert len(receiver.received) == 3


def test_a_slow_receiver_is_a_timed_out_attempt_with_its_duration(
    user, client_for, hook_for, receiver, committed, settings
):
    settings.WEBHOOKS_TIMEOUT_SECONDS = 0.3
    hook = hook_for(user)
    receiver.delay = 30  # answers only when the test ends
    write_expense(client_for, user, committed)
    [delivery] = deliveries(hook)
    assert delivery.status == DeliveryStatus.PENDING  # to be retried
    [attempt] = delivery.attempts
    assert attempt["status_code"] is None
    assert attempt["error"] == "No answer within 0.3 seconds."
    assert attempt["duration_ms"] >= 300  # it waited the whole timeout, not less
    assert delivery.last_duration_ms == attempt["duration_ms"]


def test_a_day_of_failures_disables_the_hook_and_tells_each_owner_once(
    user, shared_book, client_for, hook_for, receiver, committed
):
    co_owner, editor = UserFactory(), UserFactory()
    book = shared_book(owners=[co_owner], editors=[editor])
    hook = hook_for(user, book=book)
    receiver.status = 500
    with time_machine.travel(START, tick=False) as traveller:
        write_expense(client_for, editor, committed, book)
        first = run_retries_until_finished(traveller, deliveries(hook)[0])
        assert first.status == DeliveryStatus.FAILED  # out of attempts, about 2 hours on
        assert Webhook.objects.get(pk=hook["id"]).is_active  # failing, not yet for a day

        traveller.move_to(START + timedelta(hours=25))
        with committed():  # the failure that finds it failing for a day disables it
            write_expense(client_for, editor, committed, book)
        webhook = Webhook.objects.get(pk=hook["id"])
        assert not webhook.is_active
        assert webhook.disabled_at == timezone.now()
        assert "No successful delivery since" in webhook.disabled_reason
        assert webhook.consecutive_failures == 9
        second = deliveries(hook)[1]
        assert second.status == DeliveryStatus.FAILED and second.next_attempt_at is None

        sent = len(receiver.received)
        write_expense(client_for, editor, committed, book)  # disabled: no new delivery
        traveller.move_to(START + timedelta(hours=30))
        assert retry_webhook_deliveries() == 0
    assert len(deliveries(hook)) == 2
    assert len(receiver.received) == sent
    told = Notification.objects.filter(kind=NotificationKind.WEBHOOK_DISABLED)
    assert sorted(told.values_list("user_id", flat=True)) == sorted([user.pk, co_owner.pk])
    assert told.first().data == {"webhook": hook["id"], "book": book.pk, "url": hook["url"]}

    # Re-enabled by an owner, it starts afresh and delivers again.
    receiver.status = 200
    response = client_for(user).patch(
        f"{api(book)}/webhooks/{hook['id']}/", {"is_active": True}, format="json"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["is_active"], body["disabled_at"], body["consecutive_failures"]) == (True, None, 0)
    write_expense(client_for, editor, committed, book)
    assert deliveries(hook)[-1].status == DeliveryStatus.SUCCEEDED


def test_a_replay_resends_the_identical_body_with_a_fresh_signature(
    user, client_for, hook_for, receiver, committed
):
    hook = hook_for(user)
    with time_machine.travel(START, tick=False) as traveller:
        write_expense(client_for, user, committed)
        [original] = deliveries(hook)
        traveller.move_to(START + timedelta(minutes=10))
        with committed():
            response = client_for(user).post(
                f"/api/v1/webhooks/{hook['id']}/deliveries/{original.pk}/replay/"
            )
    assert response.status_code == 202, response.content
    replay = WebhookDelivery.objects.get(pk=response.json()["id"])
    assert response.json()["replay_of"] == original.pk
    assert replay.status == DeliveryStatus.SUCCEEDED and replay.event == original.event
    first, again = receiver.received
    assert again.body == first.body == original.body.encode()
    assert again.headers["X-Webhook-Id"] == first.headers["X-Webhook-Id"] == str(original.event_id)
    assert again.headers["X-Webhook-Delivery"] == str(replay.pk) != str(original.pk)
    assert again.timestamp == first.timestamp + 600
    assert again.signatures != first.signatures
    assert again.verified and first.verified


def test_after_a_rotation_the_old_secret_verifies_during_the_grace_only(
    user, client_for, hook_for, receiver, committed
):
    hook = hook_for(user)
    old = hook["secret"]
    with time_machine.travel(START, tick=False) as traveller:
        response = client_for(user).post(f"/api/v1/webhooks/{hook['id']}/rotate-secret/")
        assert response.status_code == 200, response.content
        new = response.json()["secret"]
        assert new != old and new.startswith("whsec_")
        assert response.json()["previous_secret_expires_at"] == "2026-03-11T09:00:00Z"
        receiver.secrets = [old, new]

        write_expense(client_for, user, committed)  # within the grace: signed with both
        traveller.move_to(START + timedelta(hours=24, seconds=1))
        write_expense(client_for, user, committed)  # after it: the new secret only
    during, after = receiver.received
    assert len(during.signatures) == 2
    assert during.verified_with == [old, new]
    assert len(after.signatures) == 1
    assert after.verified_with == [new]


def test_a_host_resolving_to_a_private_address_at_send_time_is_refused_and_logged(
    user, client_for, auth_client, receiver, committed, settings, monkeypatch
):
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    answers = {"hooks.example.net": "93.184.215.14"}  # public when the hook is saved

    def resolve(host, port, *args, **kwargs):
        address = answers.get(host, host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    response = auth_client.post(
        "/api/v1/webhooks/",
        {"url": f"http://hooks.example.net:{receiver.port}/hook", "events": ["expense.created"]},
        format="json",
    )
    assert response.status_code == 201, response.content
    answers["hooks.example.net"] = "127.0.0.1"  # DNS rebinding: now it points inside
    write_expense(client_for, user, committed)

    [delivery] = WebhookDelivery.objects.filter(webhook_id=response.json()["id"])
    assert delivery.status == DeliveryStatus.PENDING  # a failed attempt, to be retried
    [attempt] = delivery.attempts
    assert attempt["status_code"] is None
    assert attempt["error"].startswith("Refused at send time: The host 'hooks.example.net'")
    assert "127.0.0.1" in attempt["error"]
    assert receiver.received == []


def test_a_claimed_delivery_is_not_sent_by_a_second_worker(
    user, auth_client, hook_for, receiver, django_capture_on_commit_callbacks
):
    hook = hook_for(user)
    with django_capture_on_commit_callbacks(execute=False):  # the queued task is not run
        auth_client.post("/api/v1/expenses/", EXPENSE, format="json")
    [delivery] = deliveries(hook)
    assert receiver.received == []
    with time_machine.travel(START, tick=False) as traveller:
        WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
        # Worker A claims it (and, say, dies while sending).
        claimed = WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=DeliveryStatus.SENDING,
            claim_token=None,
            next_attempt_at=timezone.now() + timedelta(seconds=70),
        )
        assert claimed == 1
        # Worker B, handed the same delivery, and the retry job, leave it alone.
        assert services.delivery_attempt(delivery_id=delivery.pk) is None
        assert retry_webhook_deliveries() == 0
        assert receiver.received == []
        # A's claim lapses: the job queues it again and it is sent exactly once.
        traveller.move_to(START + timedelta(seconds=71))
        assert retry_webhook_deliveries() == 1
        assert services.delivery_attempt(delivery_id=delivery.pk) is None  # done already
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED and delivery.attempt_count == 1
    assert len(receiver.received) == 1


def test_a_lost_task_is_sent_by_the_retry_job(
    user, auth_client, hook_for, receiver, django_capture_on_commit_callbacks
):
    hook = hook_for(user)
    with django_capture_on_commit_callbacks(execute=False):  # the queued task never runs
        auth_client.post("/api/v1/expenses/", EXPENSE, format="json")
    assert receiver.received == []
    assert retry_webhook_deliveries() == 1
    [delivery] = deliveries(hook)
    assert delivery.status == DeliveryStatus.SUCCEEDED
    assert len(receiver.received) == 1 and receiver.received[0].verified


def test_a_task_delivered_twice_sends_once(user, client_for, hook_for, receiver, committed):
    hook = hook_for(user)
    write_expense(client_for, user, committed)
    [delivery] = deliveries(hook)
    assert services.delivery_attempt(delivery_id=delivery.pk) is None
    assert len(receiver.received) == 1


def test_old_deliveries_are_pruned(user, client_for, hook_for, receiver, committed):
    hook = hook_for(user, events=["expense.created", "expense.updated"])
    for _ in range(3):
        write_expense(client_for, user, committed)
    old, replayed, recent = deliveries(hook)
    replay = services.delivery_replay(delivery=replayed, enqueue=lambda pk: None)
    month_ago = timezone.now() - timedelta(days=31)
    WebhookDelivery.objects.filter(pk__in=[old.pk, replayed.pk, replay.pk]).update(
        created_at=month_ago
    )
    # `replay` is still pending (never sent): an open delivery is kept however old.
    assert services.deliveries_prune() == 2
    assert set(WebhookDelivery.objects.values_list("pk", flat=True)) == {recent.pk, replay.pk}
    replay.refresh_from_db()
    assert replay.replay_of_id is None


def test_disabling_tells_the_owners_of_that_moment_once(user, shared_book):
    # Owners are read when the hook is disabled: one who joined since it was made is told.
    book = shared_book()
    later = UserFactory()
    Membership.objects.create(book=book, user=later, role=Role.OWNER)
    webhook = Webhook.objects.create(
        book=book, user=user, url="http://127.0.0.1:9/hook", events=["expense.created"]
    )
    webhook.failing_since = timezone.now() - timedelta(hours=25)
    assert services._disable(webhook, timezone.now())
    assert not services._disable(webhook, timezone.now())  # once
    told = Notification.objects.filter(kind=NotificationKind.WEBHOOK_DISABLED)
    assert sorted(told.values_list("user_id", flat=True)) == sorted([user.pk, later.pk])
