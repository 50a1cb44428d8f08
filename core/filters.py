"""Filter building blocks that reject bad values with a 400 instead of ignoring them."""

from __future__ import annotations

import copy
from datetime import date
from decimal import Decimal
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.http import QueryDict
from django_filters import rest_framework as filters
from django_filters.fields import ModelMultipleChoiceField
from django_filters.filters import QuerySetRequestMixin
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework.exceptions import ValidationError
from rest_framework.filters import OrderingFilter

from .dates import DATE_RANGE_MESSAGE, date_in_range, month_range, parse_month
from .money import MoneyParseError, parse_money


class StrictOrderingFilter(OrderingFilter):
    """`ordering=field` / `-field`; an unknown field is a 400, and `-id` breaks ties."""

    def get_ordering(self, request, queryset, view):  # type: ignore[no-untyped-def]
        params = request.query_params.get(self.ordering_param) or ""
        # `ordering=` or `ordering=,` names no field: the default order, never none at all
        # (a list without an order pages inconsistently).
        fields = [param.strip() for param in params.split(",") if param.strip()]
        if fields:
            valid = {
                name for name, _ in self.get_valid_fields(queryset, view, {"request": request})
            }
            bad = [f for f in fields if f.lstrip("-") not in valid]
            if bad:
                raise ValidationError(
                    {
                        self.ordering_param: [
                            f"Unknown ordering field(s): {', '.join(bad)}. "
                            f"Allowed: {', '.join(sorted(valid))}."
                        ]
                    }
                )
            ordering = fields
        else:
            ordering = list(self.get_default_ordering(view) or [])
        if ordering and not any(f.lstrip("-") in ("id", "pk") for f in ordering):
            ordering.append("-id" if ordering[0].startswith("-") else "id")
        return ordering


_ID_RANGE = range(-(2**63), 2**63)


class IdMultipleChoiceField(ModelMultipleChoiceField):
    """Rejects ids no database integer can hold instead of letting the query overflow.

    No value is an empty list, not Django's `queryset.none()`: asking whether that one is
    empty compiles its SQL (about a millisecond per request) only to find it matches
    nothing."""

    def clean(self, value):  # type: ignore[no-untyped-def]
        if not self.required and not self.prepare_value(value):
            return []
        return super().clean(value)

    def _check_values(self, value):  # type: ignore[no-untyped-def]
        for pk in value:
            try:
                number = int(str(pk))
            except ValueError:
                continue  # Django's own check reports it as an invalid value.
            if number not in _ID_RANGE:
                raise forms.ValidationError(
                    self.error_messages["invalid_pk_value"],
                    code="invalid_pk_value",
                    params={"pk": pk},
                )
        return super()._check_values(value)


class IdMultipleChoiceFilter(filters.ModelMultipleChoiceFilter):
    """`?category=1&category=2`; an id out of the integer range is a 400, not a 500."""

    field_class = IdMultipleChoiceField


class StrictBooleanField(forms.Field):
    TRUE = {"true", "1", "yes"}
    FALSE = {"false", "0", "no"}

    def to_python(self, value: Any) -> bool | None:
        if value in (None, ""):
            return None
        lowered = str(value).strip().lower()
        if lowered in self.TRUE:
            return True
        if lowered in self.FALSE:
            return False
        raise forms.ValidationError("Use true or false.", code="invalid")


class StrictBooleanFilter(filters.BooleanFilter):
    """Like BooleanFilter, but `?flag=maybe` is a 400 instead of being ignored."""

    field_class = StrictBooleanField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # django-filter's default BooleanWidget turns unknown values into None first.
        kwargs.setdefault("widget", forms.TextInput)
        super().__init__(*args, **kwargs)


class MoneyFormField(forms.Field):
    """A number in a query string through `core.money.parse_money` (the one grammar)."""

    def to_python(self, value: Any) -> Decimal | None:
        if value in (None, ""):
            return None
        try:
            return parse_money(value)
        except MoneyParseError as exc:
            # %-escaped: django-filter formats messages with their params.
            raise forms.ValidationError(str(exc).replace("%", "%%"), code="invalid") from None


class MoneyFilter(filters.Filter):
    """`?min_amount=12.50`: strict decimal text; `1e1000000`, `1_000`, `١٢` are a 400."""

    field_class = MoneyFormField


class BoundedDateFormField(forms.DateField):
    """An ISO date (`YYYY-MM-DD`) inside the supported range (`core.dates`)."""

    input_formats = ["%Y-%m-%d"]

    def to_python(self, value: Any) -> date | None:
        parsed = super().to_python(value)
        if parsed is not None and not date_in_range(parsed):
            raise forms.ValidationError(DATE_RANGE_MESSAGE, code="date_out_of_range")
        return parsed


class BoundedDateFilter(filters.DateFilter):
    """A date filter that refuses dates outside MIN_DATE..MAX_DATE with a 400."""

    field_class = BoundedDateFormField


class MonthField(forms.CharField):
    """Keeps the raw text; BudgetMonthFilter parses it with the user's month start day."""

    def to_python(self, value: Any) -> str | None:
        value = super().to_python(value)
        if not value:
            return None
        try:
            parse_month(value)
        except ValueError as exc:
            # %-escaped: django-filter formats messages with their params.
            raise forms.ValidationError(str(exc).replace("%", "%%"), code="invalid") from None
        return value


