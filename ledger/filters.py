"""List filters shared by expenses and income (SPEC §6)."""

from __future__ import annotations

from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django_filters import rest_framework as filters
from rest_framework.exceptions import ValidationError

from categories.filters import book_categories
from categories.models import Category
from core.filters import (
    BoundedDateFilter,
    BudgetMonthFilter,
    BuiltOnceFilterSet,
    DateRangeFilterSetMixin,
    IdMultipleChoiceFilter,
    MoneyFilter,
    StrictBooleanFilter,
)
from core.money import currencies


class TransactionFilter(DateRangeFilterSetMixin, BuiltOnceFilterSet):
    """The list filters of expenses and income (and of their CSV exports), built once per
    class (`BuiltOnceFilterSet`). Every filter here, and in the apps' subclasses, leaves
    the queryset as it is when its parameter is absent (`absent_is_noop`: a list without
    filter parameters builds no filter set at all, `core.filters.AbsentFiltersBackend`);
    ledger/tests/test_lean_list.py checks it filter by filter."""

    absent_is_noop = True

    start_date = BoundedDateFilter(
        field_name="date", lookup_expr="gte", label="From this date (inclusive)"
    )
    end_date = BoundedDateFilter(
        field_name="date", lookup_expr="lte", label="Up to this date (inclusive)"
    )
    month = BudgetMonthFilter(field_name="date", label="Budget month YYYY-MM (or YYYY-MM-DD)")
    category = IdMultipleChoiceFilter(
        queryset=book_categories,
        method="filter_category",
        label="Category id (repeatable); includes its subcategories",
    )
    uncategorized = StrictBooleanFilter(
        method="filter_uncategorized", label="Only records without a category"
    )
    tag = filters.CharFilter(method="filter_tag", label="Tag name (case-insensitive)")
    min_amount = MoneyFilter(
        field_name="amount", lookup_expr="gte", label="Amount at least (plain decimal, e.g. 12.50)"
    )
    max_amount = MoneyFilter(
        field_name="amount", lookup_expr="lte", label="Amount at most (plain decimal, e.g. 99.99)"
    )
    currency = filters.ChoiceFilter(choices=lambda: [(c, c) for c in sorted(currencies())])

    def filter_category(self, queryset: QuerySet, name: str, value: Any) -> QuerySet:
        if not value:
            return queryset
        # An IN (subquery) over category ids, not a join on the parent: keeps the
        # (book, category, date) index usable on million-row lists.
        family = Category.objects.filter(Q(pk__in=[c.pk for c in value]) | Q(parent__in=value))
        return queryset.filter(category_id__in=family.values("pk"))

    def filter_uncategorized(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None:
            return queryset
        return queryset.filter(category__isnull=value)

    def filter_tag(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        if not value:
            return queryset
        through = queryset.model.tags.through
        own_field = f"{queryset.model._meta.model_name}_id"
        tagged = through.objects.filter(
            **{own_field: OuterRef("pk")}, tag__name__iexact=value.strip()
        )
        return queryset.filter(Exists(tagged))

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        data = self.form.cleaned_data
        low, high = data.get("min_amount"), data.get("max_amount")
        if low is not None and high is not None and high < low:
            raise ValidationError({"max_amount": ["max_amount is below min_amount."]})
        return super().filter_queryset(queryset)
