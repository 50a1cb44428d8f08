"""Request and response shapes of /recurring/ (SPEC §12).

`amount` is in the item's own `currency` (default: the book's base currency), a
JSON string or number in, a string with the currency's minor units out.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from books.scoping import BookPrimaryKeyRelatedField, request_book
from categories.models import Category, Kind
from core.dates import MAX_DATE, user_today
from core.money import amount_errors, format_amount
from core.serializers import BoundedDateField, CurrencyCodeField, StrictModelSerializer
from expenses.models import PaymentMethod
from ledger.serializers import AmountField

from .models import MAX_INTERVAL, MAX_REMIND_DAYS_BEFORE, Frequency, RecurringItem
from .selectors import next_date

MAX_UPCOMING_DAYS = 366
MAX_RANGE_DAYS = 3660
DEFAULT_RANGE_DAYS = 365
# Kind's values with this app's own labels, so the schema gets its own RecurringItemKindEnum
# instead of colliding with the categories' enum of the same name.
ITEM_KINDS = [(Kind.EXPENSE.value, "Expense (a bill)"), (Kind.INCOME.value, "Income")]


class RecurringItemSerializer(StrictModelSerializer):
    """A recurring bill (`kind: expense`) or income, with its next due date."""

    kind = serializers.ChoiceField(choices=ITEM_KINDS)
    amount = AmountField()
    currency = CurrencyCodeField(
        max_length=3, required=False, help_text="ISO 4217; defaults to the book's base currency."
    )
    description = serializers.CharField(max_length=255, trim_whitespace=True, allow_blank=False)
    category = BookPrimaryKeyRelatedField(
        queryset=Category.objects.all(),
        include_shared_rows=True,
        allow_null=True,
        required=False,
        help_text="A category of the book or a system one, of the item's kind.",
    )
    category_name = serializers.CharField(
        source="category.name", read_only=True, default=None, allow_null=True
    )
    merchant = serializers.CharField(
        max_length=255,
        required=False,
        allow_blank=True,
        trim_whitespace=True,
        help_text="Expenses: the merchant. Income: the payer (becomes the income's `source`).",
    )
    payment_method = serializers.ChoiceField(
        choices=PaymentMethod.choices,
        required=False,
        help_text="Expenses only (default `other`); income items are always `other`.",
    )
    frequency = serializers.ChoiceField(choices=Frequency.choices)
    interval = serializers.IntegerField(
        min_value=1,
        max_value=MAX_INTERVAL,
        required=False,
        help_text="Every `interval` days/weeks/months/years (default 1).",
    )
    start_date = BoundedDateField(
        help_text="First occurrence; its day of the month is kept (29th-31st fall on the "
        "last day of shorter months)."
    )
    end_date = BoundedDateField(
        required=False, allow_null=True, help_text="No occurrence after this date (inclusive)."
    )
    remind_days_before = serializers.IntegerField(
        min_value=0,
        max_value=MAX_REMIND_DAYS_BEFORE,
        required=False,
        allow_null=True,
        help_text="Expenses: a `bill_due` notification this many days before each due date "
        "(0 = on the day); null for none.",
    )
    next_date = serializers.SerializerMethodField(
        help_text="The first occurrence on or after your today; null when inactive or ended."
    )

    class Meta:
        model = RecurringItem
        fields = [
            "id",
            "kind",
            "amount",
            "currency",
            "description",
            "category",
            "category_name",
            "merchant",
            "payment_method",
            "frequency",
            "interval",
            "start_date",
            "end_date",
            "next_date",
            "auto_create",
            "remind_days_before",
            "active",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]

    def _today(self) -> date:
        today = self.context.get("today")
        if today is None:
            today = user_today(self.context["request"].user)
            self.context["today"] = today
        return today

    @extend_schema_field(serializers.DateField(allow_null=True))
    def get_next_date(self, obj: RecurringItem) -> date | None:
        return next_date(obj, today=self._today())

    def to_representation(self, instance: RecurringItem) -> dict[str, Any]:
        data = super().to_representation(instance)
        data["amount"] = format_amount(instance.amount, instance.currency)
        return data

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        instance = self.instance

        def current(field: str) -> Any:
            return attrs[field] if field in attrs else getattr(instance, field, None)

        errors: dict[str, list[str]] = {}
        kind = current("kind")
        category = current("category")
        if category is not None and category.kind != kind:
            errors["category"] = [f"Choose a category of kind '{kind}'."]
        if kind == Kind.INCOME and attrs.get("payment_method", PaymentMethod.OTHER) != (
            PaymentMethod.OTHER
        ):
            errors["payment_method"] = ["Only expense items have a payment method."]
        start, end = current("start_date"), current("end_date")
        if start is not None and end is not None and end < start:
            errors["end_date"] = ["end_date is before start_date."]
        if "amount" in attrs or "currency" in attrs:
            book = request_book(self.context["request"])
            currency = current("currency") or getattr(book, "base_currency", "")
            problems = amount_errors(current("amount"), currency)
            if problems:
                errors["amount"] = problems
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


# A recurring expense's due date: the dashboard's `upcoming_bills` (reports).
class UpcomingBillSerializer(serializers.Serializer):
    recurring = serializers.IntegerField()
    date = serializers.DateField()
    description = serializers.CharField()
    amount = serializers.CharField()
    currency = serializers.CharField()
    category = serializers.IntegerField(allow_null=True)
    category_name = serializers.CharField(allow_null=True)


class UpcomingOccurrenceSerializer(UpcomingBillSerializer):
    """One due date of one of your items (the dashboard's `upcoming_bills` plus `kind`)."""

    recurring = serializers.IntegerField(help_text="The recurring item's id.")
    amount = serializers.CharField(help_text="In `currency`, with its minor units.")
    kind = serializers.CharField(help_text="`expense` or `income`.")


class UpcomingQuerySerializer(serializers.Serializer):
    days = serializers.IntegerField(
        min_value=1,
        max_value=MAX_UPCOMING_DAYS,
        required=False,
        default=30,
        help_text=f"Look this many days ahead of today (1-{MAX_UPCOMING_DAYS}, default 30).",
    )
    kind = serializers.ChoiceField(choices=Kind.choices, required=False)


class OccurrenceRangeSerializer(serializers.Serializer):
    """`start` defaults to the user's today (context `today`), `end` to a year after it."""

    start = BoundedDateField(required=False, help_text="From (default: your today).")
    end = BoundedDateField(
        required=False, help_text="Up to, inclusive (default: start + 365 days)."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        start = attrs.get("start") or self.context["today"]
        end = attrs.get("end")
        if end is None:
            end = min(start, MAX_DATE - timedelta(days=DEFAULT_RANGE_DAYS)) + timedelta(
                days=DEFAULT_RANGE_DAYS
            )
        if end < start:
            raise serializers.ValidationError({"end": ["end is before start."]})
        if (end - start).days > MAX_RANGE_DAYS:
            raise serializers.ValidationError(
                {"end": [f"At most {MAX_RANGE_DAYS} days after start."]}
            )
        return {"start": start, "end": end}


class OccurrenceSerializer(serializers.Serializer):
    """A date of the item's schedule in the range, or one a job acted on."""

    date = serializers.DateField()
    expense = serializers.IntegerField(
        allow_null=True, help_text="The expense recorded for this date, while it exists."
    )
    income = serializers.IntegerField(
        allow_null=True, help_text="The income recorded for this date, while it exists."
    )
    recorded_at = serializers.DateTimeField(
        allow_null=True, help_text="When the transaction for this date was recorded; null if not."
    )
    reminded_at = serializers.DateTimeField(
        allow_null=True, help_text="When the bill reminder for this date was sent."
    )
    scheduled = serializers.BooleanField(
        help_text="False for a date recorded under an earlier schedule of the item."
    )
