from __future__ import annotations

from datetime import date
from typing import Any

from django.db.models import QuerySet
from django_filters import rest_framework as filters

from categories.models import Category
from core.dates import parse_month
from core.filters import MonthField

from .models import Budget, Scope


def visible_categories(request: Any) -> QuerySet:
    """System categories and the user's own: another user's id is "not a valid choice"."""
    if request is None or not request.user.is_authenticated:
        return Category.objects.none()
    return Category.objects.visible_to(request.user)


class BudgetMonthLabelFilter(filters.Filter):
    """`month=YYYY-MM`: the budgets of that budget month."""

    field_class = MonthField

    def filter(self, qs: QuerySet, value: Any) -> QuerySet:
        if not value:
            return qs
        year, month = parse_month(value, getattr(self.parent.request.user, "month_start_day", 1))
        return qs.filter(month=date(year, month, 1))


class BudgetFilter(filters.FilterSet):
    month = BudgetMonthLabelFilter(label="Budget month YYYY-MM")
    scope = filters.ChoiceFilter(choices=Scope.choices)
    category = filters.ModelChoiceFilter(
        queryset=visible_categories,
        label="Category id (yours or a system one; another user's id is a 400)",
    )

    class Meta:
        model = Budget
        fields: list[str] = []
