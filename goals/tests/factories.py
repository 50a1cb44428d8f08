from datetime import date
from decimal import Decimal

import factory

from goals.models import Contribution, Goal, GoalStatus
from users.tests.factories import UserFactory


class GoalFactory(factory.django.DjangoModelFactory):
    """A goal written straight to the database (no status recomputation)."""

    class Meta:
        model = Goal

    user = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"goal {n}")
    target_amount = Decimal("1000.00")
    target_date = None
    status = GoalStatus.ACTIVE


class ContributionFactory(factory.django.DjangoModelFactory):
    """A contribution written straight to the database (bypasses the balance rule)."""

    class Meta:
        model = Contribution

    goal = factory.SubFactory(GoalFactory)
    amount = Decimal("100.00")
    date = date(2026, 11, 1)
