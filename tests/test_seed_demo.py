from decimal import Decimal

import pytest
from django.core.management import call_command

from books.models import Book, BookKind, Membership, Role
from expenses.models import Expense, ExpenseShare
from imports.management.commands.seed_demo import (
    DEMO_PASSWORD,
    DEMO_USERNAME,
    PARTNER_PASSWORD,
    PARTNER_USERNAME,
    SHARED_BOOK_NAME,
)
from income.models import Income
from splits.models import Settlement
from splits.selectors import book_balances
from users.models import User
from users.services import user_register

pytestmark = pytest.mark.django_db


def login(api_client, username, password):
    tokens = api_client.post("/api/v1/auth/token/", {"username": username, "password": password})
    assert tokens.status_code == 200
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens.json()['access']}")
    return api_client


def shared_flat() -> Book:
    return Book.objects.get(kind=BookKind.SHARED, name=SHARED_BOOK_NAME)


def test_seed_demo_creates_a_populated_account_once(api_client):
    call_command("seed_demo", months=3)
    user = User.objects.get(username=DEMO_USERNAME)
    personal = user.personal_book
    expenses, incomes = Expense.objects.filter(book=personal), Income.objects.filter(user=user)
    assert expenses.count() > 50 and incomes.count() >= 2
    assert expenses.filter(category__isnull=True).count() == 0
    coffee = expenses.filter(description="Coffee").first()
    assert coffee.category.name == "Food"
    assert [t.name for t in coffee.tags.all()] == ["caffeine"]

    call_command("seed_demo")
    assert Expense.objects.filter(book=personal).count() == expenses.count()
    assert Book.objects.filter(kind=BookKind.SHARED, name=SHARED_BOOK_NAME).count() == 1

    login(api_client, DEMO_USERNAME, DEMO_PASSWORD)
    assert api_client.get("/api/v1/expenses/").json()["count"] == expenses.count()


def test_seed_demo_shares_a_book_with_the_partner(api_client):
    call_command("seed_demo", months=3)
    demo = User.objects.get(username=DEMO_USERNAME)
    partner = User.objects.get(username=PARTNER_USERNAME)
    book = shared_flat()
    assert book.base_currency == demo.base_currency
    roles = dict(Membership.objects.filter(book=book).values_list("user_id", "role"))
    assert roles == {demo.pk: Role.OWNER, partner.pk: Role.EDITOR}

    expenses = Expense.objects.filter(book=book)
    assert expenses.count() >= 15
    assert set(expenses.values_list("split_mode", flat=True)) == {
        "equal",
        "shares",
        "exact",
        "percent",
    }
    assert set(expenses.values_list("paid_by", flat=True)) == {demo.pk, partner.pk}
    foreign = expenses.exclude(currency=book.base_currency)
    assert foreign.count() == 2
    assert all(e.base_amount != e.amount and e.exchange_rate != 1 for e in foreign)
    groceries = expenses.filter(split_mode="shares").first()
    parts = {s.user_id: s.amount for s in groceries.shares.all()}
    assert sum(parts.values()) == groceries.amount
    assert abs(parts[demo.pk] - 2 * parts[partner.pk]) <= Decimal("0.01")
    assert Settlement.objects.filter(book=book).count() == 1

    balances = book_balances(book=book)
    assert sum(row["balance"] for row in balances) == 0
    assert all(row["balance"] != 0 for row in balances)

    # What the partner sees through the API, with the printed password.
    login(api_client, PARTNER_USERNAME, PARTNER_PASSWORD)
    answer = api_client.get(f"/api/v1/books/{book.pk}/balances/")
    assert answer.status_code == 200, answer.content
    transfers = api_client.get(f"/api/v1/books/{book.pk}/settle-up/")
    assert transfers.status_code == 200, transfers.content
    assert transfers.json()["transfers"], transfers.json()
    summary = f"/api/v1/books/{book.pk}/reports/summary/?period=last_365_days"
    mine = api_client.get(summary + "&view=mine")
    assert mine.status_code == 200, mine.content
    their_parts = sum(s.base_amount for s in ExpenseShare.objects.filter(user=partner))
    assert Decimal(mine.json()["total_expenses"]) == their_parts
    whole = api_client.get(summary).json()["total_expenses"]
    assert Decimal(whole) == sum(e.base_amount for e in expenses) > their_parts


