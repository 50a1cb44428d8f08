"""Writes on goals and contributions (SPEC §9).

Every write that can change a goal's sum or target locks the goal row
(`select_for_update`) inside a transaction, re-reads the sum and only then decides,
so concurrent withdrawals cannot together take `saved_amount` below zero. The status
follows from the sum in one place, `_status_refresh`.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from core.dates import user_today
from core.exceptions import ConflictError
from core.money import format_amount
from notifications.services import notify

from .models import Contribution, Goal, GoalStatus
from .selectors import goal_saved_amount

GOAL_FIELDS = ("name", "target_amount", "target_date", "notes")
CONTRIBUTION_FIELDS = ("amount", "date", "note")


def _derived_status(*, target_amount: Decimal, saved: Decimal) -> str:
    return GoalStatus.ACHIEVED if saved >= target_amount else GoalStatus.ACTIVE


def _status_refresh(*, goal: Goal, saved: Decimal, unarchive: bool = False) -> None:
    """Set the status the figures imply and tell the user when the goal was just reached.

    An archived goal keeps its status (contributions and target changes don't move it)
    unless `unarchive`. Reaching the target notifies once per goal, ever: the
    notification's dedupe key survives a withdrawal and a second achievement.
    """
    if goal.status == GoalStatus.ARCHIVED and not unarchive:
        return
    previous = goal.status
    goal.status = _derived_status(target_amount=goal.target_amount, saved=saved)
    if goal.status != previous:
        goal.save(update_fields=["status", "updated_at"])
    if goal.status == GoalStatus.ACHIEVED and previous != GoalStatus.ACHIEVED:
        _notify_achieved(goal=goal, saved=saved)


def _notify_achieved(*, goal: Goal, saved: Decimal) -> None:
    currency = goal.user.base_currency
    notify(
        user=goal.user,
        kind="goal_achieved",
        title=f"Goal reached: {goal.name}",
        body=(
            f"You have saved {format_amount(saved, currency)} {currency} of your "
            f"{format_amount(goal.target_amount, currency)} {currency} target."
        ),
        data={"goal": goal.pk},
        dedupe_key=f"goal:{goal.pk}:achieved",
    )


def _lock(goal_id: int) -> Goal:
    """The goal row, locked until the transaction ends (the owner is read, not locked)."""
    return Goal.objects.select_for_update(of=("self",)).select_related("user").get(pk=goal_id)


def _check_status_request(*, requested: str | None, target_amount: Decimal, saved: Decimal) -> None:
    if requested == GoalStatus.ACHIEVED and saved < target_amount:
        raise ValidationError(
            {"status": ["A goal is achieved only once its contributions reach the target."]}
        )


@transaction.atomic
def goal_create(*, user: Any, data: dict[str, Any]) -> Goal:
    """Create a goal owned by `user`; `data` holds the GOAL_FIELDS and optionally `status`.

    A new goal has nothing saved, so it starts `active` (or `archived` if asked);
    asking for `achieved` raises ValidationError on `status`.
    """
    requested = data.get("status")
    goal = Goal(user=user, **{field: data[field] for field in GOAL_FIELDS if field in data})
    _check_status_request(requested=requested, target_amount=goal.target_amount, saved=Decimal(0))
    goal.status = GoalStatus.ARCHIVED if requested == GoalStatus.ARCHIVED else GoalStatus.ACTIVE
    goal.save()
    return goal


@transaction.atomic
def goal_update(*, goal: Goal, data: dict[str, Any]) -> Goal:
    """Apply a (partial) update of GOAL_FIELDS and `status`.

    `status` may be set to `archived`, or to `active`/`achieved` to un-archive: the
    stored status is then whatever the figures imply (`achieved` when saved ≥ target).
    Asking for `achieved` while saved < target raises ValidationError on `status`.
    A new target re-derives the status of a goal that is not archived.
    """
    locked = _lock(goal.pk)
    for field in GOAL_FIELDS:
        if field in data:
            setattr(locked, field, data[field])
    requested = data.get("status")
    saved = goal_saved_amount(goal=locked)
    _check_status_request(requested=requested, target_amount=locked.target_amount, saved=saved)
    if requested == GoalStatus.ARCHIVED:
        locked.status = GoalStatus.ARCHIVED
    locked.save()
    unarchive = requested in (GoalStatus.ACTIVE, GoalStatus.ACHIEVED)
    _status_refresh(goal=locked, saved=saved, unarchive=unarchive)
    return locked


@transaction.atomic
def goal_delete(*, goal: Goal) -> None:
    """Delete the goal and its contributions."""
    goal.delete()


def _check_balance(*, saved_after: Decimal) -> None:
    if saved_after < 0:
        raise ValidationError({"amount": ["This would take the goal's saved amount below 0."]})


@transaction.atomic
def contribution_create(*, goal: Goal, data: dict[str, Any]) -> Contribution:
    """Add a deposit (amount > 0) or withdrawal (amount < 0) to `goal`.

    `date` defaults to the owner's today. A withdrawal larger than what is saved
    raises ValidationError on `amount` and stores nothing. Re-derives the status and
    notifies `goal_achieved` when the target is reached.
    """
    locked = _lock(goal.pk)
    contribution = Contribution(
        goal=locked, **{field: data[field] for field in CONTRIBUTION_FIELDS if field in data}
    )
    if contribution.date is None:
        contribution.date = user_today(locked.user)
    saved = goal_saved_amount(goal=locked) + contribution.amount
    _check_balance(saved_after=saved)
    contribution.save()
    _status_refresh(goal=locked, saved=saved)
    return contribution


@transaction.atomic
def contribution_update(*, contribution: Contribution, data: dict[str, Any]) -> Contribution:
    """Change a contribution's amount, date or note; same balance rule as creating one."""
    locked = _lock(contribution.goal_id)
    current = Contribution.objects.get(pk=contribution.pk)
    stored_amount = current.amount
    for field in CONTRIBUTION_FIELDS:
        if field in data:
            setattr(current, field, data[field])
    saved = goal_saved_amount(goal=locked) - stored_amount + current.amount
    _check_balance(saved_after=saved)
    current.save()
    _status_refresh(goal=locked, saved=saved)
    return current


@transaction.atomic
def contribution_delete(*, contribution: Contribution) -> None:
    """Remove a contribution. Removing a deposit that later withdrawals spent (so the
    saved amount would go below 0) raises ConflictError (409, `code: goal_balance`)."""
    locked = _lock(contribution.goal_id)
    stored_amount = Contribution.objects.values_list("amount", flat=True).get(pk=contribution.pk)
    saved = goal_saved_amount(goal=locked) - stored_amount
    if saved < 0:
        raise ConflictError(
            "Deleting this deposit would take the goal's saved amount below 0; "
            "delete the later withdrawals first.",
            code="goal_balance",
        )
    contribution.delete()
    _status_refresh(goal=locked, saved=saved)


@transaction.atomic
def goals_convert_currency(*, user: Any, from_currency: str, to_currency: str, on: date) -> int:
    """Re-express goal targets and contributions after a base-currency change.

    Converts at the latest rate on or before `on`, then lets the figures decide each
    goal's status again (archived goals stay archived). Raises RateUnavailable, and
    changes nothing, when the user has goals and no rate connects the currencies.
    """
    from currencies.selectors import converter

    goals = list(Goal.objects.select_for_update().filter(user=user))
    if not goals:
        return 0
    convert = converter(from_currency=from_currency, to_currency=to_currency, on=on)
    for goal in goals:
        goal.target_amount = convert(goal.target_amount)
    Goal.objects.bulk_update(goals, ["target_amount"], batch_size=1000)
    contributions = list(Contribution.objects.filter(goal__user=user).only("id", "amount"))
    for contribution in contributions:
        contribution.amount = convert(contribution.amount)
    Contribution.objects.bulk_update(contributions, ["amount"], batch_size=1000)
    for goal in goals:
        _status_refresh(goal=goal, saved=goal_saved_amount(goal=goal))
    return len(goals)
