"""GET /export/…: a book's records as CSV and XLSX files and a monthly PDF report (SPEC §11).

Every export is of the request's book (SPEC §14, `BookScopedMixin`): the caller's personal
book on the top-level paths, the book in the URL under `/books/{book_id}/export/…`; its
base currency and budget months; the files name the book.

The record exports reuse the list endpoints' filter backends, FilterSets, search fields
and ordering (`TransactionViewSet`, `ExpenseViewSet`, `IncomeViewSet`), so a file holds
exactly the rows the list would page through, and a bad parameter is the same 400.
Validation happens before the response starts; the body is then produced without
holding the records in memory.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from datetime import UTC
from typing import Any

from django.db.models import QuerySet
from django.http import FileResponse, HttpResponse, StreamingHttpResponse
from django.utils.text import slugify
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.generics import GenericAPIView
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.views import APIView

from books.models import Book
from books.scoping import BookScopedMixin
from core.dates import user_now, user_today
from core.db_router import ReplicaReadsMixin
from core.negotiation import JSONErrorsNegotiation
from core.schema import VALIDATION_ERROR
from expenses.views import ExpenseViewSet
from income.views import IncomeViewSet
from ledger.views import TransactionViewSet
from reports.serializers import MonthQuery
from reports.services import current_budget_month
from splits.selectors import book_balances, settlement_rows, shared_book_required

from .csv_export import csv_stream, table_stream
from .formatting import amount_text, neutralise, rate_text
from .pdf_report import build_report
from .selectors import EXPENSE, INCOME, RecordKind
from .xlsx_export import XLSX_CONTENT_TYPE, build_workbook, requested_period

# The workbook stays in memory up to this size, then moves to a temporary file.
SPOOL_BYTES = 8 * 1024 * 1024


def _attachment(response: HttpResponse, filename: str) -> HttpResponse:
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


def _file_stem(book: Book, name: str) -> str:
    """`expenses`, or `household-expenses` for a shared book: the file names its book."""
    if book.is_personal:
        return name
    slug = slugify(book.name) or f"book-{book.pk}"
    return f"{slug}-{name}"


class ExportView(BookScopedMixin, APIView):
    """Answers with a file of the request's book that the view builds itself; errors stay
    JSON, and an `Accept` header naming the file's type (or anything else) never earns a
    406."""

    renderer_classes = [JSONRenderer]
    content_negotiation_class = JSONErrorsNegotiation


class RecordExportView(ExportView, GenericAPIView):
    """The book's records of one kind, filtered, searched and ordered as their list."""

    pagination_class = None
    filter_backends = TransactionViewSet.filter_backends
    ordering_fields = TransactionViewSet.ordering_fields
    ordering = TransactionViewSet.ordering
    kind: RecordKind
    file_stem: str

    # Rows are read as value tuples (see selectors): no instances, no prefetching; the
    # mixin's default `safely_get_queryset` adds nothing.

    @classmethod
    def records_for(cls, view: ExportView) -> QuerySet:
        """The filtered queryset this export would write for the request `view` is
        answering, scoped to the same book (400 on bad filters)."""
        export = cls(request=view.request, args=(), kwargs=view.kwargs, format_kwarg=None)
        export.book, export.role = view.book, view.role
        return export.filter_queryset(export.get_queryset())

    def get(self, request: Request, **kwargs: Any) -> StreamingHttpResponse:
        records = self.filter_queryset(self.get_queryset())
        stream = csv_stream(records, kind=self.kind, base_currency=self.book.base_currency)
        response = StreamingHttpResponse(stream, content_type="text/csv; charset=utf-8")
        stem = _file_stem(self.book, self.file_stem)
        return _attachment(response, f"{stem}-{user_today(request.user)}.csv")


CSV_DESCRIPTION = (
    "UTF-8 CSV with a byte order mark (for Excel) and CRLF line ends, streamed: a header "
    "row, then one row per record. Amounts have their currency's minor units; tags are "
    "joined with `;`; `created_at` is UTC. A text cell beginning with `=`, `+`, `-`, "
    "`@`, tab or CR starts with an apostrophe, so spreadsheets do not run it as a formula."
)


