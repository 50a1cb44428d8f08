"""GET /export/backup.json and POST /import/backup/ (SPEC §11): a backup is of one book —
the caller's personal book on these paths, book {id} under /books/{id}/ (SPEC §14)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import StreamingHttpResponse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from books.scoping import BookScopedMixin
from core.dates import user_today
from core.negotiation import JSONErrorsNegotiation
from core.schema import VALIDATION_ERROR, request_example

from .parsers import BackupJSONParser, load_document, too_large
from .selectors import backup_chunks
from .serializers import (
    BackupDocumentSerializer,
    BackupRestoreResultSerializer,
    BackupUploadSerializer,
)
from .services import MODES, backup_restore

# A small document in the format `GET /export/backup.json` writes (merged by default).
BACKUP_EXAMPLE = {
    "format": "budget-tracker-backup",
    "version": 1,
    "user": {"base_currency": "EUR"},
    "categories": [
        {
            "key": "c1",
            "name": "Coffee",
            "kind": "expense",
            "parent": {"system": True, "kind": "expense", "name": "Food"},
        }
    ],
    "tags": [{"name": "holiday"}],
    "expenses": [
        {
            "amount": "3.20",
            "currency": "EUR",
            "date": "2026-03-02",
            "description": "Espresso",
            "category": {"key": "c1"},
            "tags": ["holiday"],
            "payment_method": "card",
        }
    ],
}

# Room for the multipart envelope around the file when checking Content-Length.
MULTIPART_OVERHEAD_BYTES = 64 * 1024


class BackupExportView(BookScopedMixin, APIView):
    content_negotiation_class = JSONErrorsNegotiation

    @extend_schema(
        operation_id="backup_export",
        summary="Download a backup of the book",
        description=(
            "A versioned JSON document (`format: budget-tracker-backup`, `version: 1`) "
            "with the book's base currency and month start day, your settings, the book's "
            "own categories, tags, rules, expenses, income, budgets, goals with "
            "contributions and recurring items, and your notification preferences. "
            "System categories are referred to by kind and name. Receipt files are not "
            "included (`has_receipt` says whether there was one). Streamed. Any member "
            "of the book may download it."
        ),
        responses={200: OpenApiResponse(BackupDocumentSerializer, description="The backup.")},
    )
    def get(self, request: Request, book_id: int | None = None) -> StreamingHttpResponse:
        response = StreamingHttpResponse(
            backup_chunks(self.book, request.user),
            content_type="application/json; charset=utf-8",
        )
        filename = f"budget-tracker-backup-{user_today(request.user):%Y-%m-%d}.json"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        response["Cache-Control"] = "no-store"
        return response


def _content_length(request: Request) -> int:
    """The declared body size; 0 when the header is missing or not a number."""
    declared = str(request.META.get("CONTENT_LENGTH") or "")
    return int(declared) if declared.isdecimal() else 0


class BackupRestoreView(BookScopedMixin, APIView):
    parser_classes = [BackupJSONParser, MultiPartParser]

    @extend_schema(
        operation_id="backup_restore",
        summary="Restore a backup (merge or replace)",
        description=(
            "Send the document as a multipart `file` or as the JSON body. The whole "
            "document is checked first; if anything is wrong the answer is 400 with "
            'every problem by path (e.g. `{"expenses": {"12": {"amount": ["…"]}}}`) '
            "and nothing is stored. Everything goes into the book (editors and owners). "
            "`merge` (default) adds to the book, reusing categories and tags of the same "
            "name and skipping records it already has, and leaves settings alone; "
            "`replace` deletes the book's own categories, tags, rules, expenses, income, "
            "budgets, goals and recurring items first (that book's only) and, restoring "
            "into your personal book, applies the backup's settings. All in one "
            "transaction."
        ),
        parameters=[
            OpenApiParameter(
                "mode",
                str,
                enum=list(MODES),
                description="`merge` (default) or `replace`; a multipart `mode` field wins.",
            )
        ],
        request={
            "multipart/form-data": BackupUploadSerializer,
            "application/json": BackupDocumentSerializer,
        },
        examples=[request_example(BACKUP_EXAMPLE, name="A small backup")],
        responses={
            200: BackupRestoreResultSerializer,
            400: VALIDATION_ERROR,
            409: OpenApiResponse(description="Replace mode: the records are still in use."),
            413: OpenApiResponse(description="Larger than the upload limit."),
            415: OpenApiResponse(description="Neither JSON nor multipart."),
        },
    )
    def post(self, request: Request, book_id: int | None = None) -> Response:
        limit = settings.IMPORT_MAX_BYTES
        length = _content_length(request)
        multipart = (request.content_type or "").startswith("multipart/")
        if length > limit + (MULTIPART_OVERHEAD_BYTES if multipart else 0):
            raise too_large(length)
        if multipart:
            document = self._uploaded_document(request, limit)
            mode = request.data.get("mode") or request.query_params.get("mode") or "merge"
        else:
            if length == 0:
                raise serializers.ValidationError(
                    {"file": ["Send the backup as a multipart `file` or as a JSON body."]}
                )
            document = request.data
            mode = request.query_params.get("mode") or "merge"
        result = backup_restore(book=self.book, user=request.user, document=document, mode=mode)
        return Response(BackupRestoreResultSerializer(result).data)

    @staticmethod
    def _uploaded_document(request: Request, limit: int) -> Any:
        upload = request.FILES.get("file")
        if upload is None:
            raise serializers.ValidationError({"file": ["No file was submitted."]})
        if upload.size is not None and upload.size > limit:
            raise too_large(upload.size)
        return load_document(upload.read())
