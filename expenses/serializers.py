from __future__ import annotations

from typing import Any, NamedTuple

from rest_framework import serializers

from core.serializers import MoneyField, StrictSerializer
from ledger.serializers import LeanList, RecategorizeSerializer, TransactionSerializer

from .models import Expense, ExpenseShare, SplitMode
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


class _Part(NamedTuple):
    user_id: int | None
    value: Any
    amount: Any
    base_amount: Any


class _Parts:
    def __init__(self, parts: list[_Part]) -> None:
        self.parts = parts

    def all(self) -> list[_Part]:
        return self.parts


class _SplitRow:
    """What `split_representation` reads of an expense, from a list row and its parts."""

    def __init__(self, row: dict[str, Any], book: Any, parts: list[_Part]) -> None:
        self.split_mode = row["split_mode"]
        self.currency = row["currency"]
        self.book = book
        self.shares = _Parts(parts)


class ExpenseLeanList(LeanList):
    """The expense list page without DRF's per-field work (see `LeanList`): the ledger's
    fields, then `payment_method`, `merchant`, `paid_by` and `split` (its parts read in
    one query, only when the page has split expenses: shared books)."""

    serializer_class = ExpenseSerializer
    extra_columns = ("payment_method", "merchant", "paid_by_id", "split_mode")

    def related(self, rows: list[dict[str, Any]]) -> dict[int, list[_Part]]:
        split = [row["id"] for row in rows if row["split_mode"]]
        parts: dict[int, list[_Part]] = {}
        if split:
            # The order of the `shares` prefetch: ExpenseShare's Meta ordering.
            shares = ExpenseShare.objects.filter(expense_id__in=split).values_list(
                "expense_id", "user_id", "value", "amount", "base_amount"
            )
            for expense_id, *part in shares:
                parts.setdefault(expense_id, []).append(_Part(*part))
        return parts

    def extra_fields(
        self, data: dict[str, Any], row: dict[str, Any], related: dict[int, list[_Part]]
    ) -> None:
        data["payment_method"] = row["payment_method"]
        data["merchant"] = row["merchant"]
        data["paid_by"] = row["paid_by_id"]
        data["split"] = (
            split_representation(_SplitRow(row, self.book, related.get(row["id"], [])))
            if row["split_mode"]
            else None
        )
