"""Budget alerts look ahead a bounded number of months, never past the supported range."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from budgets.models import Budget
from budgets.services import budget_alerts_for_expense_dates
from core.dates import MAX_DATE
from expenses.tests.factories import ExpenseFactory
from notifications.models import Notification

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "day", [date(9999, 12, 31), date(9999, 1, 1), date(1, 1, 1), date(2200, 1, 1), MAX_DATE]
)
def test_dates_near_the_ends_of_the_calendar_never_overflow_the_look_ahead(user, day):
    user.month_start_day = 25
    user.save()
    budget_alerts_for_expense_dates(user=user, dates=[day, date(2026, 3, 1)])


def test_the_last_supported_month_is_still_checked(user):
    Budget.objects.create(user=user, month=date(2199, 12, 1), scope="overall", amount=Decimal("10"))
    ExpenseFactory(user=user, date=MAX_DATE, amount=Decimal("20"), base_amount=Decimal("20"))

    budget_alerts_for_expense_dates(user=user, dates=[MAX_DATE])

    assert Notification.objects.filter(user=user, kind="budget_exceeded").count() == 1


def test_expense_dates_at_the_edges_through_the_api_never_500(auth_client):
    auth_client.post(
        "/api/v1/budgets/", {"month": "2199-12", "scope": "overall", "amount": "1"}, format="json"
    )
    for day in ("2199-12-31", "1900-01-01"):
        response = auth_client.post(
            "/api/v1/expenses/",
            {"amount": "5", "date": day, "description": "edge"},
            format="json",
        )
        assert response.status_code == 201, response.content
    response = auth_client.post(
        "/api/v1/expenses/",
        {"amount": "5", "date": "9999-12-31", "description": "x"},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {"date": ["Use a date between 1900-01-01 and 2199-12-31."]}
