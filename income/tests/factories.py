from datetime import date
from decimal import Decimal

import factory

from income.models import Income
from users.tests.factories import UserFactory


class IncomeFactory(factory.django.DjangoModelFactory):
    """An income record in the owner's base currency (rate 1)."""

    class Meta:
        model = Income

    user = factory.SubFactory(UserFactory)
    amount = Decimal("100.00")
    currency = factory.LazyAttribute(lambda o: o.user.base_currency)
    base_amount = factory.LazyAttribute(lambda o: o.amount)
    exchange_rate = Decimal(1)
    date = date(2026, 3, 10)
    description = factory.Sequence(lambda n: f"income {n}")
