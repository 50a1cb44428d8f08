"""OpenAPI helpers shared by the whole API."""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.plumbing import force_instance
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import serializers
from rest_framework.permissions import AllowAny, IsAuthenticated

from .serializers import StrictFieldsMixin


class ErrorSerializer(serializers.Serializer):
    """The non-validation error shape of SPEC §3."""

    detail = serializers.CharField()
    code = serializers.CharField()


VALIDATION_ERROR_SCHEMA = {
    "type": "object",
    "description": 'Field name (or `non_field_errors`) → messages: `{"field": ["message"]}`.',
    "additionalProperties": {},
}

NOT_FOUND = OpenApiResponse(response=ErrorSerializer, description="No such object among yours.")
VALIDATION_ERROR = OpenApiResponse(
    response=OpenApiTypes.OBJECT, description='Validation error: `{"field": ["message"]}`.'
)

_ERROR_DESCRIPTIONS = {
    "401": "Missing, invalid or expired access token.",
    "403": "Authenticated but not allowed.",
    "404": "No such object among yours.",
    "409": "Conflict: the records are being changed by another operation (a base-currency "
    "change, an import) or the request conflicts with their state; `Retry-After` says when "
    "to retry a passing one.",
    "413": "The request body is over the size limit.",
    "415": "Unsupported media type: send JSON (or multipart/form data where a file is taken).",
    "429": "Too many requests; retry later.",
    "503": "The file storage is unavailable (`storage_unavailable`); `Retry-After` says when "
    "to retry.",
}
_WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


class AutoSchema(SpectacularAutoSchema):
    """Documents the error statuses every operation can answer with (SPEC §3).

    Any operation taking parameters or a body can answer 400; one behind JWT
    authentication 401; one with a path parameter 404; one with a permission beyond
    "authenticated", or a write of a book's records, 403; a throttled one 429; one with
    a body 413 and 415; an authenticated write 409; a multipart write of a view that
    stores uploads (`stores_uploads`) 503. Statuses a view documents itself win.
    """

    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        # `@extend_schema(operation_id=…)` replaces get_operation_id below: prefix here too.
        operation_id = operation.get("operationId", "")
        if "{book_id}" in self.path and not operation_id.startswith("books_"):
            operation["operationId"] = f"books_{operation_id}"
        responses = operation.setdefault("responses", {})
        parameters = operation.get("parameters", [])
        if "requestBody" in operation or any(p.get("in") == "query" for p in parameters):
            responses.setdefault(
                "400",
                {
                    "description": 'Validation error: `{"field": ["message"]}`.',
                    "content": {"application/json": {"schema": VALIDATION_ERROR_SCHEMA}},
                },
            )
        if any(requirement for requirement in operation.get("security", [])):
            self._add_error(responses, "401")
        if any(not isinstance(p, (AllowAny, IsAuthenticated)) for p in self.view.get_permissions()):
            self._add_error(responses, "403")
        # A book's records (books.scoping.BookScopedMixin): a role too low for the method
        # (a viewer writing) is refused with 403.
        if getattr(self.view, "write_role", None) and self.method not in ("GET", "HEAD"):
            self._add_error(responses, "403")
        # A path parameter may name nothing of yours; a `page` may be past the last one.
        if any(p.get("in") == "path" or p.get("name") == "page" for p in parameters):
            self._add_error(responses, "404")
        if self.view.get_throttles():
            self._add_error(responses, "429")
        if "requestBody" in operation:
            self._add_error(responses, "413")
            self._add_error(responses, "415")
        # Any authenticated write may meet rows a long operation holds (DB_LOCK_TIMEOUT_MS)
        # or a base-currency change in progress.
        if self.method in _WRITE_METHODS and "401" in responses:
            self._add_error(responses, "409")
        # A write that may store an uploaded file (a receipt) meets the file storage,
        # which can fail (core.uploads.StorageUnavailable).
        content = operation.get("requestBody", {}).get("content", {})
        if getattr(self.view, "stores_uploads", False) and "multipart/form-data" in content:
            self._add_error(responses, "503")
        return operation

    def get_operation_id(self) -> str:
        # The same views serve a book's routes (`/books/{book_id}/…`, SPEC §14): their ids
        # get the `books_` prefix, also where a view names its operation itself.
        operation_id = super().get_operation_id()
        if "{book_id}" in self.path and not operation_id.startswith("books_"):
            operation_id = f"books_{operation_id}"
        return operation_id

    def _map_basic_serializer(self, serializer: Any, direction: str) -> dict[str, Any]:
        # A request body of a strict serializer takes its listed fields and nothing else.
        schema = super()._map_basic_serializer(serializer, direction)
        if direction == "request" and isinstance(force_instance(serializer), StrictFieldsMixin):
            schema["additionalProperties"] = False
        return schema

    def _add_error(self, responses: dict[str, Any], code: str) -> None:
        if code in responses:
            return
        component = self.resolve_serializer(ErrorSerializer, "response")
        responses[code] = {
            "description": _ERROR_DESCRIPTIONS[code],
            "content": {"application/json": {"schema": component.ref}},
        }


def crud_schema(
    serializer: Any,
    *,
    docs: dict[str, tuple[str, str]] | None = None,
    examples: dict[str, list[OpenApiExample]] | None = None,
    **extra: dict[int, Any],
) -> Any:
    """Documents the usual statuses of a ModelViewSet's actions for `serializer`.

    `docs` maps an action name to its (summary, description); `examples` to its request
    examples (each must work as given: tests/test_openapi_docs.py replays them). `extra`
    maps an action name to more responses, e.g. `destroy={409: CONFLICT}`.
    """
    docs = docs or {}
    examples = examples or {}

    def responses(action: str, ok: dict[int, Any]) -> Any:
        summary, description = docs.get(action, (None, None))
        return extend_schema(
            responses={**ok, **extra.get(action, {})},
            summary=summary,
            description=description,
            examples=examples.get(action),
        )

    return extend_schema_view(
        **({"list": operation_docs(*docs["list"])} if "list" in docs else {}),
        retrieve=responses("retrieve", {200: serializer, 404: NOT_FOUND}),
        create=responses("create", {201: serializer, 400: VALIDATION_ERROR}),
        update=responses("update", {200: serializer, 400: VALIDATION_ERROR, 404: NOT_FOUND}),
        partial_update=responses(
            "partial_update", {200: serializer, 400: VALIDATION_ERROR, 404: NOT_FOUND}
        ),
        destroy=responses("destroy", {204: None, 404: NOT_FOUND}),
    )


def operation_docs(summary: str, description: str, **kwargs: Any) -> Any:
    """`extend_schema` for an operation's summary and description (both required: see
    tests/test_openapi_docs.py), plus any other `extend_schema` argument."""
    return extend_schema(summary=summary, description=description, **kwargs)


def request_example(value: dict[str, Any], *, name: str = "Example", **kwargs: Any) -> Any:
    """A request body example that works as given (tests/test_openapi_docs.py replays it)."""
    return OpenApiExample(name, value=value, request_only=True, **kwargs)
