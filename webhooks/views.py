"""/webhooks/ and a hook's /deliveries/ (SPEC §17). Views validate and delegate.

Owners only, to read as to write: a webhook sends the book's data to a URL of the
owner's choosing, and its log shows that data, so editors and viewers get 403 and
non-members 404 (`books.scoping.BookScopedMixin`). Personal and shared books alike.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from books.models import Role
from books.scoping import BookScopedMixin
from core.events import EVENTS
from core.filters import StrictOrderingFilter
from core.schema import (
    NOT_FOUND,
    VALIDATION_ERROR,
    ErrorSerializer,
    operation_docs,
    request_example,
)

from . import services, tasks
from .filters import DeliveryFilter
from .models import Webhook, WebhookDelivery
from .serializers import (
    DeliveryDetailSerializer,
    DeliverySerializer,
    EventSerializer,
    WebhookSerializer,
    WebhookWithSecretSerializer,
    webhook_representation,
)

OWNERS_ONLY = (
    "Owners of the book only (editors and viewers get 403): a webhook sends the book's "
    "data to a URL of the owner's choosing."
)
DISABLED = OpenApiResponse(
    ErrorSerializer, description="`webhook_disabled`: re-enable the hook (PATCH is_active) first."
)
WEBHOOK_EXAMPLE = {
    "url": "https://hooks.example.com/budget-tracker",
    "events": ["expense.created", "expense.updated", "expense.deleted", "budget.exceeded"],
    "description": "Household dashboard",
}


@extend_schema(tags=["webhooks"])
@extend_schema_view(
    list=operation_docs(
        "List the book's webhooks",
        f"Every hook of the book, oldest first, without secrets (`secret_hint` shows the last "
        f"four characters). {OWNERS_ONLY}",
    ),
    create=operation_docs(
        "Add a webhook",
        "Deliveries of the listed `events` will be POSTed to `url`, signed with the "
        "`secret` this answer shows once (docs/webhooks.md). The URL's host must resolve "
        "to public addresses only (400 on `url` otherwise, unless the server sets "
        "WEBHOOKS_ALLOW_PRIVATE). At most 20 hooks per book. " + OWNERS_ONLY,
        request=WebhookSerializer,
        responses={201: WebhookWithSecretSerializer, 400: VALIDATION_ERROR},
        examples=[request_example(WEBHOOK_EXAMPLE)],
    ),
    retrieve=operation_docs(
        "Get a webhook",
        "One hook, its state and failures; never its secret. " + OWNERS_ONLY,
        responses={200: WebhookSerializer, 404: NOT_FOUND},
    ),
    update=operation_docs(
        "Replace a webhook's settings",
        "`url` and `events` are required; a new URL is checked as on create. "
        "`is_active: true` re-enables a disabled hook. " + OWNERS_ONLY,
        request=WebhookSerializer,
        responses={200: WebhookSerializer, 400: VALIDATION_ERROR, 404: NOT_FOUND},
        examples=[request_example({**WEBHOOK_EXAMPLE, "is_active": True})],
    ),
    partial_update=operation_docs(
        "Change a webhook",
        "Any of `url`, `events`, `description`, `is_active`. `is_active: true` re-enables a "
        "disabled hook and clears its failures; `false` stops deliveries (pending ones are "
        "closed as failed). " + OWNERS_ONLY,
        request=WebhookSerializer,
        responses={200: WebhookSerializer, 400: VALIDATION_ERROR, 404: NOT_FOUND},
        examples=[request_example({"is_active": True})],
    ),
    destroy=operation_docs(
        "Delete a webhook",
        "The hook and its delivery log; nothing more is sent to it. " + OWNERS_ONLY,
        responses={204: None, 404: NOT_FOUND},
    ),
)
class WebhookViewSet(
    BookScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """A book's webhooks (owners only; see the module docstring)."""

    read_role = Role.OWNER
    write_role = Role.OWNER
    queryset = Webhook.objects.all()
    serializer_class = WebhookSerializer
    filter_backends = [StrictOrderingFilter]
    ordering_fields = ["created_at"]
    ordering = ["id"]

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = WebhookSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        webhook = services.webhook_create(
            book=self.book, user=request.user, data=serializer.validated_data
        )
        return Response(
            webhook_representation(webhook, with_secret=True), status=status.HTTP_201_CREATED
        )

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        serializer.instance = services.webhook_update(
            webhook=serializer.instance,  # type: ignore[arg-type]
            data=serializer.validated_data,  # type: ignore[arg-type]
        )

    def perform_destroy(self, instance: Webhook) -> None:
        services.webhook_delete(webhook=instance)

    @extend_schema(
        request=None,
        responses={200: EventSerializer(many=True)},
        summary="List the events a webhook can subscribe to",
        description="Every event name a hook's `events` may hold, with what it means — "
        "the list `POST /webhooks/` validates against (docs/webhooks.md has each payload). "
        + OWNERS_ONLY,
    )
    @action(detail=False, methods=["get"], filter_backends=[], pagination_class=None)
    def events(self, request: Request, **kwargs: Any) -> Response:
        return Response([{"name": name, "description": text} for name, text in EVENTS.items()])

    @extend_schema(
        request=None,
        responses={200: WebhookWithSecretSerializer, 404: NOT_FOUND},
        summary="Rotate a webhook's signing secret",
        description="A new `secret`, shown once in this answer. Until "
        "`previous_secret_expires_at` (WEBHOOKS_SECRET_GRACE_HOURS, default 24 h) every "
        "delivery carries two signatures, `X-Signature: t=…,v1=<new>,v1=<old>`, so the "
        "receiver can switch to the new secret without missing a delivery. " + OWNERS_ONLY,
    )
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request: Request, pk: str | None = None, **kwargs: Any) -> Response:
        webhook = services.webhook_rotate_secret(webhook=self.get_object())
        return Response(webhook_representation(webhook, with_secret=True))

    @extend_schema(
        request=None,
        responses={202: DeliverySerializer, 404: NOT_FOUND, 409: DISABLED},
        summary="Send a test delivery",
        description="Queues a `webhook.ping` delivery (whatever the hook subscribes to), "
        "signed and logged like any other; the answer is the delivery (poll it under "
        "`deliveries/`). 409 `webhook_disabled` for a disabled hook. " + OWNERS_ONLY,
    )
    @action(detail=True, methods=["post"])
    def ping(self, request: Request, pk: str | None = None, **kwargs: Any) -> Response:
        delivery = services.webhook_ping(webhook=self.get_object(), enqueue=tasks.enqueue)
        delivery.refresh_from_db()  # sent already when the task queue runs eagerly
        return Response(DeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)


