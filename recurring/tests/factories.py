from datetime import UTC, date, datetime, time
from decimal import Decimal

import factory

from recurring.models import RecurringItem
from users.tests.factories import UserFactory


class RecurringItemFactory(factory.django.DjangoModelFactory):
    """A monthly bill in the owner's base currency.

    `created_on` (default: `start_date`) backdates `created_at`, which the job uses as
    the earliest date it creates: pass it to simulate an item that has existed a while.
    """

    class Meta:
        model = RecurringItem
        skip_postgeneration_save = True

    user = factory.SubFactory(UserFactory)
    kind = "expense"
    amount = Decimal("50.00")
    currency = factory.LazyAttribute(lambda o: o.user.base_currency)
    description = factory.Sequence(lambda n: f"Bill {n}")
    frequency = "monthly"
    interval = 1
    start_date = date(2026, 1, 31)

    @factory.post_generation
    def created_on(self, create: bool, extracted: date | None, **kwargs: object) -> None:
        if not create:
            return
        day = extracted or self.start_date
        moment = datetime.combine(day, time(0, 0), tzinfo=UTC)
        RecurringItem.objects.filter(pk=self.pk).update(created_at=moment)
        self.created_at = moment
