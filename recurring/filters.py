"""List filters of /recurring/."""

from __future__ import annotations

from django_filters import rest_framework as filters

from categories.models import Kind
from core.filters import StrictBooleanFilter

from .models import Frequency, RecurringItem


class RecurringItemFilter(filters.FilterSet):
    kind = filters.ChoiceFilter(choices=Kind.choices)
    active = StrictBooleanFilter(label="Only active (true) or paused (false) items")
    frequency = filters.ChoiceFilter(choices=Frequency.choices)
    auto_create = StrictBooleanFilter()

    class Meta:
        model = RecurringItem
        fields: list[str] = []
