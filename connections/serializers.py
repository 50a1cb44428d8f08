"""Request/response shapes of /connections/ (SPEC §17). No serializer has a field for the
access URL: the secret cannot leave the server through the API."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from books.models import Book
from core.money import format_amount, is_currency
from core.serializers import StrictSerializer

from .models import (
    CONNECTION_NAME_MAX_LENGTH,
    Connection,
    ConnectionAccount,
    ConnectionKind,
    ConnectionStatus,
    SyncState,
)
from .services import SUMMARY_ERRORS_SHOWN, writable_books
from .simplefin import SETUP_TOKEN_MAX_LENGTH

BALANCE_SCHEMA = {"type": "string", "format": "decimal", "nullable": True, "example": "1520.35"}
SETUP_TOKEN_HELP = (
    "The setup token from your SimpleFIN Bridge (base64 text): it is claimed once, "
    "and only the resulting access is kept, encrypted."
)


class AccountSerializer(serializers.ModelSerializer):
    book = serializers.PrimaryKeyRelatedField(
        read_only=True,
        allow_null=True,
        help_text="The book this account's transactions are imported into; null: not imported.",
    )
    remote_id = serializers.CharField(read_only=True, help_text="The bridge's account id.")
    currency = serializers.CharField(
        read_only=True,
        help_text="ISO 4217 code as the bridge gives it (a URL for a custom currency, which "
        "cannot be imported).",
    )
    balance = serializers.SerializerMethodField(
        help_text="As of `balance_date`, in the account's currency; null when unknown."
    )
    available_balance = serializers.SerializerMethodField()
    synced_until = serializers.DateTimeField(
        read_only=True,
        allow_null=True,
        help_text="Imported up to here; the next sync starts SIMPLEFIN_OVERLAP_DAYS before.",
    )
    listed = serializers.BooleanField(
        read_only=True, help_text="Whether the bridge listed it at the last sync."
    )

    class Meta:
        model = ConnectionAccount
        fields = [
            "id",
            "remote_id",
            "name",
            "org_name",
            "org_domain",
            "currency",
            "balance",
            "available_balance",
            "balance_date",
            "book",
            "synced_until",
            "listed",
            "last_error",
            "last_error_code",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(BALANCE_SCHEMA)
    def get_balance(self, account: ConnectionAccount) -> str | None:
        return _amount(account.balance, account.currency)

    @extend_schema_field(BALANCE_SCHEMA)
    def get_available_balance(self, account: ConnectionAccount) -> str | None:
        return _amount(account.available_balance, account.currency)


def _amount(value: Decimal | None, currency: str) -> str | None:
    """With the currency's minor units (`1520.35`); as stored for a custom currency."""
    if value is None:
        return None
    if is_currency(currency):
        return format_amount(value, currency)
    return format(value.normalize(), "f")


class SyncErrorSerializer(serializers.Serializer):
    account = serializers.IntegerField(help_text="The account's id.")
    transaction = serializers.CharField(help_text="The bank's transaction id, when it has one.")
    message = serializers.CharField()


class SyncSummarySerializer(serializers.Serializer):
    """What the last successful sync did (empty before the first)."""

    accounts = serializers.IntegerField(help_text="Mapped accounts pulled.")
    requests = serializers.IntegerField(help_text="Requests made to the bridge.")
    expenses = serializers.IntegerField(help_text="Expenses stored.")
    incomes = serializers.IntegerField(help_text="Incomes stored.")
    duplicates = serializers.IntegerField(help_text="Transactions already imported (bank id).")
    possible_duplicates = serializers.IntegerField(
        help_text="Transactions skipped because they look like a record entered by hand."
    )
    rejected = serializers.IntegerField(help_text="Transactions that could not be imported.")
    pending = serializers.IntegerField(
        help_text="Pending transactions seen; they import once posted."
    )
    imports = serializers.ListField(
        child=serializers.IntegerField(),
        help_text="The import batches stored (see /imports/; each can be undone).",
    )
    errors = SyncErrorSerializer(
        many=True, help_text=f"Why transactions were rejected (the first {SUMMARY_ERRORS_SHOWN})."
    )


class ConnectionSerializer(serializers.ModelSerializer):
    kind = serializers.ChoiceField(choices=ConnectionKind.choices, read_only=True)
    status = serializers.ChoiceField(
        choices=ConnectionStatus.choices,
        read_only=True,
        help_text="`active`; `error`: the last sync failed (see `last_error`), the next "
        "retries; `revoked`: the bridge refused the access, reconnect with a new "
        "`setup_token` (scheduled syncs skip it until then).",
    )
    sync_state = serializers.ChoiceField(
        choices=SyncState.choices,
        read_only=True,
        help_text="`queued` or `running` while a sync is under way; poll until `idle`.",
    )
    last_error_code = serializers.CharField(
        read_only=True, help_text="Stable code of `last_error`; empty when the last sync worked."
    )
    last_sync = serializers.SerializerMethodField(
        help_text="What the last successful sync did; null before the first."
    )
    accounts = AccountSerializer(many=True, read_only=True)

    class Meta:
        model = Connection
        fields = [
            "id",
            "kind",
            "name",
            "status",
            "sync_state",
            "last_sync_at",
            "last_success_at",
            "last_error",
            "last_error_code",
            "last_sync",
            "accounts",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(SyncSummarySerializer(allow_null=True))
    def get_last_sync(self, connection: Connection) -> dict[str, Any] | None:
        summary = connection.last_sync_summary
        return SyncSummarySerializer(summary).data if summary else None


class ConnectionCreateSerializer(StrictSerializer):
    kind = serializers.ChoiceField(choices=ConnectionKind.choices)
    setup_token = serializers.CharField(
        max_length=SETUP_TOKEN_MAX_LENGTH, write_only=True, help_text=SETUP_TOKEN_HELP
    )
    name = serializers.CharField(
        max_length=CONNECTION_NAME_MAX_LENGTH,
        required=False,
        help_text="Default: SimpleFIN and the bridge's host.",
    )


class ConnectionUpdateSerializer(StrictSerializer):
    name = serializers.CharField(max_length=CONNECTION_NAME_MAX_LENGTH, required=False)
    setup_token = serializers.CharField(
        max_length=SETUP_TOKEN_MAX_LENGTH,
        write_only=True,
        required=False,
        help_text="Reconnect (e.g. after `revoked`): a new setup token replaces the access.",
    )


@extend_schema_field(OpenApiTypes.INT)
class WritableBookField(serializers.PrimaryKeyRelatedField):
    """A book the caller may add records to (editor or owner); any other id — another
    user's book, a book they only view — "does not exist"."""

    def get_queryset(self) -> Any:
        request = self.context.get("request")
        if request is None:
            return Book.objects.none()
        return writable_books(request.user)


class AccountMapSerializer(StrictSerializer):
    book = WritableBookField(
        allow_null=True,
        help_text="A book you are an editor or owner of; null stops importing the account.",
    )
