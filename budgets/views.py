"""/budgets/: CRUD with upsert on POST, monthly status, and copy between months."""

from __future__ import annotations

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from core.dates import budget_month_of, parse_month, user_today
from core.filters import StrictOrderingFilter
from core.schema import VALIDATION_ERROR, crud_schema
from core.views import OwnedQuerysetMixin

from . import services
from .filters import BudgetFilter
from .models import Budget
from .selectors import budget_status
from .serializers import (
    BudgetCopyResultSerializer,
    BudgetCopySerializer,
    BudgetSerializer,
    BudgetStatusSerializer,
)


@crud_schema(BudgetSerializer, create={200: BudgetSerializer})
class BudgetViewSet(OwnedQuerysetMixin, viewsets.ModelViewSet):
    """Monthly budgets. POST creates (201) or updates the budget with the same
    (month, scope, category) (200)."""

    queryset = Budget.objects.all()
    serializer_class = BudgetSerializer
    filterset_class = BudgetFilter
    filter_backends = [
        DjangoFilterBackend,
        StrictOrderingFilter,
    ]
    ordering_fields = ["month", "amount", "created_at"]
    ordering = ["-month", "scope"]

    def get_owned_queryset(self):  # type: ignore[no-untyped-def]
        return self.queryset.select_related("category", "user")

    def create(self, request: Request, *args: object, **kwargs: object) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        budget, created = services.budget_upsert(user=request.user, data=serializer.validated_data)
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
    )
    @action(detail=False, methods=["get"], filter_backends=[], pagination_class=None)
    def status(self, request: Request) -> Response:
        """Spent, rollover, available, remaining and level of every budget of a month."""
        raw = request.query_params.get("month")
        if raw:
            try:
                year, month = parse_month(raw, request.user.month_start_day)
            except ValueError as exc:
                raise ValidationError({"month": [str(exc)]}) from None
        else:
            year, month = budget_month_of(user_today(request.user), request.user.month_start_day)
        data = budget_status(user=request.user, year=year, month=month)
        return Response(BudgetStatusSerializer(data, context={"currency": data["currency"]}).data)

    @extend_schema(
        request=BudgetCopySerializer,
        responses={200: BudgetCopyResultSerializer, 400: OpenApiResponse(description="Bad months")},
    )
    @action(detail=False, methods=["post"], filter_backends=[], pagination_class=None)
    def copy(self, request: Request) -> Response:
        """Copy one month's budgets to another (existing ones kept unless `overwrite`)."""
        serializer = BudgetCopySerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        counts = services.budgets_copy(user=request.user, **serializer.validated_data)
        return Response(counts)
