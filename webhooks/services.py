"""Webhooks out (SPEC §17): hooks, the outbox of deliveries, sending, retries, disabling.

How an event travels (docs/webhooks.md):

1. A write announces it (`core.events.emit`) inside its transaction; `deliveries_record`
   stores one pending delivery per active hook of the book subscribed to it, and asks
   for each to be queued once the write commits. A rolled-back write leaves nothing,
   and no write waits for a receiver.
2. `delivery_attempt` (the task) claims the delivery with one conditional UPDATE — two
   workers handed the same delivery cannot both send it — signs the stored body with a
   fresh timestamp, POSTs it through `core.outbound` (the address is checked again at
   send time), and records the attempt. 2xx is success; anything else, a timeout or a
   refused address is a failed attempt, retried with exponential backoff and jitter up
   to WEBHOOKS_MAX_ATTEMPTS.
3. `deliveries_retry_due` (the `retry_webhook_deliveries` job, every minute) queues every
   delivery that is due: retries, and any whose task was lost or whose worker died
   (a claim lapses after its lease).
4. A hook whose attempts have failed, with no success, for WEBHOOKS_DISABLE_AFTER_HOURS
   is disabled by the attempt that finds it so, its open deliveries closed and its
   book's owners notified once. Re-enabling it (`is_active: true`) starts it afresh.

Enqueueing is the caller's (`enqueue(delivery_id)`, the task queue's entry, wired in
`webhooks.tasks`), so this module never imports the task layer.
"""

from __future__ import annotations

import logging
import secrets
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from books.models import Book, Membership, Role
from core import outbound
from core.events import EventData, event_data
from core.exceptions import ConflictError
from notifications.models import NotificationKind
from notifications.services import notify

from .models import (
    ERROR_MAX_LENGTH,
    MAX_WEBHOOKS_PER_BOOK,
    OPEN_STATUSES,
    PING_EVENT,
    RESPONSE_EXCERPT_BYTES,
    DeliveryStatus,
    Webhook,
    WebhookDelivery,
    new_secret,
)
from .signing import SIGNATURE_HEADER, USER_AGENT, event_body, signature_header

logger = logging.getLogger(__name__)

Enqueue = Callable[[int], Any]

# How many due deliveries one run of the retry job queues (the rest wait a minute).
RETRY_BATCH = 500
PRUNE_BATCH = 1000
# A claim lasts the longest an attempt can take (connect + read timeouts) plus this.
CLAIM_MARGIN_SECONDS = 60
JITTER = (1.0, 1.25)  # each delay is stretched by a random factor in this range
DISABLED_BEFORE_SENT = "The webhook was disabled before this delivery was sent."
_random = secrets.SystemRandom()


# --- hooks -------------------------------------------------------------------------------------


def _check_url(url: str) -> None:
    """400 on `url` unless the server may call it (resolved now; again at every send)."""
    outbound.check_url(url, allow_private=settings.WEBHOOKS_ALLOW_PRIVATE, field="url")


def webhook_create(*, book: Book, user: Any, data: dict[str, Any]) -> Webhook:
    """A hook of `book` (at most MAX_WEBHOOKS_PER_BOOK) with a new secret.

    Raises UnsafeURL (400 on `url`) for a URL that does not resolve or resolves to a
    non-public address (unless WEBHOOKS_ALLOW_PRIVATE), ValidationError at the cap."""
    _check_url(data["url"])  # a DNS lookup: before any lock
    with transaction.atomic():
        # The book row serialises its hook creations, so the cap holds under concurrency.
        list(Book.objects.select_for_update().filter(pk=book.pk).values_list("pk"))
        if Webhook.objects.filter(book=book).count() >= MAX_WEBHOOKS_PER_BOOK:
            raise ValidationError(
                {
                    "non_field_errors": [
                        f"A book can have at most {MAX_WEBHOOKS_PER_BOOK} webhooks; "
                        "delete one first."
                    ]
                }
            )
        return Webhook.objects.create(
            book=book,
            user=user,
            url=data["url"],
            events=list(data["events"]),
            description=data.get("description", ""),
            secret=new_secret(),
        )


