import pytest
from django.core.management import call_command

from expenses.models import Expense
from imports.management.commands.seed_demo import DEMO_PASSWORD, DEMO_USERNAME
from income.models import Income
from users.models import User

pytestmark = pytest.mark.django_db


def test_seed_demo_creates_a_populated_account_once(api_client):
    call_command("seed_demo", months=3)
    user = User.objects.get(username=DEMO_USERNAME)
    expenses, incomes = Expense.objects.filter(user=user), Income.objects.filter(user=user)
    assert expenses.count() > 50 and incomes.count() >= 2
    assert expenses.filter(category__isnull=True).count() == 0
    coffee = expenses.filter(description="Coffee").first()
    assert coffee.category.name == "Food"
    assert [t.name for t in coffee.tags.all()] == ["caffeine"]

    call_command("seed_demo")
    assert Expense.objects.filter(user=user).count() == expenses.count()

    tokens = api_client.post(
        "/api/v1/auth/token/", {"username": DEMO_USERNAME, "password": DEMO_PASSWORD}
    )
    assert tokens.status_code == 200
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens.json()['access']}")
    assert api_client.get("/api/v1/expenses/").json()["count"] == expenses.count()


def test_seed_demo_reset_recreates(db):
    call_command("seed_demo", months=1)
    first = User.objects.get(username=DEMO_USERNAME).pk
    call_command("seed_demo", months=1, reset=True)
    assert User.objects.get(username=DEMO_USERNAME).pk != first
    assert User.objects.filter(username=DEMO_USERNAME).count() == 1
