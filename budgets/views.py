"""/budgets/: CRUD with upsert on POST, monthly status, and copy between months.

Served for the caller's personal book at the top level and for any book they belong to
under /books/{book_id}/ (SPEC §14): `BookScopedMixin` decides which budgets a request
sees and who may write them.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from books.scoping import BookScopedMixin
from core.dates import budget_month_of, user_today
from core.db_router import ReplicaReadsMixin
from core.filters import StrictOrderingFilter
from core.schema import VALIDATION_ERROR, crud_schema, request_example

from . import services
from .filters import BudgetFilter
from .models import Budget
from .selectors import budget_status
from .serializers import (
    BudgetCopyResultSerializer,
    BudgetCopySerializer,
    BudgetSerializer,
    BudgetStatusQuery,
    BudgetStatusSerializer,
)

BUDGET = {
    "month": "2026-03",
    "scope": "category",
    "category": 2,
    "amount": "400.00",
    "rollover": True,
    "warn_threshold": "0.80",
}
BUDGET_RULES = (
    "`amount` is in the book's base currency. `category` (an expense category) is required "
    "with `scope: category` and must be absent or null with `scope: overall`. "
    "`warn_threshold` is a fraction in (0, 1] (default 0.80). With `rollover`, the "
    "previous month's unused amount of the same budget is added to this month's."
)


@crud_schema(
    BudgetSerializer,
    docs={
        "list": (
            "List your budgets",
            "Newest month first. Filters `month` (YYYY-MM, your budget month), `scope`, "
            "`category`; `ordering` by `month`, `amount`, `created_at`. For spent, "
            "remaining and warning levels, see `GET /budgets/status/`.",
        ),
        "create": (
            "Create or update a month's budget",
            "One budget per (month, scope, category): if it exists it is updated and the "
            "answer is 200, otherwise 201. " + BUDGET_RULES,
        ),
        "retrieve": ("Get a budget", "One budget of the book; another book's is 404."),
        "update": (
            "Replace a budget",
            BUDGET_RULES + " Moving it onto the key of another budget of yours is a 400.",
        ),
        "partial_update": (
            "Change some fields of a budget",
            "Only the fields sent change. " + BUDGET_RULES,
        ),
        "destroy": (
            "Delete a budget",
            "Its month's spending then counts as unbudgeted in `GET /budgets/status/`.",
        ),
    },
    examples={
        "create": [request_example(BUDGET)],
        "update": [request_example(BUDGET)],
        "partial_update": [request_example({"amount": "450.00", "warn_threshold": "0.90"})],
    },
    create={200: BudgetSerializer},
)
class BudgetViewSet(ReplicaReadsMixin, BookScopedMixin, viewsets.ModelViewSet):
    """Monthly budgets. POST creates (201) or updates the budget with the same
    (month, scope, category) (200)."""

    # The status report may read a fresh replica; the CRUD reads its own writes.
    replica_read_actions = frozenset({"status"})

    queryset = Budget.objects.all()
    serializer_class = BudgetSerializer
    filterset_class = BudgetFilter
    filter_backends = [
        DjangoFilterBackend,
        StrictOrderingFilter,
    ]
    ordering_fields = ["month", "amount", "created_at"]
    ordering = ["-month", "scope"]

    def safely_get_queryset(self, queryset: QuerySet) -> QuerySet:
        return queryset.select_related("category", "book")

    def create(self, request: Request, *args: object, **kwargs: object) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        budget, created = services.budget_upsert(
            book=self.book, user=request.user, data=serializer.validated_data
        )
        return Response(
            self.get_serializer(budget).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )

    def perform_update(self, serializer: BaseSerializer) -> None:
        serializer.instance = services.budget_update(
            budget=serializer.instance, data=serializer.validated_data
        )

    def perform_destroy(self, instance: Budget) -> None:
        services.budget_delete(budget=instance)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "month", str, description="Budget month YYYY-MM (default: the current one)."
            )
        ],
        responses={200: BudgetStatusSerializer, 400: VALIDATION_ERROR},
        summary="Where every budget of a month stands",
        description=(
            "For each budget of the month (and `overall`, or null): `rollover_in`, "
            "`available` (amount + rollover), `spent` (the month's expenses in the category "
            "and its subcategories, in the book's base currency), `remaining`, `percent_used` and "
            "`status` (`ok`, `warn` from `warn_threshold`, `exceeded`); plus "
            "`unbudgeted_spent` for categories without a budget. Months are your budget "
            "months (`month_start_day`). Drawn as a chart by "
            "`GET /reports/charts/budget-status.png`."
        ),
    )
    @action(detail=False, methods=["get"], filter_backends=[], pagination_class=None)
    def status(self, request: Request, **kwargs: object) -> Response:
        """Spent, rollover, available, remaining and level of every budget of a month."""
        raw = request.query_params.get("month")
        if raw:  # `?month=` (empty) is the current month, as no `month` is
            query = BudgetStatusQuery(data={"month": raw}, context={"request": request})
            query.is_valid(raise_exception=True)
            chosen = query.validated_data["month"]
            year, month = chosen.year, chosen.month
        else:
            year, month = budget_month_of(user_today(request.user), self.book.month_start_day)
        data = budget_status(book=self.book, year=year, month=month)
        return Response(BudgetStatusSerializer(data, context={"currency": data["currency"]}).data)

    @extend_schema(
        request=BudgetCopySerializer,
        responses={200: BudgetCopyResultSerializer, 400: OpenApiResponse(description="Bad months")},
        summary="Copy one month's budgets to another",
        description=(
            "Copies every budget of `from_month` to `to_month` (YYYY-MM, different months). "
            "A budget that already exists in `to_month` is kept (`skipped`) unless "
            "`overwrite` is true (`updated`). Answers the counts."
        ),
        examples=[
            request_example({"from_month": "2026-03", "to_month": "2026-04", "overwrite": False})
        ],
    )
    @action(detail=False, methods=["post"], filter_backends=[], pagination_class=None)
    def copy(self, request: Request, **kwargs: object) -> Response:
        """Copy one month's budgets to another (existing ones kept unless `overwrite`)."""
        serializer = BudgetCopySerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        counts = services.budgets_copy(
            book=self.book, user=request.user, **serializer.validated_data
        )
        return Response(counts)