def webhook_update(*, webhook: Webhook, data: dict[str, Any]) -> Webhook:
    """Change url, events, description or `is_active`.

    `is_active: true` on a disabled hook re-enables it and forgets its failures;
    `is_active: false` disables it by hand and closes its pending deliveries (failed).
    A new URL is checked like on create."""
    if "url" in data and data["url"] != webhook.url:
        _check_url(data["url"])
    now = timezone.now()
    with transaction.atomic():
        hook = Webhook.objects.select_for_update().get(pk=webhook.pk)
        for field in ("url", "events", "description"):
            if field in data:
                setattr(hook, field, list(data[field]) if field == "events" else data[field])
        closing = False
        if "is_active" in data and data["is_active"] != hook.is_active:
            if data["is_active"]:
                hook.is_active, hook.disabled_at, hook.disabled_reason = True, None, ""
                hook.failing_since, hook.consecutive_failures = None, 0
            else:
                hook.is_active, hook.disabled_at = False, now
                hook.disabled_reason = "Disabled by an owner."
                closing = True
        hook.save()
        if closing:
            _close_pending(hook.pk, DISABLED_BEFORE_SENT)
    return hook


def webhook_delete(*, webhook: Webhook) -> None:
    """Delete the hook and its delivery log; queued sends of it find nothing to send."""
    webhook.delete()


def webhook_rotate_secret(*, webhook: Webhook) -> Webhook:
    """A new secret; for WEBHOOKS_SECRET_GRACE_HOURS deliveries are signed with the
    replaced one too (a second `v1=`), so receivers can switch without missing any.
    Rotating again within the grace drops the oldest secret."""
    with transaction.atomic():
        hook = Webhook.objects.select_for_update().get(pk=webhook.pk)
        hook.previous_secret = hook.secret or ""
        hook.previous_secret_until = timezone.now() + timedelta(
            hours=settings.WEBHOOKS_SECRET_GRACE_HOURS
        )
        hook.secret = new_secret()
        hook.save(
            update_fields=["secret", "previous_secret", "previous_secret_until", "updated_at"]
        )
    return hook


def _require_active(webhook: Webhook) -> None:
    if not webhook.is_active:
        raise ConflictError(
            "This webhook is disabled: re-enable it (PATCH is_active: true) first.",
            code="webhook_disabled",
        )


def _enqueue_on_commit(delivery_ids: list[int], enqueue: Enqueue) -> None:
    for delivery_id in delivery_ids:
        transaction.on_commit(lambda pk=delivery_id: enqueue(pk), robust=True)


@transaction.atomic
def webhook_ping(*, webhook: Webhook, enqueue: Enqueue) -> WebhookDelivery:
    """A test delivery (`webhook.ping`), sent and logged like any other.
    ConflictError (409) for a disabled hook."""
    _require_active(webhook)
    now = timezone.now()
    event_id = uuid.uuid4()
    body = event_body(
        event_id=str(event_id),
        event=PING_EVENT,
        created_at=now,
        book_id=webhook.book_id,
        data={"webhook": webhook.pk, "events": webhook.events},
    )
    delivery = WebhookDelivery.objects.create(
        webhook=webhook, event=PING_EVENT, event_id=event_id, body=body, next_attempt_at=now
    )
    _enqueue_on_commit([delivery.pk], enqueue)
    return delivery


@transaction.atomic
def delivery_replay(*, delivery: WebhookDelivery, enqueue: Enqueue) -> WebhookDelivery:
    """A new delivery of the same event (same `event_id`) and the same body bytes,
    signed afresh when sent. ConflictError (409) for a disabled hook."""
    _require_active(delivery.webhook)
    replay = WebhookDelivery.objects.create(
        webhook_id=delivery.webhook_id,
        event=delivery.event,
        event_id=delivery.event_id,
        body=delivery.body,
        replay_of=delivery,
        next_attempt_at=timezone.now(),
    )
    _enqueue_on_commit([replay.pk], enqueue)
    return replay


