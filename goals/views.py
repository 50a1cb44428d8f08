"""/goals/ and /goals/{goal_pk}/contributions/ (SPEC §9). Views validate and delegate."""

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

from core.dates import user_today
from core.filters import StrictOrderingFilter
from core.schema import crud_schema
from core.views import OwnedQuerysetMixin

from . import selectors, services
from .filters import GoalFilter, NullsLastOrderingFilter
from .models import Contribution, Goal
from .serializers import ContributionSerializer, GoalSerializer


@crud_schema(GoalSerializer)
class GoalViewSet(OwnedQuerysetMixin, viewsets.ModelViewSet):
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

    def get_owned_queryset(self) -> QuerySet:
        return selectors.goals_with_totals(
            user=self.request.user, today=self.today, queryset=self.queryset.all()
        )

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()
        if self.request is not None and self.request.user.is_authenticated:
            context["today"] = self.today
        return context

    def _reload(self, goal: Goal) -> Goal:
        return self.get_queryset().get(pk=goal.pk)

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        goal = services.goal_create(user=self.request.user, data=serializer.validated_data)
        serializer.instance = self._reload(goal)

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        goal = services.goal_update(goal=serializer.instance, data=serializer.validated_data)
        serializer.instance = self._reload(goal)

    def perform_destroy(self, instance: Goal) -> None:
        services.goal_delete(goal=instance)


GOAL_PK = OpenApiParameter(
    "goal_pk", OpenApiTypes.INT, OpenApiParameter.PATH, description="The goal's id."
)
GOAL_NOT_FOUND = OpenApiResponse(description="No such goal (or contribution) among yours.")
BALANCE_CONFLICT = OpenApiResponse(
    description="Deleting this deposit would take the goal's saved amount below 0 "
    '(`{"detail", "code": "goal_balance"}`); delete the later withdrawals first.'
)


@extend_schema(parameters=[GOAL_PK])
@crud_schema(
    ContributionSerializer,
    create={404: GOAL_NOT_FOUND},
    destroy={409: BALANCE_CONFLICT},
)
@extend_schema_view(
    list=extend_schema(responses={200: ContributionSerializer, 404: GOAL_NOT_FOUND})
)
class ContributionViewSet(
    OwnedQuerysetMixin,
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
    owner_field = "goal__user"
    serializer_class = ContributionSerializer
    filter_backends = [StrictOrderingFilter]
    ordering_fields = ["date", "amount", "created_at"]
    ordering = ["-date", "-id"]
    goal: Goal

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        # Another user's goal is "not found" before the body is even looked at.
        owned_goals = Goal.objects.filter(user=request.user)
        self.goal = get_object_or_404(owned_goals, pk=self.kwargs["goal_pk"])

    def get_owned_queryset(self) -> QuerySet:
        return self.queryset.filter(goal=self.goal)

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        serializer.instance = services.contribution_create(
            goal=self.goal, data=serializer.validated_data
        )

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        serializer.instance = services.contribution_update(
            contribution=serializer.instance, data=serializer.validated_data
        )

    def perform_destroy(self, instance: Contribution) -> None:
        services.contribution_delete(contribution=instance)
