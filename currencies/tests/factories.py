import datetime
from decimal import Decimal

import factory

from currencies.models import ExchangeRate


class ExchangeRateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ExchangeRate

    base = "EUR"
    quote = "USD"
    date = datetime.date(2026, 11, 20)
    rate = Decimal("1.0500")
    source = "manual"
