"""GET /ai/forecast/, /ai/cashflow/ and /ai/insights/ (SPEC §16): thin views over
`ai.forecast`, `ai.cashflow` and `ai.insights`, of the request's book (any member may read),
in its base currency and budget months, "today" being the reader's."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from books.scoping import BookScopedMixin
from core.dates import budget_month_of, user_today
from core.db_router import ReplicaReadsMixin
from core.money import format_amount
from core.schema import VALIDATION_ERROR
from core.serializers import MonthField

from .cashflow import DEFAULT_DAYS, MAX_DAYS, cashflow
from .forecast import forecast, forecast_payload
from .insights import insights

# --- query parameters ------------------------------------------------------------------------


class MonthQuery(serializers.Serializer):
    month = MonthField(required=False, help_text="Budget month YYYY-MM (default: the current one).")


class CashflowQuery(serializers.Serializer):
    days = serializers.IntegerField(
        required=False,
        default=DEFAULT_DAYS,
        min_value=1,
        max_value=MAX_DAYS,
        help_text=f"How many days after today to project (1-{MAX_DAYS}, default {DEFAULT_DAYS}).",
    )


def read_query(request: Request, serializer_class: type[serializers.Serializer]) -> dict[str, Any]:
    serializer = serializer_class(data=request.query_params, context={"request": request})
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


# --- responses -------------------------------------------------------------------------------


@extend_schema_field({"type": "string", "example": "1234.50"})
class Money(serializers.Field):
    """A Decimal rendered with the book currency's minor units (string)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)

    def to_representation(self, value: Decimal) -> str:
        return format_amount(value, self.context["currency"])


class ForecastTotalSerializer(serializers.Serializer):
    spent = Money(help_text="Spent from the month's first day to today (all of it, if past).")
    recurring_due = Money(help_text="Recurring bills still due this month.")
    expected = Money()
    low = Money()
    high = Money()


class ForecastCategorySerializer(ForecastTotalSerializer):
    category = serializers.IntegerField(allow_null=True, help_text="null: uncategorised")
    category_name = serializers.CharField()


class ForecastSerializer(serializers.Serializer):
    month = serializers.CharField()
    start = serializers.DateField()
    end = serializers.DateField()
    as_of = serializers.DateField(help_text="Your today: figures count records up to it.")
    currency = serializers.CharField()
    state = serializers.ChoiceField(choices=["past", "current", "future"])
    total = ForecastTotalSerializer()
    by_category = ForecastCategorySerializer(
        many=True,
        help_text="Each category's own forecast; their sum need not equal the total's "
        "(the total's typical rest is the median of whole months, not of each category).",
    )
    history_months = serializers.IntegerField(help_text="Complete months learned from.")
    method = serializers.CharField(help_text="How the figures were made, in words.")


class CashflowDaySerializer(serializers.Serializer):
    date = serializers.DateField()
    income = Money()
    expenses = Money()
    balance = Money(help_text="Running net from `start_balance`, this day included.")


class CashflowSerializer(serializers.Serializer):
    as_of = serializers.DateField()
    currency = serializers.CharField()
    start_balance = Money(help_text="Always 0: no account balance is recorded.")
    history_months = serializers.IntegerField()
    total_income = Money()
    total_expenses = Money()
    end_balance = Money()
    days = CashflowDaySerializer(many=True)
    method = serializers.CharField()


class InsightsForecastSerializer(serializers.Serializer):
    spent = Money()
    recurring_due = Money()
    expected = Money()
    low = Money()
    high = Money()
    typical_month = Money(allow_null=True, help_text="Median whole month; null without history.")
    method = serializers.CharField()


class BudgetOverSerializer(serializers.Serializer):
    category = serializers.IntegerField()
    category_name = serializers.CharField()
    budget = Money()
    expected = Money()
    over_by = Money()


class InsightsBudgetSerializer(serializers.Serializer):
    scope = serializers.ChoiceField(
        choices=["overall", "categories"],
        help_text="`overall`: the month's overall budget against the expected total; "
        "`categories`: the category budgets added up against their categories.",
    )
    amount = Money()
    expected = Money()
    difference = Money(help_text="expected − amount (negative: room left).")
    over = serializers.BooleanField()
    categories_over = BudgetOverSerializer(many=True)


class CategoryChangeSerializer(serializers.Serializer):
    category = serializers.IntegerField(allow_null=True)
    category_name = serializers.CharField()
    expected = Money()
    typical = Money()
    change = Money()
    change_percent = serializers.DecimalField(
        max_digits=12, decimal_places=1, allow_null=True, read_only=True
    )


