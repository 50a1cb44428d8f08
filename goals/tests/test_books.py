"""Goals in books (SPEC §14): shared by the members of a book, in the book's base
currency and budget months; contributions are scoped through their goal's book."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from goals.models import Contribution, Goal, GoalStatus
from notifications.models import Notification, NotificationKind
from users.tests.factories import UserFactory

from .factories import ContributionFactory, GoalFactory

pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 21)


@pytest.fixture(autouse=True)
def _today(freeze_today):
    freeze_today(TODAY)


def goals_url(book, path=""):
    return f"/api/v1/books/{book.pk}/goals/{path}"


def contributions_url(book, goal_id, path=""):
    return goals_url(book, f"{goal_id}/contributions/{path}")


@pytest.fixture
def editor(db):
    return UserFactory()


@pytest.fixture
def viewer(db):
    return UserFactory()


@pytest.fixture
def household(shared_book, user, editor, viewer):
    return shared_book(owner=user, editors=[editor], viewers=[viewer])


def test_an_editors_goal_and_contributions_land_in_the_book(household, user, editor, client_for):
    client = client_for(editor)
    response = client.post(goals_url(household), {"name": "Sofa", "target_amount": "800"})
    assert response.status_code == 201, response.content
    goal = Goal.objects.get(pk=response.json()["id"])
    assert (goal.book_id, goal.user_id) == (household.pk, editor.pk)
    # The owner deposits into the shared goal; the editor sees the same saved amount.
    owner = client_for(user)
    deposit = owner.post(contributions_url(household, goal.pk), {"amount": "300"})
    assert deposit.status_code == 201, deposit.content
    assert client.get(goals_url(household, f"{goal.pk}/")).json()["saved_amount"] == "300.00"

    # Neither member's personal book has it, and their personal goals are not the book's.
    assert client.get("/api/v1/goals/").json()["results"] == []
    assert client.get(f"/api/v1/goals/{goal.pk}/").status_code == 404
    assert client.get(f"/api/v1/goals/{goal.pk}/contributions/").status_code == 404
    personal = client.post("/api/v1/goals/", {"name": "Bike", "target_amount": "100"})
    assert personal.status_code == 201
    assert Goal.objects.get(pk=personal.json()["id"]).book_id == editor.personal_book.pk
    assert [row["id"] for row in owner.get(goals_url(household)).json()["results"]] == [goal.pk]
    # A personal goal's id under the book is "not found", contributions included.
    other_id = personal.json()["id"]
    assert client.get(contributions_url(household, other_id)).status_code == 404
    assert client.post(contributions_url(household, other_id), {"amount": "5"}).status_code == 404


def test_a_viewer_reads_but_cannot_write(household, user, viewer, client_for):
    goal = GoalFactory(book=household, user=user)
    contribution = ContributionFactory(goal=goal)
    client = client_for(viewer)
    reads = [
        client.get(goals_url(household)),
        client.get(goals_url(household, f"{goal.pk}/")),
        client.get(contributions_url(household, goal.pk)),
        client.get(contributions_url(household, goal.pk, f"{contribution.pk}/")),
    ]
    assert [response.status_code for response in reads] == [200] * 4
    writes = [
        client.post(goals_url(household), {"name": "X", "target_amount": "10"}),
        client.patch(goals_url(household, f"{goal.pk}/"), {"name": "Y"}),
        client.delete(goals_url(household, f"{goal.pk}/")),
        client.post(contributions_url(household, goal.pk), {"amount": "5"}),
        client.patch(contributions_url(household, goal.pk, f"{contribution.pk}/"), {"note": "n"}),
        client.delete(contributions_url(household, goal.pk, f"{contribution.pk}/")),
    ]
    assert [response.status_code for response in writes] == [403] * 6
    assert Goal.objects.filter(book=household).count() == 1
    assert Contribution.objects.filter(goal=goal).count() == 1


def test_a_non_member_gets_404_everywhere(household, user, other_client):
    goal = GoalFactory(book=household, user=user)
    contribution = ContributionFactory(goal=goal)
    responses = [
        other_client.get(goals_url(household)),
        other_client.get(goals_url(household, f"{goal.pk}/")),
        other_client.post(goals_url(household), {"name": "X", "target_amount": "10"}),
        other_client.patch(goals_url(household, f"{goal.pk}/"), {"name": "Y"}),
        other_client.delete(goals_url(household, f"{goal.pk}/")),
        other_client.get(contributions_url(household, goal.pk)),
        other_client.get(contributions_url(household, goal.pk, f"{contribution.pk}/")),
        other_client.post(contributions_url(household, goal.pk), {"amount": "5"}),
        other_client.delete(contributions_url(household, goal.pk, f"{contribution.pk}/")),
        other_client.get(f"/api/v1/goals/{goal.pk}/contributions/"),
    ]
    assert {response.status_code for response in responses} == {404}
    assert Contribution.objects.filter(goal=goal).count() == 1


def test_a_contribution_is_found_only_under_its_own_goal(household, user, client_for):
    first, second = GoalFactory(book=household, user=user), GoalFactory(book=household, user=user)
    contribution = ContributionFactory(goal=first)
    client = client_for(user)
    assert client.get(
        contributions_url(household, first.pk, f"{contribution.pk}/")
    ).status_code == (200)
    assert client.get(
        contributions_url(household, second.pk, f"{contribution.pk}/")
    ).status_code == (404)


def test_figures_are_in_the_books_currency_and_budget_months(shared_book, user, client_for):
    # The user counts in USD from the 1st; the book in JPY (no decimals) from the 25th.
    book = shared_book(owner=user, base_currency="JPY", month_start_day=25)
    client = client_for(user)
    assert client.post(goals_url(book), {"name": "X", "target_amount": "10.5"}).status_code == 400
    response = client.post(
        goals_url(book), {"name": "Trip", "target_amount": "1000", "target_date": "2027-02-21"}
    )
    assert response.status_code == 201, response.content
    goal_id = response.json()["id"]
    # The projection window is the book's last 3 budget months: from 2026-08-25.
    assert (
        client.post(
            contributions_url(book, goal_id), {"amount": "300", "date": "2026-08-25"}
        ).status_code
        == 201
    )
    assert (
        client.post(
            contributions_url(book, goal_id), {"amount": "100", "date": "2026-08-24"}
        ).status_code
        == 201
    )
    body = client.get(goals_url(book, f"{goal_id}/")).json()
    assert (body["target_amount"], body["saved_amount"], body["remaining"]) == (
        "1000",
        "400",
        "600",
    )
    assert body["required_monthly"] == "200"  # 600 over 3 whole months, whole yen
    # 300 in the window → 100 a month → 6 more months.
    assert body["projected_completion"] == "2027-05-21"
    assert (
        client.post(contributions_url(book, goal_id), {"amount": "0.5"}).status_code == 400
    )  # no fractions of a yen


def test_reaching_a_shared_goal_notifies_every_member_once(
    household, user, editor, viewer, client_for
):
    goal = GoalFactory(book=household, user=user, target_amount=Decimal("100"))
    client = client_for(editor)
    for amount in ("100", "-50", "60"):  # reached, dropped below, reached again
        assert client.post(
            contributions_url(household, goal.pk), {"amount": amount}
        ).status_code == (201)
    achieved = Notification.objects.filter(kind=NotificationKind.GOAL_ACHIEVED)
    assert sorted(achieved.values_list("user_id", flat=True)) == sorted(
        [user.pk, editor.pk, viewer.pk]
    )
    notification = achieved.get(user=viewer)
    assert notification.data == {"goal": goal.pk, "book": household.pk}
    assert household.name in notification.title
    goal.refresh_from_db()
    assert goal.status == GoalStatus.ACHIEVED


def test_list_query_count_is_constant_in_a_shared_book(household, user, editor, client_for):
    client = client_for(editor)

    def make_goals(count):
        for _ in range(count):
            goal = GoalFactory(book=household, user=user)
            ContributionFactory(goal=goal, amount=Decimal("10.00"), date=date(2026, 11, 1))

    def list_queries():
        with CaptureQueriesContext(connection) as queries:
            response = client.get(goals_url(household))
        assert response.status_code == 200
        return len(queries), response.json()

    make_goals(1)
    one, body = list_queries()
    assert body["results"][0]["saved_amount"] == "10.00"
    make_goals(9)
    ten, body = list_queries()
    assert body["count"] == 10
    assert ten == one
