"""Query filters of /categories/ and /rules/; bad values are a 400 naming the parameter."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django_filters import rest_framework as filters

from books.scoping import book_queryset
from core.filters import StrictBooleanFilter

from .models import Category, Kind, Rule, RuleField, RuleOperator


def book_categories(request: Any) -> QuerySet:
    """Choices of a `category` filter: the request's book's categories and the system
    ones, so another book's id is "not a valid choice" (400)."""
    if request is None:
        return Category.objects.none()
    return book_queryset(request, Category.objects.all(), include_shared_rows=True)


class CategoryFilter(filters.FilterSet):
    kind = filters.ChoiceFilter(choices=Kind.choices, help_text="`expense` or `income`.")
    is_system = StrictBooleanFilter(
        field_name="book",
        lookup_expr="isnull",
        help_text="true: system categories only; false: the book's own only.",
    )
    top_level = StrictBooleanFilter(
        field_name="parent",
        lookup_expr="isnull",
        help_text="true: categories without a parent; false: subcategories only.",
    )

    class Meta:
        model = Category
        fields = ["kind", "is_system", "top_level"]


class RuleFilter(filters.FilterSet):
    active = StrictBooleanFilter(help_text="Only active (true) or inactive (false) rules.")
    field = filters.ChoiceFilter(choices=RuleField.choices)
    operator = filters.ChoiceFilter(choices=RuleOperator.choices)

    class Meta:
        model = Rule
        fields = ["active", "field", "operator"]
