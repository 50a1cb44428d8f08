"""Request and response shapes of /webhooks/ and their deliveries (SPEC §17).

The signing secret is in two responses only: creating a hook and rotating its secret.
Everywhere else a hook shows `secret_hint` (the secret's last four characters).
"""

from __future__ import annotations

import json
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.events import EVENTS
from core.serializers import StrictSerializer

from .models import (
    DESCRIPTION_MAX_LENGTH,
    PING_EVENT,
    URL_MAX_LENGTH,
    DeliveryStatus,
    Webhook,
    WebhookDelivery,
)

EVENT_CHOICES = sorted(EVENTS)


class EventsField(serializers.ListField):
    """The declared event names a hook wants (`core.events.EVENTS`), each at most once."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            child=serializers.ChoiceField(choices=EVENT_CHOICES),
            allow_empty=False,
            max_length=len(EVENT_CHOICES),
            **kwargs,
        )

    def to_internal_value(self, data: Any) -> list[str]:
        events = super().to_internal_value(data)
        repeated = sorted({name for name in events if events.count(name) > 1})
        if repeated:
            raise serializers.ValidationError(f"Listed more than once: {', '.join(repeated)}.")
        return events


class EventSerializer(serializers.Serializer):
    """One event of `core.events.EVENTS` (`GET /webhooks/events/`)."""

    name = serializers.CharField(help_text="As in a hook's `events`: `expense.created`.")
    description = serializers.CharField()


class WebhookSerializer(StrictSerializer):
    """A hook as every response but create and rotate shows it (no secret)."""

    id = serializers.IntegerField(read_only=True)
    url = serializers.URLField(
        max_length=URL_MAX_LENGTH,
        help_text="http(s) URL the deliveries are POSTed to. Its host must resolve to public "
        "addresses only (checked now and at every send), unless the server sets "
        "WEBHOOKS_ALLOW_PRIVATE.",
    )
    events = EventsField(help_text="The events this hook receives (docs/webhooks.md, Events).")
    description = serializers.CharField(
        required=False, allow_blank=True, max_length=DESCRIPTION_MAX_LENGTH
    )
    is_active = serializers.BooleanField(
        required=False,
        help_text="false: no deliveries are made. Setting true re-enables a disabled hook and "
        "clears its failures.",
    )
    secret_hint = serializers.CharField(
        read_only=True, help_text="The signing secret's last four characters."
    )
    previous_secret_expires_at = serializers.DateTimeField(
        source="previous_secret_until",
        read_only=True,
        allow_null=True,
        help_text="Until then deliveries are also signed with the secret replaced by the last "
        "rotation.",
    )
    disabled_at = serializers.DateTimeField(read_only=True, allow_null=True)
    disabled_reason = serializers.CharField(read_only=True)
    failing_since = serializers.DateTimeField(
        read_only=True,
        allow_null=True,
        help_text="The first failed attempt since the last success (null: not failing).",
    )
    consecutive_failures = serializers.IntegerField(read_only=True)
    last_success_at = serializers.DateTimeField(read_only=True, allow_null=True)
    last_failure_at = serializers.DateTimeField(read_only=True, allow_null=True)
    created_by = serializers.IntegerField(source="user_id", read_only=True, allow_null=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)


class WebhookWithSecretSerializer(WebhookSerializer):
    """A hook with its signing secret: the answer to create and to rotate-secret only."""

    secret = serializers.CharField(
        read_only=True,
        help_text="The signing secret (`whsec_…`). Shown only now: store it where the receiver "
        "can read it.",
    )


class AttemptSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    status_code = serializers.IntegerField(
        allow_null=True, help_text="The receiver's HTTP status; null when none came back."
    )
    duration_ms = serializers.IntegerField()
    error = serializers.CharField(help_text="Why the attempt failed; empty on success.")
    response_excerpt = serializers.CharField(
        help_text="The first 1 KB of the receiver's answer (UTF-8, invalid bytes replaced)."
    )


class DeliverySerializer(serializers.ModelSerializer):
    """One event sent (or to be sent) to one hook, with every attempt."""

    event = serializers.CharField(
        read_only=True,
        help_text=f"One of the declared events, or `{PING_EVENT}` for a test delivery.",
    )
    event_id = serializers.UUIDField(
        read_only=True,
        help_text="The event's id (`X-Webhook-Id`): the same in every hook's delivery of the "
        "event and in replays.",
    )
    attempts = AttemptSerializer(many=True, read_only=True)
    status = serializers.ChoiceField(choices=DeliveryStatus.choices, read_only=True)
    next_attempt_at = serializers.DateTimeField(
        read_only=True,
        allow_null=True,
        help_text="When the next attempt is due (pending), or when a worker's claim lapses "
        "(sending); null once finished.",
    )

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "webhook",
            "event",
            "event_id",
            "status",
            "attempt_count",
            "last_status_code",
            "last_duration_ms",
            "last_error",
            "last_attempt_at",
            "next_attempt_at",
            "attempts",
            "replay_of",
            "created_at",
        ]
        read_only_fields = fields


class DeliveryDetailSerializer(DeliverySerializer):
    """A delivery with the exact JSON body it sends (every attempt and replay sends it)."""

    body = serializers.CharField(
        read_only=True, help_text="The request body, byte for byte (JSON text)."
    )
    payload = serializers.SerializerMethodField(help_text="`body` parsed.")

    class Meta(DeliverySerializer.Meta):
        fields = [*DeliverySerializer.Meta.fields, "body", "payload"]
        read_only_fields = fields

    @extend_schema_field(
        {
            "type": "object",
            "properties": {
                "id": {"type": "string", "format": "uuid"},
                "event": {"type": "string"},
                "created_at": {"type": "string", "format": "date-time"},
                "book": {"type": "integer"},
                "data": {"type": "object", "additionalProperties": {}},
            },
        }
    )
    def get_payload(self, delivery: WebhookDelivery) -> dict[str, Any]:
        return json.loads(delivery.body)


def webhook_representation(webhook: Webhook, *, with_secret: bool = False) -> dict[str, Any]:
    serializer = WebhookWithSecretSerializer if with_secret else WebhookSerializer
    return serializer(webhook).data
