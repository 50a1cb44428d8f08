"""GET /reports/charts/<name>.<fmt>: a report drawn as PNG or SVG (SPEC §10).

Each chart takes the query parameters of the report it draws, validated by the same
serializers, and draws the same service's dict, so chart and JSON always agree.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.views import APIView

from books.models import Book
from books.scoping import BookScopedMixin
from core.db_router import ReplicaReadsMixin
from core.negotiation import JSONErrorsNegotiation
from core.schema import VALIDATION_ERROR

from . import charts, services
from .views import budget_status_data, category_breakdown_data, monthly_data, timeseries_data

CHARTS: dict[str, Callable[[Request, Book], dict[str, Any]]] = {
    "category-breakdown": category_breakdown_data,
    "monthly": monthly_data,
    "timeseries": timeseries_data,
    "budget-status": budget_status_data,
}


def _query(name: str, kind: Any, charts_using: str, description: str, **extra: Any) -> Any:
    return OpenApiParameter(
        name, kind, OpenApiParameter.QUERY, description=f"{charts_using}: {description}", **extra
    )


CHART_PARAMETERS = [
    OpenApiParameter(
        "name", str, OpenApiParameter.PATH, enum=list(CHARTS), description="Which chart."
    ),
    OpenApiParameter(
        "fmt", str, OpenApiParameter.PATH, enum=list(charts.FORMATS), description="Image format."
    ),
    _query(
        "start",
        OpenApiTypes.DATE,
        "category-breakdown, timeseries",
        "first day (inclusive), YYYY-MM-DD; give with end.",
    ),
    _query(
        "end",
        OpenApiTypes.DATE,
        "category-breakdown, timeseries",
        "last day (inclusive), YYYY-MM-DD; give with start.",
    ),
    _query(
        "period",
        str,
        "category-breakdown",
        "a named range instead of start/end (default this_month).",
        enum=list(services.PERIODS),
    ),
    _query("year", int, "monthly", "the year (default: this year)."),
    _query(
        "bucket",
        str,
        "timeseries",
        "bucket size; weeks start on Monday, months are budget months (default day).",
        enum=list(services.BUCKETS),
    ),
    _query(
        "kind", str, "timeseries", "what to total (default expense).", enum=list(services.KINDS)
    ),
    _query(
        "view",
        str,
        "category-breakdown, monthly, timeseries",
        "whose spending in a shared book: the book's (default) or only your parts (budget "
        "status is always the book's).",
        enum=list(services.VIEWS),
    ),
    _query(
        "month",
        str,
        "budget-status",
        "budget month YYYY-MM (default: the current one).",
        pattern=r"^\d{4}-\d{2}(-\d{2})?$",
    ),
]


class ChartView(ReplicaReadsMixin, BookScopedMixin, APIView):
    """Draws the request's book's figures (see reports.views), read as the reports are."""

    renderer_classes = [JSONRenderer]
    content_negotiation_class = JSONErrorsNegotiation

    @extend_schema(
        tags=["reports"],
        operation_id="reports_charts_retrieve",
        summary="A report drawn as a PNG or SVG chart",
        parameters=CHART_PARAMETERS,
        responses={
            (200, "image/png"): OpenApiTypes.BINARY,
            (200, "image/svg+xml"): OpenApiTypes.BINARY,
            400: VALIDATION_ERROR,
            404: OpenApiResponse(description="No such chart or format."),
        },
    )
    def get(self, request: Request, name: str, fmt: str, **kwargs: Any) -> HttpResponse:
        """A report drawn server-side, with the query parameters of the report it draws:
        category-breakdown ↔ /reports/summary/, monthly ↔ /reports/monthly/,
        timeseries ↔ /reports/timeseries/, budget-status ↔ /budgets/status/."""
        load = CHARTS.get(name)
        if load is None:
            raise NotFound(f"No chart named {name!r}; charts: {', '.join(CHARTS)}.")
        if fmt not in charts.FORMATS:
            raise NotFound(f"No format {fmt!r}; formats: {', '.join(charts.FORMATS)}.")
        image = charts.render(name, load(request, self.book), fmt)
        response = HttpResponse(image, content_type=charts.content_type(fmt))
        response["Cache-Control"] = "private, max-age=60"
        response["Content-Disposition"] = f'inline; filename="{name}.{fmt}"'
        return response
