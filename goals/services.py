"""Writes on goals and contributions (SPEC §9).

Every write that can change a goal's sum or target locks the goal row
(`select_for_update`) inside a transaction, re-reads the sum and only then decides,
so concurrent withdrawals cannot together take `saved_amount` below zero. The status
follows from the sum in one place, `_status_refresh`.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, localcontext
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from core.dates import user_today
from core.exceptions import ConflictError
from core.money import MAX_AMOUNT, format_amount, minor_units, quantize
from currencies.selectors import ConversionOutOfRange, base_amount, get_rate
from notifications.models import NotificationKind
from notifications.services import notify
from users.base_currency import base_currency_lock

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
        kind=NotificationKind.GOAL_ACHIEVED,
        title=f"Goal reached: {goal.name}",
        body=(
            f"You have saved {format_amount(saved, currency)} {currency} of your "
            f"{format_amount(goal.target_amount, currency)} {currency} target."
        ),
        data={"goal": goal.pk},
        dedupe_key=f"goal:{goal.pk}:achieved",
    )


def _lock(goal_id: int) -> Goal:
    """The goal row, locked until the transaction ends.

    The owner's row is share-locked first (`base_currency_lock`), in the same order a
    base-currency change takes them, so the two wait for each other, never deadlock.
    """
    owner_id = Goal.objects.values_list("user_id", flat=True).get(pk=goal_id)
    base_currency_lock(user_id=owner_id)
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
    base_currency_lock(user_id=user.pk)
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
    """Delete the goal and its contributions (after the owner's row lock, see `_lock`)."""
    base_currency_lock(user_id=goal.user_id)
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


def contributions_converted(*, exact: list[Decimal], currency: str) -> list[Decimal]:
    """Round one goal's converted contributions (exact values, in balance order) to
    `currency` so that the balance survives the rounding.

    Guarantees: each result is non-zero with the sign of its exact value (at least
    the smallest unit of `currency`); the results sum to the exact total rounded half
    up, and never below 0 when there is a deposit, so a goal whose saved amount was
    not negative does not become negative. The only exception is a goal of deposits
    alone each smaller than half a unit: each still counts one unit. Rounding is
    cumulative (each result is the change of the rounded running balance), so residue
    never piles up on one side as rounding one by one did.
    """
    smallest = Decimal(1).scaleb(-minor_units(currency))
    results: list[Decimal] = []
    with localcontext(prec=60):
        running = Decimal(0)
        previous = Decimal(0)
        for value in exact:
            running += value
            rounded = quantize(running, currency)
            step = rounded - previous
            previous = rounded
            if step == 0 or (step > 0) != (value > 0):
                step = smallest if value > 0 else -smallest
            results.append(step)
        deposits = [i for i, value in enumerate(exact) if value > 0]
        withdrawals = [i for i, value in enumerate(exact) if value < 0]
        target = quantize(running, currency)
        if deposits:
            target = max(target, Decimal(0))
        adjust = target - sum(results, Decimal(0))
        if adjust > 0 and deposits:
            results[max(deposits, key=lambda i: results[i])] += adjust
        elif adjust < 0:
            for i in sorted(deposits, key=lambda i: results[i], reverse=True):
                take = min(-adjust, results[i] - smallest)
                results[i] -= take
                adjust += take
            if adjust < 0 and withdrawals:
                results[min(withdrawals, key=lambda i: results[i])] += adjust
    return results


@transaction.atomic
def goals_convert_currency(*, user: Any, base_currency: str, on: date | None = None) -> int:
    """Re-express goal targets and contributions in `base_currency` at the latest rate on
    `on` (default: the user's today). The converter goals registers for a base-currency
    change (`users.base_currency`).

    Converts from the stored originals (`*_original` in `currency_original`), never
    from current figures, so the result is the same however many changes came before.
    Contributions are rounded together (`contributions_converted`), so a goal's
    saved amount is the conversion of its original balance and does not go negative.
    Then the figures decide each goal's status again (archived goals stay archived).
    Raises RateUnavailable or ConversionOutOfRange (a figure beyond MAX_AMOUNT) and
    changes nothing when a rate is missing or a result does not fit.
    """
    if on is None:
        on = user_today(user)
    goals = list(Goal.objects.select_for_update().filter(user=user).order_by("id"))
    if not goals:
        return 0
    contributions = list(
        Contribution.objects.filter(goal__user=user)
        .order_by("goal_id", "date", "id")
        .only("id", "goal_id", "amount_original", "currency_original")
    )
    currencies = {goal.currency_original for goal in goals} | {
        c.currency_original for c in contributions
    }
    rates = {
        currency: get_rate(from_currency=currency, to_currency=base_currency, on=on).rate
        for currency in currencies
    }

    def checked(value: Decimal, currency: str) -> Decimal:
        if abs(value) > MAX_AMOUNT:
            raise ConversionOutOfRange(
                from_currency=currency,
                to_currency=base_currency,
                reason=f"a goal figure would be more than {MAX_AMOUNT} {base_currency}.",
            )
        return value

    for goal in goals:
        converted = base_amount(
            amount=goal.target_amount_original,
            rate=rates[goal.currency_original],
            from_currency=goal.currency_original,
            to_currency=base_currency,
        )
        goal.target_amount = checked(converted, goal.currency_original)
    by_goal: dict[int, list[Contribution]] = {}
    for contribution in contributions:
        by_goal.setdefault(contribution.goal_id, []).append(contribution)
    for rows in by_goal.values():
        with localcontext(prec=60):
            exact = [row.amount_original * rates[row.currency_original] for row in rows]
        for row, amount in zip(
            rows, contributions_converted(exact=exact, currency=base_currency), strict=True
        ):
            row.amount = checked(amount, row.currency_original)
    Goal.objects.bulk_update(goals, ["target_amount"], batch_size=1000)
    Contribution.objects.bulk_update(contributions, ["amount"], batch_size=1000)
    for goal in goals:
        _status_refresh(goal=goal, saved=goal_saved_amount(goal=goal))
    return len(goals)