# --- the outbox --------------------------------------------------------------------------------


def deliveries_record(
    *, book_id: int, event: str, data: EventData, enqueue: Enqueue
) -> list[WebhookDelivery]:
    """The `core.events` listener: one pending delivery per active hook of the book
    subscribed to `event`, stored in the caller's transaction and queued once it
    commits. All of them share the event's id and body."""
    hooks = Webhook.objects.filter(book_id=book_id, is_active=True).values_list("pk", "events")
    hook_ids = [pk for pk, events in hooks if event in events]
    if not hook_ids:
        return []
    now = timezone.now()
    event_id = uuid.uuid4()
    body = event_body(
        event_id=str(event_id), event=event, created_at=now, book_id=book_id, data=event_data(data)
    )
    deliveries = WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(
                webhook_id=pk, event=event, event_id=event_id, body=body, next_attempt_at=now
            )
            for pk in hook_ids
        ]
    )
    _enqueue_on_commit([delivery.pk for delivery in deliveries], enqueue)
    return deliveries


def _close_pending(webhook_id: int, reason: str) -> int:
    """Fail the hook's deliveries still waiting (not one a worker is sending now)."""
    return WebhookDelivery.objects.filter(
        webhook_id=webhook_id, status=DeliveryStatus.PENDING
    ).update(
        status=DeliveryStatus.FAILED, next_attempt_at=None, claim_token=None, last_error=reason
    )


# --- sending -----------------------------------------------------------------------------------


def _claim_lease() -> timedelta:
    return timedelta(seconds=2 * settings.WEBHOOKS_TIMEOUT_SECONDS + CLAIM_MARGIN_SECONDS)


def retry_delay(failed_attempts: int) -> timedelta:
    """The wait after the n-th failed attempt: BASE × 2^(n−1) seconds, stretched by up to
    25 % (so receivers coming back are not hit by every sender at once), at most MAX.
    Successive delays always grow until the cap (the ranges never overlap)."""
    base = settings.WEBHOOKS_RETRY_BASE_SECONDS * 2 ** max(failed_attempts - 1, 0)
    seconds = min(base * _random.uniform(*JITTER), settings.WEBHOOKS_RETRY_MAX_SECONDS)
    return timedelta(seconds=seconds)


def _clean(text: str, limit: int) -> str:
    """Text fit for a text column: no NUL (PostgreSQL refuses it), at most `limit` chars."""
    return text.replace("\x00", "\ufffd")[:limit]


def _signing_secrets(hook: Webhook, now: datetime) -> list[str]:
    keys = [hook.secret] if hook.secret else []
    in_grace = hook.previous_secret_until is not None and hook.previous_secret_until > now
    if hook.previous_secret and in_grace:
        keys.append(hook.previous_secret)
    return keys