class InsightsSerializer(serializers.Serializer):
    month = serializers.CharField()
    as_of = serializers.DateField()
    currency = serializers.CharField()
    forecast = InsightsForecastSerializer()
    budget = InsightsBudgetSerializer(allow_null=True)
    anomalies = serializers.IntegerField(
        allow_null=True, help_text="Unusual records and categories found this month."
    )
    categories = CategoryChangeSerializer(many=True)
    summary = serializers.CharField()
    tips = serializers.ListField(child=serializers.CharField())
    source = serializers.ChoiceField(
        choices=["rules", "llm"], help_text="Who wrote the summary and tips."
    )
    fallback = serializers.ChoiceField(
        choices=["timeout", "error", "invalid"],
        allow_null=True,
        help_text="Why the configured LLM's text was not used (null: it was, or none is set).",
    )


# --- views -----------------------------------------------------------------------------------


class InsightView(ReplicaReadsMixin, BookScopedMixin, APIView):
    """A read-only insight of the request's book (`self.book`); any member may read it.
    Read from the replica when there is a fresh one (core/db_router.py)."""

    def month_or_current(self, request: Request) -> tuple[int, int]:
        month = read_query(request, MonthQuery).get("month")
        if month is None:
            return budget_month_of(user_today(request.user), self.book.month_start_day)
        return month.year, month.month


def respond(serializer_class: type[serializers.Serializer], data: dict[str, Any]) -> Response:
    return Response(serializer_class(data, context={"currency": data["currency"]}).data)


class ForecastView(InsightView):
    @extend_schema(
        tags=["ai"],
        parameters=[MonthQuery],
        responses={200: ForecastSerializer, 400: VALIDATION_ERROR},
        summary="Month-end spending forecast with a low/high interval",
        description=(
            "The budget month's (`month`, default the current one) expected spending at its "
            "end, in total and per category: what is spent up to today, plus recurring bills "
            "still due, plus the typical rest of the month — the median, over the last 12 "
            "complete months, of what was spent outside recurring items in the same part of "
            "the month, with the 10th-90th percentiles as `low`/`high`. A past month is its "
            "actual spending (`low` = `high`); a future one is recurring bills plus a typical "
            "whole month. `method` says in words how the figures were made."
        ),
    )
    def get(self, request: Request, **kwargs: Any) -> Response:
        """The month-end forecast of a budget month."""
        year, month = self.month_or_current(request)
        result = forecast(book=self.book, year=year, month=month, as_of=user_today(request.user))
        return respond(ForecastSerializer, forecast_payload(result))


class CashflowView(InsightView):
    @extend_schema(
        tags=["ai"],
        parameters=[CashflowQuery],
        responses={200: CashflowSerializer, 400: VALIDATION_ERROR},
        summary="Daily projected balance for the next days",
        description=(
            "For each of the `days` days after today (1-366, default 90): projected income, "
            "projected expenses and the running balance. No account balance is recorded, so "
            "the balance starts at 0 (`start_balance`) and adds each day's net. Income: "
            "recurring income on its dates plus typical other income on the days of the month "
            "it usually arrives; expenses: recurring bills on their dates plus typical other "
            "spending spread evenly (medians of the last 12 complete months)."
        ),
    )
    def get(self, request: Request, **kwargs: Any) -> Response:
        """The projected daily cash flow."""
        days = read_query(request, CashflowQuery)["days"]
        return respond(
            CashflowSerializer,
            cashflow(book=self.book, days=days, today=user_today(request.user)),
        )


class InsightsView(InsightView):
    @extend_schema(
        tags=["ai"],
        parameters=[MonthQuery],
        responses={200: InsightsSerializer, 400: VALIDATION_ERROR},
        summary="A month summarised, with tips",
        description=(
            "The month's forecast (as `GET /ai/forecast/`) against its budget, the number of "
            "unusual records and categories (`GET /ai/anomalies/`), the categories furthest "
            "from their typical month, a one-sentence `summary` and short `tips`. The text is "
            "rule-based (`source: rules`); with an LLM configured (`AI_PROVIDER`) the LLM "
            "writes it from the same figures (`source: llm`), and when it times out or fails "
            "the rule-based text stands with `fallback` saying why."
        ),
    )
    def get(self, request: Request, **kwargs: Any) -> Response:
        """The month's insights and tips."""
        year, month = self.month_or_current(request)
        return respond(
            InsightsSerializer,
            insights(book=self.book, year=year, month=month, today=user_today(request.user)),
        )
