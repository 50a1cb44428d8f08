"""Serializer bases and fields shared by the domain apps."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail

from .dates import DATE_RANGE_MESSAGE, date_in_range, parse_month
from .money import MoneyParseError, is_currency, parse_money

UNKNOWN_FIELD = "Unknown field."
READ_ONLY_FIELD = "Read-only field: the server sets it."


class StrictFieldsMixin:
    """A request body carries only the fields its serializer accepts: the API's one rule
    for keys a client sends (docs/api.md, Conventions), used by every serializer that reads
    a request body (tests/test_unknown_fields.py walks them all).

    - A key that names no field is a 400 `{"<key>": ["Unknown field."]}`.
    - A read-only field sent by a client (`id`, `created_at`, `base_amount`, computed
      figures…) is a 400 `{"<key>": ["Read-only field: the server sets it."]}`, never
      silently ignored: what the request schema lists (`additionalProperties: false`,
      added by `core.schema.AutoSchema`) is exactly what the API takes.

    Nested serializers and lists of them apply the rule at their own level, so errors
    nest like any other (`{"lines": [{"colour": ["Unknown field."]}]}`); the files of a
    multipart body are fields like the others. These errors come together with the
    other fields' errors, and `validate()` does not run, so nothing is saved. Query
    strings are not bodies: query serializers do not use this (unknown query parameters
    follow SPEC §3's own rule). Free-form JSON values (`options`, `columns`) check their
    own keys.
    """

    unknown_field_message = UNKNOWN_FIELD

    def to_internal_value(self, data: Any) -> Any:
        problems = self.undeclared_field_errors(data) if isinstance(data, Mapping) else {}
        try:
            value = super().to_internal_value(data)  # type: ignore[misc]
        except serializers.ValidationError as exc:
            if problems and isinstance(exc.detail, dict):
                raise serializers.ValidationError({**exc.detail, **problems}) from None
            raise
        if problems:
            raise serializers.ValidationError(problems)
        return value

    def undeclared_field_errors(self, data: Mapping[str, Any]) -> dict[str, list[ErrorDetail]]:
        """The keys of `data` a client may not send, each with why."""
        fields = self.fields  # type: ignore[attr-defined]
        errors = {}
        for key in data:
            field = fields.get(key)
            if field is None or isinstance(field, serializers.HiddenField):
                errors[str(key)] = [ErrorDetail(self.unknown_field_message, code="unknown_field")]
            elif field.read_only:
                errors[str(key)] = [ErrorDetail(READ_ONLY_FIELD, code="read_only_field")]
        return errors


class StrictSerializer(StrictFieldsMixin, serializers.Serializer):
    """Base of every plain serializer that reads a request body (see `StrictFieldsMixin`)."""


class StrictModelSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    """Base of every model serializer that reads a request body (see `StrictFieldsMixin`)."""


@extend_schema_field({"type": "string", "pattern": r"^\d{4}-\d{2}(-\d{2})?$", "example": "2026-03"})
class MonthField(serializers.Field):
    """`YYYY-MM` in and out; `YYYY-MM-DD` means the requesting user's budget month
    containing that date."""

    def to_internal_value(self, data: Any) -> date:
        try:
            request = self.context.get("request")
            # The request's book (SPEC §14) decides budget months; else the user's own.
            holder = getattr(request, "book", None) or getattr(request, "user", None)
            start_day = getattr(holder, "month_start_day", 1)
            year, month = parse_month(str(data), start_day)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from None
        return date(year, month, 1)

    def to_representation(self, value: date) -> str:
        return f"{value.year:04d}-{value.month:02d}"


class CurrencyCodeField(serializers.CharField):
    """An ISO 4217 code the API supports (upper case); anything else is a 400 naming it."""

    default_error_messages = {
        "invalid_currency": "{value} is not a supported ISO 4217 currency code (upper case, "
        "e.g. EUR)."
    }

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        if not is_currency(value):
            self.fail("invalid_currency", value=value)
        return value


@extend_schema_field(
    {
        "type": "string",
        "format": "decimal",
        "pattern": r"^[+-]?[0-9]*\.?[0-9]+$",
        "example": "12.50",
    }
)
class MoneyField(serializers.Field):
    """A decimal number in a request (JSON string or number) through `parse_money`,
    the project's one strict number grammar; rendered as a string.

    Range and decimal places depend on the currency and are checked by the serializer
    (`core.money.amount_errors`)."""

    def to_internal_value(self, data: Any) -> Decimal:
        try:
            return parse_money(data)
        except MoneyParseError as exc:
            raise serializers.ValidationError(str(exc), code="invalid") from None

    def to_representation(self, value: Any) -> str:
        return format(value, "f")


class BoundedDateField(serializers.DateField):
    """An ISO date inside the supported range (`core.dates.MIN_DATE`..`MAX_DATE`)."""

    def to_internal_value(self, value: Any) -> date:
        parsed = super().to_internal_value(value)
        if not date_in_range(parsed):
            raise serializers.ValidationError(DATE_RANGE_MESSAGE, code="date_out_of_range")
        return parsed