def _send(hook: Webhook, delivery: WebhookDelivery) -> tuple[bool, dict[str, Any]]:
    """POST the delivery once; (succeeded, the attempt as logged). Never raises."""
    sent_at = timezone.now()
    body = delivery.body.encode()
    status_code: int | None = None
    excerpt, error, ok = "", "", False
    started = time.monotonic()
    try:
        keys = _signing_secrets(hook, sent_at)
        if not keys:
            raise outbound.OutboundError(
                "The signing secret cannot be read (ENCRYPTION_KEYS changed?); rotate it."
            )
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            SIGNATURE_HEADER: signature_header(keys, int(sent_at.timestamp()), body),
            "X-Webhook-Event": delivery.event,
            "X-Webhook-Id": str(delivery.event_id),
            "X-Webhook-Delivery": str(delivery.pk),
        }
        response = outbound.request(
            "POST",
            hook.url,
            allow_private=settings.WEBHOOKS_ALLOW_PRIVATE,
            timeout=settings.WEBHOOKS_TIMEOUT_SECONDS,
            headers=headers,
            data=body,
        )
        status_code = response.status_code
        excerpt = response.content[:RESPONSE_EXCERPT_BYTES].decode("utf-8", errors="replace")
        ok = 200 <= status_code < 300
        if not ok:
            error = f"The receiver answered HTTP {status_code}"
            if 300 <= status_code < 400:
                error += " (redirects are not followed)"
            error += "."
    except outbound.UnsafeURL as exc:
        error = f"Refused at send time: {exc.message}"
    except outbound.OutboundError as exc:
        error = str(exc)
    except Exception:
        logger.exception("Webhook delivery %s could not be sent", delivery.pk)
        error = "The delivery could not be sent (a server error; see the server log)."
    attempt = {
        "at": sent_at.isoformat(),
        "status_code": status_code,
        "duration_ms": round((time.monotonic() - started) * 1000),
        "error": _clean(error, ERROR_MAX_LENGTH),
        "response_excerpt": _clean(excerpt, RESPONSE_EXCERPT_BYTES),
    }
    return ok, attempt


def delivery_attempt(*, delivery_id: int) -> str | None:
    """Claim the delivery if it is due, send it once and record the attempt; returns
    its status afterwards, or None when it was not due or another worker has it
    (safe to call twice: the task queue may deliver a task twice)."""
    now = timezone.now()
    token = uuid.uuid4()
    claimed = WebhookDelivery.objects.filter(
        pk=delivery_id, status__in=OPEN_STATUSES, next_attempt_at__lte=now
    ).update(status=DeliveryStatus.SENDING, claim_token=token, next_attempt_at=now + _claim_lease())
    if not claimed:
        return None
    delivery = WebhookDelivery.objects.select_related("webhook").filter(pk=delivery_id).first()
    if delivery is None:  # its hook was deleted meanwhile
        return None
    if not delivery.webhook.is_active:
        ok, attempt = False, None
    else:
        ok, attempt = _send(delivery.webhook, delivery)
    return _record(delivery_id=delivery_id, token=token, ok=ok, attempt=attempt)


def _record(
    *, delivery_id: int, token: uuid.UUID, ok: bool, attempt: dict[str, Any] | None
) -> str | None:
    """Store an attempt (None: not sent, the hook being disabled) on the claimed
    delivery and its hook, schedule the retry or close the delivery, and disable a
    hook failing for too long. Nothing is stored if the claim lapsed meanwhile."""
    now = timezone.now()
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update()
            .filter(pk=delivery_id, status=DeliveryStatus.SENDING, claim_token=token)
            .first()
        )
        if delivery is None:
            logger.warning("Webhook delivery %s: claim lapsed; result not stored", delivery_id)
            return None
        hook = Webhook.objects.select_for_update().get(pk=delivery.webhook_id)
        delivery.claim_token = None
        if attempt is None:
            delivery.status, delivery.next_attempt_at = DeliveryStatus.FAILED, None
            delivery.last_error = DISABLED_BEFORE_SENT
            delivery.save()
            return delivery.status
        delivery.attempts = [*delivery.attempts, attempt]
        delivery.attempt_count += 1
        delivery.last_attempt_at = now
        delivery.last_status_code = attempt["status_code"]
        delivery.last_duration_ms = attempt["duration_ms"]
        delivery.last_error = attempt["error"]
        if ok:
            delivery.status, delivery.next_attempt_at = DeliveryStatus.SUCCEEDED, None
            hook.last_success_at, hook.failing_since, hook.consecutive_failures = now, None, 0
        else:
            hook.consecutive_failures += 1
            hook.failing_since = hook.failing_since or now
            hook.last_failure_at = now
            if delivery.attempt_count >= settings.WEBHOOKS_MAX_ATTEMPTS or not hook.is_active:
                delivery.status, delivery.next_attempt_at = DeliveryStatus.FAILED, None
            else:
                delivery.status = DeliveryStatus.PENDING
                delivery.next_attempt_at = now + retry_delay(delivery.attempt_count)
        delivery.save()
        hook.save(
            update_fields=[
                "last_success_at",
                "last_failure_at",
                "failing_since",
                "consecutive_failures",
            ]
        )
        limit = timedelta(hours=settings.WEBHOOKS_DISABLE_AFTER_HOURS)
        if not ok and hook.is_active and hook.failing_since <= now - limit:
            _disable(hook, now)
            delivery.refresh_from_db(fields=["status"])
    return delivery.status


