from __future__ import annotations

from typing import Any

from rest_framework import serializers

from core.serializers import MoneyField, StrictSerializer
from ledger.serializers import TransactionSerializer

from .models import Expense, SplitMode
from .splits import split_representation

# More parts than any book has members is refused before any lookup.
MAX_SPLIT_PARTS = 200


class SplitPartSerializer(StrictSerializer):
    user = serializers.IntegerField(min_value=1, help_text="A member's user id.")
    value = MoneyField(
        required=False,
        help_text="shares: a positive weight; exact: the amount in the expense currency; "
        "percent: 0–100 (parts sum to 100); equal: not needed.",
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
    parts = SplitPartSerializer(many=True, required=False, max_length=MAX_SPLIT_PARTS)

    def to_representation(self, instance: Any) -> dict[str, Any] | None:
        return split_representation(instance)


class ExpenseSerializer(TransactionSerializer):
    kind = "expense"

    paid_by = serializers.IntegerField(
        source="paid_by_id",
        min_value=1,
        required=False,
        help_text="Shared books: the member who paid (default: you). Null in a personal book.",
    )
    split = SplitSerializer(
        required=False,
        allow_null=True,
        help_text="Shared books: how the amount splits among members (default: the book's "
        "default split, else equal among all members). Null in a personal book; on update, "
        "null puts the expense back on the default split.",
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
