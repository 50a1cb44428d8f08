from datetime import date
from decimal import Decimal

import factory

from expenses.models import Expense
from users.tests.factories import UserFactory


class ExpenseFactory(factory.django.DjangoModelFactory):
    """An expense in the owner's base currency (rate 1)."""

    class Meta:
        model = Expense

    user = factory.SubFactory(UserFactory)
    amount = Decimal("10.00")
    currency = factory.LazyAttribute(lambda o: o.user.base_currency)
    base_amount = factory.LazyAttribute(lambda o: o.amount)
    exchange_rate = Decimal(1)
    date = date(2026, 3, 10)
    description = factory.Sequence(lambda n: f"expense {n}")
