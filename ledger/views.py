"""The viewset shape shared by /expenses/ and /incomes/."""

from __future__ import annotations

from typing import Any, ClassVar

import filetype
from django.db.models import QuerySet
from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.filters import SearchFilter
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from books.models import Book
from books.scoping import BookScopedMixin
from core.filters import AbsentFiltersBackend, StrictOrderingFilter
from core.pagination import KeysetPagination
from core.parsers import StrictJSONParser
from core.schema import ErrorSerializer, request_example

from .selectors import receipt_open
from .serializers import (
    RECATEGORIZE_MAX,
    RECEIPT_MIMES,
    LeanList,
    RecategorizeResultSerializer,
    TransactionSerializer,
    request_bodies,
)
from .services import receipt_files_kept_on_commit

# Receipt types a browser may show in place: the ones an upload may have (images, PDF).
INLINE_RECEIPT_MIMES = RECEIPT_MIMES


def request_schema(serializer_class: type[TransactionSerializer]) -> Any:
    """Documents the write operations' request body per media type (`request_bodies`):
    JSON without a file, multipart with the receipt as a file part."""
    bodies = request_bodies(serializer_class)
    return extend_schema_view(
        create=extend_schema(request=bodies),
        update=extend_schema(request=bodies),
        partial_update=extend_schema(request=bodies),
    )


def recategorize_schema(serializer_class: type[BaseSerializer], noun: str, category_id: int) -> Any:
    """Documents `POST …/recategorize/` with the subclass's request body (`category_id`:
    a seeded system category of the kind, for the example)."""
    return extend_schema_view(
        recategorize=extend_schema(
            request=serializer_class,
            examples=[request_example({"ids": [101, 102, 105], "category": category_id})],
            summary=f"Give many {noun} one category",
            description=(
                f"Sets `category` (or none, with null) on every one of `ids` (1–"
                f"{RECATEGORIZE_MAX} of the book's {noun}) in one transaction, clearing their "
                "suggestions: all of them change, or — when an id is not one of this book's "
                f"{noun}, or the category is not the book's or of the wrong kind — none does "
                "(400 naming the field). Each counts as an update: webhooks hear "
                "`<kind>.updated` per record, and budgets alert as for single edits. Viewers "
                "get 403."
            ),
        )
    )


