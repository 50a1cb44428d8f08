"""OpenAPI helpers shared by the whole API."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view

NOT_FOUND = OpenApiResponse(description="No such object among yours.")
VALIDATION_ERROR = OpenApiResponse(description='Validation error: `{"field": ["message"]}`.')


def crud_schema(serializer: Any, **extra: dict[int, Any]) -> Any:
    """Documents the usual statuses of a ModelViewSet's actions for `serializer`.

    `extra` maps an action name to more responses, e.g. `destroy={409: CONFLICT}`.
    """

    def responses(action: str, ok: dict[int, Any]) -> Any:
        return extend_schema(responses={**ok, **extra.get(action, {})})

    return extend_schema_view(
        retrieve=responses("retrieve", {200: serializer, 404: NOT_FOUND}),
        create=responses("create", {201: serializer, 400: VALIDATION_ERROR}),
        update=responses("update", {200: serializer, 400: VALIDATION_ERROR, 404: NOT_FOUND}),
        partial_update=responses(
            "partial_update", {200: serializer, 400: VALIDATION_ERROR, 404: NOT_FOUND}
        ),
        destroy=responses("destroy", {204: None, 404: NOT_FOUND}),
    )
