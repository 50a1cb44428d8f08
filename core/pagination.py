"""Pagination: page numbers for ordinary lists, keyset cursors for huge ones (SPEC §3)."""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from django.db.models import Q
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination, PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from .money import parse_money
from .parsers import load_json

_WHOLE_NUMBER = re.compile(r"[-+]?[0-9]+")
# Beyond any page or page size that means something; bigger values are clamped to it so a
# thousand-digit number costs nothing to read.
_HUGE = 10**18

# A cursor holds a few short values; anything longer was not made here.
MAX_CURSOR_LENGTH = 1024
_INTEGER_TEXT = re.compile(r"-?[0-9]{1,19}")
_DATE_TEXT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_INTEGER_TYPES = frozenset(
    {
        "AutoField",
        "BigAutoField",
        "SmallAutoField",
        "IntegerField",
        "BigIntegerField",
        "SmallIntegerField",
        "PositiveIntegerField",
        "PositiveBigIntegerField",
        "PositiveSmallIntegerField",
    }
)
NUL = "\x00"


def _positive_int(request: Request, name: str) -> int | None:
    """The parameter as a whole number ≥ 1 (ASCII digits only), None when absent; 400
    naming it otherwise. Values beyond 10**18 read as 10**18 (callers cap or 404)."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    if not _WHOLE_NUMBER.fullmatch(raw):
        raise ValidationError({name: ["A whole number is required."]})
    digits = raw.lstrip("+-").lstrip("0")
    if raw.startswith("-") or not digits:
        raise ValidationError({name: ["Must be 1 or more."]})
    return _HUGE if len(digits) > 18 else int(digits)


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

    def get_page_number(self, request, paginator):  # type: ignore[no-untyped-def]
        return _positive_int(request, self.page_query_param) or 1

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
        position, reverse = self._decode(
            request.query_params.get(self.cursor_query_param), queryset.model
        )
        counted = queryset.order_by()
        if not counted.query.distinct:
            # Ids only, whatever columns (and joins) the page itself selects.
            counted = counted.values("pk")
        self.count = counted[: self.count_cap + 1].count()
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
        """The row's ordering values as cursor text; a row is a model instance or a
        `.values()` dict (lean list pages)."""
        values = []
        for field in self.ordering:
            name = field.lstrip("-")
            value = row[name] if isinstance(row, dict) else getattr(row, name)
            if isinstance(value, Decimal):
                values.append(format(value, "f"))
            elif isinstance(value, date):
                values.append(value.isoformat())
            else:
                values.append(str(value))
        return values

    def _link(self, row, *, reverse: bool) -> str:  # type: ignore[no-untyped-def]
        payload = json.dumps({"p": self._position(row), "r": reverse}, separators=(",", ":"))
        token = base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")
        url = self.request.build_absolute_uri()
        return replace_query_param(url, self.cursor_query_param, token)

    def _decode(self, token: str | None, model: type[models.Model]) -> tuple[list | None, bool]:
        """The position and direction in a cursor made by `_link`; 400 naming `cursor` for
        anything else (whatever the bytes: the token is client input)."""
        if not token:
            return None, False
        try:
            if len(token) > MAX_CURSOR_LENGTH:
                raise ValueError("too long")
            padded = token.encode("ascii") + b"=" * (-len(token) % 4)
            payload = load_json(base64.b64decode(padded, altchars=b"-_", validate=True))
            if not isinstance(payload, dict) or set(payload) != {"p", "r"}:
                raise ValueError("not a cursor")
            raw, reverse = payload["p"], payload["r"]
            if not isinstance(reverse, bool) or not isinstance(raw, list):
                raise ValueError("not a cursor")
            if len(raw) != len(self.ordering):
                raise ValueError("made for another ordering")
            position = [
                _cursor_value(model._meta.get_field(field.lstrip("-")), value)
                for field, value in zip(self.ordering, raw, strict=True)
            ]
        except (
            ValueError,
            TypeError,
            LookupError,
            OverflowError,
            ArithmeticError,
            DjangoValidationError,
        ):
            raise ValidationError(
                {self.cursor_query_param: ["Invalid cursor: follow `next` / `previous` links."]}
            ) from None
        return position, reverse


def _cursor_value(field: Any, raw: Any) -> Any:
    """`raw` (a cursor's text) as a value the database can compare with `field`, or
    ValueError: ids are 1..2**63-1, integers fit 64 bits, dates and aware timestamps are
    real ones, decimals fit the column, text fits its length and has no NUL."""
    if not isinstance(raw, str):
        raise ValueError("cursor values are strings")
    kind = field.get_internal_type()
    if kind in _INTEGER_TYPES:
        if not _INTEGER_TEXT.fullmatch(raw):
            raise ValueError("not an integer")
        number = int(raw)
        low = 1 if field.primary_key else -(2**63)
        if not low <= number < 2**63:
            raise ValueError("out of range")
        return number
    if kind == "DateField":
        if not _DATE_TEXT.fullmatch(raw):
            raise ValueError("not a date")
        return date.fromisoformat(raw)
    if kind == "DateTimeField":
        if not 19 <= len(raw) <= 40 or not _DATE_TEXT.fullmatch(raw[:10]):
            raise ValueError("not a timestamp")
        moment = datetime.fromisoformat(raw)
        if moment.tzinfo is None:
            raise ValueError("timestamp without a zone")
        return moment.astimezone(UTC)  # OverflowError near year 1 or 9999
    if kind == "DecimalField":
        number = parse_money(raw)
        exponent = number.as_tuple().exponent
        if not isinstance(exponent, int) or -exponent > field.decimal_places:
            raise ValueError("too many decimals")
        if number and number.adjusted() >= field.max_digits - field.decimal_places:
            raise ValueError("too large")
        return number
    if NUL in raw or len(raw) > (getattr(field, "max_length", None) or 255):
        raise ValueError("not a value of this field")
    return field.to_python(raw)