def _disable(hook: Webhook, now: datetime) -> bool:
    """Disable a hook failing for too long, close its open deliveries and tell the
    book's owners — once: only the caller whose UPDATE finds the hook active does."""
    since = timezone.localtime(hook.failing_since).strftime("%Y-%m-%d %H:%M %Z")
    reason = (
        f"No successful delivery since {since} ({hook.consecutive_failures} failed attempts "
        f"in a row); disabled after {settings.WEBHOOKS_DISABLE_AFTER_HOURS} hours of failures."
    )
    changed = Webhook.objects.filter(pk=hook.pk, is_active=True).update(
        is_active=False, disabled_at=now, disabled_reason=reason[:ERROR_MAX_LENGTH], updated_at=now
    )
    if not changed:
        return False
    hook.is_active, hook.disabled_at, hook.disabled_reason = False, now, reason
    _close_pending(hook.pk, DISABLED_BEFORE_SENT)
    host = urlsplit(hook.url).hostname or hook.url
    owners = Membership.objects.filter(book_id=hook.book_id, role=Role.OWNER).select_related("user")
    for membership in owners.order_by("user_id"):
        notify(
            user=membership.user,
            kind=NotificationKind.WEBHOOK_DISABLED,
            title=f"Webhook disabled: {host}"[:200],
            body=f"The webhook to {hook.url} was disabled. {reason} Fix the receiver, then "
            "re-enable it (PATCH is_active: true) and replay what it missed.",
            data={"webhook": hook.pk, "book": hook.book_id, "url": hook.url},
            dedupe_key=f"webhook:{hook.pk}:disabled:{int(now.timestamp())}",
        )
    logger.warning("Webhook %s disabled: %s", hook.pk, reason)
    return True


# --- scheduled jobs ----------------------------------------------------------------------------


def deliveries_retry_due(*, enqueue: Enqueue) -> int:
    """Queue every open delivery that is due (retries, lost tasks, lapsed claims), the
    longest-waiting first, at most RETRY_BATCH a run; returns how many. Queuing one
    twice is harmless: only one claim succeeds."""
    due = list(
        WebhookDelivery.objects.filter(
            status__in=OPEN_STATUSES, next_attempt_at__lte=timezone.now()
        )
        .order_by("next_attempt_at", "id")
        .values_list("pk", flat=True)[:RETRY_BATCH]
    )
    for delivery_id in due:
        enqueue(delivery_id)
    return len(due)


def deliveries_prune() -> int:
    """Delete finished deliveries older than WEBHOOKS_LOG_DAYS; returns how many."""
    cutoff = timezone.now() - timedelta(days=settings.WEBHOOKS_LOG_DAYS)
    old = WebhookDelivery.objects.filter(
        created_at__lt=cutoff, status__in=[DeliveryStatus.SUCCEEDED, DeliveryStatus.FAILED]
    )
    total = 0
    while True:
        ids = list(old.order_by("id").values_list("pk", flat=True)[:PRUNE_BATCH])
        if not ids:
            return total
        WebhookDelivery.objects.filter(replay_of_id__in=ids).update(replay_of=None)
        total += WebhookDelivery.objects.filter(pk__in=ids).delete()[0]