@extend_schema(tags=["webhooks"])
@extend_schema_view(
    list=operation_docs(
        "List a webhook's deliveries, newest first",
        "The delivery log: each event sent (or to send) to this hook with its status, "
        "attempt count, last HTTP status, duration and error, and every attempt. Filters "
        "`status`, `event`. Deliveries are kept WEBHOOKS_LOG_DAYS days (default 30). "
        + OWNERS_ONLY,
    ),
    retrieve=operation_docs(
        "Get a delivery",
        "One delivery with its attempts and the exact `body` it sends. " + OWNERS_ONLY,
        responses={200: DeliveryDetailSerializer, 404: NOT_FOUND},
    ),
)
class WebhookDeliveryViewSet(
    BookScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """The delivery log of one hook of the book (owners only)."""

    read_role = Role.OWNER
    write_role = Role.OWNER
    scope_field = "webhook__book"
    queryset = WebhookDelivery.objects.all()
    serializer_class = DeliverySerializer
    filter_backends = [DjangoFilterBackend, StrictOrderingFilter]
    filterset_class = DeliveryFilter
    ordering_fields = ["created_at"]
    ordering = ["-created_at", "-id"]
    webhook: Webhook

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        # Another book's hook is "not found", like its deliveries.
        self.webhook = get_object_or_404(
            Webhook.objects.filter(book=self.book), pk=self.kwargs["webhook_pk"]
        )

    def safely_get_queryset(self, queryset: QuerySet) -> QuerySet:
        return queryset.filter(webhook=self.webhook)

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        return DeliveryDetailSerializer if self.action == "retrieve" else DeliverySerializer

    @extend_schema(
        request=None,
        responses={202: DeliverySerializer, 404: NOT_FOUND, 409: DISABLED},
        summary="Replay a delivery",
        description="Queues a new delivery of the same event: the same `event_id` "
        "(`X-Webhook-Id`, for the receiver's deduplication) and the same body bytes, "
        "signed afresh with the current secret; `replay_of` names this one. 409 "
        "`webhook_disabled` for a disabled hook. " + OWNERS_ONLY,
    )
    @action(detail=True, methods=["post"])
    def replay(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        replay = services.delivery_replay(delivery=self.get_object(), enqueue=tasks.enqueue)
        replay.refresh_from_db()  # sent already when the task queue runs eagerly
        return Response(DeliverySerializer(replay).data, status=status.HTTP_202_ACCEPTED)
