"""Budget input/output shapes; amounts are in the book's base currency (SPEC §14)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from books.scoping import BookPrimaryKeyRelatedField, request_book
from categories.models import Category, Kind
from core.money import amount_errors, decimal_places, format_amount
from core.serializers import (
    MoneyField,
    MonthField,
    StrictModelSerializer,
    StrictSerializer,
)
from ledger.serializers import AmountField

from .models import Budget, Scope


class BudgetSerializer(StrictModelSerializer):
    month = MonthField()
    scope = serializers.ChoiceField(choices=Scope.choices)
    category = BookPrimaryKeyRelatedField(
        queryset=Category.objects.all(), include_shared_rows=True, allow_null=True, required=False
    )
    category_name = serializers.CharField(
        source="category.name", read_only=True, default=None, allow_null=True
    )
    amount = AmountField()
    warn_threshold = MoneyField(
        required=False,
        help_text="Fraction in (0, 1] of the available amount at which status becomes 'warn' "
        "(at most 3 decimals).",
    )

    class Meta:
        model = Budget
        fields = [
            "id",
            "month",
            "scope",
            "category",
            "category_name",
            "amount",
            "rollover",
            "warn_threshold",
            "created_at",
            "updated_at",
        ]

    def to_representation(self, instance: Budget) -> dict[str, Any]:
        data = super().to_representation(instance)
        data["amount"] = format_amount(instance.amount, instance.book.base_currency)
        data["warn_threshold"] = format(instance.warn_threshold.quantize(Decimal("0.01")), "f")
        return data

    def validate_warn_threshold(self, value: Decimal) -> Decimal:
        if not Decimal(0) < value <= Decimal(1) or decimal_places(value) > 3:
            raise serializers.ValidationError("Must be a fraction in (0, 1], at most 3 decimals.")
        return value

    def validate_category(self, value: Category | None) -> Category | None:
        if value is not None and value.kind != Kind.EXPENSE:
            raise serializers.ValidationError("Budgets take an expense category.")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        instance = self.instance
        scope = attrs.get("scope", getattr(instance, "scope", None))
        category = attrs["category"] if "category" in attrs else getattr(instance, "category", None)
        if scope == Scope.CATEGORY and category is None:
            raise serializers.ValidationError({"category": ["Required when scope is 'category'."]})
        if scope == Scope.OVERALL and category is not None:
            raise serializers.ValidationError(
                {"category": ["Must be empty when scope is 'overall'."]}
            )
        if "amount" in attrs:
            book = request_book(self.context["request"])
            errors = amount_errors(attrs["amount"], book.base_currency)  # type: ignore[union-attr]
            if errors:
                raise serializers.ValidationError({"amount": errors})
        return attrs


class BudgetLineSerializer(serializers.Serializer):
    budget = serializers.IntegerField(source="budget.pk")
    scope = serializers.CharField(source="budget.scope")
    category = serializers.IntegerField(source="budget.category_id", allow_null=True)
    category_name = serializers.SerializerMethodField()
    amount = serializers.SerializerMethodField()
    rollover_in = serializers.SerializerMethodField()
    available = serializers.SerializerMethodField()
    spent = serializers.SerializerMethodField()
    remaining = serializers.SerializerMethodField()
    percent_used = serializers.DecimalField(max_digits=20, decimal_places=2)
    status = serializers.ChoiceField(choices=["ok", "warn", "exceeded"])

    def _money(self, value: Decimal) -> str:
        return format_amount(value, self.context["currency"])

    def get_category_name(self, line: Any) -> str | None:
        return line.budget.category.name if line.budget.category_id else None

    @extend_schema_field(OpenApiTypes.STR)
    def get_amount(self, line: Any) -> str:
        return self._money(line.budget.amount)

    @extend_schema_field(OpenApiTypes.STR)
    def get_rollover_in(self, line: Any) -> str:
        return self._money(line.rollover_in)

    @extend_schema_field(OpenApiTypes.STR)
    def get_available(self, line: Any) -> str:
        return self._money(line.available)

    @extend_schema_field(OpenApiTypes.STR)
    def get_spent(self, line: Any) -> str:
        return self._money(line.spent)

    @extend_schema_field(OpenApiTypes.STR)
    def get_remaining(self, line: Any) -> str:
        return self._money(line.remaining)


class BudgetStatusSerializer(serializers.Serializer):
    month = serializers.CharField()
    start = serializers.DateField(help_text="First day of the budget month.")
    end = serializers.DateField(help_text="Last day of the budget month.")
    currency = serializers.CharField()
    overall = BudgetLineSerializer(allow_null=True)
    items = BudgetLineSerializer(many=True)
    unbudgeted_spent = serializers.SerializerMethodField()

    @extend_schema_field(OpenApiTypes.STR)
    def get_unbudgeted_spent(self, data: dict[str, Any]) -> str:
        return format_amount(data["unbudgeted_spent"], data["currency"])


class BudgetStatusQuery(serializers.Serializer):
    month = MonthField(help_text="Budget month YYYY-MM (or a day YYYY-MM-DD in it).")


class BudgetCopySerializer(StrictSerializer):
    from_month = MonthField()
    to_month = MonthField()
    overwrite = serializers.BooleanField(default=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["from_month"] == attrs["to_month"]:
            raise serializers.ValidationError({"to_month": ["Must differ from from_month."]})
        return attrs


class BudgetCopyResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    skipped = serializers.IntegerField()
