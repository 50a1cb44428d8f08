"""Item writes and the scheduled jobs: idempotent, late-safe, once per occurrence (SPEC §12)."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError

from budgets.services import budget_upsert
from categories.tests.factories import CategoryFactory
from currencies.models import ExchangeRate
from expenses.models import Expense
from expenses.services import expense_create
from income.models import Income
from notifications.models import Notification
from recurring.models import RecurringItem, RecurringOccurrence
from recurring.services import (
    create_due_occurrences,
    recurring_create,
    recurring_update,
    send_bill_reminders,
)
from users.tests.factories import UserFactory

from .factories import RecurringItemFactory

pytestmark = pytest.mark.django_db


def expense_dates(user) -> list[date]:
    return sorted(Expense.objects.filter(user=user).values_list("date", flat=True))


# --- item writes --------------------------------------------------------------------


def test_create_defaults_the_currency_and_income_has_no_payment_method(user):
    item = recurring_create(
        book=user.personal_book,
        user=user,
        data={
            "kind": "income",
            "amount": Decimal("3000"),
            "description": "Salary",
            "merchant": "ACME Corp",
            "payment_method": "card",
            "frequency": "monthly",
            "start_date": date(2026, 1, 25),
        },
    )
    assert (item.currency, item.payment_method, item.interval) == ("USD", "other", 1)
    assert (item.auto_create, item.active, item.remind_days_before) == (True, True, None)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"end_date": date(2026, 1, 1)}, "end_date"),
        ({"interval": 0}, "interval"),
        ({"frequency": "hourly"}, "frequency"),
        ({"amount": Decimal("1.001")}, "amount"),
        ({"remind_days_before": 61}, "remind_days_before"),
        ({"kind": "income"}, "category"),
    ],
)
def test_service_rejects_what_the_database_forbids(user, changes, field):
    category = CategoryFactory(user=user)
    data = {
        "kind": "expense",
        "amount": Decimal("10"),
        "description": "Phone",
        "frequency": "monthly",
        "start_date": date(2026, 2, 1),
        "category": category,
        **changes,
    }
    with pytest.raises(ValidationError) as excinfo:
        recurring_create(book=user.personal_book, user=user, data=data)
    assert field in excinfo.value.message_dict
    assert not RecurringItem.objects.exists()


def test_another_users_category_is_refused(user, other_user):
    item = RecurringItemFactory(user=user)
    with pytest.raises(ValidationError) as excinfo:
        recurring_update(item=item, data={"category": CategoryFactory(user=other_user)})
    assert "category" in excinfo.value.message_dict


# --- create_due_occurrences -------------------------------------------------------------


def test_a_job_missed_for_three_months_catches_up_exactly_once(user):
    RecurringItemFactory(user=user, start_date=date(2026, 1, 31), merchant="Landlord")

    assert create_due_occurrences(today=date(2026, 1, 30)) == 0
    assert create_due_occurrences(today=date(2026, 4, 30)) == 4
    assert create_due_occurrences(today=date(2026, 4, 30)) == 0
    assert create_due_occurrences(today=date(2026, 5, 2)) == 0

    assert expense_dates(user) == [
        date(2026, 1, 31),
        date(2026, 2, 28),
        date(2026, 3, 31),
        date(2026, 4, 30),
    ]
    expense = Expense.objects.filter(user=user).first()
    assert (expense.amount, expense.base_amount, expense.merchant) == (
        Decimal("50.00"),
        Decimal("50.00"),
        "Landlord",
    )
    assert RecurringOccurrence.objects.filter(expense__isnull=False).count() == 4


def test_a_new_item_does_not_backfill_dates_before_it_was_created(user):
    RecurringItemFactory(user=user, start_date=date(2024, 1, 15), created_on=date(2026, 3, 20))
    assert create_due_occurrences(today=date(2026, 4, 20)) == 1
    assert expense_dates(user) == [date(2026, 4, 15)]


def test_the_item_created_on_its_due_date_creates_that_days_transaction(user):
    RecurringItemFactory(user=user, start_date=date(2026, 3, 10), created_on=date(2026, 3, 10))
    assert create_due_occurrences(today=date(2026, 3, 10)) == 1


def test_end_date_stops_the_job(user):
    RecurringItemFactory(
        user=user, frequency="weekly", start_date=date(2026, 3, 2), end_date=date(2026, 3, 16)
    )
    assert create_due_occurrences(today=date(2026, 6, 1)) == 3
    assert expense_dates(user) == [date(2026, 3, 2), date(2026, 3, 9), date(2026, 3, 16)]


def test_deactivated_deleted_and_manual_items_create_nothing(user):
    RecurringItemFactory(user=user, active=False)
    RecurringItemFactory(user=user, auto_create=False)
    RecurringItemFactory(user=user).delete()
    assert create_due_occurrences(today=date(2026, 6, 1)) == 0
    assert not Expense.objects.exists()


def test_a_resumed_item_does_not_backfill_its_pause(user):
    item = RecurringItemFactory(user=user, start_date=date(2026, 1, 31))
    assert create_due_occurrences(today=date(2026, 2, 1)) == 1
    recurring_update(item=item, data={"active": False})
    assert create_due_occurrences(today=date(2026, 4, 1)) == 0
    with time_machine.travel(datetime(2026, 4, 15, 12, 0, tzinfo=UTC)):
        recurring_update(item=item, data={"active": True})
    assert create_due_occurrences(today=date(2026, 5, 31)) == 2
    assert expense_dates(user) == [date(2026, 1, 31), date(2026, 4, 30), date(2026, 5, 31)]


def test_switching_auto_create_back_on_does_not_backfill(user):
    item = RecurringItemFactory(user=user, start_date=date(2026, 1, 31), auto_create=False)
    with time_machine.travel(datetime(2026, 3, 1, 12, 0, tzinfo=UTC)):
        recurring_update(item=item, data={"auto_create": True, "amount": Decimal("60")})
        recurring_update(item=item, data={"description": "Rent"})  # no longer a resume
    item.refresh_from_db()
    assert item.resumed_on == date(2026, 3, 1)
    assert create_due_occurrences(today=date(2026, 3, 31)) == 1


def test_income_items_create_income_with_the_payer_as_source(user):
    salary = CategoryFactory(user=user, kind="income", name="Pay")
    RecurringItemFactory(
        user=user,
        kind="income",
        description="Salary",
        merchant="ACME Corp",
        amount=Decimal("3000.00"),
        category=salary,
        start_date=date(2026, 2, 25),
    )
    assert create_due_occurrences(today=date(2026, 3, 25)) == 2
    income = Income.objects.get(user=user, date=date(2026, 3, 25))
    assert (income.source, income.category, income.description) == ("ACME Corp", salary, "Salary")
    assert not Expense.objects.exists()


def test_a_transaction_the_user_deleted_is_not_created_again(user):
    RecurringItemFactory(user=user, start_date=date(2026, 3, 1))
    assert create_due_occurrences(today=date(2026, 3, 1)) == 1
    Expense.objects.filter(user=user).delete()
    assert create_due_occurrences(today=date(2026, 3, 2)) == 0
    occurrence = RecurringOccurrence.objects.get()
    assert occurrence.expense is None and occurrence.fulfilled_at is not None


def test_without_today_it_is_the_owners_today_in_their_time_zone():
    auckland = UserFactory(timezone="Pacific/Auckland")
    utc = UserFactory(timezone="UTC")
    for owner in (auckland, utc):
        RecurringItemFactory(user=owner, start_date=date(2026, 3, 31), created_on=date(2026, 3, 1))
    # 13:00 UTC on March 30 is already 02:00 on March 31 in Auckland (UTC+13).
    with time_machine.travel(datetime(2026, 3, 30, 13, 0, tzinfo=UTC), tick=False):
        assert create_due_occurrences() == 1
    assert expense_dates(auckland) == [date(2026, 3, 31)]
    assert expense_dates(utc) == []


def test_rules_categorise_created_expenses_like_any_other(user):
    from categories.tests.factories import RuleFactory

    rule = RuleFactory(user=user, value="netflix")
    RecurringItemFactory(user=user, description="Netflix", start_date=date(2026, 3, 5))
    create_due_occurrences(today=date(2026, 3, 5))
    assert Expense.objects.get(user=user).category == rule.category


def test_a_missing_rate_skips_only_that_occurrence_and_a_later_run_retries(user, caplog):
    RecurringItemFactory(
        user=user, description="Spotify", currency="EUR", start_date=date(2026, 3, 5)
    )
    RecurringItemFactory(user=user, description="Gym", start_date=date(2026, 3, 5))

    with caplog.at_level(logging.WARNING, logger="recurring.services"):
        assert create_due_occurrences(today=date(2026, 3, 5)) == 1
    assert "EUR->USD" in caplog.text
    assert list(Expense.objects.values_list("description", flat=True)) == ["Gym"]
    assert RecurringOccurrence.objects.count() == 1  # the failed one left no trace

    ExchangeRate.objects.create(base="EUR", quote="USD", date=date(2026, 3, 1), rate="1.1")
    assert create_due_occurrences(today=date(2026, 3, 6)) == 1
    spotify = Expense.objects.get(description="Spotify")
    assert (spotify.currency, spotify.base_amount) == ("EUR", Decimal("55.00"))
    assert create_due_occurrences(today=date(2026, 3, 6)) == 0


def test_an_auto_created_bill_that_exceeds_a_budget_alerts_like_any_expense(user):
    budget_upsert(
        book=user.personal_book,
        user=user,
        data={"month": date(2026, 3, 1), "scope": "overall", "amount": Decimal("100.00")},
    )
    expense_create(
        user=user, data={"amount": Decimal("60.00"), "date": date(2026, 3, 2), "description": "x"}
    )
    RecurringItemFactory(user=user, amount=Decimal("45.00"), start_date=date(2026, 3, 10))

    assert create_due_occurrences(today=date(2026, 3, 10)) == 1

    alert = Notification.objects.get(user=user, kind="budget_exceeded")
    assert alert.data["month"] == "2026-03"
    assert alert.data["spent"] == "105.00"


# --- send_bill_reminders ----------------------------------------------------------------


def test_reminders_are_sent_once_per_occurrence_within_the_window(user):
    item = RecurringItemFactory(
        user=user, description="Rent", amount=Decimal("1200.00"), remind_days_before=3
    )
    assert send_bill_reminders(today=date(2026, 3, 27)) == 0  # 4 days ahead
    assert send_bill_reminders(today=date(2026, 3, 28)) == 1
    assert send_bill_reminders(today=date(2026, 3, 28)) == 0
    assert send_bill_reminders(today=date(2026, 3, 31)) == 0

    reminder = Notification.objects.get(user=user, kind="bill_due")
    assert reminder.dedupe_key == f"bill_due:{item.pk}:2026-03-31"
    assert reminder.data["recurring"] == item.pk
    assert reminder.data["date"] == "2026-03-31"
    assert "1200.00 USD" in reminder.body and "2026-03-31" in reminder.body
    assert send_bill_reminders(today=date(2026, 4, 27)) == 1  # the next month's


def test_a_zero_day_reminder_is_sent_on_the_due_date(user):
    RecurringItemFactory(user=user, remind_days_before=0, start_date=date(2026, 3, 5))
    assert send_bill_reminders(today=date(2026, 3, 4)) == 0
    assert send_bill_reminders(today=date(2026, 3, 5)) == 1


def test_no_reminders_for_income_inactive_or_unset_items(user):
    RecurringItemFactory(user=user, kind="income", remind_days_before=5)
    RecurringItemFactory(user=user, active=False, remind_days_before=5)
    RecurringItemFactory(user=user, remind_days_before=None)
    assert send_bill_reminders(today=date(2026, 3, 28)) == 0
    assert not Notification.objects.exists()


def test_the_reminder_created_occurrence_later_gets_its_transaction_exactly_once(user):
    RecurringItemFactory(user=user, remind_days_before=5, start_date=date(2026, 1, 31))
    assert create_due_occurrences(today=date(2026, 3, 27)) == 2  # Jan 31, Feb 28
    assert send_bill_reminders(today=date(2026, 3, 27)) == 1
    occurrence = RecurringOccurrence.objects.get(date=date(2026, 3, 31))
    assert occurrence.expense is None and occurrence.reminded_at is not None

    assert create_due_occurrences(today=date(2026, 3, 31)) == 1
    assert create_due_occurrences(today=date(2026, 3, 31)) == 0
    occurrence.refresh_from_db()
    assert occurrence.expense is not None and occurrence.expense.date == date(2026, 3, 31)
    assert expense_dates(user).count(date(2026, 3, 31)) == 1
