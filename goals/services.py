"""Writes on goals and contributions (SPEC §9).

Every write that can change a goal's sum or target locks the goal row
(`select_for_update`) inside a transaction, re-reads the sum and only then decides,
so concurrent withdrawals cannot together take `saved_amount` below zero. The status
follows from the sum in one place, `_status_refresh`.

Goals belong to a book and are shared by its members (SPEC §14): amounts are in the
book's base currency, and reaching a goal tells every member.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from decimal import Decimal, localcontext
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from books.models import Book
from core.dates import user_today
from core.exceptions import ConflictError
from core.money import MAX_AMOUNT, format_amount, minor_units, quantize
from currencies.selectors import ConversionOutOfRange, base_amount, get_rate
from notifications.models import NotificationKind
from notifications.services import notify_members
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
    """Every member of the goal's book is told (once per goal and member, ever)."""
    book = goal.book
    currency = book.base_currency
    who, whose = ("You have", "your") if book.is_personal else (f"{book.name} has", "its")
    notify_members(
        book=book,
        kind=NotificationKind.GOAL_ACHIEVED,
        title=f"Goal reached: {goal.name}",
        body=(
            f"{who} saved {format_amount(saved, currency)} {currency} of {whose} "
            f"{format_amount(goal.target_amount, currency)} {currency} target."
        ),
        data={"goal": goal.pk},
        dedupe_key=f"goal:{goal.pk}:achieved",
    )


def _figures_lock(*, book_id: int) -> None:
    """The shared side of the lock a base-currency change of the book takes, taken first
    by every goal write, in the same order, so the two never deadlock."""
    base_currency_lock(book_id=book_id)


def _lock(goal_id: int) -> Goal:
    """The goal row, locked until the transaction ends (after `_figures_lock`)."""
    _figures_lock(book_id=Goal.objects.values_list("book_id", flat=True).get(pk=goal_id))
    return (
        Goal.objects.select_for_update(of=("self",)).select_related("user", "book").get(pk=goal_id)
    )


def _check_status_request(*, requested: str | None, target_amount: Decimal, saved: Decimal) -> None:
    if requested == GoalStatus.ACHIEVED and saved < target_amount:
        raise ValidationError(
            {"status": ["A goal is achieved only once its contributions reach the target."]}
        )


@transaction.atomic
def goal_create(*, user: Any, data: dict[str, Any], book: Book | None = None) -> Goal:
    """Create a goal in `book` (default: `user`'s personal book), created by `user`;
    `data` holds the GOAL_FIELDS and optionally `status`.

    A new goal has nothing saved, so it starts `active` (or `archived` if asked);
    asking for `achieved` raises ValidationError on `status`.
    """
    requested = data.get("status")
    if book is None:
        book = Book.objects.get(personal_owner=user)
    _figures_lock(book_id=book.pk)
    goal = Goal(
        book=book, user=user, **{field: data[field] for field in GOAL_FIELDS if field in data}
    )
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
    """Delete the goal and its contributions (after `_figures_lock`, see `_lock`)."""
    _lock(goal.pk)
    goal.delete()


def _check_balance(*, saved_after: Decimal) -> None:
    if saved_after < 0:
        raise ValidationError({"amount": ["This would take the goal's saved amount below 0."]})


