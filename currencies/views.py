"""Currencies, exchange rates and conversion (SPEC §7). Views validate and delegate."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, permissions, serializers, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.filters import StrictOrderingFilter
from core.money import CurrencyInfo, currencies, quantize
from core.schema import request_example
from users.roles import is_admin

from . import services
from .filters import ExchangeRateFilter
from .models import ExchangeRate
from .selectors import convert
from .serializers import (
    ConversionSerializer,
    ConvertQuerySerializer,
    CurrencySerializer,
    ExchangeRateSerializer,
)

CURRENCY_CODE = {"type": "string", "pattern": "^[A-Z]{3}$"}
ERROR_RESPONSE = OpenApiResponse(
    description="Invalid parameter, or no rate connects the currencies "
    '(`{"detail": ..., "code": "rate_unavailable"}`).'
)


class IsAdminOrReadOnly(permissions.BasePermission):
    """Any signed-in user reads; only Admin members (users.roles.is_admin) write."""

    message = "Only administrators may change exchange rates."

    def has_permission(self, request: Request, view: APIView) -> bool:
        if not request.user or not request.user.is_authenticated:
            return False
        return request.method in permissions.SAFE_METHODS or is_admin(request.user)


@extend_schema(tags=["currencies"])
@extend_schema_view(
    list=extend_schema(
        summary="Supported currencies",
        description="Every ISO 4217 currency with minor units (funds and metals such as "
        "XAU are excluded), ordered by code.",
        parameters=[
            OpenApiParameter(
                "search",
                OpenApiTypes.STR,
                description="Case-insensitive match on code or name.",
            )
        ],
    )
)
class CurrencyViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = CurrencySerializer
    filter_backends: list[Any] = []  # a list of dataclasses, not a queryset

    def get_queryset(self) -> list[CurrencyInfo]:  # type: ignore[override]
        rows = sorted(currencies().values(), key=lambda c: c.code)
        search = self.request.query_params.get("search", "").strip().lower()
        if search:
            rows = [c for c in rows if search in c.code.lower() or search in c.name.lower()]
        return rows


RATE = {
    "base": "USD",
    "quote": "KES",
    "date": "2026-03-02",
    "rate": "129.250000",
    "source": "manual",
}
RATE_RULES = (
    "`rate` units of `quote` buy one unit of `base`, from `date` on (until a later rate of "
    "the pair). One rate per pair and date. Conversions also use a pair the other way "
    "round or through EUR, so one rate per currency against EUR or USD is enough."
)
ADMIN_ONLY = " Admin only: other users get 403."


@extend_schema(tags=["currencies"])
@extend_schema_view(
    list=extend_schema(
        summary="Exchange rates",
        description="The rates conversions use: the bundled European Central Bank reference "
        "rates, the provider's and those Admins entered. Filters `base`, `quote`, "
        "`start_date`/`end_date`, and `date` (for each pair, the rate a conversion on that "
        "date would use); `ordering` by `date`, `base`, `quote`, `rate`, `updated_at`.",
    ),
    retrieve=extend_schema(summary="An exchange rate", description="One stored rate by id."),
    create=extend_schema(
        summary="Add an exchange rate (Admin)",
        description="For a currency the bundled rates do not cover, or a correction. "
        + RATE_RULES
        + " Records already stored keep their amounts."
        + ADMIN_ONLY,
        examples=[request_example(RATE)],
    ),
    update=extend_schema(
        summary="Replace an exchange rate (Admin)",
        description=RATE_RULES + ADMIN_ONLY,
        examples=[request_example(RATE)],
    ),
    partial_update=extend_schema(
        summary="Change an exchange rate (Admin)",
        description="Only the fields sent change. " + RATE_RULES + ADMIN_ONLY,
        examples=[request_example({"rate": "129.400000"})],
    ),
    destroy=extend_schema(
        summary="Delete an exchange rate (Admin)",
        description="Later conversions fall back to the pair's previous rate; records "
        "already stored keep their amounts." + ADMIN_ONLY,
    ),
)
class ExchangeRateViewSet(viewsets.ModelViewSet):
    """Rates are shared by all users: `rate` units of `quote` buy one unit of `base`."""

    queryset = ExchangeRate.objects.all()
    serializer_class = ExchangeRateSerializer
    permission_classes = [IsAdminOrReadOnly]
    filter_backends = [DjangoFilterBackend, StrictOrderingFilter]
    filterset_class = ExchangeRateFilter
    ordering_fields = ["date", "base", "quote", "rate", "updated_at"]
    ordering = ["-date", "base", "quote"]

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        serializer.instance = services.rate_create(**serializer.validated_data)

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        serializer.instance = services.rate_update(
            exchange_rate=serializer.instance, **serializer.validated_data
        )


class ConvertView(APIView):
    @extend_schema(
        tags=["currencies"],
        operation_id="convert",
        summary="Convert an amount",
        description="Converts with the latest rate on or before `date`: direct, inverse, or "
        "through a common currency (EUR first). The result is rounded half up to the "
        "minor units of `to`.",
        parameters=[
            OpenApiParameter(
                "amount",
                {"type": "string", "format": "decimal"},
                required=True,
                description="Positive amount in `from`, with no more decimals than `from` allows.",
            ),
            OpenApiParameter("from", OpenApiTypes.STR, required=True, description="ISO 4217 code."),
            OpenApiParameter("to", OpenApiTypes.STR, required=True, description="ISO 4217 code."),
            OpenApiParameter(
                "date",
                OpenApiTypes.DATE,
                description="YYYY-MM-DD; default today (UTC).",
            ),
        ],
        responses={200: ConversionSerializer, 400: ERROR_RESPONSE},
    )
    def get(self, request: Request) -> Response:
        query = ConvertQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        on = params.get("date") or datetime.now(UTC).date()
        result, rate = convert(
            amount=params["amount"], from_currency=params["from"], to_currency=params["to"], on=on
        )
        conversion = {
            "amount": quantize(params["amount"], params["from"]),
            "from": params["from"],
            "to": params["to"],
            "date": on,
            "rate": rate.rate,
            "rate_date": rate.date,
            "result": result,
        }
        return Response(ConversionSerializer(conversion).data)
