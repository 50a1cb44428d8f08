"""Books, their members and invitations (SPEC §14)."""

from __future__ import annotations

from typing import Any, ClassVar

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.schema import ErrorSerializer, crud_schema, operation_docs, request_example

from . import services
from .models import Book, Invitation, Membership, Role, role_allows
from .scoping import BookScopedMixin
from .serializers import AcceptSerializer, BookSerializer, InvitationSerializer, MemberSerializer

# Book settings (name, currency, month start) and deletion are the owner's.
OWNER_ACTIONS = {"update", "partial_update", "destroy"}
CURRENCY_CHANGE_QUEUED = OpenApiResponse(
    BookSerializer,
    description="The book has more than BASE_CURRENCY_SYNC_MAX_ROWS expenses and income: "
    "the base-currency change was queued (the other settings are applied); see "
    "`base_currency_change`.",
)
CURRENCY_CHANGE_CONFLICT = OpenApiResponse(
    ErrorSerializer,
    description="`base_currency_change_in_progress`: another base-currency change of the "
    "book is queued or running; retry after the Retry-After seconds.",
)
ROLES = "`owner` (everything, members), `editor` (read and write records), `viewer` (read only)"


@crud_schema(
    BookSerializer,
    docs={
        "list": (
            "List your books",
            "Your personal book and every shared book you are a member of, each with your "
            f"`role` in it: {ROLES}.",
        ),
        "create": (
            "Create a shared book",
            "You become its owner; invite people with `POST /books/{id}/invitations/`. "
            "`base_currency` and `month_start_day` default to yours. Every record "
            "endpoint works under `/books/{id}/…` for this book.",
        ),
        "retrieve": ("Get one of your books", "With your `role` in it. Not a member → 404."),
        "update": (
            "Change a book's settings",
            "Owner only. A new `base_currency` re-expresses every figure in the book "
            "(expenses, income, budgets, goals): inline (200) for most books, on the task "
            "queue (202) for big ones — poll `GET /books/{id}/` until "
            "`base_currency_change.status` is `done` (or `failed`, which changed nothing). "
            "409 while another change of the book is pending. For your personal book, "
            "`base_currency` and `month_start_day` are those of `PATCH /auth/me/` (which "
            "this follows). `default_split` (shared books) sets how imported and "
            'recurring expenses are split: null or `{"mode": "equal"}` (equally among '
            'the members at the time) or `{"mode": "shares", "parts": [{"user": '
            '7, "value": "2"}]}` (fixed weights of members); 400 naming the problem '
            "otherwise.",
        ),
        "partial_update": (
            "Change some of a book's settings",
            "Owner only, as `PUT /books/{id}/`.",
        ),
        "destroy": (
            "Delete a shared book",
            "Owner only; deletes the book and every record in it. 409 while other members "
            "remain or for a personal book.",
        ),
    },
    update={202: CURRENCY_CHANGE_QUEUED, 409: CURRENCY_CHANGE_CONFLICT},
    partial_update={202: CURRENCY_CHANGE_QUEUED, 409: CURRENCY_CHANGE_CONFLICT},
    examples={
        "create": [request_example({"name": "Household", "base_currency": "EUR"})],
        "update": [request_example({"name": "Household", "month_start_day": 1})],
        "partial_update": [
            request_example({"name": "Flat 3B"}),
            request_example({"default_split": {"mode": "equal"}}, name="Default split"),
        ],
    },
)
class BookViewSet(viewsets.ModelViewSet):
    """The books the caller is a member of. The book itself, so not book-scoped."""

    serializer_class = BookSerializer
    permission_classes = [IsAuthenticated]
    queryset = Book.objects.none()

    def get_queryset(self) -> QuerySet:
        if getattr(self, "swagger_fake_view", False):
            return Book.objects.none()
        return Book.objects.for_member(self.request.user)

    def check_object_permissions(self, request: Request, obj: Any) -> None:
        super().check_object_permissions(request, obj)
        if self.action in OWNER_ACTIONS and not role_allows(obj.role, Role.OWNER):
            raise PermissionDenied("Only an owner of this book can do this.")

    def perform_create(self, serializer: BookSerializer) -> None:
        serializer.instance = services.book_create(
            user=self.request.user, **serializer.validated_data
        )

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        response = super().update(request, *args, **kwargs)
        if getattr(self, "currency_change_queued", False):
            response.status_code = status.HTTP_202_ACCEPTED
        return response

    def perform_update(self, serializer: BookSerializer) -> None:
        role = serializer.instance.role
        book, queued = services.book_update(
            book=serializer.instance, data=serializer.validated_data, by=self.request.user
        )
        book.role = role
        self.currency_change_queued = queued is not None
        serializer.instance = book

    def perform_destroy(self, instance: Book) -> None:
        services.book_delete(book=instance)


