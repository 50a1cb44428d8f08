"""Request/response shapes of /notifications/ (SPEC §12)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from core.serializers import StrictSerializer

from .models import Notification, NotificationKind
from .services import PREFERENCE_FLAGS


class NotificationSerializer(serializers.ModelSerializer):
    """Read-only: notifications are created by the system, never through the API."""

    kind = serializers.ChoiceField(choices=NotificationKind.choices, read_only=True)
    data = serializers.DictField(
        read_only=True,
        help_text="Kind-specific details, e.g. the budget or goal id and amounts.",
    )
    read_at = serializers.DateTimeField(
        read_only=True, allow_null=True, help_text="When it was first marked read; null: unread."
    )

    class Meta:
        model = Notification
        fields = ["id", "kind", "title", "body", "data", "read_at", "created_at"]
        read_only_fields = fields


class StrictBooleanField(serializers.BooleanField):
    """Only JSON `true`/`false`; DRF's BooleanField would also take "yes", 1 or "on"."""

    default_error_messages = {"invalid": "Must be true or false."}

    def to_internal_value(self, data: Any) -> bool:
        if isinstance(data, bool):
            return data
        self.fail("invalid")


class NotificationChannelsSerializer(StrictSerializer):
    """Where one kind of notification goes."""

    unknown_field_message = f"Unknown setting; use {' or '.join(PREFERENCE_FLAGS)}."

    in_app = StrictBooleanField(help_text="Show it in the in-app list.")
    email = StrictBooleanField(help_text="Email it to the account's address.")


class NotificationPreferencesSerializer(StrictSerializer):
    """Every kind's channels. PATCH takes any subset of kinds, each with any subset of flags."""

    unknown_field_message = (
        f"Unknown notification kind; use one of: {', '.join(NotificationKind.values)}."
    )

    def get_fields(self) -> dict[str, serializers.Field]:
        # One field per kind, so the OpenAPI schema lists every kind exactly; passing
        # `partial` down documents PATCH's "any subset of flags" in the nested object too.
        return {
            kind.value: NotificationChannelsSerializer(
                help_text=f"{kind.label}.", partial=self.partial
            )
            for kind in NotificationKind
        }

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        return {kind: dict(flags) for kind, flags in attrs.items()}


class ReadAllResultSerializer(serializers.Serializer):
    updated = serializers.IntegerField(help_text="How many notifications were newly marked read.")


class UnreadCountSerializer(serializers.Serializer):
    unread = serializers.IntegerField(help_text="Unread notifications in your in-app list.")
