"""/imports/: upload a statement (preview), commit it, undo it — in the caller's personal
book, or under /books/{book_id}/imports/ in that book (SPEC §14)."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from books.scoping import BookScopedMixin
from core.parsers import StrictJSONParser
from core.schema import NOT_FOUND, VALIDATION_ERROR, operation_docs, request_example
from core.uploads import FileTooLarge

from . import services, tasks
from .models import ImportBatch, ImportProfile
from .profiles import profile_create, profile_for_upload, profile_update
from .selectors import batches_with_rows_head
from .serializers import (
    PROFILE_OPTIONS,
    CommitResultSerializer,
    CommitSerializer,
    ImportBatchListSerializer,
    ImportBatchSerializer,
    ImportProfileSerializer,
    ImportUploadSerializer,
    UndoResultSerializer,
    csv_options,
)

# The CSV/XLSX options an upload takes (every `CsvOptions` field the upload serializer
# has: delimiter, encoding, date_format, decimal_separator, columns, skip_rows, negate,
# credit_markers); a profile saves the same ones.
CSV_OPTIONS = PROFILE_OPTIONS

PROFILE = {
    "name": "My bank (CSV)",
    "options": {
        "delimiter": ";",
        "date_format": "%d.%m.%Y",
        "decimal_separator": ",",
        "columns": {"date": "Booked", "description": "Text", "amount": "Amount"},
    },
}
PROFILE_RULES = (
    "A profile saves the CSV/XLSX options of `POST /imports/` under a name; use it with "
    "`profile` on upload, or let it be picked for a file whose header row matches (send "
    "a `sample` file as `multipart/form-data`, or `from_batch` to copy an earlier import's "
    "options and header). At most 100 per book; names are unique."
)


@extend_schema_view(
    list=operation_docs(
        "List your statement imports",
        "Newest first, each with its status (`preview`, `committing`, `committed`, "
        "`undoing`, `undone`, `failed`) and counts; the rows are in `GET /imports/{id}/`.",
    ),
    retrieve=operation_docs(
        "Get an import with its rows",
        "The preview rows (new, possible duplicate, or error with the reason) and, once "
        "committed, what was stored. Poll it after a 202 from commit or undo.",
    ),
)
class ImportViewSet(
    BookScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Statement imports. Upload → preview (nothing stored) → commit → optional undo."""

    queryset = ImportBatch.objects.all()
    parser_classes = [MultiPartParser, FormParser, StrictJSONParser]
    filter_backends: list = []

    def safely_get_queryset(self, queryset):  # type: ignore[no-untyped-def]
        if self.action == "list":
            return queryset.defer("rows", "errors")
        if self.action in ("commit", "destroy"):
            return queryset.defer("rows")  # read only if needed (keep_lines, an inline commit)
        return batches_with_rows_head(queryset)

    def get_serializer_class(self):  # type: ignore[no-untyped-def]
        return ImportBatchListSerializer if self.action == "list" else ImportBatchSerializer

    @extend_schema(
        request={"multipart/form-data": ImportUploadSerializer},
        responses={
            201: ImportBatchSerializer,
            400: VALIDATION_ERROR,
            413: OpenApiResponse(description="File larger than IMPORT_MAX_BYTES."),
            415: OpenApiResponse(description="Not a statement format we read."),
        },
        summary="Upload a statement for a preview",
        description=(
            "Send the file as `multipart/form-data` `file` (CSV, OFX/QFX, QIF, XLSX, "
            "camt.052/053 or MT940; at most IMPORT_MAX_BYTES and IMPORT_MAX_ROWS rows). "
            "`format: auto` sniffs it. CSV/XLSX take column options or a saved `profile` "
            "(`/imports/profiles/`). Nothing is stored as expenses or income yet: the answer "
            "is a preview batch whose rows say what is new, what looks like a duplicate of a "
            "record you have, and what cannot be read. Then `POST /imports/{id}/commit/`."
        ),
        examples=[
            request_example(
                {"format": "auto", "default_currency": "EUR"}, media_type="multipart/form-data"
            )
        ],
    )
    def create(self, request: Request, *args: object, **kwargs: object) -> Response:
        """Upload a statement and get a preview; nothing is stored as expenses or income yet."""
        upload_serializer = ImportUploadSerializer(data=request.data)
        upload_serializer.is_valid(raise_exception=True)
        data = upload_serializer.validated_data
        upload = data["file"]
        if upload.size is not None and upload.size > settings.IMPORT_MAX_BYTES:
            limit = settings.IMPORT_MAX_BYTES
            raise FileTooLarge(f"file: {upload.size} bytes is over the {limit}-byte limit.")
        content = upload.read()
        # Only the options the request really sent (`negate` has a default) override a
        # profile's; with none at all, a profile may be chosen by the file's header.
        given = {name: data[name] for name in CSV_OPTIONS if name in data and name in request.data}
        profile, matched_by = profile_for_upload(
            book=self.book,
            content=content,
            filename=upload.name or "",
            ref=data.get("profile"),
            explicit=bool(given),
        )
        options = csv_options({**(profile.options if profile else {}), **given})
        batch = services.import_preview(
            book=self.book,
            user=request.user,
            content=content,
            fmt=data["format"],
            filename=upload.name or "",
            options=options,
            default_currency=data.get("default_currency"),
            profile=profile,
            matched_by=matched_by,
        )
        return Response(ImportBatchSerializer(batch).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=CommitSerializer,
        responses={
            200: CommitResultSerializer,
            202: OpenApiResponse(
                ImportBatchSerializer,
                description="More than IMPORT_ASYNC_ROWS rows: queued. The batch is "
                "`committing`; poll GET /imports/{id}/ until `committed` or `failed` "
                "(`error` says why; nothing was stored).",
            ),
            400: VALIDATION_ERROR,
            404: NOT_FOUND,
            409: OpenApiResponse(
                description="Not a preview any more: already committed "
                "(`already_committed`), being committed or undone (`commit_in_progress`, "
                "`undo_in_progress`), undone (`already_undone`) or failed (`import_failed`)."
            ),
        },
        summary="Store a previewed import",
        description=(
            "Stores the preview's new rows in one transaction: money out as expenses, money "
            "in as income, with your rules applied to uncategorised rows. Possible duplicates "
            "are skipped unless their line is in `keep_lines`; rows with errors make it a 400 "
            "unless `skip_errors`. Up to IMPORT_ASYNC_ROWS rows answer 200 with the counts; "
            "more are queued (202): poll `GET /imports/{id}/`. Undo with "
            "`DELETE /imports/{id}/`."
        ),
        examples=[request_example({"skip_errors": True, "keep_lines": []})],
    )
    @action(detail=True, methods=["post"])
    def commit(self, request: Request, pk: str | None = None, **kwargs: object) -> Response:
        """Store the new rows: outflows as expenses, inflows as income, rules applied."""
        batch = self.get_object()
        serializer = CommitSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        counts = services.import_commit(
            batch=batch,
            skip_errors=serializer.validated_data["skip_errors"],
            keep_lines=serializer.validated_data["keep_lines"],
            enqueue=tasks.import_commit_task.delay,
        )
        if counts is None:
            return self._queued(batch)
        return Response(counts)

    @extend_schema(
        responses={
            200: UndoResultSerializer,
            202: OpenApiResponse(
                ImportBatchSerializer,
                description="More than IMPORT_ASYNC_ROWS records to delete: queued. The "
                "batch is `undoing`; poll GET /imports/{id}/ until `undone` or `failed`.",
            ),
            404: NOT_FOUND,
            409: OpenApiResponse(
                description="Being committed or undone (`commit_in_progress`, "
                "`undo_in_progress`) or already undone (`already_undone`)."
            ),
        },
        summary="Undo an import (or discard a preview)",
        description=(
            "Deletes every expense and income the batch stored (records you edited since "
            "included), then the batch; a preview is simply discarded. A batch that stored "
            "more than IMPORT_ASYNC_ROWS records is queued (202) and kept as `undoing` until "
            "`undone`: poll `GET /imports/{id}/`."
        ),
    )
    def destroy(self, request: Request, pk: str | None = None, **kwargs: object) -> Response:
        """Undo: delete every record the batch stored (or discard a preview)."""
        batch = self.get_object()
        counts = services.import_undo(batch=batch, enqueue=tasks.import_undo_task.delay)
        if counts is None:
            return self._queued(batch)
        return Response(counts)

    def _queued(self, batch: ImportBatch) -> Response:
        """202 with the batch as it is now (eager task runs may have finished it)."""
        batch = batches_with_rows_head(ImportBatch.objects.filter(pk=batch.pk)).get()
        return Response(ImportBatchSerializer(batch).data, status=status.HTTP_202_ACCEPTED)


