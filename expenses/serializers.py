from __future__ import annotations

from typing import Any

from rest_framework import serializers

from core.serializers import MoneyField, StrictSerializer
from ledger.serializers import RecategorizeSerializer, TransactionSerializer

from .models import Expense, SplitMode
from .splits import split_representation

# More parts than any book has members is refused before any lookup.
MAX_SPLIT_PARTS = 200


class SplitPartSerializer(StrictSerializer):
    """One member's part: asked as `{user, value}`, answered with what it came to."""

    user = serializers.IntegerField(min_value=1, help_text="A member's user id.")
    value = MoneyField(
        required=False,
        help_text="shares: a positive weight (at most 1000000); exact: this member's "
        "amount in the expense currency (parts sum to the amount); percent: 0–100 (parts "
        "sum to 100); equal: not needed. At most 6 decimal places.",
    )
    amount = serializers.CharField(
        read_only=True, help_text="This member's part in the expense currency."
    )
    base_amount = serializers.CharField(
        read_only=True, help_text="This member's part in the book's base currency."
    )


class SplitSerializer(StrictSerializer):
    """How a shared-book expense divides among members (SPEC §15); the parts always sum
    exactly to the amount, odd cents by the documented rule (docs/api.md, "Splits")."""

    mode = serializers.ChoiceField(choices=SplitMode.choices)
    parts = SplitPartSerializer(
        many=True,
        required=False,
        max_length=MAX_SPLIT_PARTS,
        help_text=f"Each member at most once (at most {MAX_SPLIT_PARTS} parts); for `equal`, "
        "none means every current member.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # A PATCH makes nested fields optional too; a split is always sent whole.
        if "mode" not in attrs:
            raise serializers.ValidationError(
                {"mode": [serializers.ErrorDetail("This field is required.", code="required")]}
            )
        return attrs

    def to_representation(self, instance: Any) -> dict[str, Any] | None:
        return split_representation(instance)


class ExpenseSerializer(TransactionSerializer):
    kind = "expense"

    paid_by = serializers.IntegerField(
        source="paid_by_id",
        min_value=1,
        required=False,
        allow_null=True,
        help_text="Shared books: the user id of the member who paid (default: you; `null` "
        "or absent on an update keeps the payer). Always null in a personal book, where "
        "any other value is a 400.",
    )
    split = SplitSerializer(
        required=False,
        allow_null=True,
        help_text="Shared books: how the amount splits among members (default: the book's "
        "default split, else equal among all members). On an update, absent keeps the split "
        "(re-split for a new amount, currency or date) and `null` puts the expense back on "
        "the book's default split. Always null in a personal book, where a split is a 400.",
    )

    class Meta:
        model = Expense
        fields = [
            *TransactionSerializer.base_fields,
            "payment_method",
            "merchant",
            "paid_by",
            "split",
        ]
        extra_kwargs = {"merchant": {"trim_whitespace": True}}


class ExpenseRecategorizeSerializer(RecategorizeSerializer):
    kind = "expense"
