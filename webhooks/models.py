"""Webhooks out: a book's hooks and the log of what was sent to them (SPEC §17).

A `Webhook` is a URL of an owner's choosing that hears about the book's events, signed
with its secret. Every event a hook is subscribed to becomes one `WebhookDelivery`,
stored in the transaction of the write that caused it (a transactional outbox) with its
body already serialised, so every attempt and every replay sends the same bytes.
"""

from __future__ import annotations

import secrets
import uuid

from django.db import models
from django.db.models import Q

from books.models import BookOwnedModel
from core.crypto import EncryptedTextField

# Limits (docs/webhooks.md, Limits).
MAX_WEBHOOKS_PER_BOOK = 20
URL_MAX_LENGTH = 2000
DESCRIPTION_MAX_LENGTH = 200
RESPONSE_EXCERPT_BYTES = 1024
ERROR_MAX_LENGTH = 500
SECRET_PREFIX = "whsec_"
# The test delivery of `POST /webhooks/{id}/ping/`: sent whatever the hook subscribes to.
PING_EVENT = "webhook.ping"


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


class Webhook(BookOwnedModel):
    """A URL that hears about the book's `events`, each delivery signed with `secret`.

    During a rotation's grace (`previous_secret_until`), deliveries carry a second
    signature made with `previous_secret`. `failing_since` is the first failed attempt
    since the last success; a hook failing for WEBHOOKS_DISABLE_AFTER_HOURS is disabled.
    """

    url = models.URLField(max_length=URL_MAX_LENGTH)
    events = models.JSONField(default=list)
    description = models.CharField(max_length=DESCRIPTION_MAX_LENGTH, blank=True, default="")
    secret = EncryptedTextField(default=new_secret)
    previous_secret = EncryptedTextField(blank=True, default="")
    previous_secret_until = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=ERROR_MAX_LENGTH, blank=True, default="")
    failing_since = models.DateTimeField(null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            # The listener's "active hooks of this book" on every write.
            models.Index(fields=["book", "is_active"], name="webhooks_book_active_idx"),
        ]

    def __str__(self) -> str:
        return self.url

    @property
    def secret_hint(self) -> str:
        return f"…{self.secret[-4:]}" if self.secret else ""


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"  # waiting for its first attempt or its next retry
    SENDING = "sending", "Sending"  # claimed by a worker (until `next_attempt_at`)
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"  # out of attempts, or the hook was disabled first


OPEN_STATUSES = (DeliveryStatus.PENDING, DeliveryStatus.SENDING)


class WebhookDelivery(models.Model):
    """One event for one hook, with every attempt made to send it.

    `body` is the JSON sent, stored once; `event_id` is the event's id, the same in
    every hook's delivery of the event and in replays (receivers deduplicate on it).
    While open, `next_attempt_at` is when it is due (pending) or when a worker's claim
    lapses (sending); `claim_token` names the claim whose result may be recorded.
    `attempts` lists each attempt: `{at, status_code, duration_ms, error,
    response_excerpt}` (the excerpt is at most RESPONSE_EXCERPT_BYTES of the answer).
    """

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=64)
    event_id = models.UUIDField(default=uuid.uuid4)
    body = models.TextField()
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.JSONField(default=list, blank=True)
    attempt_count = models.PositiveSmallIntegerField(default=0)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_duration_ms = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=ERROR_MAX_LENGTH, blank=True, default="")
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claim_token = models.UUIDField(null=True, blank=True)
    replay_of = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="replays"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        indexes = [
            # A hook's log, newest first (optionally by status or event).
            models.Index(
                fields=["webhook", "-created_at", "-id"], name="webhooks_delivery_list_idx"
            ),
            # The retry job's "what is due": only open deliveries are indexed.
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status__in=["pending", "sending"]),
                name="webhooks_delivery_due_idx",
            ),
            # The retention job.
            models.Index(fields=["created_at"], name="webhooks_delivery_created_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["succeeded", "failed"]) | Q(next_attempt_at__isnull=False),
                name="webhooks_delivery_open_is_scheduled",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.webhook_id} ({self.status})"
