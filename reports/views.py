"""Report endpoints: thin views over reports.services, with validated query parameters.

Every report is of the request's book (SPEC §14): `BookScopedMixin` resolves it from the
URL (`/books/{book_id}/reports/…`) or, on the top-level paths, the caller's personal book,
and 404s strangers; figures come in the book's base currency and budget months. "Today"
is the reader's (their time zone). Every report that sums expenses takes `view=book|mine`
(SPEC §15; `services.Spending`), and the dashboard of a personal book `include_shared`.
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
from core.db_router import ReplicaReadsMixin
from core.exceptions import ApplicationError
from core.schema import VALIDATION_ERROR

from . import services
from .serializers import (
    DashboardQuery,
    DashboardSerializer,
    MonthlySerializer,
    MonthQuery,
    MonthSummarySerializer,
    ReportMonthQuery,
    SummaryQuery,
    SummarySerializer,
    TimeseriesQuery,
    TimeseriesSerializer,
    TrendsSerializer,
    ViewQuery,
    YearQuery,
    default_last_days,
)


class IncludeSharedOnSharedBook(ApplicationError):
    """`include_shared` asked of a shared book's dashboard (400 on `include_shared`)."""

    default_code = "invalid"
    field = "include_shared"

    def __init__(self) -> None:
        super().__init__(
            "include_shared is for your personal book's dashboard; in a shared book, "
            "view=mine shows your parts."
        )


def read_query(request: Request, serializer_class: type[serializers.Serializer]) -> dict[str, Any]:
    serializer = serializer_class(data=request.query_params, context={"request": request})
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def respond(serializer_class: type[serializers.Serializer], data: dict[str, Any]) -> Response:
    return Response(serializer_class(data, context={"currency": data["currency"]}).data)


def month_or_current(
    request: Request, book: Book, query: dict[str, Any] | None = None
) -> tuple[int, int]:
    """The `month` asked (from `query` when already read), else the current budget month."""
    month = (query if query is not None else read_query(request, MonthQuery)).get("month")
    if month is None:
        return services.current_budget_month(book=book, today=user_today(request.user))
    return month.year, month.month


def view_member(request: Request, query: dict[str, Any]) -> int | None:
    """The member whose parts the report counts (`view=mine`), or None for the book's."""
    return request.user.pk if query.get("view") == services.VIEW_MINE else None


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
    return services.summary(book=book, start=start, end=end, member_id=view_member(request, query))


def monthly_data(request: Request, book: Book) -> dict[str, Any]:
    """As GET /reports/monthly/: year (default this year), view."""
    query = read_query(request, YearQuery)
    year = query.get("year") or user_today(request.user).year
    return services.monthly(book=book, year=year, member_id=view_member(request, query))


def timeseries_data(request: Request, book: Book) -> dict[str, Any]:
    """As GET /reports/timeseries/: start/end (default the last 30 days), bucket, kind,
    view."""
    query = read_query(request, TimeseriesQuery)
    start, end = default_last_days(query, user_today(request.user))
    return services.timeseries(
        book=book,
        start=start,
        end=end,
        bucket=query["bucket"],
        kind=query["kind"],
        member_id=view_member(request, query),
    )


def budget_status_data(request: Request, book: Book) -> dict[str, Any]:
    """As GET /budgets/status/: month (default the current budget month). Budgets are the
    book's in either view (`view` is checked, then ignored)."""
    read_query(request, ViewQuery)
    year, month = month_or_current(request, book)
    return budget_status(book=book, year=year, month=month)


class ReportView(ReplicaReadsMixin, BookScopedMixin, APIView):
    """A read-only report of the request's book (`self.book`); any member may read it. Read
    from the replica when there is a fresh one (core/db_router.py)."""


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
            "`GET /reports/charts/category-breakdown.png`. In a shared book, `view=mine` "
            "counts only your parts of its expenses (income stays the book's)."
        ),
    )
    def get(self, request: Request, **kwargs: Any) -> Response:
        """Totals, savings rate, category breakdown and top merchants for a range."""
        return respond(SummarySerializer, category_breakdown_data(request, self.book))


class MonthSummaryView(ReportView):
    @extend_schema(
        tags=["reports"],
        parameters=[ReportMonthQuery],
        responses={200: MonthSummarySerializer, 400: VALIDATION_ERROR},
        summary="One budget month's financial summary",
        description=(
            "The figures of `GET /reports/summary/` for a budget month (`month` YYYY-MM, "
            "default the current one, from the book's `month_start_day`) plus `budget_total` and "
            "`budget_remaining` from the book's budgets (the whole book's in either `view`)."
        ),
    )
    def get(self, request: Request, **kwargs: Any) -> Response:
        """The monthly financial summary: a budget month's figures plus its budget totals."""
        query = read_query(request, ReportMonthQuery)
        year, month = month_or_current(request, self.book, query)
        return respond(
            MonthSummarySerializer,
            services.month_summary(
                book=self.book, year=year, month=month, member_id=view_member(request, query)
            ),
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
        parameters=[ReportMonthQuery],
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
        query = read_query(request, ReportMonthQuery)
        year, month = month_or_current(request, self.book, query)
        return respond(
            TrendsSerializer,
            services.trends(
                book=self.book, year=year, month=month, member_id=view_member(request, query)
            ),
        )


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
        parameters=[DashboardQuery],
        responses={200: DashboardSerializer, 400: VALIDATION_ERROR},
        summary="Everything a home screen needs",
        description=(
            "In one request: this budget month's summary and budget status, the last 6 "
            "months of income and expenses, the top 5 categories, goals' progress, the 5 "
            "most recent transactions and the bills due soon. In a shared book, `view=mine` "
            "makes the spending figures (summary, last 6 months, top categories) your parts; "
            "budgets, goals and the lists stay the book's. On a personal book, "
            "`include_shared=true` adds `shared`: your parts of each shared book you belong "
            "to this budget month, converted at each day's rate, their `total` and "
            "`total_expenses_with_shared`; a book whose rate is missing is listed with "
            "`share_in_base: null` and the reason, and left out of the total."
        ),
    )
    def get(self, request: Request, **kwargs: Any) -> Response:
        """Everything a home screen needs in one request."""
        query = read_query(request, DashboardQuery)
        if query["include_shared"] and not self.book.is_personal:
            raise IncludeSharedOnSharedBook()
        return respond(
            DashboardSerializer,
            services.dashboard(
                book=self.book,
                today=user_today(request.user),
                member_id=view_member(request, query),
                include_shared_of=request.user.pk if query["include_shared"] else None,
            ),
        )
