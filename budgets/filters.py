from __future__ import annotations

from datetime import date
from typing import Any

from django.db.models import QuerySet
from django_filters import rest_framework as filters

from categories.filters import book_categories
from core.dates import parse_month
from core.filters import MonthField

from .models import Budget, Scope


class BudgetMonthLabelFilter(filters.Filter):
    """`month=YYYY-MM`: the budgets of that budget month."""

    field_class = MonthField

    def filter(self, qs: QuerySet, value: Any) -> QuerySet:
        if not value:
            return qs
        request = self.parent.request
        holder = getattr(request, "book", None) or request.user
        year, month = parse_month(value, getattr(holder, "month_start_day", 1))
        return qs.filter(month=date(year, month, 1))


class BudgetFilter(filters.FilterSet):
    month = BudgetMonthLabelFilter(label="Budget month YYYY-MM")
    scope = filters.ChoiceFilter(choices=Scope.choices)
    category = filters.ModelChoiceFilter(
        queryset=book_categories,
        label="Category id (the book's or a system one; another book's id is a 400)",
    )

    class Meta:
        model = Budget
        fields: list[str] = []
