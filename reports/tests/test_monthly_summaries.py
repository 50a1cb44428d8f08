"""The monthly summary job: once per user and budget month, late-safe (SPEC §12). A report,
so the reports app owns and registers it (it moved here from recurring, issue 13)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine

from categories.tests.factories import CategoryFactory
from core import jobs
from expenses.services import expense_create
from income.services import income_create
from notifications.models import Notification
from recurring.models import RecurringItem
from reports.services import send_monthly_summaries
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def joined(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 9, 0, tzinfo=UTC)


def test_monthly_summary_once_per_month_per_user_with_the_months_figures():
    user = UserFactory(date_joined=joined(date(2026, 1, 5)))
    rent = CategoryFactory(user=user, name="Rent")
    food = CategoryFactory(user=user, name="Food")
    income_create(
        user=user,
        data={"amount": Decimal("2000.00"), "date": date(2026, 2, 25), "description": "Salary"},
    )
    for amount, category, day in (
        ("900.00", rent, 1),
        ("150.00", food, 3),
        ("150.00", food, 28),
    ):
        expense_create(
            user=user,
            data={
                "amount": Decimal(amount),
                "date": date(2026, 2, day),
                "description": "x",
                "category": category,
            },
        )
    expense_create(  # March: not in February's summary
        user=user, data={"amount": Decimal("5.00"), "date": date(2026, 3, 1), "description": "y"}
    )

    assert send_monthly_summaries(today=date(2026, 3, 1)) == 1
    assert send_monthly_summaries(today=date(2026, 3, 1)) == 0
    assert send_monthly_summaries(today=date(2026, 3, 20)) == 0

    summary = Notification.objects.get(user=user, kind="monthly_summary")
    assert summary.dedupe_key == "monthly_summary:2026-02"
    assert summary.data == {
        "month": "2026-02",
        "currency": "USD",
        "income": "2000.00",
        "expenses": "1200.00",
        "net": "800.00",
        "savings_rate": "40.00",
        "top_category": {"category": rent.pk, "name": "Rent", "total": "900.00"},
    }
    assert "Savings rate: 40.00%" in summary.body

    assert send_monthly_summaries(today=date(2026, 4, 3)) == 1  # a late run for March
    march = Notification.objects.get(user=user, dedupe_key="monthly_summary:2026-03")
    assert march.data["expenses"] == "5.00"
    assert march.data["savings_rate"] is None


def test_no_summary_for_a_month_before_the_user_joined_or_for_inactive_users():
    newcomer = UserFactory(date_joined=joined(date(2026, 3, 1)))
    UserFactory(date_joined=joined(date(2025, 1, 1)), is_active=False)
    veteran = UserFactory(date_joined=joined(date(2026, 2, 28)))
    assert send_monthly_summaries(today=date(2026, 3, 1)) == 1
    assert Notification.objects.get().user == veteran
    assert not Notification.objects.filter(user=newcomer).exists()


def test_the_summary_follows_the_users_budget_month():
    user = UserFactory(date_joined=joined(date(2026, 1, 1)), month_start_day=25)
    assert send_monthly_summaries(today=date(2026, 3, 24)) == 1  # month 2026-03 starts on the 25th
    assert Notification.objects.get().dedupe_key == "monthly_summary:2026-01"
    assert send_monthly_summaries(today=date(2026, 3, 25)) == 1
    assert Notification.objects.filter(user=user).count() == 2


def test_summaries_batch_over_many_users(settings, monkeypatch):
    monkeypatch.setattr("reports.services.USER_BATCH_SIZE", 2)
    for _ in range(5):
        UserFactory(date_joined=joined(date(2026, 1, 1)))
    assert send_monthly_summaries(today=date(2026, 3, 1)) == 5
    assert send_monthly_summaries(today=date(2026, 3, 2)) == 0


def test_the_job_is_the_reports_apps_and_sums_up_after_the_days_bills_are_created():
    """Registered by reports, which sits above recurring (INSTALLED_APPS in layer order):
    one tick on the first of the month records the bill due on the last day of the
    previous one before that month's summary is made, so the summary includes it."""
    owners = {job.name: job.func.__module__ for job in jobs.registered_jobs()}
    assert owners["send_monthly_summaries"] == "reports.services"
    names = [job.name for job in jobs.registered_jobs()]
    assert names.index("create_due_occurrences") < names.index("send_monthly_summaries")

    with time_machine.travel(datetime(2026, 2, 27, 12, 0, tzinfo=UTC)):
        user = UserFactory()
        RecurringItem.objects.create(
            user=user,
            kind="expense",
            amount=Decimal("40.00"),
            currency="USD",
            description="Phone",
            frequency="monthly",
            start_date=date(2026, 2, 28),
            auto_create=True,
        )
    with time_machine.travel(datetime(2026, 3, 1, 0, 30, tzinfo=UTC)):
        results = jobs.tick()
    assert results["create_due_occurrences"] == 1
    assert results["send_monthly_summaries"] == 1
    summary = Notification.objects.get(user=user, dedupe_key="monthly_summary:2026-02")
    assert summary.data["expenses"] == "40.00"
