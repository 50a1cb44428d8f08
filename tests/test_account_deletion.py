"""Deleting an account removes everything it owns, even categories its records use."""

from datetime import date
from decimal import Decimal

import pytest

from budgets.models import Budget
from categories.models import Category
from categories.tests.factories import CategoryFactory
from expenses.models import Expense
from expenses.tests.factories import ExpenseFactory
from goals.models import Contribution, Goal
from income.models import Income
from income.tests.factories import IncomeFactory
from recurring.models import RecurringItem

pytestmark = pytest.mark.django_db


def test_account_deletion_removes_records_using_own_categories(
    auth_client, user, other_user, password, client_for
):
    food = CategoryFactory(user=user, kind="expense")
    ExpenseFactory(user=user, category=food)
    IncomeFactory(user=user, category=CategoryFactory(user=user, kind="income"))
    Budget.objects.create(
        user=user, month=date(2026, 4, 1), scope="category", category=food, amount=Decimal("5")
    )
    goal = Goal.objects.create(user=user, name="Bike", target_amount=Decimal("100"))
    Contribution.objects.create(goal=goal, amount=Decimal("10"), date=date(2026, 1, 1))
    RecurringItem.objects.create(
        user=user,
        kind="expense",
        amount=Decimal("3"),
        currency="USD",
        description="Gym",
        category=food,
        frequency="monthly",
        interval=1,
        start_date=date(2026, 3, 1),
    )
    theirs = ExpenseFactory(user=other_user)

    response = auth_client.delete("/api/v1/auth/me/", {"password": password}, format="json")
    assert response.status_code == 204, response.content
    for model in (Income, Budget, Goal, Contribution, RecurringItem):
        assert not model.objects.exists(), model
    assert list(Expense.objects.all()) == [theirs]
    assert not Category.objects.filter(user_id=user.pk).exists()


def test_a_used_category_still_cannot_be_deleted_on_its_own(auth_client, user):
    food = CategoryFactory(user=user)
    ExpenseFactory(user=user, category=food)
    response = auth_client.delete(f"/api/v1/categories/{food.pk}/")
    assert response.status_code == 409
    assert Category.objects.filter(pk=food.pk).exists()
