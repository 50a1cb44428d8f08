"""Expenses sit below budgets: they announce stored expenses (`expenses_written`) and
budgets alerts on that, instead of expenses calling budgets (issue 13)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from budgets.services import budget_upsert
from expenses.models import Expense
from expenses.services import expense_create, expense_update
from expenses.signals import expenses_written
from notifications.models import Notification, NotificationKind

pytestmark = pytest.mark.django_db


@pytest.fixture
def heard():
    events: list[tuple[type, int, list[date]]] = []

    def receiver(sender, *, user, book, dates, **kwargs):
        assert book == user.personal_book
        events.append((sender, user.pk, sorted(dates)))

    expenses_written.connect(receiver, dispatch_uid="test-expenses-written")
    yield events
    expenses_written.disconnect(dispatch_uid="test-expenses-written")


def test_creating_and_updating_an_expense_announce_its_date(user, heard):
    expense = expense_create(
        user=user,
        data={"amount": Decimal("5.00"), "date": date(2026, 3, 2), "description": "Tea"},
    )
    expense_update(expense=expense, data={"date": date(2026, 4, 1)})
    assert heard == [(Expense, user.pk, [date(2026, 3, 2)]), (Expense, user.pk, [date(2026, 4, 1)])]


def test_budgets_listens_and_alerts(user, monkeypatch):
    heard_by_budgets = []
    monkeypatch.setattr(
        "budgets.services.budget_alerts_for_expense_dates",
        lambda *, book, user, dates: heard_by_budgets.append((book, sorted(dates))),
    )
    expense_create(
        user=user,
        data={"amount": Decimal("1.00"), "date": date(2026, 3, 4), "description": "x"},
    )
    assert heard_by_budgets == [(user.personal_book, [date(2026, 3, 4)])]
    monkeypatch.undo()

    budget_upsert(
        book=user.personal_book,
        user=user,
        data={"month": date(2026, 3, 1), "scope": "overall", "amount": Decimal("10")},
    )
    expense_create(
        user=user,
        data={"amount": Decimal("12.00"), "date": date(2026, 3, 5), "description": "Shoes"},
    )
    assert Notification.objects.filter(user=user, kind=NotificationKind.BUDGET_EXCEEDED).exists()


def test_a_failing_listener_undoes_the_expense(user):
    def broken(sender, **kwargs):
        raise RuntimeError("listener broke")

    expenses_written.connect(broken, dispatch_uid="test-broken")
    try:
        with pytest.raises(RuntimeError):
            expense_create(
                user=user,
                data={"amount": Decimal("1.00"), "date": date(2026, 3, 5), "description": "x"},
            )
    finally:
        expenses_written.disconnect(dispatch_uid="test-broken")
    assert not Expense.objects.filter(user=user).exists()