@transaction.atomic
def contribution_create(*, goal: Goal, data: dict[str, Any], user: Any = None) -> Contribution:
    """Add a deposit (amount > 0) or withdrawal (amount < 0) to `goal`.

    `date` defaults to today for `user` (the member writing; default the goal's
    creator). A withdrawal larger than what is saved raises ValidationError on `amount`
    and stores nothing. Re-derives the status and notifies `goal_achieved` (every member
    of the book) when the target is reached.
    """
    locked = _lock(goal.pk)
    contribution = Contribution(
        goal=locked, **{field: data[field] for field in CONTRIBUTION_FIELDS if field in data}
    )
    if contribution.date is None:
        contribution.date = user_today(user or locked.user)
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
def goals_convert_currency(
    *,
    base_currency: str,
    book: Book | None = None,
    user: Any = None,
    on: date | None = None,
) -> int:
    """Re-express the goal targets and contributions of the book (without `book`:
    `user`'s personal book) in `base_currency` at the latest rate on `on` (default: today
    in `user`'s time zone, else UTC). The converter goals registers for a base-currency
    change (`users.base_currency`).

    Converts from the stored originals (`*_original` in `currency_original`), never
    from current figures, so the result is the same however many changes came before.
    Contributions are rounded together (`contributions_converted`), so a goal's
    saved amount is the conversion of its original balance and does not go negative.
    Then the figures decide each goal's status again (archived goals stay archived).
    Raises RateUnavailable or ConversionOutOfRange (a figure beyond MAX_AMOUNT) and
    changes nothing when a rate is missing or a result does not fit.
    """
    if book is None:
        book = Book.objects.get(personal_owner=user)
    if on is None:  # a personal book's day is its owner's; a shared book's, UTC's
        on = user_today(user or book.personal_owner)
    goals = list(Goal.objects.select_for_update().filter(book=book).order_by("id"))
    if not goals:
        return 0
    contributions = list(
        Contribution.objects.filter(goal__book=book)
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


# --- restoring a backup into a book (the backups app calls these) -----------------------


def _restored_status(requested: str, target: Decimal, saved: Decimal) -> str:
    """Archived stays archived; otherwise the contributions decide."""
    if requested == GoalStatus.ARCHIVED:
        return GoalStatus.ARCHIVED
    return _derived_status(target_amount=target, saved=saved)


@transaction.atomic
def goals_restore(
    *, book: Any, user: Any, items: list[dict[str, Any]], merge: bool
) -> dict[str, int]:
    """Store restored goals in `book`, with their contributions (amounts in the book's
    base currency), in bulk; nobody is notified.

    Each item: GOAL_FIELDS, `status`, `contributions` ([{amount, date, note}]). With
    `merge`, a goal named like one of `book`'s is that goal: only its missing
    contributions (by amount, date and note) are added. Status follows the contributions
    (archived stays archived). Raises ValidationError {index: [message]} when added
    withdrawals would take a goal's saved amount below 0 (nothing stored).
    Returns {goals_created, goals_skipped, contributions_created, contributions_skipped}.
    """
    counts = dict.fromkeys(
        ("goals_created", "goals_skipped", "contributions_created", "contributions_skipped"), 0
    )
    currency = book.base_currency
    by_name: dict[str, Goal] = {}
    if merge:
        for goal in Goal.objects.select_for_update().filter(book=book).order_by("id"):
            by_name.setdefault(goal.name.casefold(), goal)
    errors: dict[str, list[str]] = {}
    new_goals: list[tuple[Goal, list[dict[str, Any]]]] = []
    contributions: list[Contribution] = []

    def contribution(goal: Goal | None, data: dict[str, Any]) -> Contribution:
        return Contribution(
            goal=goal,
            amount=data["amount"],
            date=data["date"],
            note=data.get("note", ""),
            amount_original=data["amount"],
            currency_original=currency,
        )

    for index, data in enumerate(items):
        rows = data.get("contributions", [])
        goal = by_name.get(data["name"].casefold())
        if goal is None:
            saved = sum((row["amount"] for row in rows), Decimal(0))
            if saved < 0:
                errors[str(index)] = ["Withdrawals exceed deposits: the saved amount would be < 0."]
                continue
            goal = Goal(
                book=book,
                user=user,
                **{field: data[field] for field in GOAL_FIELDS if field in data},
                target_amount_original=data["target_amount"],
                currency_original=currency,
            )
            goal.status = _restored_status(data.get("status", ""), goal.target_amount, saved)
            new_goals.append((goal, rows))
            counts["goals_created"] += 1
            counts["contributions_created"] += len(rows)
            continue
        counts["goals_skipped"] += 1
        present = Counter(goal.contributions.values_list("amount", "date", "note"))
        added = []
        for row in rows:
            key = (row["amount"], row["date"], row.get("note", ""))
            if present[key] > 0:
                present[key] -= 1
                counts["contributions_skipped"] += 1
            else:
                added.append(contribution(goal, row))
        if not added:
            continue
        saved = goal_saved_amount(goal=goal) + sum(c.amount for c in added)
        if saved < 0:
            errors[str(index)] = [
                f"Added to the goal '{goal.name}', these withdrawals would take its saved "
                "amount below 0."
            ]
            continue
        status = _restored_status(goal.status, goal.target_amount, saved)
        if status != goal.status:
            Goal.objects.filter(pk=goal.pk).update(status=status, updated_at=timezone.now())
        contributions += added
        counts["contributions_created"] += len(added)
    if errors:
        raise ValidationError(errors)
    Goal.objects.bulk_create([goal for goal, _ in new_goals])
    for goal, rows in new_goals:
        contributions += [contribution(goal, row) for row in rows]
    Contribution.objects.bulk_create(contributions, batch_size=1000)
    return counts


def goals_clear_book(*, book: Any) -> dict[str, int]:
    """Delete every goal of `book` with its contributions (a backup restored in replace
    mode). Returns {"goals": n, "contributions": n}."""
    _, deleted = Goal.objects.filter(book=book).delete()
    return {
        "goals": deleted.get(Goal._meta.label, 0),
        "contributions": deleted.get(Contribution._meta.label, 0),
    }
