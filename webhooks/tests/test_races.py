"""Races on PostgreSQL (skipped on SQLite, which serialises writers): workers handed the
same delivery at once send it once; concurrent creations keep the per-book cap."""

from __future__ import annotations

import pytest
from django.utils import timezone

from tests.concurrency import require_postgresql, run_concurrently
from users.tests.factories import UserFactory
from webhooks import services
from webhooks.models import MAX_WEBHOOKS_PER_BOOK, DeliveryStatus, Webhook, WebhookDelivery

pytestmark = pytest.mark.django_db(transaction=True)


def test_workers_handed_the_same_delivery_send_it_once(receiver):
    require_postgresql()
    user = UserFactory()
    secret = "whsec_race"
    receiver.secrets.append(secret)
    webhook = Webhook.objects.create(
        book=user.personal_book,
        user=user,
        url=receiver.url(),
        events=["expense.created"],
        secret=secret,
    )
    delivery = WebhookDelivery.objects.create(
        webhook=webhook, event="expense.created", body="{}", next_attempt_at=timezone.now()
    )
    results, errors = run_concurrently(
        lambda i: services.delivery_attempt(delivery_id=delivery.pk), threads=6
    )
    assert errors == []
    assert sorted(results, key=str) == [None] * 5 + [DeliveryStatus.SUCCEEDED]
    assert len(receiver.received) == 1 and receiver.received[0].verified
    delivery.refresh_from_db()
    assert delivery.attempt_count == 1


def test_concurrent_creations_keep_the_cap(receiver, settings):
    require_postgresql()
    user = UserFactory()
    book = user.personal_book
    for _ in range(MAX_WEBHOOKS_PER_BOOK - 2):
        Webhook.objects.create(book=book, user=user, url=receiver.url(), events=["budget.warn"])
    data = {"url": receiver.url(), "events": ["budget.warn"]}
    results, errors = run_concurrently(
        lambda i: services.webhook_create(book=book, user=user, data=data),
        threads=5,
        expected=(Exception,),
    )
    assert errors == []
    assert sum(isinstance(result, Webhook) for result in results) == 2
    assert Webhook.objects.filter(book=book).count() == MAX_WEBHOOKS_PER_BOOK
