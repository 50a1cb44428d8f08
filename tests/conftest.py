"""Fixtures shared by the contract fuzzing modules."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from rest_framework_simplejwt.tokens import RefreshToken

from budgets.models import Budget
from categories.tests.factories import CategoryFactory
from expenses.tests.factories import ExpenseFactory
from goals.tests.factories import ContributionFactory, GoalFactory
from income.tests.factories import IncomeFactory
from users.tests.factories import UserFactory


@pytest.fixture
def owner(db):
    """A user with some of everything, so lists, reports and lookups have rows."""
    user = UserFactory()
    category = CategoryFactory(user=user)
    ExpenseFactory(user=user, category=category)
    IncomeFactory(user=user)
    Budget.objects.create(
        user=user, month=date(2026, 3, 1), scope="overall", amount=Decimal("500.00")
    )
    goal = GoalFactory(user=user)
    ContributionFactory(goal=goal)
    return user


@pytest.fixture
def auth_headers(owner) -> dict[str, str]:
    return {"Authorization": f"Bearer {RefreshToken.for_user(owner).access_token}"}
