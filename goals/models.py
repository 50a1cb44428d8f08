"""Savings goals and the contributions that fill them (SPEC §9).

Amounts are in the owner's base currency; each also keeps the amount as written and
the base currency it was written in (`*_original`, see currencies.originals), from
which a base-currency change derives the converted figures. A goal's `status` is
stored (so lists can filter on it) but only `goals.services` changes it, from the
contributions' sum.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from books.models import BookOwnedModel
from core.models import TimeStampedModel
from core.money import AMOUNT_DECIMAL_PLACES, AMOUNT_MAX_DIGITS, MAX_AMOUNT, validate_currency_code
from currencies.originals import OriginalAmountMixin, OriginalsQuerySet


def _currency_original() -> models.CharField:
    return models.CharField(max_length=3, validators=[validate_currency_code], editable=False)


def _amount_original() -> models.DecimalField:
    return models.DecimalField(
        max_digits=AMOUNT_MAX_DIGITS, decimal_places=AMOUNT_DECIMAL_PLACES, editable=False
    )


class GoalStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    ACHIEVED = "achieved", "Achieved"
    ARCHIVED = "archived", "Archived"


class Goal(OriginalAmountMixin, BookOwnedModel):
    """Money the user wants to have put aside, optionally by `target_date`."""

    converted_field = "target_amount"
    original_field = "target_amount_original"

    name = models.CharField(max_length=100)
    target_amount = models.DecimalField(
        max_digits=AMOUNT_MAX_DIGITS, decimal_places=AMOUNT_DECIMAL_PLACES
    )
    target_amount_original = _amount_original()
    currency_original = _currency_original()
    target_date = models.DateField(null=True, blank=True)
    notes = models.TextField(blank=True, default="")
    status = models.CharField(max_length=16, choices=GoalStatus.choices, default=GoalStatus.ACTIVE)

    objects = OriginalsQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(target_amount__gt=0, target_amount__lte=MAX_AMOUNT),
                name="goals_goal_target_amount_range",
            ),
            models.CheckConstraint(
                condition=Q(target_amount_original__gt=0, target_amount_original__lte=MAX_AMOUNT)
                & ~Q(currency_original=""),
                name="goals_goal_target_original_range",
            ),
            models.CheckConstraint(
                condition=Q(status__in=GoalStatus.values), name="goals_goal_status_valid"
            ),
            models.CheckConstraint(condition=~Q(name=""), name="goals_goal_name_not_empty"),
        ]
        indexes = [
            models.Index(fields=["book", "status"], name="goals_goal_book_status_idx"),
        ]

    def __str__(self) -> str:
        return self.name


class Contribution(OriginalAmountMixin, TimeStampedModel):
    """Money put into (positive) or taken out of (negative) a goal on a date."""

    goal = models.ForeignKey(Goal, on_delete=models.CASCADE, related_name="contributions")
    amount = models.DecimalField(max_digits=AMOUNT_MAX_DIGITS, decimal_places=AMOUNT_DECIMAL_PLACES)
    amount_original = _amount_original()
    currency_original = _currency_original()
    date = models.DateField()
    note = models.CharField(max_length=255, blank=True, default="")

    objects = OriginalsQuerySet.as_manager()

    class Meta:
        ordering = ["-date", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gte=-MAX_AMOUNT, amount__lte=MAX_AMOUNT) & ~Q(amount=0),
                name="goals_contribution_amount_range",
            ),
            models.CheckConstraint(
                condition=Q(amount_original__gte=-MAX_AMOUNT, amount_original__lte=MAX_AMOUNT)
                & ~Q(amount_original=0)
                & ~Q(currency_original=""),
                name="goals_contribution_original_range",
            ),
        ]
        indexes = [
            models.Index(fields=["goal", "date"], name="goals_contrib_goal_date_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.amount}"

    def original_book_id(self) -> int:
        return self.goal.book_id
