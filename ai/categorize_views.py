"""`POST /ai/categorize/` (SPEC §16): suggested categories for a description, per book.

A question, not a write: any member of the book may ask (viewers too), and nothing is
stored. The answer is `ai.categorize.categorize`'s.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from books.models import Role
from books.scoping import BookScopedMixin
from core.money import amount_errors
from core.schema import VALIDATION_ERROR, request_example
from core.serializers import MoneyField, StrictSerializer

from .categorize import SOURCE_LLM, SOURCE_MODEL, SOURCE_NONE, SOURCE_RULES, categorize
from .models import RecordKind

# RecordKind's values with labels of its own, so the schema gets its own enum instead of
# colliding with the categories' enum of the same field name (as recurring's does).
KINDS = [
    (RecordKind.EXPENSE.value, "Among expense categories"),
    (RecordKind.INCOME.value, "Among income categories"),
]


class CategorizeInput(StrictSerializer):
    description = serializers.CharField(max_length=255, help_text="The record's description.")
    merchant = serializers.CharField(
        max_length=255,
        required=False,
        allow_blank=True,
        default="",
        help_text="Merchant (expenses) or payer (income), if known.",
    )
    amount = MoneyField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Amount in the book's base currency, if known (a decimal string).",
    )
    kind = serializers.ChoiceField(choices=KINDS, help_text="Which categories to choose among.")

    def validate_amount(self, amount: Any) -> Any:
        book = self.context["request"].book
        if amount is not None and (errors := amount_errors(amount, book.base_currency)):
            raise serializers.ValidationError(errors)
        return amount


class SuggestionSerializer(serializers.Serializer):
    category = serializers.IntegerField(help_text="Category id (the book's own or a system one).")
    category_name = serializers.CharField()
    confidence = serializers.FloatField(help_text="0 to 1, rounded to 3 decimals.")


class CategorizeOutput(serializers.Serializer):
    suggestions = SuggestionSerializer(many=True, help_text="Up to three, best first.")
    source = serializers.ChoiceField(
        choices=[SOURCE_RULES, SOURCE_MODEL, SOURCE_LLM, SOURCE_NONE],
        help_text=(
            "`rules`: the book's rules (or, in a new book, built-in keywords: see `rationale`); "
            "`model`: the book's learned model; `llm`: the local language model broke a tie; "
            "`none`: no suggestion."
        ),
    )
    rationale = serializers.CharField(help_text="Why, in one sentence.")
    fallback = serializers.ChoiceField(
        choices=["timeout", "error", "invalid"],
        allow_null=True,
        help_text="Set when the language model was asked but failed: its answer is replaced "
        "by the learned model's.",
    )


class CategorizeView(BookScopedMixin, APIView):
    # Asking writes nothing: a viewer may ask too.
    write_role = Role.VIEWER

    @extend_schema(
        tags=["ai"],
        request=CategorizeInput,
        responses={200: CategorizeOutput, 400: VALIDATION_ERROR},
        summary="Suggest categories for a description",
        description=(
            "Up to three categories for a record of `kind` with this `description` (and "
            "`merchant`, `amount` in the book's base currency, when known), best first with a "
            "confidence from 0 to 1. The book's own categorisation rules win (`source: rules`); "
            "then the book's model, learned from its own categorised records and refreshed by a "
            "daily job (`model`); a book with too few records for a model gets built-in keyword "
            "matches on category names (`rules`, said in `rationale`) or nothing (`none`). "
            "With a local LLM configured (`AI_PROVIDER`), a near tie between the model's top two "
            "is broken by it (`llm`); if it times out or fails, the model's answer stands and "
            "`fallback` says why. Only the book's categories and the system ones are suggested. "
            "Nothing is written; any member of the book may ask."
        ),
        examples=[
            request_example(
                {
                    "description": "SQ *COFFEE 1234",
                    "merchant": "Blue Bottle",
                    "amount": "4.50",
                    "kind": "expense",
                }
            )
        ],
    )
    def post(self, request: Request, **kwargs: Any) -> Response:
        """Suggested categories for a description (see the schema description)."""
        serializer = CategorizeInput(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        answer = categorize(
            book=self.book,
            kind=data["kind"],
            description=data["description"],
            merchant=data["merchant"],
            amount=data["amount"],
        )
        return Response(CategorizeOutput(answer).data)
