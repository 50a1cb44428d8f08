"""Request and response shapes of settlements, balances and settle-up (SPEC §15).

Amounts are strings with their currency's minor units (`core.money.format_amount`);
balances and transfers are in the book's base currency.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rest_framework import serializers

from books.scoping import request_book
from core.dates import user_today
from core.money import format_amount
from core.serializers import BoundedDateField, CurrencyCodeField, MoneyField, StrictSerializer

from .models import Settlement


def _base_currency(context: dict[str, Any]) -> str:
    return getattr(request_book(context.get("request")), "base_currency", "") or ""


class SettlementSerializer(StrictSerializer):
    """A payment from one member to another; `from` and `to` are user ids. (`from` is a
    Python keyword, hence the fields set through `locals()`.)"""

    id = serializers.IntegerField(read_only=True)
    # Null in a response once that person's account is deleted; required in a request.
    locals()["from"] = serializers.IntegerField(
        source="from_user_id",
        min_value=1,
        allow_null=True,
        help_text="The member who paid (a user id); null once their account is deleted.",
    )
    locals()["to"] = serializers.IntegerField(
        source="to_user_id",
        min_value=1,
        allow_null=True,
        help_text="The member who was paid (a user id), not the same as `from`; null once "
        "their account is deleted.",
    )
    amount = MoneyField(help_text="Greater than 0, with at most the currency's minor units.")
    currency = CurrencyCodeField(
        required=False, help_text="ISO 4217; defaults to the book's base currency."
    )
    base_amount = serializers.SerializerMethodField(
        help_text="The amount in the book's base currency, at the latest rate on or before `date`."
    )
    exchange_rate = serializers.SerializerMethodField(
        help_text="The rate used: 1 unit of `currency` in the base currency."
    )
    date = BoundedDateField(required=False, help_text="Defaults to your today.")
    note = serializers.CharField(
        required=False, allow_blank=True, max_length=255, trim_whitespace=True
    )
    created_by = serializers.IntegerField(
        source="user_id", read_only=True, allow_null=True, help_text="The member who recorded it."
    )
    created_at = serializers.DateTimeField(read_only=True)

    def get_base_amount(self, settlement: Settlement) -> str:
        return format_amount(Decimal(settlement.base_amount), _base_currency(self.context))

    def get_exchange_rate(self, settlement: Settlement) -> str:
        return format(Decimal(settlement.exchange_rate).normalize(), "f")

    def to_representation(self, instance: Settlement) -> dict[str, Any]:
        data = super().to_representation(instance)
        data["amount"] = format_amount(Decimal(instance.amount), instance.currency)
        return data

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        missing = {
            name: ["A member's user id is required."]
            for name, source in (("from", "from_user_id"), ("to", "to_user_id"))
            if attrs.get(source) is None
        }
        if missing:
            raise serializers.ValidationError(missing)
        if "date" not in attrs:
            attrs["date"] = user_today(self.context["request"].user)
        return attrs

    def service_data(self) -> dict[str, Any]:
        """The validated body as `splits.services.settlement_create` takes it."""
        data = dict(self.validated_data)
        data["from_user"] = data.pop("from_user_id")
        data["to_user"] = data.pop("to_user_id")
        return data


class BalanceRowSerializer(serializers.Serializer):
    user = serializers.IntegerField(
        allow_null=True, help_text="The member's user id (null: a deleted account)."
    )
    username = serializers.CharField()
    paid = serializers.CharField(help_text="What they paid for the book's split expenses.")
    share = serializers.CharField(help_text="Their parts of those expenses.")
    settled_out = serializers.CharField(help_text="Settlements they paid.")
    settled_in = serializers.CharField(help_text="Settlements they received.")
    balance = serializers.CharField(
        help_text="paid − share + settled_out − settled_in: positive, they are owed; "
        "negative, they owe."
    )


class BalancesSerializer(serializers.Serializer):
    currency = serializers.CharField(help_text="The book's base currency: every figure's.")
    members = BalanceRowSerializer(many=True)


class TransferSerializer(serializers.Serializer):
    locals()["from"] = serializers.IntegerField(allow_null=True, help_text="Who pays (user id).")
    to = serializers.IntegerField(allow_null=True, help_text="Who is paid (user id).")
    amount = serializers.CharField(help_text="In the book's base currency.")


class SettleUpSerializer(serializers.Serializer):
    currency = serializers.CharField(help_text="The book's base currency.")
    transfers = TransferSerializer(many=True)


def balances_representation(book: Any, rows: list[dict[str, Any]]) -> dict[str, Any]:
    currency = book.base_currency
    figures = ("paid", "share", "settled_out", "settled_in", "balance")
    return {
        "currency": currency,
        "members": [
            {
                "user": row["user"],
                "username": row["username"],
                **{key: format_amount(row[key], currency) for key in figures},
            }
            for row in rows
        ],
    }


def settle_up_representation(book: Any, transfers: list[Any]) -> dict[str, Any]:
    currency = book.base_currency
    return {
        "currency": currency,
        "transfers": [
            {
                "from": transfer.from_user,
                "to": transfer.to_user,
                "amount": format_amount(transfer.amount, currency),
            }
            for transfer in transfers
        ],
    }
