"""Small helpers shared by the webhook tests."""

from __future__ import annotations

from typing import Any

from webhooks.models import WebhookDelivery


def api(book: Any = None) -> str:
    return f"/api/v1/books/{book.pk}" if book is not None else "/api/v1"


def deliveries(hook: dict[str, Any]) -> list[WebhookDelivery]:
    return list(WebhookDelivery.objects.filter(webhook_id=hook["id"]).order_by("id"))
