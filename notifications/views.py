"""/notifications/ and /notifications/preferences/ (SPEC §12). Views validate and delegate."""

from __future__ import annotations

from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from books.scoping import BookScopedMixin
from core.filters import StrictOrderingFilter
from core.schema import NOT_FOUND, VALIDATION_ERROR, request_example

from . import services
from .filters import NotificationFilter
from .models import Notification
from .serializers import (
    NotificationPreferencesSerializer,
    NotificationSerializer,
    ReadAllResultSerializer,
    UnreadCountSerializer,
)


@extend_schema_view(
    list=extend_schema(
        summary="List your in-app notifications, newest first",
        description=(
            "Budget warnings, exceeded budgets, bills due, goals achieved, unusual spending "
            "and monthly summaries the system sent you; kinds you turned off in-app "
            "(`/notifications/preferences/`) are not shown. Filters `unread`, `kind`. Mark "
            "them read with `POST /notifications/{id}/read/` or `/notifications/read-all/`."
        ),
    ),
    retrieve=extend_schema(
        summary="Get a notification",
        description="One of your notifications; reading it here does not mark it read.",
        responses={200: NotificationSerializer, 404: NOT_FOUND},
    ),
    destroy=extend_schema(
        summary="Dismiss a notification",
        description="Deletes it from your list for good (`POST /notifications/{id}/read/` "
        "only marks it read).",
        responses={204: None, 404: NOT_FOUND},
    ),
)
class NotificationViewSet(
    BookScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Notifications the system sent you; they are created by the system, not via the API.

    Per user, whatever the book they are about (SPEC §14): scoped to the caller, served
    only at the top level (one about a shared book names it, and its id is `data.book`).
    """

    scope_field = "user"

    queryset = Notification.objects.all()
    serializer_class = NotificationSerializer
    filter_backends = [DjangoFilterBackend, StrictOrderingFilter]
    filterset_class = NotificationFilter
    ordering_fields = ["created_at"]
    ordering = ["-created_at"]

    def safely_get_queryset(self, queryset: QuerySet) -> QuerySet:
        # Kinds the user turned off in-app are stored (for dedupe and email) but not shown.
        return queryset.visible_to(self.request.user)

    @extend_schema(
        request=None,
        responses={200: NotificationSerializer, 404: NOT_FOUND},
        summary="Mark a notification read",
        description="Idempotent: reading it again keeps the first `read_at`.",
    )
    @action(detail=True, methods=["post"], url_path="read")
    def read(self, request: Request, pk: str | None = None) -> Response:
        notification = services.notification_mark_read(notification=self.get_object())
        return Response(NotificationSerializer(notification).data)

    @extend_schema(
        request=None,
        responses={200: ReadAllResultSerializer},
        summary="Mark all your notifications read",
        description="Sets `read_at` on every unread notification you can see; answers how "
        "many changed. `GET /notifications/unread-count/` is then 0.",
    )
    @action(detail=False, methods=["post"], url_path="read-all")
    def read_all(self, request: Request) -> Response:
        updated = services.notifications_mark_all_read(user=request.user)
        return Response(ReadAllResultSerializer({"updated": updated}).data)

    @extend_schema(
        responses={200: UnreadCountSerializer},
        summary="How many unread notifications you have (for a badge)",
        description="Counts the unread notifications `GET /notifications/?unread=true` lists.",
    )
    @action(detail=False, methods=["get"], url_path="unread-count")
    def unread_count(self, request: Request) -> Response:
        unread = self.get_queryset().filter(read_at__isnull=True).count()
        return Response(UnreadCountSerializer({"unread": unread}).data)

    @extend_schema(
        methods=["GET"],
        responses={200: NotificationPreferencesSerializer},
        summary="Your delivery preferences, per kind",
        description="Every kind with its `in_app` and `email` flags, defaults filled in.",
    )
    @extend_schema(
        methods=["PATCH"],
        request=NotificationPreferencesSerializer,
        responses={200: NotificationPreferencesSerializer, 400: VALIDATION_ERROR},
        summary="Change some delivery preferences",
        description=(
            "Send any subset of kinds, each with any subset of `in_app` / `email` "
            "(JSON booleans). An unknown kind or flag, or a non-boolean value, is a 400 "
            "naming it and nothing is changed. Returns every kind's preferences."
        ),
        examples=[
            request_example({"budget_warn": {"email": True}, "monthly_summary": {"in_app": False}})
        ],
    )
    @action(
        detail=False,
        methods=["get", "patch"],
        url_path="preferences",
        serializer_class=NotificationPreferencesSerializer,
        filter_backends=[],
        pagination_class=None,
    )
    def preferences(self, request: Request) -> Response:
        if request.method == "PATCH":
            serializer = NotificationPreferencesSerializer(data=request.data, partial=True)
            serializer.is_valid(raise_exception=True)
            prefs = services.preferences_update(
                user=request.user, changes=serializer.validated_data
            )
        else:
            prefs = services.preferences_for(user=request.user)
        return Response(NotificationPreferencesSerializer(prefs).data)
