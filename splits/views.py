"""/books/{book_id}/balances/, settle-up/ and settlements/ (SPEC §15). Views validate and
delegate; only shared books have them (a personal book → 400 `not_a_shared_book`).

Scoped by `books.scoping.BookScopedMixin`: not a member → 404; viewers read; editors and
owners record and delete settlements.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from books.scoping import BookScopedMixin
from core.filters import StrictOrderingFilter
from core.schema import (
    NOT_FOUND,
    VALIDATION_ERROR,
    ErrorSerializer,
    operation_docs,
    request_example,
)

from . import selectors, services
from .models import Settlement
from .serializers import (
    BalancesSerializer,
    SettlementSerializer,
    SettleUpSerializer,
    balances_representation,
    settle_up_representation,
)

PERSONAL_BOOK = OpenApiResponse(
    ErrorSerializer,
    description="`not_a_shared_book`: a personal book has no balances or settlements.",
)
BALANCE_FORMULA = (
    "balance = paid − share + settled_out − settled_in, in the book's base currency "
    "(positive: the member is owed; negative: they owe); the balances sum to exactly 0."
)


class SharedBookOnlyMixin(BookScopedMixin):
    """BookScopedMixin, then 400 `not_a_shared_book` for a personal book (after the
    membership and role checks: a stranger still gets 404, a viewer's write 403)."""

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        selectors.shared_book_required(self.book)


class BalancesView(SharedBookOnlyMixin, APIView):
    @extend_schema(
        tags=["splits"],
        operation_id="book_balances",
        summary="Who owes whom: each member's balance",
        description="One row per member (and per former member whose figures do not "
        "cancel out): `paid` (the split expenses they paid), `share` (their parts of "
        "them), `settled_out` / `settled_in` (settlements paid / received) and "
        f"`balance`. {BALANCE_FORMULA} Viewers may read it.",
        responses={200: BalancesSerializer, 400: PERSONAL_BOOK},
    )
    def get(self, request: Request, **kwargs: Any) -> Response:
        rows = selectors.book_balances(book=self.book)
        return Response(balances_representation(self.book, rows))


class SettleUpView(SharedBookOnlyMixin, APIView):
    @extend_schema(
        tags=["splits"],
        operation_id="book_settle_up",
        summary="The fewest payments that settle everyone",
        description="Transfers `{from, to, amount}` (user ids; amounts in the book's base "
        "currency) that bring every balance to exactly 0, at most (members with a balance "
        "− 1) of them: first pairs whose balances cancel exactly, then the largest debtor "
        "pays the largest creditor. Record each payment made with `POST "
        "/books/{id}/settlements/`; nothing is recorded here.",
        responses={200: SettleUpSerializer, 400: PERSONAL_BOOK},
    )
    def get(self, request: Request, **kwargs: Any) -> Response:
        transfers = selectors.book_settle_up(book=self.book)
        return Response(settle_up_representation(self.book, transfers))


SETTLEMENT_EXAMPLE = {"from": 2, "to": 1, "amount": "25.00", "date": "2026-03-28"}


@extend_schema(tags=["splits"])
@extend_schema_view(
    list=operation_docs(
        "List a book's settlements",
        "Payments between members, newest date first; `ordering` by `date`, `amount` or "
        "`created_at`. Settlements are not spending: reports and budgets never count them.",
    ),
    create=operation_docs(
        "Record a payment between members",
        "`from` paid `to` (two different members, by user id) `amount` in `currency` "
        "(default: the book's base currency) on `date` (default: your today). Stored "
        "with `base_amount` in the book's base currency at the latest rate on or before "
        "`date` (400 `rate_unavailable` without one). Moves `from`'s balance up and `to`'s "
        "down by `base_amount`. Editors and owners.",
        request=SettlementSerializer,
        responses={201: SettlementSerializer, 400: VALIDATION_ERROR},
        examples=[request_example(SETTLEMENT_EXAMPLE)],
    ),
    retrieve=operation_docs(
        "Get a settlement",
        "One payment between members of this book.",
        responses={200: SettlementSerializer, 400: PERSONAL_BOOK, 404: NOT_FOUND},
    ),
    destroy=operation_docs(
        "Delete a settlement",
        "The balances it moved move back. Editors and owners.",
        responses={204: None, 400: PERSONAL_BOOK, 404: NOT_FOUND},
    ),
)
class SettlementViewSet(
    SharedBookOnlyMixin,
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Payments between members of a shared book (no update: delete and record again)."""

    queryset = Settlement.objects.all()
    serializer_class = SettlementSerializer
    filter_backends = [StrictOrderingFilter]
    ordering_fields = ["date", "amount", "created_at"]
    ordering = ["-date", "-id"]

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        serializer.instance = services.settlement_create(
            book=self.book,
            user=self.request.user,
            data=serializer.service_data(),  # type: ignore[attr-defined]
        )

    def perform_destroy(self, instance: Settlement) -> None:
        services.settlement_delete(settlement=instance)
