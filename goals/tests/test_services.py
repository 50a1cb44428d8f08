"""Goal and contribution writes: balance rule, status transitions, the one notification."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from core.exceptions import ConflictError
from goals import services
from goals.models import Contribution, Goal, GoalStatus
from goals.selectors import goal_saved_amount
from notifications.models import Notification
from tests.concurrency import run_concurrently

pytestmark = pytest.mark.django_db


@pytest.fixture
def goal(user):
    return services.goal_create(
        user=user, data={"name": "Bike", "target_amount": Decimal("1000.00")}
    )


def give(goal, amount, day=date(2026, 11, 1)):
    return services.contribution_create(goal=goal, data={"amount": Decimal(amount), "date": day})


def status_of(goal):
    return Goal.objects.get(pk=goal.pk).status


def achieved_notifications():
    return Notification.objects.filter(kind="goal_achieved")


def test_new_goal_is_active_or_archived_but_never_achieved(user):
    goal = services.goal_create(user=user, data={"name": "A", "target_amount": Decimal("5")})
    assert goal.status == GoalStatus.ACTIVE and goal.user == user
    archived = services.goal_create(
        user=user, data={"name": "B", "target_amount": Decimal("5"), "status": "archived"}
    )
    assert archived.status == GoalStatus.ARCHIVED
    with pytest.raises(ValidationError) as error:
        services.goal_create(
            user=user, data={"name": "C", "target_amount": Decimal("5"), "status": "achieved"}
        )
    assert "status" in error.value.message_dict
    assert Goal.objects.count() == 2


def test_reaching_the_target_achieves_and_notifies_once(goal, user):
    give(goal, "600.00")
    assert status_of(goal) == GoalStatus.ACTIVE
    assert not achieved_notifications().exists()

    give(goal, "400.00")  # exactly the target
    assert status_of(goal) == GoalStatus.ACHIEVED
    notification = achieved_notifications().get()
    assert notification.user == user
    assert notification.data == {"goal": goal.pk}
    assert notification.dedupe_key == f"goal:{goal.pk}:achieved"
    assert "Bike" in notification.title

    give(goal, "-0.01")  # back below: active again
    assert status_of(goal) == GoalStatus.ACTIVE
    give(goal, "500.00")  # achieved a second time: no second notification
    assert status_of(goal) == GoalStatus.ACHIEVED
    assert achieved_notifications().count() == 1


def test_withdrawal_below_zero_is_refused_and_stores_nothing(goal):
    give(goal, "100.00")
    with pytest.raises(ValidationError) as error:
        give(goal, "-100.01")
    assert "amount" in error.value.message_dict
    assert Contribution.objects.count() == 1
    assert goal_saved_amount(goal=goal) == Decimal("100.00")
    give(goal, "-100.00")  # down to exactly zero is fine
    assert goal_saved_amount(goal=goal) == 0


def test_archived_is_sticky_until_unarchived(goal):
    services.goal_update(goal=goal, data={"status": "archived"})
    give(goal, "1500.00")
    assert status_of(goal) == GoalStatus.ARCHIVED
    assert not achieved_notifications().exists()
    give(goal, "-1000.00")
    assert status_of(goal) == GoalStatus.ARCHIVED
    services.goal_update(goal=goal, data={"target_amount": Decimal("400.00")})
    assert status_of(goal) == GoalStatus.ARCHIVED

    # Un-archiving with "active" lands on what the figures say: 500 ≥ 400.
    updated = services.goal_update(goal=goal, data={"status": "active"})
    assert updated.status == GoalStatus.ACHIEVED
    assert achieved_notifications().count() == 1


def test_achieved_cannot_be_set_by_hand_below_target(goal):
    give(goal, "999.99")
    with pytest.raises(ValidationError) as error:
        services.goal_update(goal=goal, data={"status": "achieved", "name": "Renamed"})
    assert "status" in error.value.message_dict
    stored = Goal.objects.get(pk=goal.pk)
    assert stored.status == GoalStatus.ACTIVE and stored.name == "Bike"


def test_changing_the_target_re_derives_the_status(goal):
    give(goal, "800.00")
    services.goal_update(goal=goal, data={"target_amount": Decimal("800.00")})
    assert status_of(goal) == GoalStatus.ACHIEVED
    assert achieved_notifications().count() == 1
    services.goal_update(goal=goal, data={"target_amount": Decimal("800.01")})
    assert status_of(goal) == GoalStatus.ACTIVE


def test_deleting_a_spent_deposit_conflicts(goal):
    deposit = give(goal, "300.00")
    give(goal, "200.00")
    withdrawal = give(goal, "-400.00")
    with pytest.raises(ConflictError):
        services.contribution_delete(contribution=deposit)
    assert Contribution.objects.count() == 3

    services.contribution_delete(contribution=withdrawal)
    services.contribution_delete(contribution=deposit)
    assert goal_saved_amount(goal=goal) == Decimal("200.00")


def test_deleting_a_deposit_can_undo_achievement(goal):
    deposit = give(goal, "1000.00")
    assert status_of(goal) == GoalStatus.ACHIEVED
    services.contribution_delete(contribution=deposit)
    assert status_of(goal) == GoalStatus.ACTIVE


def test_updating_a_contribution_keeps_the_balance_rule(goal):
    deposit = give(goal, "300.00")
    give(goal, "-200.00")
    with pytest.raises(ValidationError):
        services.contribution_update(contribution=deposit, data={"amount": Decimal("199.99")})
    assert Contribution.objects.get(pk=deposit.pk).amount == Decimal("300.00")
    changed = services.contribution_update(
        contribution=deposit, data={"amount": Decimal("1200.00"), "note": "bonus"}
    )
    assert changed.note == "bonus"
    assert goal_saved_amount(goal=goal) == Decimal("1000.00")
    assert status_of(goal) == GoalStatus.ACHIEVED


def test_contribution_date_defaults_to_the_owners_today(goal, freeze_today):
    freeze_today(date(2026, 3, 14))
    contribution = services.contribution_create(goal=goal, data={"amount": Decimal("5")})
    assert contribution.date == date(2026, 3, 14)


def test_deleting_a_goal_deletes_its_contributions(goal):
    give(goal, "10.00")
    services.goal_delete(goal=goal)
    assert not Goal.objects.exists() and not Contribution.objects.exists()


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs real concurrent writers: SQLite serialises all writes to one connection's lock",
)
@pytest.mark.django_db(transaction=True)
def test_concurrent_withdrawals_cannot_overdraw(user):
    goal = services.goal_create(user=user, data={"name": "Trip", "target_amount": Decimal("500")})
    give(goal, "100.00")
    _, errors = run_concurrently(
        lambda i: give(goal, "-60.00"), threads=8, expected=(ValidationError,)
    )

    assert errors == []
    assert Contribution.objects.filter(goal=goal, amount__lt=0).count() == 1
    assert goal_saved_amount(goal=goal) == Decimal("40.00")