@extend_schema_view(
    list=operation_docs(
        "List your saved import mappings",
        "Each with its options and the header row it matches. " + PROFILE_RULES,
    ),
    retrieve=operation_docs("Get an import mapping", "One of your saved import mappings."),
    create=operation_docs(
        "Save an import mapping",
        PROFILE_RULES,
        request={
            "application/json": ImportProfileSerializer,
            "multipart/form-data": ImportProfileSerializer,
        },
        responses={201: ImportProfileSerializer, 400: VALIDATION_ERROR},
        examples=[request_example(PROFILE)],
    ),
    update=operation_docs(
        "Replace an import mapping",
        "Same fields as when saving (`name` required); `options`, when sent, replace the "
        "saved ones as a whole.",
        request={
            "application/json": ImportProfileSerializer,
            "multipart/form-data": ImportProfileSerializer,
        },
        responses={200: ImportProfileSerializer, 400: VALIDATION_ERROR, 404: NOT_FOUND},
        examples=[request_example(PROFILE)],
    ),
    partial_update=operation_docs(
        "Change some fields of an import mapping",
        "Only the fields sent change; a new `sample` or `from_batch` replaces the header "
        "it matches.",
        request={
            "application/json": ImportProfileSerializer,
            "multipart/form-data": ImportProfileSerializer,
        },
        responses={200: ImportProfileSerializer, 400: VALIDATION_ERROR, 404: NOT_FOUND},
        examples=[request_example({"name": "My bank (semicolon CSV)"})],
    ),
    destroy=operation_docs(
        "Delete an import mapping",
        "Imports made with it are unaffected.",
    ),
)
class ImportProfileViewSet(BookScopedMixin, viewsets.ModelViewSet):
    """Saved import mappings: CSV/XLSX options under a name, used by `profile` on upload
    or automatically for a file whose header row matches (at most 100 per book)."""

    queryset = ImportProfile.objects.all()
    serializer_class = ImportProfileSerializer
    parser_classes = [StrictJSONParser, MultiPartParser, FormParser]
    filter_backends: list = []

    def perform_create(self, serializer: ImportProfileSerializer) -> None:  # type: ignore[override]
        data = serializer.validated_data
        serializer.instance = profile_create(
            book=self.book,
            user=self.request.user,
            name=data["name"],
            options=data.get("options", {}),
            header=data.get("header"),
        )

    def perform_update(self, serializer: ImportProfileSerializer) -> None:
        data = serializer.validated_data
        serializer.instance = profile_update(
            profile=serializer.instance,
            name=data.get("name"),
            options=data.get("options"),
            header=data.get("header"),
            set_header="header" in data,
        )
