from datetime import date
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group

from users.roles import ADMIN
from users.tests.factories import UserFactory


@pytest.fixture
def admin_member(db):
    """A member of the Admin role (not a superuser)."""
    member = UserFactory()
    member.groups.add(Group.objects.get_or_create(name=ADMIN)[0])
    return member


@pytest.fixture
def admin_api(admin_member, client_for):
    return client_for(admin_member)


@pytest.fixture
def make_expense():
    """An expense row written straight through the ORM (the expenses API is not needed)."""
    from expenses.models import Expense

    def make(user, category=None, description="x", merchant=""):
        return Expense.objects.create(
            user=user,
            amount=Decimal("5.00"),
            currency="USD",
            base_amount=Decimal("5.00"),
            exchange_rate=1,
            date=date(2026, 1, 1),
            description=description,
            merchant=merchant,
            category=category,
        )

    return make


@pytest.fixture
def make_income():
    from income.models import Income

    def make(user, category=None, description="x"):
        return Income.objects.create(
            user=user,
            amount=Decimal("100.00"),
            currency="USD",
            base_amount=Decimal("100.00"),
            exchange_rate=1,
            date=date(2026, 1, 1),
            description=description,
            category=category,
        )

    return make