@extend_schema_view(
    list=operation_docs("List a book's members", "Every member with their role, oldest first."),
    retrieve=operation_docs("Get one member", "By user id."),
    update=operation_docs(
        "Change a member's role",
        "Owner only; a book always keeps an owner (409).",
        examples=[request_example({"role": "editor"})],
    ),
    partial_update=operation_docs(
        "Change a member's role",
        "Owner only; a book always keeps an owner (409).",
        examples=[request_example({"role": "viewer"})],
    ),
    destroy=operation_docs(
        "Remove a member",
        "An owner removes anyone; anyone may remove themselves (leave). The last owner "
        "cannot leave (409); a member whose balance is not zero cannot be removed (409). "
        "The records they created stay in the book.",
        responses={204: None},
    ),
)
class MemberViewSet(
    BookScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = MemberSerializer
    queryset = Membership.objects.all()
    lookup_field = "user_id"
    lookup_url_kwarg = "user_id"
    lookup_value_regex = r"\d+"
    role_by_action: ClassVar[dict[str, str]] = {
        "update": Role.OWNER,
        "partial_update": Role.OWNER,
        "destroy": Role.VIEWER,  # anyone may leave; removing others is checked by the service
    }

    def safely_get_queryset(self, queryset: QuerySet) -> QuerySet:
        return queryset.select_related("user")

    def perform_update(self, serializer: MemberSerializer) -> None:
        services.member_update(
            book=self.book, member=serializer.instance, role=serializer.validated_data["role"]
        )

    def perform_destroy(self, instance: Membership) -> None:
        services.member_remove(
            book=self.book, member=instance, by=self.request.user, by_role=self.role
        )


@extend_schema_view(
    list=operation_docs(
        "List a book's invitations", "Owner only; newest first, with their status."
    ),
    create=operation_docs(
        "Invite someone by email",
        "Owner only. Emails a one-time token (valid 7 days) that the invitee, signed in "
        "with that address, sends to `POST /invitations/accept/`. The token is never "
        "returned here. Inviting the same address again replaces the pending invitation; "
        "a member's address → 409; a personal book → 400.",
        examples=[request_example({"email": "sam@example.com", "role": "editor"})],
    ),
    retrieve=operation_docs("Get one invitation", "Owner only."),
    destroy=operation_docs(
        "Revoke an invitation", "Owner only; its token stops working.", responses={204: None}
    ),
)
class InvitationViewSet(
    BookScopedMixin,
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = InvitationSerializer
    queryset = Invitation.objects.all()
    read_role = Role.OWNER
    write_role = Role.OWNER

    def perform_create(self, serializer: InvitationSerializer) -> None:
        serializer.instance = services.invitation_create(
            book=self.book, by=self.request.user, **serializer.validated_data
        )

    def perform_destroy(self, instance: Invitation) -> None:
        services.invitation_revoke(invitation=instance)


class AcceptInvitationView(APIView):
    permission_classes = [IsAuthenticated]

    @operation_docs(
        "Accept an invitation",
        "Send the token from the invitation email, signed in as the invited address. "
        "200 → the book you joined (with your role). A used, expired, revoked or unknown "
        "token, or one sent to another address → 400; already a member → 409.",
        request=AcceptSerializer,
        responses={200: BookSerializer},
        examples=[request_example({"token": "<invitation token from the email>"})],
    )
    def post(self, request: Request) -> Response:
        serializer = AcceptSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        book = services.invitation_accept(
            token=serializer.validated_data["token"], user=request.user
        )
        return Response(BookSerializer(book).data, status=status.HTTP_200_OK)
