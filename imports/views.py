"""/imports/: upload a statement (preview), commit it, undo it."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from core.exceptions import ApplicationError
from core.parsers import StrictJSONParser
from core.schema import NOT_FOUND, VALIDATION_ERROR
from core.uploads import FileTooLarge
from core.views import OwnedQuerysetMixin

from . import services, tasks
from .models import ImportBatch, ImportProfile
from .parsers.base import StatementError, UnsupportedFormat
from .profiles import ProfileNotFound, profile_create, profile_for_upload, profile_update
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


class ImportViewSet(
    OwnedQuerysetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Statement imports. Upload → preview (nothing stored) → commit → optional undo."""

    queryset = ImportBatch.objects.all()
    parser_classes = [MultiPartParser, FormParser, StrictJSONParser]
    filter_backends: list = []

    def get_owned_queryset(self):  # type: ignore[no-untyped-def]
        if self.action == "list":
            return self.queryset.defer("rows", "errors")
        return self.queryset.all()

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
    )
    def create(self, request: Request) -> Response:
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
        try:
            profile, matched_by = profile_for_upload(
                user=request.user,
                content=content,
                filename=upload.name or "",
                ref=data.get("profile"),
                explicit=bool(given),
            )
        except ProfileNotFound as exc:
            raise ValidationError({"profile": [str(exc)]}) from None
        options = csv_options({**(profile.options if profile else {}), **given})
        try:
            batch = services.import_preview(
                user=request.user,
                content=content,
                fmt=data["format"],
                filename=upload.name or "",
                options=options,
                default_currency=data.get("default_currency"),
                profile=profile,
                matched_by=matched_by,
            )
        except UnsupportedFormat as exc:
            raise ApplicationError(
                str(exc), code="unsupported_file_type", status_code=415
            ) from None
        except StatementError as exc:
            raise ValidationError({"file": [str(exc)]}) from None
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
    )
    @action(detail=True, methods=["post"])
    def commit(self, request: Request, pk: str | None = None) -> Response:
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
        }
    )
    def destroy(self, request: Request, pk: str | None = None) -> Response:
        """Undo: delete every record the batch stored (or discard a preview)."""
        batch = self.get_object()
        counts = services.import_undo(batch=batch, enqueue=tasks.import_undo_task.delay)
        if counts is None:
            return self._queued(batch)
        return Response(counts)

    def _queued(self, batch: ImportBatch) -> Response:
        """202 with the batch as it is now (eager task runs may have finished it)."""
        batch.refresh_from_db()
        return Response(ImportBatchSerializer(batch).data, status=status.HTTP_202_ACCEPTED)


@extend_schema_view(
    create=extend_schema(
        request={
            "application/json": ImportProfileSerializer,
            "multipart/form-data": ImportProfileSerializer,
        },
        responses={201: ImportProfileSerializer, 400: VALIDATION_ERROR},
    ),
    update=extend_schema(
        request={
            "application/json": ImportProfileSerializer,
            "multipart/form-data": ImportProfileSerializer,
        },
        responses={200: ImportProfileSerializer, 400: VALIDATION_ERROR, 404: NOT_FOUND},
    ),
    partial_update=extend_schema(
        request={
            "application/json": ImportProfileSerializer,
            "multipart/form-data": ImportProfileSerializer,
        },
        responses={200: ImportProfileSerializer, 400: VALIDATION_ERROR, 404: NOT_FOUND},
    ),
)
class ImportProfileViewSet(OwnedQuerysetMixin, viewsets.ModelViewSet):
    """Saved import mappings: CSV/XLSX options under a name, used by `profile` on upload
    or automatically for a file whose header row matches (at most 100 per user)."""

    queryset = ImportProfile.objects.all()
    serializer_class = ImportProfileSerializer
    parser_classes = [StrictJSONParser, MultiPartParser, FormParser]
    filter_backends: list = []

    def perform_create(self, serializer: ImportProfileSerializer) -> None:  # type: ignore[override]
        data = serializer.validated_data
        serializer.instance = profile_create(
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