class TransactionViewSet(BookScopedMixin, viewsets.ModelViewSet):
    """CRUD over the records of the request's book (`BookScopedMixin`: the book in the URL
    or the caller's personal book; viewers read, editors write); writes go through the
    app's services module, creating in that book.

    Subclasses set `queryset`, `serializer_class`, `lean_list_class` (the same shape as
    the serializer's, for list pages: `LeanList`), `filterset_class`, `search_fields`,
    `recategorize_serializer_class` and the record hooks (`create_record`…
    `recategorize_records`), which call the app's services.
    """

    recategorize_serializer_class: ClassVar[type[BaseSerializer]]
    lean_list_class: ClassVar[type[LeanList] | None] = None

    parser_classes = [StrictJSONParser, MultiPartParser, FormParser]
    stores_uploads = True  # receipts: writes may answer 503 when the file storage fails
    pagination_class = KeysetPagination
    # The ledger's filters do nothing when absent: an unfiltered page builds no filter set.
    filter_backends = [
        AbsentFiltersBackend,
        SearchFilter,
        StrictOrderingFilter,
    ]
    ordering_fields = ["date", "amount", "created_at"]
    ordering = ["-date", "-id"]
    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]

    def safely_get_queryset(self, queryset: QuerySet) -> QuerySet:
        related = ("category", "suggested_category", "book")
        return queryset.select_related(*related).prefetch_related("tags")

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """A page of the book's records (filtered, searched, ordered), written by the
        app's `LeanList` from plain rows: the serializer's shape at a fraction of its
        cost (without one, the serializer writes the page)."""
        if self.lean_list_class is None:
            return super().list(request, *args, **kwargs)
        lean = self.lean_list_class(request=request, book=self.book)
        rows = lean.queryset(self.filter_queryset(self.get_queryset()))
        page = self.paginate_queryset(rows)
        if page is None:
            return Response(lean.represent(list(rows)))
        return self.get_paginated_response(lean.represent(page))

    def check_editable(self, instance: Any) -> None:
        """Hook for edit-window style rules; raises to refuse the change."""

    # The app services wrap ledger writes in their own transactions (budget alerts), so the
    # receipt-file guard goes around the outermost one: a rollback leaves no file behind.
    def perform_create(self, serializer: BaseSerializer) -> None:
        with receipt_files_kept_on_commit():
            serializer.instance = self.create_record(
                book=self.book, user=self.request.user, data=serializer.validated_data
            )

    def perform_update(self, serializer: BaseSerializer) -> None:
        self.check_editable(serializer.instance)
        with receipt_files_kept_on_commit():
            serializer.instance = self.update_record(
                instance=serializer.instance,
                user=self.request.user,
                data=serializer.validated_data,
            )

    def perform_destroy(self, instance: Any) -> None:
        self.check_editable(instance)
        self.delete_record(instance=instance)

    def create_record(self, *, book: Book, user: Any, data: dict[str, Any]) -> Any:
        raise NotImplementedError

    def update_record(self, *, instance: Any, user: Any, data: dict[str, Any]) -> Any:
        raise NotImplementedError

    def delete_record(self, *, instance: Any) -> None:
        raise NotImplementedError

    def recategorize_records(self, *, book: Book, user: Any, ids: list[int], category: Any) -> int:
        raise NotImplementedError

    @extend_schema(
        request=None,  # set per subclass by `recategorize_schema`
        responses={200: RecategorizeResultSerializer},
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="recategorize",
        filter_backends=[],
        pagination_class=None,
        parser_classes=[StrictJSONParser],
    )
    def recategorize(self, request: Request, **kwargs: Any) -> Response:
        """Give many records one category at once (editors and owners)."""
        serializer = self.recategorize_serializer_class(
            data=request.data, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        updated = self.recategorize_records(
            book=self.book,
            user=request.user,
            ids=serializer.validated_data["ids"],
            category=serializer.validated_data["category"],
        )
        return Response({"updated": updated})

    @extend_schema(
        responses={
            (200, "application/octet-stream"): OpenApiTypes.BINARY,
            404: OpenApiResponse(description="No such record, or it has no receipt."),
            503: OpenApiResponse(
                response=ErrorSerializer,
                description="The file storage is unavailable (`storage_unavailable`); "
                "`Retry-After` says when to retry.",
            ),
        },
        summary="Download the record's receipt",
        description=(
            "The stored file with the type sniffed from its bytes (never from its name): "
            "images and PDFs inline, anything else as an `application/octet-stream` "
            "attachment; always `X-Content-Type-Options: nosniff`. Upload or replace it "
            "with the record's POST/PUT/PATCH as `multipart/form-data`."
        ),
    )
    @action(
        detail=True, methods=["get"], url_path="receipt", filter_backends=[], pagination_class=None
    )
    def receipt(self, request: Request, pk: str | None = None, **kwargs: Any) -> FileResponse:
        """Download the record's receipt (members of its book only)."""
        record = self.get_object()
        stored = receipt_open(record=record)
        head = stored.read(8192)
        stored.seek(0)
        kind = filetype.guess(head)
        # Only what the upload check accepts may keep its type and show inline; anything
        # else (a file stored before that check existed) is an opaque download, so no
        # stored file can ever run as a page of this site.
        if kind is not None and kind.mime in INLINE_RECEIPT_MIMES:
            content_type, inline = kind.mime, True
            filename = f"receipt-{record.pk}.{kind.extension}"
        else:
            content_type, inline = "application/octet-stream", False
            filename = f"receipt-{record.pk}.bin"
        response = FileResponse(
            stored, content_type=content_type, as_attachment=not inline, filename=filename
        )
        response["X-Content-Type-Options"] = "nosniff"
        return response
