"""Savings goals and the contributions that fill them (SPEC §9).

Amounts are in the owner's base currency. A goal's `status` is stored (so lists can
filter on it) but only `goals.services` changes it, from the contributions' sum.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from core.models import OwnedModel, TimeStampedModel
from core.money import AMOUNT_DECIMAL_PLACES, AMOUNT_MAX_DIGITS, MAX_AMOUNT


class GoalStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    ACHIEVED = "achieved", "Achieved"
    ARCHIVED = "archived", "Archived"


class Goal(OwnedModel):
    """Money the user wants to have put aside, optionally by `target_date`."""

    name = models.CharField(max_length=100)
    target_amount = models.DecimalField(
        max_digits=AMOUNT_MAX_DIGITS, decimal_places=AMOUNT_DECIMAL_PLACES
    )
    target_date = models.DateField(null=True, blank=True)
    notes = models.TextField(blank=True, default="")
    status = models.CharField(max_length=16, choices=GoalStatus.choices, default=GoalStatus.ACTIVE)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(target_amount__gt=0, target_amount__lte=MAX_AMOUNT),
                name="goals_goal_target_amount_range",
            ),
            models.CheckConstraint(
                condition=Q(status__in=GoalStatus.values), name="goals_goal_status_valid"
            ),
            models.CheckConstraint(condition=~Q(name=""), name="goals_goal_name_not_empty"),
        ]
        indexes = [
            models.Index(fields=["user", "status"], name="goals_goal_user_status_idx"),
        ]

    def __str__(self) -> str:
        return self.name


class Contribution(TimeStampedModel):
    """Money put into (positive) or taken out of (negative) a goal on a date."""

    goal = models.ForeignKey(Goal, on_delete=models.CASCADE, related_name="contributions")
    amount = models.DecimalField(max_digits=AMOUNT_MAX_DIGITS, decimal_places=AMOUNT_DECIMAL_PLACES)
    date = models.DateField()
    note = models.CharField(max_length=255, blank=True, default="")

    class Meta:
        ordering = ["-date", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gte=-MAX_AMOUNT, amount__lte=MAX_AMOUNT) & ~Q(amount=0),
                name="goals_contribution_amount_range",
            ),
        ]
        indexes = [
            models.Index(fields=["goal", "date"], name="goals_contrib_goal_date_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.amount}"
