"""/recurring/: a book's recurring bills and income, what is coming up, and each
item's occurrences (SPEC §12). Views validate and delegate."""

from __future__ import annotations

from datetime import date
from functools import cached_property
from typing import Any

from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from books.scoping import BookScopedMixin
from core.dates import user_today
from core.filters import StrictOrderingFilter
from core.schema import NOT_FOUND, VALIDATION_ERROR, crud_schema, request_example

from . import selectors, services
from .filters import RecurringItemFilter
from .models import RecurringItem
from .serializers import (
    OccurrenceRangeSerializer,
    OccurrenceSerializer,
    RecurringItemSerializer,
    UpcomingOccurrenceSerializer,
    UpcomingQuerySerializer,
)

RECURRING = {
    "kind": "expense",
    "amount": "950.00",
    "currency": "EUR",
    "description": "Rent",
    "category": 3,
    "merchant": "Main Street Lettings",
    "payment_method": "bank_transfer",
    "frequency": "monthly",
    "interval": 1,
    "start_date": "2026-04-01",
    "end_date": None,
    "auto_create": True,
    "remind_days_before": 3,
    "active": True,
}
SCHEDULE = (
    "Every `interval` days, weeks, months or years from `start_date` (a 29th–31st falls on "
    "a shorter month's last day) until `end_date`. With `auto_create` the expense or income "
    "is recorded on each due date by the scheduled jobs; `remind_days_before` sends a "
    "`bill_due` notification ahead of an expense."
)


@crud_schema(
    RecurringItemSerializer,
    docs={
        "list": (
            "List your recurring bills and income",
            "Newest first, each with its `next_date`. Filters `kind`, `active`, `frequency`, "
            "`auto_create`; `ordering` by `start_date`, `amount`, `description`, "
            "`created_at`. What falls due soon: `GET /recurring/upcoming/`.",
        ),
        "create": (
            "Create a recurring bill or income",
            SCHEDULE + " `currency` defaults to your base currency; `category` must have the "
            "item's kind; only expense items have a `payment_method`.",
        ),
        "retrieve": (
            "Get a recurring item",
            "One of your items with its `next_date`; its history is at "
            "`GET /recurring/{id}/occurrences/`.",
        ),
        "update": (
            "Replace a recurring item",
            SCHEDULE + " Records already created stay; a changed schedule applies from now on.",
        ),
        "partial_update": (
            "Change some fields of a recurring item",
            "Only the fields sent change; `active: false` pauses the item, and switching it "
            "back on does not backfill the dates missed meanwhile.",
        ),
        "destroy": (
            "Delete a recurring item",
            "The expenses and income it created stay.",
        ),
    },
    examples={
        "create": [request_example(RECURRING)],
        "update": [request_example(RECURRING)],
        "partial_update": [request_example({"amount": "980.00", "remind_days_before": 5})],
    },
)
class RecurringItemViewSet(BookScopedMixin, viewsets.ModelViewSet):
    """The book's recurring bills (`kind: expense`) and income (the caller's personal
    book on the top-level path, the book of `/books/{book_id}/recurring/` there).

    Filters `kind`, `active`, `frequency`, `auto_create`; `ordering` by `start_date`,
    `amount`, `description`, `created_at` (default newest first).
    """

    queryset = RecurringItem.objects.all()
    serializer_class = RecurringItemSerializer
    filter_backends = [DjangoFilterBackend, StrictOrderingFilter]
    filterset_class = RecurringItemFilter
    ordering_fields = ["start_date", "amount", "description", "created_at"]
    ordering = ["-created_at", "-id"]

    @cached_property
    def today(self) -> date:
        return user_today(self.request.user)

    def safely_get_queryset(self, queryset: QuerySet) -> QuerySet:
        return queryset.select_related("category")

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()
        if self.request is not None and self.request.user.is_authenticated:
            context["today"] = self.today
        return context

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        serializer.instance = services.recurring_create(
            book=self.book, user=self.request.user, data=serializer.validated_data
        )

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        serializer.instance = services.recurring_update(
            item=serializer.instance, data=serializer.validated_data
        )

    def perform_destroy(self, instance: RecurringItem) -> None:
        services.recurring_delete(item=instance)

    @extend_schema(
        parameters=[UpcomingQuerySerializer],
        responses={200: UpcomingOccurrenceSerializer(many=True), 400: VALIDATION_ERROR},
        summary="What falls due in the coming days",
        description=(
            "Every occurrence of your active items from today (your time zone) to `days` "
            "ahead (inclusive, default 30), by date then description; `kind` narrows to "
            "bills or income. Paginated like any list."
        ),
    )
    @action(detail=False, methods=["get"], filter_backends=[])
    def upcoming(self, request: Request, **kwargs: Any) -> Response:
        """Every occurrence of your active items from today to `days` ahead (inclusive),
        by date, then description. Paginated like any list."""
        query = UpcomingQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        rows = selectors.upcoming_occurrences(
            book=self.book,
            days=query.validated_data["days"],
            kind=query.validated_data.get("kind"),
            today=self.today,
        )
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(UpcomingOccurrenceSerializer(page, many=True).data)

    @extend_schema(
        parameters=[OccurrenceRangeSerializer],
        responses={
            200: OccurrenceSerializer(many=True),
            400: VALIDATION_ERROR,
            404: NOT_FOUND,
        },
        summary="A recurring item's dates and what was recorded for them",
        description=(
            "The item's dates between `start` (default today) and `end` (default 365 days "
            "later; at most 3660 days apart), each with the expense or income recorded for "
            "it and when its reminder was sent. Paginated."
        ),
    )
    @action(detail=True, methods=["get"], filter_backends=[])
    def occurrences(self, request: Request, pk: str | None = None, **kwargs: Any) -> Response:
        """The item's dates between `start` and `end` (at most 3660 days apart), each with
        the expense/income recorded for it and when its reminder was sent. Paginated."""
        item = self.get_object()
        query = OccurrenceRangeSerializer(data=request.query_params, context={"today": self.today})
        query.is_valid(raise_exception=True)
        rows = selectors.occurrence_log(item, **query.validated_data)
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(OccurrenceSerializer(page, many=True).data)
