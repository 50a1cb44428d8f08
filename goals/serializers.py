"""Request and response shapes of /goals/ and /goals/{id}/contributions/ (SPEC §9).

Amounts are in the base currency of the request's book (SPEC §14): accepted as JSON
strings or numbers, rendered as strings with the currency's minor units.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rest_framework import serializers

from books.scoping import request_book
from core.dates import user_today
from core.money import MAX_AMOUNT, amount_errors, format_amount
from core.serializers import BoundedDateField, MoneyField, StrictModelSerializer

from .models import Contribution, Goal, GoalStatus
from .selectors import GoalFigures, goal_figures


def _base_currency(context: dict[str, Any]) -> str | None:
    request = context.get("request")
    return getattr(request_book(request), "base_currency", None)


class BaseAmountField(MoneyField):
    """A decimal in the book's base currency through the project's strict number grammar
    (`core.money.parse_money`); rendered with the base currency's minor units."""

    def to_representation(self, value: Any) -> str:
        return format_amount(Decimal(value), _base_currency(self.context) or "")


class GoalSerializer(StrictModelSerializer):
    """A goal with its figures; `status` is writable only as `archived`, or `active`
    / `achieved` to un-archive (the figures then decide which of the two it is)."""

    name = serializers.CharField(max_length=100, trim_whitespace=True, allow_blank=False)
    target_amount = BaseAmountField()
    target_date = BoundedDateField(required=False, allow_null=True)
    notes = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    status = serializers.ChoiceField(choices=GoalStatus.choices, required=False)
    saved_amount = BaseAmountField(read_only=True, source="figures.saved_amount")
    remaining = BaseAmountField(read_only=True, source="figures.remaining")
    percent = serializers.DecimalField(
        max_digits=None,
        decimal_places=2,
        read_only=True,
        source="figures.percent",
        help_text="saved_amount / target_amount × 100, two decimals; may pass 100.",
    )
    required_monthly = BaseAmountField(
        read_only=True,
        allow_null=True,
        source="figures.required_monthly",
        help_text="What to save each whole month left to reach the target by target_date; "
        "null without a target_date.",
    )
    projected_completion = serializers.DateField(
        read_only=True,
        allow_null=True,
        source="figures.projected_completion",
        help_text="When the target is reached at the average net monthly contribution of the "
        "last 3 budget months; null when that average is 0 or less.",
    )
    on_track = serializers.BooleanField(
        read_only=True,
        allow_null=True,
        source="figures.on_track",
        help_text="projected_completion is on or before target_date; null without a target_date.",
    )

    class Meta:
        model = Goal
        fields = [
            "id",
            "name",
            "target_amount",
            "target_date",
            "notes",
            "status",
            "saved_amount",
            "remaining",
            "percent",
            "required_monthly",
            "projected_completion",
            "on_track",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]

    def validate_target_amount(self, value: Decimal) -> Decimal:
        errors = amount_errors(value, _base_currency(self.context) or "")
        if errors:
            raise serializers.ValidationError(errors)
        return value

    def to_representation(self, instance: Goal) -> dict[str, Any]:
        instance.figures = self._figures(instance)  # type: ignore[attr-defined]
        return super().to_representation(instance)

    def _figures(self, goal: Goal) -> GoalFigures:
        request = self.context["request"]
        today = self.context.get("today") or user_today(request.user)
        return goal_figures(goal=goal, today=today, currency=_base_currency(self.context) or "")


class ContributionSerializer(StrictModelSerializer):
    """A deposit (amount > 0) or withdrawal (amount < 0); `date` defaults to today."""

    amount = BaseAmountField(
        help_text="Positive to deposit, negative to withdraw; never 0. "
        "Base-currency decimals, at most 999999999999 either way."
    )
    date = BoundedDateField(required=False, help_text="Defaults to your today.")
    note = serializers.CharField(
        max_length=255, required=False, allow_blank=True, trim_whitespace=True
    )

    class Meta:
        model = Contribution
        fields = ["id", "amount", "date", "note", "created_at"]
        read_only_fields = ["id", "created_at"]

    def validate_amount(self, value: Decimal) -> Decimal:
        if value == 0:
            raise serializers.ValidationError("Amount must not be 0.")
        errors = amount_errors(abs(value), _base_currency(self.context) or "")
        if errors:
            # amount_errors speaks of a positive amount; say it for either sign.
            errors = [
                f"Amount must be between -{MAX_AMOUNT} and {MAX_AMOUNT}."
                if error.startswith("Amount must be at most")
                else error
                for error in errors
            ]
            raise serializers.ValidationError(errors)
        return value
