"""Report endpoints: thin views over reports.services, with validated query parameters.

Every report is of the request's book (SPEC §14): `BookScopedMixin` resolves it from the
URL (`/books/{book_id}/reports/…`) or, on the top-level paths, the caller's personal book,
and 404s strangers; figures come in the book's base currency and budget months. "Today"
is the reader's (their time zone).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from books.models import Book
from books.scoping import BookScopedMixin
from budgets.selectors import budget_status
from core.dates import user_today
from core.schema import VALIDATION_ERROR

from . import services
from .serializers import (
    DashboardSerializer,
    MonthlySerializer,
    MonthQuery,
    MonthSummarySerializer,
    SummaryQuery,
    SummarySerializer,
    TimeseriesQuery,
    TimeseriesSerializer,
    TrendsSerializer,
    YearQuery,
    default_last_days,
)


def read_query(request: Request, serializer_class: type[serializers.Serializer]) -> dict[str, Any]:
    serializer = serializer_class(data=request.query_params, context={"request": request})
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def respond(serializer_class: type[serializers.Serializer], data: dict[str, Any]) -> Response:
    return Response(serializer_class(data, context={"currency": data["currency"]}).data)


def month_or_current(request: Request, book: Book) -> tuple[int, int]:
    month = read_query(request, MonthQuery).get("month")
    if month is None:
        return services.current_budget_month(book=book, today=user_today(request.user))
    return month.year, month.month


# --- request -> report data (shared by the JSON views and the charts) ---------------


def category_breakdown_data(request: Request, book: Book) -> dict[str, Any]:
    """As GET /reports/summary/: start/end or period (default this_month)."""
    query = read_query(request, SummaryQuery)
    if "start" in query:
        start, end = query["start"], query["end"]
    else:
        start, end = services.period_range(
            book=book, today=user_today(request.user), period=query.get("period", "this_month")
        )
    return services.summary(book=book, start=start, end=end)


def monthly_data(request: Request, book: Book) -> dict[str, Any]:
    """As GET /reports/monthly/: year (default this year)."""
    year = read_query(request, YearQuery).get("year") or user_today(request.user).year
    return services.monthly(book=book, year=year)


def timeseries_data(request: Request, book: Book) -> dict[str, Any]:
    """As GET /reports/timeseries/: start/end (default the last 30 days), bucket, kind."""
    query = read_query(request, TimeseriesQuery)
    start, end = default_last_days(query, user_today(request.user))
    return services.timeseries(
        book=book, start=start, end=end, bucket=query["bucket"], kind=query["kind"]
    )


def budget_status_data(request: Request, book: Book) -> dict[str, Any]:
    """As GET /budgets/status/: month (default the current budget month)."""
    year, month = month_or_current(request, book)
    return budget_status(book=book, year=year, month=month)


class ReportView(BookScopedMixin, APIView):
    """A read-only report of the request's book (`self.book`); any member may read it."""


class SummaryView(ReportView):
    @extend_schema(
        tags=["reports"],
        parameters=[SummaryQuery],
        responses={200: SummarySerializer, 400: VALIDATION_ERROR},
        summary="Totals and breakdowns for a date range",
        description=(
            "Income, expenses, net, savings rate, average daily expense, spending by category "
            "(largest first, uncategorised as `category: null`, percents summing to 100) and "
            "top merchants, in the book's base currency. Give `start` and `end` (calendar dates, "
            "inclusive) or a `period` (default `this_month`, the book's budget month). Drawn by "
            "`GET /reports/charts/category-breakdown.png`."
        ),
    )
    def get(self, request: Request, **kwargs: Any) -> Response:
        """Totals, savings rate, category breakdown and top merchants for a range."""
        return respond(SummarySerializer, category_breakdown_data(request, self.book))


class MonthSummaryView(ReportView):
    @extend_schema(
        tags=["reports"],
        parameters=[MonthQuery],
        responses={200: MonthSummarySerializer, 400: VALIDATION_ERROR},
        summary="One budget month's financial summary",
        description=(
            "The figures of `GET /reports/summary/` for a budget month (`month` YYYY-MM, "
            "default the current one, from the book's `month_start_day`) plus `budget_total` and "
            "`budget_remaining` from the book's budgets."
        ),
    )
    def get(self, request: Request, **kwargs: Any) -> Response:
        """The monthly financial summary: a budget month's figures plus its budget totals."""
        year, month = month_or_current(request, self.book)
        return respond(
            MonthSummarySerializer,
            services.month_summary(book=self.book, year=year, month=month),
        )


class MonthlyView(ReportView):
    @extend_schema(
        tags=["reports"],
        parameters=[YearQuery],
        responses={200: MonthlySerializer, 400: VALIDATION_ERROR},
        summary="Income, expenses and net per month of a year",
        description=(
            "Twelve budget months of `year` (default this year), zero-filled, with the "
            "year's totals, in the book's base currency. Drawn by "
            "`GET /reports/charts/monthly.png`."
        ),
    )
    def get(self, request: Request, **kwargs: Any) -> Response:
        """Income, expenses and net for each of the year's 12 budget months."""
        return respond(MonthlySerializer, monthly_data(request, self.book))


class TrendsView(ReportView):
    @extend_schema(
        tags=["reports"],
        parameters=[MonthQuery],
        responses={200: TrendsSerializer, 400: VALIDATION_ERROR},
        summary="A month's spending against the month before",
        description=(
            "Total and per-category spending of a budget month (`month`, default the current "
            "one) and the previous one, with the change; `percent_change` is null when the "
            "previous value is 0."
        ),
    )
    def get(self, request: Request, **kwargs: Any) -> Response:
        """A budget month's spending against the previous month, overall and per category."""
        year, month = month_or_current(request, self.book)
        return respond(TrendsSerializer, services.trends(book=self.book, year=year, month=month))


class TimeseriesView(ReportView):
    @extend_schema(
        tags=["reports"],
        parameters=[TimeseriesQuery],
        responses={200: TimeseriesSerializer, 400: VALIDATION_ERROR},
        summary="Totals over time, per day, week or month",
        description=(
            "One zero-filled point per `bucket` (day; week from Monday; the book's budget month) "
            "between `start` and `end` (default the last 30 days) of expenses, income or "
            "`net`; more than 5000 points is a 400 on `bucket`. Drawn by "
            "`GET /reports/charts/timeseries.png`."
        ),
    )
    def get(self, request: Request, **kwargs: Any) -> Response:
        """Zero-filled totals per day, week (from Monday) or budget month; at most 5000 points.
        Without start/end: the last 30 days."""
        return respond(TimeseriesSerializer, timeseries_data(request, self.book))


class DashboardView(ReportView):
    @extend_schema(
        tags=["reports"],
        responses={200: DashboardSerializer},
        summary="Everything a home screen needs",
        description=(
            "In one request: this budget month's summary and budget status, the last 6 "
            "months of income and expenses, the top 5 categories, goals' progress, the 5 "
            "most recent transactions and the bills due soon."
        ),
    )
    def get(self, request: Request, **kwargs: Any) -> Response:
        """Everything a home screen needs in one request."""
        return respond(
            DashboardSerializer,
            services.dashboard(book=self.book, today=user_today(request.user)),
        )