def test_seed_demo_reset_recreates(db):
    call_command("seed_demo", months=1)
    first = User.objects.get(username=DEMO_USERNAME).pk
    first_partner = User.objects.get(username=PARTNER_USERNAME).pk
    first_book = shared_flat().pk
    for _ in range(2):  # the second reset deletes what the first one made
        call_command("seed_demo", months=1, reset=True)
    assert User.objects.get(username=DEMO_USERNAME).pk != first
    assert User.objects.get(username=PARTNER_USERNAME).pk != first_partner
    assert User.objects.filter(username__in=[DEMO_USERNAME, PARTNER_USERNAME]).count() == 2
    book = shared_flat()
    assert book.pk != first_book and not Book.objects.filter(pk=first_book).exists()
    assert Book.objects.filter(kind=BookKind.SHARED).count() == 1
    assert Settlement.objects.count() == 1  # the squaring-up ones went with the old books
    assert any(row["balance"] for row in book_balances(book=book))


def test_seed_demo_replaces_a_leftover_partner(db):
    user_register(username=PARTNER_USERNAME, email="old@example.com", password="Old-pass-2026!")
    call_command("seed_demo", months=1)
    partner = User.objects.get(username=PARTNER_USERNAME)
    assert partner.email == "demo-partner@example.com"
    assert Membership.objects.filter(book=shared_flat(), user=partner).exists()


def test_seed_demo_reset_refuses_while_someone_else_shares_the_book(user):
    call_command("seed_demo", months=1)
    book = shared_flat()
    Membership.objects.create(book=book, user=user, role=Role.EDITOR)
    demo_id = User.objects.get(username=DEMO_USERNAME).pk
    with pytest.raises(Exception, match="settle up first") as refused:
        call_command("seed_demo", months=1, reset=True)
    assert getattr(refused.value, "status_code", None) == 409
    # Nothing changed: the accounts, the book and its one settlement are all still there.
    assert User.objects.get(username=DEMO_USERNAME).pk == demo_id
    assert Membership.objects.filter(book=book).count() == 3
    assert Settlement.objects.filter(book=book).count() == 1


def test_seed_demo_fills_every_page_of_the_web_app(api_client, django_capture_on_commit_callbacks):
    """Budgets in all three states, goals under way and achieved, upcoming bills, an
    anomaly and the notifications they raised — seen through the API as the app sees them."""
    with django_capture_on_commit_callbacks(execute=True):  # the anomaly checks run on commit
        call_command("seed_demo", months=3)
    login(api_client, DEMO_USERNAME, DEMO_PASSWORD)
    status = api_client.get("/api/v1/budgets/status/")
    assert status.status_code == 200, status.json()
    states = {line["status"] for line in status.json()["items"]}
    assert states == {"ok", "warn", "exceeded"}

    goals = api_client.get("/api/v1/goals/").json()["results"]
    assert {goal["status"] for goal in goals} == {"active", "achieved"}
    assert all(Decimal(goal["saved_amount"]) > 0 for goal in goals)

    upcoming = api_client.get("/api/v1/recurring/upcoming/", {"days": 40})
    assert upcoming.status_code == 200, upcoming.json()
    descriptions = {row["description"] for row in upcoming.json()["results"]}
    assert {"Rent", "Monthly salary"} <= descriptions

    kinds = {n["kind"] for n in api_client.get("/api/v1/notifications/").json()["results"]}
    assert {"budget_warn", "budget_exceeded", "goal_achieved", "unusual_spending"} <= kinds
    anomalies = api_client.get("/api/v1/ai/anomalies/")
    assert anomalies.status_code == 200, anomalies.json()
    assert "New laptop" in str(anomalies.json())