def _csv_schema(operation_id: str, what: str, list_path: str) -> Any:
    return extend_schema(
        tags=["exports"],
        operation_id=operation_id,
        summary=f"Download {what} as CSV",
        description=(
            f"Every {what[:-1] if what.endswith('s') else what} record matching the filters, "
            f"search and ordering of `{list_path}` (same parameters, same 400s), unpaginated. "
            + CSV_DESCRIPTION
        ),
        filters=True,
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.BINARY, description="The CSV file."),
            400: VALIDATION_ERROR,
        },
    )


class ExpensesCsvView(RecordExportView):
    queryset = ExpenseViewSet.queryset
    filterset_class = ExpenseViewSet.filterset_class
    search_fields = ExpenseViewSet.search_fields
    kind = EXPENSE
    file_stem = "expenses"

    @_csv_schema("export_expenses_csv", "expenses", "/expenses/")
    def get(self, request: Request, **kwargs: Any) -> StreamingHttpResponse:
        return super().get(request, **kwargs)


class IncomesCsvView(RecordExportView):
    queryset = IncomeViewSet.queryset
    filterset_class = IncomeViewSet.filterset_class
    search_fields = IncomeViewSet.search_fields
    kind = INCOME
    file_stem = "incomes"

    @_csv_schema("export_incomes_csv", "income", "/incomes/")
    def get(self, request: Request, **kwargs: Any) -> StreamingHttpResponse:
        return super().get(request, **kwargs)


class TransactionsXlsxView(ExpensesCsvView):
    """Documents the expense list's filters (plus `source`); each sheet is filtered by
    its own list's FilterSet with the same query parameters."""

    @extend_schema(
        tags=["exports"],
        operation_id="export_transactions_xlsx",
        summary="Download expenses and income as an Excel workbook",
        description=(
            "Sheets **Expenses** and **Income** (one row per record, as the CSV exports: "
            "amounts are numbers with the currency's decimals, dates are date cells, "
            "`created_at` is UTC) and **Summary** (period, totals of expenses, income and net, "
            "and totals by category, in the base currency). Each record sheet takes the "
            "filters, search and ordering of its list (`/expenses/`, `/incomes/`) from the "
            "same query parameters; `payment_method` and `merchant` only narrow Expenses, "
            "`source` only Income, and a category id only matches records of its kind. "
            "More than 1,048,575 records continue on a sheet `Expenses (2)` and so on."
        ),
        filters=True,
        parameters=[
            OpenApiParameter(
                "source",
                str,
                OpenApiParameter.QUERY,
                description="Income only: source contains (case-insensitive).",
            )
        ],
        responses={
            (200, XLSX_CONTENT_TYPE): OpenApiResponse(
                OpenApiTypes.BINARY, description="The workbook."
            ),
            400: VALIDATION_ERROR,
        },
    )
    def get(self, request: Request, **kwargs: Any) -> FileResponse:  # type: ignore[override]
        expenses = ExpensesCsvView.records_for(self)
        incomes = IncomesCsvView.records_for(self)
        period = requested_period(request.query_params, self.book)
        target = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115
        try:
            build_workbook(
                target,
                expenses=expenses,
                incomes=incomes,
                book=self.book,
                user=request.user,
                period=period,
                filters=request.query_params.urlencode(),
            )
            target.seek(0)
        except BaseException:
            target.close()
            raise
        response = FileResponse(target, content_type=XLSX_CONTENT_TYPE)
        stem = _file_stem(self.book, "transactions")
        return _attachment(response, f"{stem}-{user_today(request.user)}.xlsx")


class ReportPdfView(ReplicaReadsMixin, ExportView):
    """Built in the view (not streamed), so it reads as the reports do (core/db_router.py)."""

    @extend_schema(
        tags=["exports"],
        operation_id="export_report_pdf",
        summary="Download a printable monthly report (PDF)",
        description=(
            "A budget month's report: summary (income, expenses, net, savings rate, "
            "average daily spending), spending by category with a chart, budget status "
            "with a chart, and savings goals. Amounts are in the base currency."
        ),
        parameters=[MonthQuery],
        responses={
            (200, "application/pdf"): OpenApiResponse(
                OpenApiTypes.BINARY, description="The PDF report."
            ),
            400: VALIDATION_ERROR,
        },
    )
    def get(self, request: Request, **kwargs: Any) -> HttpResponse:
        query = MonthQuery(data=request.query_params, context={"request": request})
        query.is_valid(raise_exception=True)
        month = query.validated_data.get("month")
        now = user_now(request.user)
        if month:
            year, number = month.year, month.month
        else:
            year, number = current_budget_month(book=self.book, today=now.date())
        pdf = build_report(book=self.book, user=request.user, year=year, month=number, now=now)
        response = HttpResponse(pdf, content_type="application/pdf")
        stem = _file_stem(self.book, "report")
        return _attachment(response, f"{stem}-{year:04d}-{number:02d}.pdf")


