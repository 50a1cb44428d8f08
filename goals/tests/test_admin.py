from decimal import Decimal

import pytest

from users.tests.factories import UserFactory

from .factories import ContributionFactory, GoalFactory

pytestmark = pytest.mark.django_db


def test_admin_lists_goals_and_shows_contributions(client):
    admin = UserFactory(is_staff=True, is_superuser=True)
    goal = GoalFactory(name="Holiday")
    ContributionFactory(goal=goal, amount=Decimal("42.00"))
    client.force_login(admin)
    listing = client.get("/admin/goals/goal/?status__exact=active&q=Holiday")
    assert listing.status_code == 200
    assert b"Holiday" in listing.content
    page = client.get(f"/admin/goals/goal/{goal.pk}/change/")
    assert page.status_code == 200
    assert b"42.00" in page.content
