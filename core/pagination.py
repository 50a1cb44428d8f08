"""Pagination: page numbers for ordinary lists, keyset cursors for huge ones (SPEC §3)."""

import base64
import binascii
import json

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination, PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param


def _positive_int(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        raise ValidationError({name: ["A whole number is required."]}) from None
    if value < 1:
        raise ValidationError({name: ["Must be 1 or more."]})
    return value


class StandardPagination(PageNumberPagination):
    """Default 50 per page; `page_size` above 500 is capped at 500, not rejected."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def get_page_size(self, request: Request) -> int:
        requested = _positive_int(request, self.page_size_query_param)
        if requested is None:
            return self.page_size
        return min(requested, self.max_page_size)

    def paginate_queryset(self, queryset, request, view=None):  # type: ignore[no-untyped-def]
        _positive_int(request, self.page_query_param)
        return super().paginate_queryset(queryset, request, view)

    def get_schema_operation_parameters(self, view):  # type: ignore[no-untyped-def]
        # Both are rejected below 1, so the schema says so.
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"] = {**parameter["schema"], "minimum": 1}
        return parameters


class KeysetPagination(BasePagination):
    """Cursor (keyset) pagination for lists that grow to millions of rows (SPEC §3).

    Hand-rolled instead of DRF's CursorPagination because that one positions on the
    first ordering field only and skips ties with an OFFSET, which degrades when
    many rows share a date or an amount; here the cursor holds every ordering value
    (ending with `id`), so each page is one index range scan whatever its depth.
    The envelope stays `{count, next, previous, results}`; `count` is exact up to
    `count_cap` and capped there, so no request counts a whole million-row list.
    """

    page_size = 50
    max_page_size = 500
    page_size_query_param = "page_size"
    cursor_query_param = "cursor"
    count_cap = 10_000

    def paginate_queryset(self, queryset, request, view=None):  # type: ignore[no-untyped-def]
        if request.query_params.get("page") not in (None, ""):
            raise ValidationError(
                {"page": ["This list pages by cursor: follow `next` / `previous`."]}
            )
        self.request = request
        self.page_size_value = min(
            _positive_int(request, self.page_size_query_param) or self.page_size, self.max_page_size
        )
        self.ordering = self._ordering(queryset)
        position, reverse = self._decode(request.query_params.get(self.cursor_query_param))
        self.count = queryset.order_by()[: self.count_cap + 1].count()
        if self.count > self.count_cap:
            self.count = self.count_cap
        page_qs = queryset
        ordering = self.ordering if not reverse else [self._flip(f) for f in self.ordering]
        if position is not None:
            page_qs = page_qs.filter(self._after(position, ordering))
        rows = list(page_qs.order_by(*ordering)[: self.page_size_value + 1])
        has_more = len(rows) > self.page_size_value
        rows = rows[: self.page_size_value]
        if reverse:
            rows.reverse()
            self.has_next, self.has_previous = position is not None, has_more
        else:
            self.has_next, self.has_previous = has_more, position is not None
        self.rows = rows
        return rows

    def get_paginated_response(self, data):  # type: ignore[no-untyped-def]
        return Response(
            {
                "count": self.count,
                "next": self._link(self.rows[-1], reverse=False)
                if self.has_next and self.rows
                else None,
                "previous": self._link(self.rows[0], reverse=True)
                if self.has_previous and self.rows
                else None,
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema):  # type: ignore[no-untyped-def]
        return {
            "type": "object",
            "required": ["count", "results"],
            "properties": {
                "count": {
                    "type": "integer",
                    "description": f"Matching rows, exact up to {self.count_cap} and capped there.",
                },
                "next": {"type": "string", "nullable": True, "format": "uri"},
                "previous": {"type": "string", "nullable": True, "format": "uri"},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view):  # type: ignore[no-untyped-def]
        return [
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": "Opaque position from a `next`/`previous` link.",
                "schema": {"type": "string"},
            },
            {
                "name": self.page_size_query_param,
                "required": False,
                "in": "query",
                "description": (
                    f"Rows per page (default {self.page_size}, max {self.max_page_size})"
                ),
                "schema": {"type": "integer", "minimum": 1},
            },
        ]

    # --- internals ---------------------------------------------------------------------------

    def _ordering(self, queryset):  # type: ignore[no-untyped-def]
        ordering = list(queryset.query.order_by) or ["-id"]
        if not any(f.lstrip("-") in ("id", "pk") for f in ordering):
            ordering.append("-id" if ordering[0].startswith("-") else "id")
        return [f.replace("pk", "id") if f.lstrip("-") == "pk" else f for f in ordering]

    @staticmethod
    def _flip(field: str) -> str:
        return field[1:] if field.startswith("-") else f"-{field}"

    def _after(self, position: list, ordering: list[str]) -> Q:
        """Rows strictly after `position` in `ordering` (lexicographic)."""
        condition = Q()
        for i, field in enumerate(ordering):
            name = field.lstrip("-")
            step = Q(**{f"{name}__{'lt' if field.startswith('-') else 'gt'}": position[i]})
            for prior, value in zip(ordering[:i], position[:i], strict=False):
                step &= Q(**{prior.lstrip("-"): value})
            condition |= step
        return condition

    def _position(self, row) -> list:  # type: ignore[no-untyped-def]
        values = []
        for field in self.ordering:
            value = getattr(row, field.lstrip("-"))
            values.append(value.isoformat() if hasattr(value, "isoformat") else str(value))
        return values

    def _link(self, row, *, reverse: bool) -> str:  # type: ignore[no-untyped-def]
        payload = json.dumps({"p": self._position(row), "r": reverse}, separators=(",", ":"))
        token = base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")
        url = self.request.build_absolute_uri()
        return replace_query_param(url, self.cursor_query_param, token)

    def _decode(self, token: str | None):  # type: ignore[no-untyped-def]
        if not token:
            return None, False
        try:
            padded = token + "=" * (-len(token) % 4)
            payload = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
            raw, reverse = payload["p"], bool(payload["r"])
            if not isinstance(raw, list) or len(raw) != len(self.ordering):
                raise ValueError
            model_meta = self.request.parser_context["view"].get_queryset().model._meta
            position = [
                model_meta.get_field(field.lstrip("-")).to_python(value)
                for field, value in zip(self.ordering, raw, strict=True)
            ]
        except (
            ValueError,
            TypeError,
            KeyError,
            AttributeError,
            DjangoValidationError,
            binascii.Error,
        ):
            raise ValidationError({self.cursor_query_param: ["Invalid cursor."]}) from None
        return position, reverse
