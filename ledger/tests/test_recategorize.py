"""Bulk recategorisation: `POST /expenses/recategorize/` and `/incomes/recategorize/`
(and their `/books/{book_id}/` twins) give many records one category, all or nothing."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from budgets.models import Budget
from categories.models import Kind
from categories.tests.factories import CategoryFactory
from core.events import register_listener, unregister_listener
from expenses.models import Expense
from expenses.tests.factories import ExpenseFactory
from income.tests.factories import IncomeFactory
from notifications.models import Notification, NotificationKind
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

URL = "/api/v1/expenses/recategorize/"


@pytest.fixture
def events():
    heard: list[tuple[int, str, dict]] = []

    def listener(*, book_id, event, data):
        heard.append((book_id, event, data() if callable(data) else data))

    register_listener(listener)
    yield heard
    unregister_listener(listener)


def expenses(user, count, **fields):
    return [ExpenseFactory(user=user, book=user.personal_book, **fields) for _ in range(count)]


def categories_of(records):
    model = type(records[0])
    return list(
        model.objects.filter(pk__in=[r.pk for r in records])
        .order_by("pk")
        .values_list("category_id", flat=True)
    )


def test_every_selected_expense_gets_the_category_and_loses_its_suggestion(
    user, auth_client, events
):
    groceries = CategoryFactory(user=user, name="Groceries")
    guess = CategoryFactory(user=user, name="Guess")
    chosen = expenses(user, 3, suggested_category=guess, suggested_confidence=Decimal("0.8"))
    untouched = expenses(user, 1)[0]

    response = auth_client.post(
        URL,
        {"ids": [chosen[0].pk, chosen[1].pk, chosen[2].pk, chosen[0].pk], "category": groceries.pk},
        format="json",
    )

    assert response.status_code == 200, response.content
    assert response.json() == {"updated": 3}
    assert categories_of(chosen) == [groceries.pk] * 3
    assert not Expense.objects.filter(
        pk__in=[e.pk for e in chosen], suggested_category__isnull=False
    )
    untouched.refresh_from_db()
    assert untouched.category_id is None
    # Each is an update for the book's webhooks, with its new category.
    updated = [(event, data["id"], data["category"]) for _, event, data in events]
    assert sorted(updated) == sorted(("expense.updated", e.pk, groceries.pk) for e in chosen)
    listed = auth_client.get("/api/v1/expenses/", {"category": groceries.pk}).json()
    assert {row["id"] for row in listed["results"]} == {e.pk for e in chosen}
    assert {row["category_name"] for row in listed["results"]} == {"Groceries"}


def test_null_clears_the_category(user, auth_client):
    food = CategoryFactory(user=user)
    chosen = expenses(user, 2, category=food)
    response = auth_client.post(
        URL, {"ids": [e.pk for e in chosen], "category": None}, format="json"
    )
    assert response.status_code == 200, response.content
    assert categories_of(chosen) == [None, None]


def test_income_takes_income_categories(user, auth_client):
    salary = CategoryFactory(user=user, kind=Kind.INCOME, name="Salary")
    food = CategoryFactory(user=user, kind=Kind.EXPENSE)
    record = IncomeFactory(user=user, book=user.personal_book, description="Pay")
    url = "/api/v1/incomes/recategorize/"
    wrong = auth_client.post(url, {"ids": [record.pk], "category": food.pk}, format="json")
    assert wrong.status_code == 400
    assert "kind 'income'" in wrong.json()["category"][0]
    right = auth_client.post(url, {"ids": [record.pk], "category": salary.pk}, format="json")
    assert right.status_code == 200 and right.json() == {"updated": 1}
    record.refresh_from_db()
    assert record.category_id == salary.pk


@pytest.mark.parametrize("problem", ["other_users_id", "unknown_id", "income_id"])
def test_one_id_outside_the_book_changes_nothing(user, other_user, auth_client, problem):
    food = CategoryFactory(user=user)
    chosen = expenses(user, 2)
    if problem == "other_users_id":
        stray = ExpenseFactory(user=other_user, book=other_user.personal_book).pk
    elif problem == "income_id":
        stray = IncomeFactory(user=user, book=user.personal_book, description="Not an expense").pk
        Expense.objects.filter(pk=stray).delete()  # the same number must not be an expense
    else:
        stray = max(e.pk for e in chosen) + 1000
    response = auth_client.post(
        URL, {"ids": [chosen[0].pk, stray, chosen[1].pk], "category": food.pk}, format="json"
    )
    assert response.status_code == 400, response.content
    message = response.json()["ids"][0]
    assert str(stray) in message and "nothing was changed" in message
    assert categories_of(chosen) == [None, None]


def test_another_books_category_and_bad_bodies_are_400_naming_the_field(
    user, other_user, auth_client
):
    theirs = CategoryFactory(user=other_user)
    chosen = expenses(user, 1)
    cases = [
        ({"ids": [chosen[0].pk], "category": theirs.pk}, "category"),
        ({"ids": [], "category": None}, "ids"),
        ({"ids": [0], "category": None}, "ids"),
        ({"ids": ["x"], "category": None}, "ids"),
        ({"ids": list(range(1, 1002)), "category": None}, "ids"),
        ({"category": None}, "ids"),
        ({"ids": [chosen[0].pk]}, "category"),
        ({"ids": [chosen[0].pk], "category": None, "tags": ["x"]}, "tags"),
    ]
    for body, field in cases:
        response = auth_client.post(URL, body, format="json")
        assert response.status_code == 400, (body, response.content)
        assert field in response.json(), (body, response.json())
    assert categories_of(chosen) == [None]


def test_a_system_category_is_allowed(user, auth_client):
    system = CategoryFactory(user=None, name="Uncategorised bank fees")
    assert system.book_id is None
    chosen = expenses(user, 1)
    response = auth_client.post(URL, {"ids": [chosen[0].pk], "category": system.pk}, format="json")
    assert response.status_code == 200, response.content
    assert categories_of(chosen) == [system.pk]


def test_in_a_shared_book_editors_may_viewers_get_403_and_outsiders_404(
    user, client_for, shared_book
):
    editor, viewer, outsider = UserFactory(), UserFactory(), UserFactory()
    book = shared_book(owner=user, editors=[editor], viewers=[viewer])
    rent = CategoryFactory(user=user, book=book, name="Rent")
    chosen = [ExpenseFactory(user=user, book=book) for _ in range(2)]
    url = f"/api/v1/books/{book.pk}/expenses/recategorize/"
    body = {"ids": [e.pk for e in chosen], "category": rent.pk}

    assert client_for(viewer).post(url, body, format="json").status_code == 403
    assert client_for(outsider).post(url, body, format="json").status_code == 404
    # The book's records are not the owner's personal book's: the top level does not see them.
    top = client_for(user).post(URL, {**body, "category": None}, format="json")
    assert top.status_code == 400 and "ids" in top.json()
    assert categories_of(chosen) == [None, None]

    response = client_for(editor).post(url, body, format="json")
    assert response.status_code == 200, response.content
    assert categories_of(chosen) == [rent.pk, rent.pk]


def test_the_edit_window_holds_for_each_expense(settings, user, client_for, shared_book):
    settings.EXPENSE_EDIT_WINDOW_HOURS = 24
    editor = UserFactory()
    book = shared_book(owner=user, editors=[editor])
    food = CategoryFactory(user=user, book=book)
    fresh, old = (ExpenseFactory(user=editor, book=book) for _ in range(2))
    Expense.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(hours=25))
    response = client_for(editor).post(
        f"/api/v1/books/{book.pk}/expenses/recategorize/",
        {"ids": [fresh.pk, old.pk], "category": food.pk},
        format="json",
    )
    assert response.status_code == 403
    assert response.json()["code"] == "edit_window_closed"
    assert categories_of([fresh, old]) == [None, None]


def test_moving_spending_into_a_budgeted_category_alerts_like_an_edit(user, auth_client):
    travel = CategoryFactory(user=user, name="Travel")
    Budget.objects.create(
        book=user.personal_book,
        user=user,
        month=date(2026, 3, 1),
        scope="category",
        category=travel,
        amount=Decimal("25"),
    )
    chosen = expenses(user, 3, amount=Decimal("10.00"), date=date(2026, 3, 10))
    response = auth_client.post(
        URL, {"ids": [e.pk for e in chosen], "category": travel.pk}, format="json"
    )
    assert response.status_code == 200, response.content
    kinds = set(Notification.objects.filter(user=user).values_list("kind", flat=True))
    assert NotificationKind.BUDGET_EXCEEDED in kinds