class BudgetMonthFilter(filters.Filter):
    """`month=YYYY-MM` on a date field, in the requesting user's budget months."""

    field_class = MonthField

    def filter(self, qs: QuerySet, value: str | None) -> QuerySet:
        if not value:
            return qs
        request = self.parent.request
        # The request's book (SPEC §14) decides budget months; else the user's own.
        holder = getattr(request, "book", None) or request.user
        start_day = getattr(holder, "month_start_day", 1)
        start, end = month_range(*parse_month(value, start_day), start_day=start_day)
        return qs.filter(**{f"{self.field_name}__gte": start, f"{self.field_name}__lte": end})


class DateRangeFilterSetMixin:
    """Rejects `end_date` before `start_date` with a 400 naming `end_date`."""

    start_param = "start_date"
    end_param = "end_date"

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        data = self.form.cleaned_data  # type: ignore[attr-defined]
        start, end = data.get(self.start_param), data.get(self.end_param)
        if start and end and end < start:
            raise ValidationError(
                {self.end_param: [f"{self.end_param} is before {self.start_param}."]}
            )
        return super().filter_queryset(queryset)  # type: ignore[misc]


# --- filter sets built once per class ----------------------------------------------------


class BuiltOnceFilterSet(filters.FilterSet):
    """A FilterSet whose form class is built once per class instead of on every request.

    django-filter deep-copies every filter, builds every form field and a new form class
    per request (about 5 ms for the ledger's ten filters). Here the form class is built
    the first time, from filters set up as a request's would be (model set, no request),
    and kept on the class; each request gets a form of it (Django copies its fields per
    form, as for any form) whose request-dependent choices (a `queryset` given as a
    callable taking the request, e.g. the book's categories) are set for that request.
    The filters themselves are copied shallowly per request, with their own `parent`,
    `extra` and method binding, so no request state is shared between requests or
    threads.
    """

    def __init__(self, data=None, queryset=None, *, request=None, prefix=None):  # type: ignore[no-untyped-def]
        if queryset is None:
            queryset = self._meta.model._default_manager.all()
        self.is_bound = data is not None
        self.data = data or QueryDict()
        self.queryset = queryset
        self.request = request
        self.form_prefix = prefix
        model = queryset.model
        self.filters = {name: _bound_copy(f, self, model) for name, f in self.base_filters.items()}

    @classmethod
    def built_form_class(cls) -> type[forms.Form]:
        form_class = cls.__dict__.get("_built_form_class")
        if form_class is None:
            template = copy.deepcopy(cls.base_filters)
            for filter_ in template.values():
                filter_.model = cls._meta.model
            fields = {name: filter_.field for name, filter_ in template.items()}
            form_class = type(f"{cls.__name__}Form", (cls._meta.form,), fields)
            cls._built_form_class = form_class  # type: ignore[attr-defined]
        return form_class

    def get_form_class(self):  # type: ignore[no-untyped-def]
        return self.built_form_class()

    @property
    def form(self):  # type: ignore[no-untyped-def]
        if not hasattr(self, "_form"):
            form_class = self.get_form_class()
            if self.is_bound:
                form = form_class(self.data, prefix=self.form_prefix)
            else:
                form = form_class(prefix=self.form_prefix)
            for name, filter_ in self.filters.items():
                if isinstance(filter_, QuerySetRequestMixin) and callable(filter_.queryset):
                    form.fields[name].queryset = filter_.get_queryset(self.request)
                filter_._field = form.fields[name]
            self._form = form
        return self._form


def _bound_copy(filter_: filters.Filter, parent: filters.FilterSet, model: Any) -> filters.Filter:
    """What BaseFilterSet's deep copy gives a request, without copying what requests
    only read (field names, lookups, labels, choices)."""
    bound = copy.copy(filter_)
    bound.__dict__.pop("_field", None)
    bound.extra = dict(filter_.extra)
    bound.model = model
    bound.parent = parent
    if filter_.method:
        bound.method = filter_.method  # binds a FilterMethod to this copy, not the class's
    return bound


def names_any_filter(query_params: Any, filterset_class: type[filters.FilterSet]) -> bool:
    """Whether the query string has a parameter of one of the filter set's filters (its
    name, or a name it starts, as a range filter's `_min`/`_max` parts)."""
    names = tuple(filterset_class.base_filters)
    return any(param.startswith(names) for param in query_params)


class AbsentFiltersBackend(DjangoFilterBackend):
    """DjangoFilterBackend that builds no filter set when the query string names none of
    its filters.

    For filter sets whose filters all leave the queryset as it is when their parameter is
    absent (every filter of django-filter does, and so do the ledger's: `absent_is_noop`
    on the filter set says so, and ledger/tests check it filter by filter), the result is
    the same queryset without building and validating a form: the common unfiltered
    first page of a list pays nothing for its filters. Any other filter set is used as
    DjangoFilterBackend would.
    """

    def filter_queryset(self, request, queryset, view):  # type: ignore[no-untyped-def]
        filterset_class = self.get_filterset_class(view, queryset)
        if (
            filterset_class is not None
            and getattr(filterset_class, "absent_is_noop", False)
            and not names_any_filter(request.query_params, filterset_class)
        ):
            return queryset
        return super().filter_queryset(request, queryset, view)
