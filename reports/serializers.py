"""Report query parameters (validated, 400 naming the parameter) and response shapes."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from budgets.serializers import BudgetLineSerializer
from core.dates import MAX_DATE, MIN_DATE
from core.money import format_amount
from core.serializers import BoundedDateField, MonthField
from recurring.serializers import UpcomingBillSerializer

from .services import BUCKETS, KINDS, PERIODS, VIEW_BOOK, VIEWS

MAX_RANGE_DAYS = 366 * 100


# --- query parameters -----------------------------------------------------------------------


class ViewQuery(serializers.Serializer):
    view = serializers.ChoiceField(
        choices=VIEWS,
        default=VIEW_BOOK,
        help_text=(
            "Whose spending (shared books): `book` (default) the whole book's, `mine` only "
            "your parts of its expenses. Income and budgets stay the book's. A personal "
            "book's figures are the same either way."
        ),
        error_messages={
            "invalid_choice": f'"{{input}}" is not a view: use one of {", ".join(VIEWS)}.'
        },
    )


class DateRangeQuery(serializers.Serializer):
    start = BoundedDateField(required=False, help_text="First day (inclusive), YYYY-MM-DD.")
    end = BoundedDateField(required=False, help_text="Last day (inclusive), YYYY-MM-DD.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        start, end = attrs.get("start"), attrs.get("end")
        if (start is None) != (end is None):
            missing = "end" if end is None else "start"
            raise serializers.ValidationError({missing: ["Give both start and end."]})
        if start and end:
            if end < start:
                raise serializers.ValidationError({"end": ["end is before start."]})
            if (end - start).days > MAX_RANGE_DAYS:
                raise serializers.ValidationError(
                    {"end": ["The range may span at most 100 years."]}
                )
        return attrs


class SummaryQuery(DateRangeQuery, ViewQuery):
    period = serializers.ChoiceField(
        choices=PERIODS,
        required=False,
        help_text="A named range instead of start/end (default this_month).",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        if "period" in attrs and "start" in attrs:
            raise serializers.ValidationError(
                {"period": ["Give either period or start/end, not both."]}
            )
        return attrs


class MonthQuery(serializers.Serializer):
    month = MonthField(required=False, help_text="Budget month YYYY-MM (default: the current one).")


class ReportMonthQuery(MonthQuery, ViewQuery):
    pass


class YearQuery(ViewQuery):
    year = serializers.IntegerField(
        required=False, min_value=MIN_DATE.year, max_value=MAX_DATE.year
    )


class DashboardQuery(ViewQuery):
    include_shared = serializers.BooleanField(
        default=False,
        help_text=(
            "Personal book only: add `shared`, your parts of the expenses of every shared "
            "book you belong to this budget month, in this book's currency (on a shared "
            "book: 400, use `view=mine`)."
        ),
    )


class TimeseriesQuery(DateRangeQuery, ViewQuery):
    bucket = serializers.ChoiceField(choices=BUCKETS, default="day")
    kind = serializers.ChoiceField(choices=KINDS, default="expense")


def default_last_days(attrs: dict[str, Any], today: Any, days: int = 30) -> tuple[Any, Any]:
    if attrs.get("start"):
        return attrs["start"], attrs["end"]
    return today - timedelta(days=days - 1), today


# --- responses -------------------------------------------------------------------------------


@extend_schema_field(OpenApiTypes.STR)
class Money(serializers.Field):
    """A Decimal rendered with the report currency's minor units (string)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)

    def to_representation(self, value: Decimal) -> str:
        return format_amount(value, self.context["currency"])


def percent_field(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=30, decimal_places=2, read_only=True, **kwargs)


class CategoryShareSerializer(serializers.Serializer):
    category = serializers.IntegerField(allow_null=True, help_text="null: uncategorised")
    category_name = serializers.CharField()
    total = Money()
    percent = percent_field()
    count = serializers.IntegerField()


class MerchantSerializer(serializers.Serializer):
    merchant = serializers.CharField()
    total = Money()
    count = serializers.IntegerField()


class SummarySerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    currency = serializers.CharField()
    total_expenses = Money()
    total_income = Money()
    net = Money()
    savings_rate = percent_field(allow_null=True)
    expense_count = serializers.IntegerField()
    income_count = serializers.IntegerField()
    average_daily_expense = Money()
    by_category = CategoryShareSerializer(many=True)
    top_merchants = MerchantSerializer(many=True)


