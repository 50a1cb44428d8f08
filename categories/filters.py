"""Query filters of /categories/ and /rules/; bad values are a 400 naming the parameter."""

from __future__ import annotations

from django_filters import rest_framework as filters

from core.filters import StrictBooleanFilter

from .models import Category, Kind, Rule, RuleField, RuleOperator


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
