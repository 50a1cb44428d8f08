"""Changing base_currency re-expresses budgets and goals too, all or nothing."""

from datetime import date
from decimal import Decimal

import pytest

from budgets.models import Budget
from currencies.models import ExchangeRate
from goals.models import Contribution, Goal

pytestmark = pytest.mark.django_db


@pytest.fixture
def holdings(user):
    budget = Budget.objects.create(
        user=user, month=date(2026, 3, 1), scope="overall", amount=Decimal("100")
    )
    goal = Goal.objects.create(user=user, name="Bike", target_amount=Decimal("1000.00"))
    Contribution.objects.create(goal=goal, amount=Decimal("250.00"), date=date(2026, 1, 5))
    Contribution.objects.create(goal=goal, amount=Decimal("0.01"), date=date(2026, 1, 6))
    return budget, goal


def test_budgets_and_goals_convert_at_the_latest_rate(auth_client, user, holdings):
    budget, goal = holdings
    ExchangeRate.objects.create(base="USD", quote="JPY", date=date(2020, 1, 1), rate=Decimal("100"))
    ExchangeRate.objects.create(
        base="USD", quote="JPY", date=date(2026, 1, 1), rate=Decimal("150.5")
    )
    response = auth_client.patch("/api/v1/auth/me/", {"base_currency": "JPY"}, format="json")
    assert response.status_code == 200, response.content
    budget.refresh_from_db()
    goal.refresh_from_db()
    assert budget.amount == Decimal("15050")
    assert goal.target_amount == Decimal("150500")
    amounts = sorted(Contribution.objects.filter(goal=goal).values_list("amount", flat=True))
    assert amounts == [Decimal("2"), Decimal("37625")]  # 0.01 × 150.5 = 1.505 → 2
    listed = auth_client.get("/api/v1/budgets/").json()["results"][0]
    assert listed["amount"] == "15050"


def test_missing_rate_rejects_the_change_and_keeps_budgets_and_goals(auth_client, user, holdings):
    budget, goal = holdings
    response = auth_client.patch("/api/v1/auth/me/", {"base_currency": "GBP"}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "rate_unavailable"
    user.refresh_from_db()
    budget.refresh_from_db()
    goal.refresh_from_db()
    assert user.base_currency == "USD"
    assert budget.amount == Decimal("100") and goal.target_amount == Decimal("1000.00")
