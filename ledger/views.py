"""The viewset shape shared by /expenses/ and /incomes/."""

from __future__ import annotations

import mimetypes
from typing import Any

from django.http import FileResponse
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.filters import SearchFilter
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.serializers import BaseSerializer

from core.filters import StrictOrderingFilter
from core.pagination import KeysetPagination
from core.parsers import StrictJSONParser
from core.views import OwnedQuerysetMixin


class TransactionViewSet(OwnedQuerysetMixin, viewsets.ModelViewSet):
    """CRUD over the user's own records; writes go through the app's services module.

    Subclasses set `queryset`, `serializer_class`, `filterset_class`, `search_fields`
    and `services` (an object with create/update/delete callables).
    """

    parser_classes = [StrictJSONParser, MultiPartParser, FormParser]
    pagination_class = KeysetPagination
    filter_backends = [
        DjangoFilterBackend,
        SearchFilter,
        StrictOrderingFilter,
    ]
    ordering_fields = ["date", "amount", "created_at"]
    ordering = ["-date", "-id"]
    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]

    def get_owned_queryset(self):  # type: ignore[no-untyped-def]
        return self.queryset.select_related("category", "user").prefetch_related("tags")

    def check_editable(self, instance: Any) -> None:
        """Hook for edit-window style rules; raises to refuse the change."""

    def perform_create(self, serializer: BaseSerializer) -> None:
        serializer.instance = self.create_record(
            user=self.request.user, data=serializer.validated_data
        )

    def perform_update(self, serializer: BaseSerializer) -> None:
        self.check_editable(serializer.instance)
        serializer.instance = self.update_record(
            instance=serializer.instance, data=serializer.validated_data
        )

    def perform_destroy(self, instance: Any) -> None:
        self.check_editable(instance)
        self.delete_record(instance=instance)

    def create_record(self, *, user: Any, data: dict[str, Any]) -> Any:
        raise NotImplementedError

    def update_record(self, *, instance: Any, data: dict[str, Any]) -> Any:
        raise NotImplementedError

    def delete_record(self, *, instance: Any) -> None:
        raise NotImplementedError

    @extend_schema(
        responses={
            (200, "application/octet-stream"): OpenApiTypes.BINARY,
            404: OpenApiResponse(description="No such record, or it has no receipt."),
        },
    )
    @action(
        detail=True, methods=["get"], url_path="receipt", filter_backends=[], pagination_class=None
    )
    def receipt(self, request: Request, pk: str | None = None) -> FileResponse:
        """Download the record's receipt (owner only)."""
        record = self.get_object()
        if not record.receipt:
            raise NotFound("This record has no receipt.")
        content_type = mimetypes.guess_type(record.receipt.name)[0] or "application/octet-stream"
        return FileResponse(record.receipt.open("rb"), content_type=content_type)
