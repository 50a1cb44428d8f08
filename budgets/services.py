"""Writes on budgets: upsert, copy between months, and threshold notifications."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from core.dates import (
    MAX_DATE,
    add_months,
    budget_month_of,
    date_in_range,
    format_month,
    user_today,
)
from core.money import format_amount
from currencies.selectors import converter
from notifications.models import NotificationKind
from notifications.services import notify
from users.base_currency import base_currency_lock

from .models import Budget, Scope
from .selectors import EXCEEDED, WARN, BudgetLine, budget_lines, month_date

EDITABLE_FIELDS = ("amount", "rollover", "warn_threshold")
# Later months whose rollover a change may affect, and so are re-checked for alerts.
ALERT_LOOKAHEAD_MONTHS = 24


def _key_lookup(user: Any, data: dict[str, Any]) -> dict[str, Any]:
    category = data.get("category") if data["scope"] == Scope.CATEGORY else None
    return {"user": user, "month": data["month"], "scope": data["scope"], "category": category}


def budget_upsert(*, user: Any, data: dict[str, Any]) -> tuple[Budget, bool]:
    """Create the budget for (month, scope, category), or update the one already there.

    Returns (budget, created). Safe under concurrency: the partial unique constraints
    decide, and a loser of the insert race updates the winner's row instead. Like every
    budget write, it locks the owner's row (`base_currency_lock`) before any budget row,
    the order a base-currency change takes them in, so the two never deadlock.
    """
    lookup = _key_lookup(user, data)
    values = {field: data[field] for field in EDITABLE_FIELDS if field in data}
    with transaction.atomic():
        base_currency_lock(user_id=user.pk)
        try:
            with transaction.atomic():
                budget = Budget.objects.create(**lookup, **values)
            created = True
        except IntegrityError:
            budget = Budget.objects.select_for_update().get(**lookup)
            for field, value in values.items():
                setattr(budget, field, value)
            budget.save()
            created = False
        budget_alerts_check(user=user, months=[(budget.month.year, budget.month.month)])
    return budget, created


def budget_update(*, budget: Budget, data: dict[str, Any]) -> Budget:
    """Change a budget; moving it onto another budget's (month, scope, category) → 400."""
    for field, value in data.items():
        setattr(budget, field, value)
    if budget.scope == Scope.OVERALL:
        budget.category = None
    try:
        with transaction.atomic():
            base_currency_lock(user_id=budget.user_id)
            budget.save()
            budget_alerts_check(user=budget.user, months=[(budget.month.year, budget.month.month)])
    except IntegrityError:
        raise ValidationError(
            {"non_field_errors": ["A budget for this month, scope and category already exists."]}
        ) from None
    return budget


@transaction.atomic
def budget_delete(*, budget: Budget) -> None:
    """Delete the budget (after the owner's row lock, as every budget write)."""
    base_currency_lock(user_id=budget.user_id)
    budget.delete()


@transaction.atomic
def budgets_copy(
    *, user: Any, from_month: date, to_month: date, overwrite: bool = False
) -> dict[str, int]:
    """Copy a month's budgets to another month.

    Existing budgets of the target month are updated only with `overwrite`; otherwise
    they are left alone and counted as skipped. Returns {created, updated, skipped}.
    Safe under concurrency: each insert runs in a savepoint and the unique constraints
    decide, so of simultaneous copies to one month one creates each budget and the
    others count it as skipped (or update it, with `overwrite`), never an error; the
    month ends with one budget per (scope, category).
    """
    counts = {"created": 0, "updated": 0, "skipped": 0}
    base_currency_lock(user_id=user.pk)
    existing = {
        (b.scope, b.category_id): b for b in Budget.objects.filter(user=user, month=to_month)
    }
    # One order for every copy, so concurrent copies wait on each other's rows in the
    # same sequence and cannot deadlock.
    sources = Budget.objects.filter(user=user, month=from_month).order_by("scope", "category_id")
    for source in sources:
        values = {field: getattr(source, field) for field in EDITABLE_FIELDS}
        key = {
            "user": user,
            "month": to_month,
            "scope": source.scope,
            "category_id": source.category_id,
        }
        target = existing.get((source.scope, source.category_id))
        if target is None:
            try:
                with transaction.atomic():
                    Budget.objects.create(**key, **values)
                counts["created"] += 1
                continue
            except IntegrityError:
                # A concurrent copy (or upsert) created it first: treat it as existing.
                target = Budget.objects.select_for_update().get(**key)
        if overwrite:
            for field, value in values.items():
                setattr(target, field, value)
            target.save()
            counts["updated"] += 1
        else:
            counts["skipped"] += 1
    budget_alerts_check(user=user, months=[(to_month.year, to_month.month)])
    return counts


