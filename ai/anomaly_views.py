"""`GET /ai/anomalies/` (SPEC §16): a budget month's unusual expenses and categories."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from books.scoping import BookScopedMixin
from core.dates import budget_month_of, format_month, user_today
from core.db_router import ReplicaReadsMixin
from core.money import format_amount
from core.schema import VALIDATION_ERROR
from core.serializers import MonthField

from . import anomalies
from .models import AnomalyKind


class AnomaliesQuery(serializers.Serializer):
    month = MonthField(
        required=False,
        help_text="Budget month YYYY-MM (or YYYY-MM-DD: that date's month); default the "
        "current one, from the book's `month_start_day` and your today.",
    )


class AnomalySerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=AnomalyKind.choices)
    id = serializers.IntegerField(help_text="The expense's id, or the category's.")
    score = serializers.FloatField(
        help_text="How unusual: a robust z-score (deviations of 1.4826·MAD above the "
        "typical amount), comparable across kinds; alerts start near 3.5–5."
    )
    reason = serializers.CharField(help_text="One sentence with the figures.")
    reason_code = serializers.ChoiceField(
        choices=[
            anomalies.Reason.MERCHANT_SPIKE,
            anomalies.Reason.NEW_MERCHANT,
            anomalies.Reason.DUPLICATE,
            anomalies.Reason.CATEGORY_MONTH,
        ]
    )
    date = serializers.DateField(allow_null=True, help_text="The expense's date (expenses).")
    amount = serializers.CharField(
        help_text="The expense's amount, or the category's month total, in the book's "
        "base currency."
    )
    expected = serializers.CharField(
        allow_null=True,
        help_text="The typical amount it is compared with (null for a duplicate).",
    )
    merchant = serializers.CharField(allow_null=True)
    description = serializers.CharField(allow_null=True)
    category = serializers.IntegerField(allow_null=True)
    category_name = serializers.CharField(allow_null=True)
    data = serializers.DictField(
        help_text="Detector details: `ratio`, `history` and `largest_before` (merchant), "
        "`percentile_95` "
        "(new merchant), `duplicate_of` and `duplicate_of_date` (the earlier expense), "
        "`typical_month`, `same_month_last_year` and `months` (category)."
    )


class AnomaliesSerializer(serializers.Serializer):
    month = serializers.CharField()
    currency = serializers.CharField()
    count = serializers.IntegerField()
    results = AnomalySerializer(many=True)


EXAMPLE = {
    "month": "2026-03",
    "currency": "USD",
    "count": 2,
    "results": [
        {
            "kind": "expense",
            "id": 4812,
            "score": 21.5,
            "reason": "three times the usual amount for Harbor Cafe: 45.00 USD against a "
            "typical 15.00 USD over 18 earlier charges.",
            "reason_code": "merchant_spike",
            "date": "2026-03-14",
            "amount": "45.00",
            "expected": "15.00",
            "merchant": "Harbor Cafe",
            "description": "Team breakfast",
            "category": 3,
            "category_name": "Food & Dining",
            "data": {"ratio": 3.0, "history": 18},
        },
        {
            "kind": "category",
            "id": 5,
            "score": 4.2,
            "reason": "Shopping is far above its typical month: 900.00 USD against a typical "
            "310.00 USD (same month last year 280.00 USD).",
            "reason_code": "category_month_high",
            "date": None,
            "amount": "900.00",
            "expected": "310.00",
            "merchant": None,
            "description": None,
            "category": 5,
            "category_name": "Shopping",
            "data": {"typical_month": "310.00", "same_month_last_year": "280.00", "months": 12},
        },
    ],
}


def _item(finding: anomalies.Finding) -> dict[str, Any]:
    currency = finding.currency
    return {
        "kind": finding.kind,
        "id": finding.subject_id,
        "score": finding.score,
        "reason": finding.reason,
        "reason_code": finding.reason_code,
        "date": finding.date,
        "amount": format_amount(finding.amount, currency),
        "expected": None if finding.expected is None else format_amount(finding.expected, currency),
        "merchant": finding.merchant,
        "description": finding.description,
        "category": finding.category_id,
        "category_name": finding.category_name,
        "data": finding.data,
    }


class AnomaliesView(ReplicaReadsMixin, BookScopedMixin, APIView):
    """Any member of the book may read its anomalies (from a fresh replica, if any)."""

    @extend_schema(
        tags=["ai"],
        parameters=[AnomaliesQuery],
        responses={200: AnomaliesSerializer, 400: VALIDATION_ERROR},
        examples=[OpenApiExample("A month with two anomalies", value=EXAMPLE, response_only=True)],
        summary="Unusual expenses and categories of a budget month",
        description=(
            "The book's unusual spending in budget month `month` (default the current one), "
            "the most unusual first, found by robust statistics over the book's own "
            "history: an expense far above its merchant's usual amount (median and MAD of "
            "its charges in the year before the month, at least 4 of them; or a record: at "
            "least 3× the median and above every one of at least 12 earlier charges), a new "
            "merchant "
            "with a large charge (at least the book's 95th-percentile expense), a possible "
            "duplicate (same amount and merchant within 2 days, not from a recurring item, "
            "unless the merchant's history already repeats that amount within days, like a "
            "daily fare), "
            "and a category whose month is far above its typical month (median of its last "
            "12 months, or the same month last year when higher). `id` is the expense's or "
            "the category's; amounts are in the book's base currency. Computed on request, "
            "so it needs no AI server. Each new anomaly is also told once as an "
            "`unusual_spending` notification (one summary per import)."
        ),
    )
    def get(self, request: Request, **kwargs: Any) -> Response:
        """The budget month's anomalies, most unusual first."""
        query = AnomaliesQuery(data=request.query_params, context={"request": request})
        query.is_valid(raise_exception=True)
        month = query.validated_data.get("month")
        if month is None:
            year, number = budget_month_of(user_today(request.user), self.book.month_start_day)
        else:
            year, number = month.year, month.month
        findings = anomalies.month_anomalies(book=self.book, year=year, month=number)
        data = {
            "month": format_month(year, number),
            "currency": self.book.base_currency,
            "count": len(findings),
            "results": [_item(f) for f in findings],
        }
        return Response(AnomaliesSerializer(data).data)
