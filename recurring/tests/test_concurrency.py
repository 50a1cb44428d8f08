"""Jobs running in parallel on PostgreSQL still create each occurrence once (SPEC §12)."""

from __future__ import annotations

from datetime import date

import pytest

from expenses.models import Expense
from notifications.models import Notification
from recurring.models import RecurringOccurrence
from recurring.services import create_due_occurrences, send_bill_reminders
from tests.concurrency import require_postgresql, run_concurrently
from users.tests.factories import UserFactory

from .factories import RecurringItemFactory

THREADS = 4


@pytest.mark.django_db(transaction=True)
def test_parallel_runs_create_each_occurrence_once():
    require_postgresql()
    user = UserFactory()
    RecurringItemFactory(user=user, start_date=date(2026, 1, 31))
    RecurringItemFactory(user=user, frequency="weekly", start_date=date(2026, 3, 2))
    # One occurrence row already exists, made by a reminder: it is claimed, not inserted.
    RecurringItemFactory(user=user, remind_days_before=3, start_date=date(2026, 1, 1))
    assert send_bill_reminders(today=date(2026, 3, 29)) == 1

    results, errors = run_concurrently(
        lambda _: create_due_occurrences(today=date(2026, 4, 1)), threads=THREADS
    )

    assert errors == []
    # Jan 31, Feb 28, Mar 31 + five Mondays in March + Jan 1 .. Apr 1 (four)
    assert sum(results) == 12
    assert Expense.objects.filter(user=user).count() == 12
    assert RecurringOccurrence.objects.filter(expense__isnull=False).count() == 12
    assert create_due_occurrences(today=date(2026, 4, 1)) == 0


@pytest.mark.django_db(transaction=True)
def test_parallel_reminder_runs_notify_once():
    require_postgresql()
    user = UserFactory()
    RecurringItemFactory(user=user, remind_days_before=14, frequency="weekly")

    results, errors = run_concurrently(
        lambda _: send_bill_reminders(today=date(2026, 3, 1)), threads=THREADS
    )

    assert errors == []
    assert sum(results) == 2  # Saturdays 2026-03-07 and 2026-03-14 (start 2026-01-31)
    assert Notification.objects.filter(user=user, kind="bill_due").count() == 2
