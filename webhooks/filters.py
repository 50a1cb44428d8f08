"""Query filters of a hook's delivery log; bad values are a 400 naming the parameter."""

from __future__ import annotations

from django_filters import rest_framework as filters

from core.events import EVENTS

from .models import PING_EVENT, DeliveryStatus, WebhookDelivery


class DeliveryFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=DeliveryStatus.choices)
    event = filters.ChoiceFilter(
        choices=[(name, name) for name in [*sorted(EVENTS), PING_EVENT]],
        help_text="Only deliveries of this event.",
    )

    class Meta:
        model = WebhookDelivery
        fields = ["status", "event"]