def _alert(user: Any, line: BudgetLine, month_label: str) -> None:
    budget, level = line.budget, line.status
    name = budget.category.name if budget.category_id else "Overall"
    currency = user.base_currency
    spent, available = format_amount(line.spent, currency), format_amount(line.available, currency)
    if level == EXCEEDED:
        kind, title = NotificationKind.BUDGET_EXCEEDED, f"Budget exceeded: {name} ({month_label})"
    else:
        kind, title = NotificationKind.BUDGET_WARN, f"Budget nearly used: {name} ({month_label})"
    notify(
        user=user,
        kind=kind,
        title=title,
        body=f"You have spent {spent} {currency} of {available} {currency} ({line.percent_used}%).",
        data={
            "budget": budget.pk,
            "month": month_label,
            "level": level,
            "spent": spent,
            "available": available,
            "category": budget.category_id,
        },
        dedupe_key=f"budget:{budget.pk}:{month_label}:{level}",
    )


def budget_alerts_check(*, user: Any, months: Iterable[tuple[int, int]]) -> None:
    """Notify once per budget, level and month for every budget now at warn or exceeded.

    Called after any write that can raise spending against a budget or lower what is
    available: expense writes, budget creation, change and copy.
    """
    for year, month in sorted(set(months)):
        label = format_month(year, month)
        for line in budget_lines(user=user, year=year, month=month):
            if line.status in (WARN, EXCEEDED):
                _alert(user, line, label)


def budget_alerts_for_expense_dates(*, user: Any, dates: Iterable[date]) -> None:
    """Re-check the budget months of these expense dates, and later months whose
    rollover they feed, when the user has budgets there."""
    start_day = user.month_start_day
    # Budgets exist only for supported months, so a date outside the range has none to check.
    months = {budget_month_of(day, start_day) for day in dates if date_in_range(day)}
    if not months:
        return
    first = min(months)
    today = user_today(user)
    # Never past the last supported month: an expense dated near date.max must not make
    # the look-ahead build a date beyond year 9999.
    horizon = min(add_months(*max(months), ALERT_LOOKAHEAD_MONTHS), (MAX_DATE.year, MAX_DATE.month))
    label_first, label_horizon = month_date(*first), month_date(*horizon)
    budgeted = set(
        Budget.objects.filter(user=user, month__gte=label_first, month__lte=label_horizon)
        .values_list("month", "rollover")
        .distinct()
    )
    to_check = {
        m
        for m in months
        if (month_date(*m), True) in budgeted or (month_date(*m), False) in budgeted
    }
    # Later months only matter through rollover; stop at the current month.
    current = budget_month_of(today, start_day)
    for label, rollover in budgeted:
        key = (label.year, label.month)
        if rollover and first < key <= max(current, max(months)):
            to_check.add(key)
    budget_alerts_check(user=user, months=to_check)


def budget_alerts_on_expenses_written(
    sender: Any, *, user: Any, dates: Iterable[date], **kwargs: Any
) -> None:
    """Receiver of `expenses.signals.expenses_written` (connected in `BudgetsConfig`):
    expenses sits below budgets and tells it of new figures instead of calling it."""
    budget_alerts_for_expense_dates(user=user, dates=dates)


@transaction.atomic
def budgets_convert_currency(*, user: Any, base_currency: str, on: date | None = None) -> int:
    """Re-express every budget amount in `base_currency` at the latest rate on or before
    `on` (default: the user's today; a budget has no date of its own).

    The converter budgets registers for a base-currency change (`users.base_currency`).
    Converts from each budget's stored original (`amount_original` in
    `currency_original`), never from the current amount, so the result is the same
    whatever changes came before and however often this runs. Raises RateUnavailable
    or ConversionOutOfRange (and changes nothing) when a rate is missing or a result
    would be beyond MAX_AMOUNT. Returns how many budgets there are.
    """
    if on is None:
        on = user_today(user)
    budgets = list(
        Budget.objects.filter(user=user).only("id", "amount_original", "currency_original")
    )
    converters = {
        currency: converter(from_currency=currency, to_currency=base_currency, on=on)
        for currency in {budget.currency_original for budget in budgets}
    }
    for budget in budgets:
        budget.amount = converters[budget.currency_original](budget.amount_original)
    Budget.objects.bulk_update(budgets, ["amount"], batch_size=1000)
    return len(budgets)
