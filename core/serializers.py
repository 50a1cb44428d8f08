"""Serializer fields shared by the domain apps."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .dates import parse_month
from .money import is_currency


class OwnedPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """A foreign key in a request body, looked up only among records the user may use.

    The model's queryset must offer `visible_to(user)` (own records, plus shared
    ones such as system categories) — so another user's id is "does not exist" (400),
    never a silent link.
    """

    def get_queryset(self) -> QuerySet:
        queryset = super().get_queryset()
        request = self.context.get("request")
        if request is None or not request.user.is_authenticated:
            return queryset.none()
        return queryset.visible_to(request.user)


@extend_schema_field({"type": "string", "pattern": r"^\d{4}-\d{2}(-\d{2})?$", "example": "2026-03"})
class MonthField(serializers.Field):
    """`YYYY-MM` in and out; `YYYY-MM-DD` means the requesting user's budget month
    containing that date."""

    def to_internal_value(self, data: Any) -> date:
        try:
            request = self.context.get("request")
            start_day = getattr(getattr(request, "user", None), "month_start_day", 1)
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
