"""The task queue's side of webhooks: the send task, and the entries that queue it.

`enqueue` is what services are handed to queue a delivery; `on_book_event` (the
`core.events` listener) and `retry_webhook_deliveries` (the job) are registered in
`WebhooksConfig.ready()`. Module-level functions, so registering them twice is a no-op.
"""

from __future__ import annotations

from celery import shared_task

from core.events import EventData

from . import services


@shared_task(name="webhooks.deliver", ignore_result=True)
def deliver_task(delivery_id: int) -> None:
    """Attempt one delivery if it is still due; safe to deliver twice (the claim)."""
    services.delivery_attempt(delivery_id=delivery_id)


def enqueue(delivery_id: int) -> None:
    deliver_task.delay(delivery_id)


def on_book_event(*, book_id: int, event: str, data: EventData) -> None:
    services.deliveries_record(book_id=book_id, event=event, data=data, enqueue=enqueue)


def retry_webhook_deliveries() -> int:
    return services.deliveries_retry_due(enqueue=enqueue)
