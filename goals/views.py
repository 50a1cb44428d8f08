"""/goals/ and /goals/{goal_pk}/contributions/ (SPEC §9). Views validate and delegate.

Goals belong to a book (SPEC §14): served for the caller's personal book at the top
level and for any book they belong to under /books/{book_id}/; contributions are scoped
through their goal's book.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, serializers, viewsets
from rest_framework.request import Request

from books.scoping import BookScopedMixin
from core.dates import user_today
from core.filters import StrictOrderingFilter
from core.schema import crud_schema, request_example

from . import selectors, services
from .filters import GoalFilter, NullsLastOrderingFilter
from .models import Contribution, Goal
from .serializers import ContributionSerializer, GoalSerializer

GOAL = {
    "name": "Emergency fund",
    "target_amount": "5000.00",
    "target_date": "2027-06-30",
    "notes": "Three months of rent.",
    "status": "active",
}


@crud_schema(
    GoalSerializer,
    docs={
        "list": (
            "List your savings goals",
            "Newest first, each with `saved_amount`, `remaining`, `percent`, "
            "`required_monthly`, `projected_completion` and `on_track`. Filter `status` "
            "(repeatable); `ordering` by `created_at`, `target_date` (goals without one "
            "last) or `name`.",
        ),
        "create": (
            "Create a savings goal",
            "`target_amount` is in the book's base currency; `target_date` is optional (without "
            "it there is no `required_monthly` nor `on_track`). Money goes in and out "
            "through `POST /goals/{goal_pk}/contributions/`; the goal turns `achieved` "
            "when its saved amount reaches the target.",
        ),
        "retrieve": (
            "Get a savings goal",
            "The goal with its progress and projections, computed in your time zone today.",
        ),
        "update": (
            "Replace a savings goal",
            "Same fields as `POST /goals/`; `status` may be set to `archived` (or back).",
        ),
        "partial_update": (
            "Change some fields of a savings goal",
            "Only the fields sent change; e.g. `status: archived` to put a goal away.",
        ),
        "destroy": ("Delete a savings goal", "Deletes the goal and all its contributions."),
    },
    examples={
        "create": [request_example(GOAL)],
        "update": [request_example(GOAL)],
        "partial_update": [request_example({"target_amount": "6000.00"})],
    },
)
class GoalViewSet(BookScopedMixin, viewsets.ModelViewSet):
    """The user's savings goals, each with its saved amount and projections.

    Filter `status` (repeatable); `ordering` by `created_at`, `target_date` (goals
    without one last), `name`. Default: newest first.
    """

    queryset = Goal.objects.all()
    serializer_class = GoalSerializer
    filter_backends = [DjangoFilterBackend, NullsLastOrderingFilter]
    filterset_class = GoalFilter
    ordering_fields = ["created_at", "target_date", "name"]
    ordering = ["-created_at", "-id"]

    @cached_property
    def today(self):  # type: ignore[no-untyped-def]
        return user_today(self.request.user)

    def safely_get_queryset(self, queryset: QuerySet) -> QuerySet:
        return selectors.goals_with_totals(
            book=self.book, today=self.today, queryset=queryset.select_related("book")
        )

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()
        if self.request is not None and self.request.user.is_authenticated:
            context["today"] = self.today
        return context

    def _reload(self, goal: Goal) -> Goal:
        return self.get_queryset().get(pk=goal.pk)

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        goal = services.goal_create(
            book=self.book, user=self.request.user, data=serializer.validated_data
        )
        serializer.instance = self._reload(goal)

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        goal = services.goal_update(goal=serializer.instance, data=serializer.validated_data)
        serializer.instance = self._reload(goal)

    def perform_destroy(self, instance: Goal) -> None:
        services.goal_delete(goal=instance)


GOAL_PK = OpenApiParameter(
    "goal_pk", OpenApiTypes.INT, OpenApiParameter.PATH, description="The goal's id."
)
GOAL_NOT_FOUND = OpenApiResponse(description="No such goal (or contribution) in this book.")
BALANCE_CONFLICT = OpenApiResponse(
    description="Deleting this deposit would take the goal's saved amount below 0 "
    '(`{"detail", "code": "goal_balance"}`); delete the later withdrawals first.'
)


CONTRIBUTION = {"amount": "250.00", "date": "2026-03-28", "note": "Payday transfer"}
NEVER_BELOW_ZERO = " A write that would take the goal's saved amount below 0 is a 400 on `amount`."


@extend_schema(parameters=[GOAL_PK])
@crud_schema(
    ContributionSerializer,
    docs={
        "list": (
            "List a goal's contributions",
            "Deposits and withdrawals of one of your goals, newest date first; `ordering` by "
            "`date`, `amount` or `created_at`. Another book's goal is 404.",
        ),
        "create": (
            "Deposit to or withdraw from a goal",
            "A positive `amount` is a deposit, a negative one a withdrawal, never 0; in "
            "the book's base currency. `date` defaults to today (your time zone). The goal's "
            "`saved_amount` and `status` follow." + NEVER_BELOW_ZERO,
        ),
        "retrieve": ("Get a contribution", "One contribution of one of your goals."),
        "update": (
            "Replace a contribution",
            "Same fields as when depositing." + NEVER_BELOW_ZERO,
        ),
        "partial_update": (
            "Change some fields of a contribution",
            "Only the fields sent change." + NEVER_BELOW_ZERO,
        ),
        "destroy": (
            "Delete a contribution",
            "Deleting a deposit that later withdrawals depend on is a 409 `goal_balance`: "
            "delete those withdrawals first.",
        ),
    },
    examples={
        "create": [request_example(CONTRIBUTION)],
        "update": [request_example(CONTRIBUTION)],
        "partial_update": [request_example({"note": "Payday transfer (March)"})],
    },
    create={404: GOAL_NOT_FOUND},
    destroy={409: BALANCE_CONFLICT},
)
@extend_schema_view(
    list=extend_schema(responses={200: ContributionSerializer, 404: GOAL_NOT_FOUND})
)
class ContributionViewSet(
    BookScopedMixin,
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Deposits (amount > 0) and withdrawals (amount < 0) of one of the user's goals.

    A write that would take the goal's saved amount below 0 is refused (400 on
    `amount`); `ordering` by `date`, `amount`, `created_at` (default newest date first).
    """

    queryset = Contribution.objects.all()
    scope_field = "goal__book"
    serializer_class = ContributionSerializer
    filter_backends = [StrictOrderingFilter]
    ordering_fields = ["date", "amount", "created_at"]
    ordering = ["-date", "-id"]
    goal: Goal

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        # Another book's goal is "not found" before the body is even looked at.
        books_goals = Goal.objects.filter(book=self.book).select_related("book")
        self.goal = get_object_or_404(books_goals, pk=self.kwargs["goal_pk"])

    def safely_get_queryset(self, queryset: QuerySet) -> QuerySet:
        return queryset.filter(goal=self.goal)

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        serializer.instance = services.contribution_create(
            goal=self.goal, data=serializer.validated_data, user=self.request.user
        )

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        serializer.instance = services.contribution_update(
            contribution=serializer.instance, data=serializer.validated_data
        )

    def perform_destroy(self, instance: Contribution) -> None:
        services.contribution_delete(contribution=instance)