class MonthSummarySerializer(SummarySerializer):
    month = serializers.CharField()
    budget_total = Money(allow_null=True)
    budget_remaining = Money(allow_null=True)


class MonthTotalsSerializer(serializers.Serializer):
    month = serializers.CharField()
    income = Money()
    expenses = Money()
    net = Money()


class TotalsSerializer(serializers.Serializer):
    income = Money()
    expenses = Money()
    net = Money()


class MonthlySerializer(serializers.Serializer):
    year = serializers.IntegerField()
    currency = serializers.CharField()
    months = MonthTotalsSerializer(many=True)
    totals = TotalsSerializer()


class TrendItemSerializer(serializers.Serializer):
    category = serializers.IntegerField(allow_null=True)
    category_name = serializers.CharField()
    current = Money()
    previous = Money()
    delta = Money()
    percent_change = percent_field(allow_null=True)


class TrendsSerializer(serializers.Serializer):
    month = serializers.CharField()
    previous_month = serializers.CharField()
    currency = serializers.CharField()
    current_total = Money()
    previous_total = Money()
    delta = Money()
    percent_change = percent_field(allow_null=True)
    by_category = TrendItemSerializer(many=True)


class PointSerializer(serializers.Serializer):
    period_start = serializers.DateField()
    total = Money()
    count = serializers.IntegerField()


class TimeseriesSerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    bucket = serializers.ChoiceField(choices=BUCKETS)
    kind = serializers.ChoiceField(choices=KINDS)
    currency = serializers.CharField()
    points = PointSerializer(many=True)


class StatusCountsSerializer(serializers.Serializer):
    ok = serializers.IntegerField()
    warn = serializers.IntegerField()
    exceeded = serializers.IntegerField()


class BudgetOverviewSerializer(serializers.Serializer):
    overall = BudgetLineSerializer(allow_null=True)
    items = BudgetLineSerializer(many=True)
    counts = StatusCountsSerializer()


class GoalProgressSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    status = serializers.CharField()
    target_amount = Money()
    target_date = serializers.DateField(allow_null=True)
    saved_amount = Money()
    remaining = Money()
    percent = percent_field()
    on_track = serializers.BooleanField(allow_null=True)


class RecentTransactionSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["expense", "income"])
    id = serializers.IntegerField()
    date = serializers.DateField()
    description = serializers.CharField()
    amount = serializers.SerializerMethodField()
    currency = serializers.CharField()
    base_amount = Money()
    category_name = serializers.CharField(source="category__name", allow_null=True)

    @extend_schema_field(OpenApiTypes.STR)
    def get_amount(self, row: dict[str, Any]) -> str:
        return format_amount(row["amount"], row["currency"])


class SharedBookSerializer(serializers.Serializer):
    book = serializers.IntegerField()
    name = serializers.CharField()
    currency = serializers.CharField(help_text="The shared book's base currency.")
    share = serializers.SerializerMethodField(help_text="Your parts, in the book's currency.")
    share_in_base = Money(
        allow_null=True,
        help_text="`share` in the dashboard's currency; null when a day's rate is missing.",
    )
    unconverted = serializers.CharField(
        allow_null=True, help_text="Why `share_in_base` is null: the pair and the date."
    )

    @extend_schema_field(OpenApiTypes.STR)
    def get_share(self, row: dict[str, Any]) -> str:
        return format_amount(row["share"], row["currency"])


class SharedSharesSerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    total = Money(help_text="Your parts of every converted book, in the dashboard's currency.")
    total_expenses_with_shared = Money(
        help_text="`summary.total_expenses` plus `total`: this month's spending with your parts."
    )
    all_converted = serializers.BooleanField(help_text="False: some book is left out of total.")
    books = SharedBookSerializer(many=True)


class DashboardSerializer(serializers.Serializer):
    month = serializers.CharField()
    currency = serializers.CharField()
    summary = MonthSummarySerializer()
    budgets = BudgetOverviewSerializer()
    last_6_months = MonthTotalsSerializer(many=True)
    top_categories = CategoryShareSerializer(many=True)
    goals = GoalProgressSerializer(many=True)
    recent_transactions = RecentTransactionSerializer(many=True)
    upcoming_bills = UpcomingBillSerializer(many=True)
    shared = SharedSharesSerializer(
        required=False, help_text="Only with `include_shared=true` (personal books)."
    )
