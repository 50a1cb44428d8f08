"""Query filters of `/rates/`; a bad value is a 400 naming the parameter."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.db.models import QuerySet
from django_filters import rest_framework as filters

from core.filters import BoundedDateFilter, DateRangeFilterSetMixin
from core.money import is_currency

from .models import ExchangeRate
from .selectors import rates_as_of


class CurrencyCodeFormField(forms.CharField):
    def to_python(self, value: Any) -> str:
        value = super().to_python(value)
        if value and not is_currency(value):
            # The value goes in as a param: django-filter %-formats every message, so a
            # "%" typed by the client must not reach the format string itself.
            raise forms.ValidationError(
                "%(value)s is not a supported ISO 4217 currency code (upper case, e.g. EUR).",
                code="invalid_currency",
                params={"value": value},
            )
        return value


class CurrencyCodeFilter(filters.CharFilter):
    field_class = CurrencyCodeFormField


class AsOfDateFilter(BoundedDateFilter):
    """For each base/quote pair, only its latest rate on or before the date."""

    def filter(self, qs: QuerySet[ExchangeRate], value: date | None) -> QuerySet[ExchangeRate]:
        if not value:
            return qs
        return rates_as_of(qs, value)


class ExchangeRateFilter(DateRangeFilterSetMixin, filters.FilterSet):
    base = CurrencyCodeFilter(help_text="Only rates with this base currency (ISO 4217).")
    quote = CurrencyCodeFilter(help_text="Only rates with this quote currency (ISO 4217).")
    date = AsOfDateFilter(
        help_text="YYYY-MM-DD. For each base/quote pair, only its latest rate on or before "
        "this date (the rate a conversion on that date would use).",
    )
    start_date = BoundedDateFilter(
        field_name="date", lookup_expr="gte", help_text="Rates dated on or after (YYYY-MM-DD)."
    )
    end_date = BoundedDateFilter(
        field_name="date", lookup_expr="lte", help_text="Rates dated on or before (YYYY-MM-DD)."
    )
    source = filters.CharFilter(help_text='Only rates from this source ("ecb", "manual", ...).')

    class Meta:
        model = ExchangeRate
        fields = ["base", "quote", "date", "start_date", "end_date", "source"]
