"""Request and response shapes of books, members and invitations (SPEC §14)."""

from __future__ import annotations

from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.serializers import CurrencyCodeField, StrictModelSerializer, StrictSerializer

from . import services
from .models import BOOK_NAME_MAX_LENGTH, Book, Invitation, Membership, Role


class BookBaseCurrencyChangeSerializer(serializers.Serializer):
    """A base-currency change handed to the task queue (books over
    BASE_CURRENCY_SYNC_MAX_ROWS records); `error` says why a `failed` one changed nothing."""

    id = serializers.IntegerField(read_only=True)
    status = serializers.ChoiceField(
        choices=["queued", "running", "done", "failed"], read_only=True
    )
    from_currency = serializers.CharField(read_only=True)
    to_currency = serializers.CharField(read_only=True)
    error = serializers.CharField(read_only=True)


class BookListSerializer(serializers.ListSerializer):
    def to_representation(self, data: Any) -> list[Any]:
        books = list(data.all() if isinstance(data, models.manager.BaseManager) else data)
        services.base_currency_changes_attach(books=books)  # one query for the page
        return super().to_representation(books)


DEFAULT_SPLIT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "nullable": True,
    "description": (
        "How expenses that come without a split (imports, recurring items) are split in "
        "this shared book: null (shown, and stored, for `equal`: equally among the members "
        'at the time) or `{"mode": "shares", "parts": [{"user": 7, "value": "2"}]}` (fixed '
        "weights of members: > 0, at most 1000000, at most 6 decimals, each member once). "
        'Send null, `{"mode": "equal"}` or a shares split; owners only. A member who leaves '
        "leaves it (no parts left: equal). Personal books have none (400)."
    ),
    "properties": {
        "mode": {"type": "string", "enum": ["equal", "shares"]},
        "parts": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"user": {"type": "integer"}, "value": {"type": "string"}},
                "required": ["user", "value"],
            },
        },
    },
    "required": ["mode"],
}


@extend_schema_field(DEFAULT_SPLIT_SCHEMA)
class DefaultSplitField(serializers.JSONField):
    """Checked against the book's members by `services.book_update` (it needs the book)."""


class BookSerializer(StrictModelSerializer):
    base_currency = CurrencyCodeField(required=False)
    month_start_day = serializers.IntegerField(min_value=1, max_value=28, required=False)
    role = serializers.ChoiceField(choices=Role.choices, read_only=True)
    name = serializers.CharField(max_length=BOOK_NAME_MAX_LENGTH, trim_whitespace=True)
    base_currency_change = serializers.SerializerMethodField()
    default_split = DefaultSplitField(required=False, allow_null=True, encoder=DjangoJSONEncoder)

    class Meta:
        model = Book
        fields = [
            "id",
            "name",
            "kind",
            "base_currency",
            "month_start_day",
            "created_at",
            "role",
            "base_currency_change",
            "default_split",
        ]
        read_only_fields = ["id", "kind", "created_at", "role", "base_currency_change"]
        list_serializer_class = BookListSerializer

    def validate_default_split(self, value: Any) -> Any:
        if self.instance is None:
            raise serializers.ValidationError(
                "Set the default split once members have joined: PATCH /books/{id}/."
            )
        return value

    @extend_schema_field(BookBaseCurrencyChangeSerializer(allow_null=True))
    def get_base_currency_change(self, book: Book) -> dict[str, Any] | None:
        """The latest queued base-currency change (null if there never was one)."""
        if not hasattr(book, "base_currency_change"):
            services.base_currency_changes_attach(books=[book])
        change = book.base_currency_change  # type: ignore[attr-defined]
        return None if change is None else BookBaseCurrencyChangeSerializer(change).data


class MemberSerializer(StrictModelSerializer):
    user = serializers.IntegerField(source="user_id", read_only=True)
    username = serializers.CharField(source="user.username", read_only=True)
    email = serializers.EmailField(source="user.email", read_only=True)
    role = serializers.ChoiceField(choices=Role.choices)
    joined_at = serializers.DateTimeField(source="created_at", read_only=True)

    class Meta:
        model = Membership
        fields = ["user", "username", "email", "role", "joined_at"]


class InvitationSerializer(StrictModelSerializer):
    role = serializers.ChoiceField(choices=Role.choices)
    status = serializers.SerializerMethodField()

    class Meta:
        model = Invitation
        fields = ["id", "email", "role", "expires_at", "status", "created_at"]
        read_only_fields = ["id", "expires_at", "status", "created_at"]

    @extend_schema_field(
        serializers.ChoiceField(choices=["pending", "accepted", "revoked", "expired"])
    )
    def get_status(self, invitation: Invitation) -> str:
        if invitation.accepted_at is not None:
            return "accepted"
        if invitation.revoked_at is not None:
            return "revoked"
        return "expired" if invitation.expires_at <= timezone.now() else "pending"


class AcceptSerializer(StrictSerializer):
    token = serializers.CharField(max_length=200, trim_whitespace=True)
