"""Serializer fields shared by the domain apps."""

from __future__ import annotations

from django.db.models import QuerySet
from rest_framework import serializers


class OwnedPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """A foreign key in a request body, looked up only among records the user may use.

    The model's queryset must offer `visible_to(user)` (own records, plus shared
    ones such as system categories) — so another user's id is "does not exist" (400),
    never a silent link.
    """

    def get_queryset(self) -> QuerySet:
        queryset = super().get_queryset()
        request = self.context.get("request")
        if request is None or not request.user.is_authenticated:
            return queryset.none()
        return queryset.visible_to(request.user)
