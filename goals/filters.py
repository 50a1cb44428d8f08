"""List filters and ordering of /goals/."""

from __future__ import annotations

from typing import Any

from django.db.models import F, QuerySet
from django_filters import rest_framework as filters

from core.filters import StrictOrderingFilter

from .models import Goal, GoalStatus


class GoalFilter(filters.FilterSet):
    status = filters.MultipleChoiceFilter(
        choices=GoalStatus.choices, label="Status (repeatable: ?status=active&status=achieved)"
    )

    class Meta:
        model = Goal
        fields: list[str] = []


class NullsLastOrderingFilter(StrictOrderingFilter):
    """Like StrictOrderingFilter, but records without a value of a nullable ordering field
    (goals without a `target_date`) come last in both directions, on every database."""

    nullable_fields = frozenset({"target_date"})

    def filter_queryset(self, request: Any, queryset: QuerySet, view: Any) -> QuerySet:
        ordering = self.get_ordering(request, queryset, view)
        if not ordering:
            return queryset
        terms: list[Any] = []
        for field in ordering:
            name = field.lstrip("-")
            if name not in self.nullable_fields:
                terms.append(field)
            elif field.startswith("-"):
                terms.append(F(name).desc(nulls_last=True))
            else:
                terms.append(F(name).asc(nulls_last=True))
        return queryset.order_by(*terms)
