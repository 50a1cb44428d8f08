"""Query filters of /notifications/; bad values are a 400 naming the parameter."""

from __future__ import annotations

from django_filters import rest_framework as filters

from core.filters import StrictBooleanFilter

from .models import Notification, NotificationKind


class NotificationFilter(filters.FilterSet):
    unread = StrictBooleanFilter(
        field_name="read_at",
        lookup_expr="isnull",
        help_text="true: only unread notifications; false: only read ones.",
    )
    kind = filters.ChoiceFilter(choices=NotificationKind.choices)

    class Meta:
        model = Notification
        fields = ["unread", "kind"]