# --- balances and settlements of a shared book (SPEC §15) -------------------------------

BALANCE_COLUMNS = (
    "user",
    "username",
    "paid",
    "share",
    "settled_out",
    "settled_in",
    "balance",
    "currency",
)
SPLITS_CSV = (
    " UTF-8 CSV with a byte order mark and CRLF line ends; a text cell beginning with `=`, "
    "`+`, `-`, `@`, tab or CR starts with an apostrophe. Only shared books have it: a "
    "personal book → 400 `not_a_shared_book`."
)
PERSONAL_BOOK = OpenApiResponse(
    OpenApiTypes.OBJECT, description="`not_a_shared_book`: a personal book has no balances."
)


class SharedBookExportView(ExportView):
    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        shared_book_required(self.book)

    def _csv(self, rows: Any, header: tuple[str, ...], name: str) -> StreamingHttpResponse:
        response = StreamingHttpResponse(
            table_stream(header, rows), content_type="text/csv; charset=utf-8"
        )
        stem = _file_stem(self.book, name)
        return _attachment(response, f"{stem}-{user_today(self.request.user)}.csv")


class BalancesCsvView(SharedBookExportView):
    @extend_schema(
        tags=["exports"],
        operation_id="export_balances_csv",
        summary="Download the members' balances as CSV",
        description="One row per member, as `GET /books/{id}/balances/`: `user` (id), "
        "`username`, `paid`, `share`, `settled_out`, `settled_in`, `balance` (paid − share "
        "+ settled_out − settled_in; positive: is owed) and `currency` (the book's base "
        "currency). The settlements themselves are `export/settlements.csv`." + SPLITS_CSV,
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.BINARY, description="The CSV file."),
            400: PERSONAL_BOOK,
        },
    )
    def get(self, request: Request, **kwargs: Any) -> StreamingHttpResponse:
        currency = self.book.base_currency
        rows = [
            (
                row["user"] if row["user"] is not None else "",
                neutralise(row["username"]),
                *(
                    amount_text(row[key], currency)
                    for key in ("paid", "share", "settled_out", "settled_in", "balance")
                ),
                currency,
            )
            for row in book_balances(book=self.book)
        ]
        return self._csv(rows, BALANCE_COLUMNS, "balances")


def _settlement_cells(rows: Iterator[tuple[Any, ...]], base_currency: str) -> Iterator[tuple]:
    for (
        pk,
        day,
        from_id,
        from_name,
        to_id,
        to_name,
        amount,
        currency,
        base_amount,
        rate,
        note,
        created_at,
    ) in rows:
        yield (
            pk,
            day.isoformat(),
            from_id if from_id is not None else "",
            neutralise(from_name or ""),
            to_id if to_id is not None else "",
            neutralise(to_name or ""),
            amount_text(amount, currency),
            currency,
            amount_text(base_amount, base_currency),
            base_currency,
            rate_text(rate),
            neutralise(note),
            created_at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        )


SETTLEMENT_CSV_COLUMNS = (
    "id",
    "date",
    "from_user",
    "from_username",
    "to_user",
    "to_username",
    "amount",
    "currency",
    "base_amount",
    "base_currency",
    "exchange_rate",
    "note",
    "created_at",
)


class SettlementsCsvView(SharedBookExportView):
    @extend_schema(
        tags=["exports"],
        operation_id="export_settlements_csv",
        summary="Download the book's settlements as CSV",
        description="Every payment recorded between members, oldest first: `id`, `date`, "
        "`from_user`, `from_username`, `to_user`, `to_username`, `amount`, `currency`, "
        "`base_amount`, `base_currency`, `exchange_rate`, `note`, `created_at` (UTC)." + SPLITS_CSV,
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.BINARY, description="The CSV file."),
            400: PERSONAL_BOOK,
        },
    )
    def get(self, request: Request, **kwargs: Any) -> StreamingHttpResponse:
        rows = _settlement_cells(settlement_rows(book=self.book), self.book.base_currency)
        return self._csv(rows, SETTLEMENT_CSV_COLUMNS, "settlements")
