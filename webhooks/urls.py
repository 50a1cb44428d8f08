"""Routes of this app: webhooks on the single /api/v1/ router, their deliveries nested below.

Served at the top level (the caller's personal book) and under `/books/{book_id}/`.
"""

from django.urls import path

from .views import WebhookDeliveryViewSet, WebhookViewSet

routes = [("webhooks", WebhookViewSet, "webhook")]

delivery_list = WebhookDeliveryViewSet.as_view({"get": "list"})
delivery_detail = WebhookDeliveryViewSet.as_view({"get": "retrieve"})
delivery_replay = WebhookDeliveryViewSet.as_view({"post": "replay"})

urlpatterns = [
    path(
        "webhooks/<int:webhook_pk>/deliveries/",
        delivery_list,
        name="webhook-delivery-list",
    ),
    path(
        "webhooks/<int:webhook_pk>/deliveries/<int:pk>/",
        delivery_detail,
        name="webhook-delivery-detail",
    ),
    path(
        "webhooks/<int:webhook_pk>/deliveries/<int:pk>/replay/",
        delivery_replay,
        name="webhook-delivery-replay",
    ),
]
