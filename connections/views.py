"""/connections/: bank connections over SimpleFIN (SPEC §17). Views validate and delegate
to `services`; a connection is per user (`scope_field = "user"`), whatever the books its
accounts are mapped to, so another user's connection is a 404."""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from books.scoping import BookScopedMixin
from core.exceptions import NotFoundError
from core.schema import NOT_FOUND, VALIDATION_ERROR, ErrorSerializer, request_example

from . import services, tasks
from .models import Connection
from .serializers import (
    AccountMapSerializer,
    AccountSerializer,
    ConnectionCreateSerializer,
    ConnectionSerializer,
    ConnectionUpdateSerializer,
)

BRIDGE_FAILED = OpenApiResponse(
    ErrorSerializer,
    description="The SimpleFIN Bridge failed: `bridge_unreachable`, `bridge_error`, "
    "`bridge_invalid_response`, `unsafe_url`. Nothing was stored.",
)
BRIDGE_TIMEOUT = OpenApiResponse(
    ErrorSerializer,
    description="The SimpleFIN Bridge did not answer within SIMPLEFIN_TIMEOUT_SECONDS "
    "(`bridge_timeout`). Nothing was stored.",
)
TOKEN_ERRORS = (
    "A token that is not base64 of an https URL, or names a host the server may not call, is "
    "a 400 on `setup_token`; a token the bridge refuses (claimed before) is a 400 "
    "`token_already_claimed`; a bridge that fails answers 502 (`bridge_*`) or 504 "
    "(`bridge_timeout`)."
)


@extend_schema_view(
    list=extend_schema(
        summary="List your bank connections",
        description="Your SimpleFIN connections with their accounts, status, last error and "
        "last sync. The access secret is never shown.",
    ),
    retrieve=extend_schema(
        summary="Get a bank connection",
        description="Poll it after `POST /connections/{id}/sync/` until `sync_state` is "
        "`idle`; `last_sync` says what the sync did, `last_error` why it failed.",
        responses={200: ConnectionSerializer, 404: NOT_FOUND},
    ),
    destroy=extend_schema(
        summary="Delete a bank connection",
        description="Forgets the access and the accounts. What was imported stays (undo a "
        "sync's batch in /imports/).",
        responses={204: None, 404: NOT_FOUND},
    ),
)
class ConnectionViewSet(
    BookScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Bank connections: claim a SimpleFIN setup token, map accounts to books, sync."""

    scope_field = "user"
    queryset = Connection.objects.all()
    serializer_class = ConnectionSerializer
    filter_backends: list = []
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def safely_get_queryset(self, queryset: QuerySet) -> QuerySet:
        return queryset.prefetch_related("accounts").order_by("created_at", "id")

    @extend_schema(
        request=ConnectionCreateSerializer,
        responses={
            201: ConnectionSerializer,
            400: VALIDATION_ERROR,
            502: BRIDGE_FAILED,
            504: BRIDGE_TIMEOUT,
        },
        summary="Connect a bank through SimpleFIN",
        description=(
            "Claims the setup token at the SimpleFIN Bridge, stores the access encrypted and "
            "lists the accounts with their balances (201). Then map accounts to books with "
            "`PATCH /connections/{id}/accounts/{account_id}/` and sync. " + TOKEN_ERRORS + " "
            "If the claim works but listing the accounts fails, the connection is stored with "
            "that error (the token is used up) and the next sync lists them."
        ),
        examples=[
            request_example(
                {"kind": "simplefin", "setup_token": "<setup token>", "name": "My bank"}
            )
        ],
    )
    def create(self, request: Request, *args: object, **kwargs: object) -> Response:
        serializer = ConnectionCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        connection = services.connection_create(
            user=request.user,
            setup_token=serializer.validated_data["setup_token"],
            name=serializer.validated_data.get("name", ""),
        )
        return Response(ConnectionSerializer(connection).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=ConnectionUpdateSerializer,
        responses={
            200: ConnectionSerializer,
            400: VALIDATION_ERROR,
            404: NOT_FOUND,
            502: BRIDGE_FAILED,
            504: BRIDGE_TIMEOUT,
        },
        summary="Rename or reconnect a bank connection",
        description=(
            "`name` renames it. `setup_token` reconnects (after `revoked`, or to replace the "
            "access): the new access replaces the old one, the status is `active` again and "
            "account mappings are kept. " + TOKEN_ERRORS
        ),
        examples=[request_example({"name": "Household bank"})],
    )
    def partial_update(self, request: Request, *args: object, **kwargs: object) -> Response:
        connection = self.get_object()
        serializer = ConnectionUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        connection = services.connection_update(
            connection=connection,
            name=serializer.validated_data.get("name"),
            setup_token=serializer.validated_data.get("setup_token"),
        )
        return Response(ConnectionSerializer(connection).data)

    def perform_destroy(self, instance: Connection) -> None:
        services.connection_delete(connection=instance)

    @extend_schema(
        request=None,
        responses={
            202: ConnectionSerializer,
            404: NOT_FOUND,
            409: OpenApiResponse(
                ErrorSerializer, description="A sync is already queued or running."
            ),
        },
        summary="Sync a bank connection now",
        description=(
            "Queues a sync (202 with the connection, `sync_state` `queued`; it runs on the "
            "task queue, at once in development): the mapped accounts' new transactions are "
            "imported into their books through the import pipeline. Poll "
            "`GET /connections/{id}/` until `sync_state` is `idle`, then read `last_sync` or "
            "`last_error`. 409 `sync_in_progress` while one is queued or running."
        ),
    )
    @action(detail=True, methods=["post"])
    def sync(self, request: Request, pk: str | None = None) -> Response:
        connection = services.connection_sync_request(
            connection=self.get_object(), enqueue=tasks.connection_sync_task.delay
        )
        return Response(ConnectionSerializer(connection).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        responses={200: AccountSerializer(many=True), 404: NOT_FOUND},
        summary="List a connection's bank accounts",
        description="Every account the bridge listed, with balance, the book it is mapped "
        "to (null: not imported) and its own last error.",
    )
    @action(detail=True, methods=["get"], pagination_class=None)
    def accounts(self, request: Request, pk: str | None = None) -> Response:
        connection = self.get_object()
        return Response(AccountSerializer(connection.accounts.all(), many=True).data)

    @extend_schema(
        request=AccountMapSerializer,
        responses={200: AccountSerializer, 400: VALIDATION_ERROR, 404: NOT_FOUND},
        summary="Map a bank account to a book",
        description=(
            '`book`: a book you are an editor or owner of (any other id is a 400 "does not '
            'exist"); the next sync imports SIMPLEFIN_INITIAL_DAYS of its history there. '
            "`null` stops importing it. An account in a non-ISO currency cannot be mapped."
        ),
        examples=[request_example({"book": None})],
    )
    @action(
        detail=True,
        methods=["patch"],
        url_path=r"accounts/(?P<account_id>[0-9]+)",
        url_name="account",
    )
    def account(self, request: Request, pk: str | None = None, account_id: str = "") -> Response:
        connection = self.get_object()
        account = connection.accounts.filter(pk=int(account_id)).first()
        if account is None:
            raise NotFoundError("No such account in this connection.")
        serializer = AccountMapSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        account = services.account_map(account=account, book=serializer.validated_data["book"])
        return Response(AccountSerializer(account).data)
