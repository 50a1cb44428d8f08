"""The Django admin: every list page renders for a superuser in a constant number of
queries, stays a handful of columns wide, and shows amounts with their currency's minor
units and code (core.admin.money_column)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from itertools import count
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.db import connection, models
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework_simplejwt.tokens import RefreshToken

from books.models import Invitation, Membership, Role
from books.services import book_create
from budgets.models import Budget
from categories.models import Kind
from categories.tests.factories import CategoryFactory, RuleFactory, TagFactory
from connections.models import Connection, ConnectionAccount
from core.admin import money_column, truncated_column
from currencies.models import ExchangeRate
from currencies.tests.factories import ExchangeRateFactory
from expenses.models import Expense
from expenses.tests.factories import ExpenseFactory
from goals.models import Goal
from goals.tests.factories import ContributionFactory, GoalFactory
from imports.models import ImportBatch
from imports.profiles import profile_create
from income.models import Income
from income.tests.factories import IncomeFactory
from notifications.models import Notification, NotificationKind, NotificationPreference
from notifications.tests.factories import NotificationFactory
from recurring.models import RecurringItem, RecurringOccurrence
from recurring.tests.factories import RecurringItemFactory
from splits.models import Settlement
from users.tests.factories import UserFactory
from webhooks.models import Webhook, WebhookDelivery

pytestmark = pytest.mark.django_db

_serial = count(1)
DAY = date(2026, 3, 1)


def _expense(**kwargs: Any) -> Expense:
    user = UserFactory()
    return ExpenseFactory(user=user, category=CategoryFactory(user=user), **kwargs)


def _income() -> Any:
    user = UserFactory()
    return IncomeFactory(user=user, category=CategoryFactory(user=user, kind=Kind.INCOME))


def _budget() -> Budget:
    user = UserFactory()
    return Budget.objects.create(
        user=user,
        month=DAY,
        scope="category",
        category=CategoryFactory(user=user),
        amount=Decimal("500"),
    )


def _occurrence() -> RecurringOccurrence:
    item = RecurringItemFactory()
    expense = ExpenseFactory(user=item.user)
    return RecurringOccurrence.objects.create(item=item, date=DAY, expense=expense)


def _invitation() -> Invitation:
    return Invitation.objects.create(
        book=book_create(user=UserFactory(), name="Household"),
        email=f"guest{next(_serial)}@example.com",
        role=Role.EDITOR,
        token_hash=f"{next(_serial):064d}",
        expires_at=timezone.now() + timedelta(days=7),
    )


def _settlement() -> Settlement:
    owner, friend = UserFactory(), UserFactory()
    book = book_create(user=owner, name=f"Trip {next(_serial)}")
    Membership.objects.create(book=book, user=friend, role=Role.EDITOR)
    return Settlement.objects.create(
        book=book,
        user=owner,
        from_user=friend,
        to_user=owner,
        amount=Decimal("12.50"),
        currency="EUR",
        base_amount=Decimal("12.50"),
        date=DAY,
    )


def _outstanding_token() -> Any:
    return RefreshToken.for_user(UserFactory())


def _blacklisted_token() -> Any:
    RefreshToken.for_user(UserFactory()).blacklist()


def _connection() -> Any:
    return Connection.objects.create(
        user=UserFactory(), name="Bank", access_url="https://u:ADMIN-SECRET@bridge.example/s"
    )


def _webhook() -> Any:
    return Webhook.objects.create(
        book=UserFactory().personal_book,
        url="https://hooks.example.com/in",
        events=["expense.created"],
        secret="whsec_ADMIN-SECRET",
    )


# One more row of each model registered in the admin, with its relations filled in, so a
# column reading a relation row by row shows up as a query per row.
ROWS: dict[str, Callable[[], Any]] = {
    "auth.Group": lambda: Group.objects.create(name=f"group {next(_serial)}"),
    "token_blacklist.OutstandingToken": _outstanding_token,
    "token_blacklist.BlacklistedToken": _blacklisted_token,
    "users.User": UserFactory,
    "currencies.ExchangeRate": lambda: ExchangeRateFactory(
        date=DAY - timedelta(days=next(_serial))
    ),
    "categories.Category": lambda: CategoryFactory(parent=CategoryFactory(user=None)),
    "categories.Tag": TagFactory,
    "categories.Rule": RuleFactory,
    "expenses.Expense": _expense,
    "income.Income": _income,
    "notifications.Notification": NotificationFactory,
    "notifications.NotificationPreference": lambda: NotificationPreference.objects.create(
        user=UserFactory(), kind=NotificationKind.BUDGET_WARN
    ),
    "budgets.Budget": _budget,
    "goals.Goal": GoalFactory,
    "imports.ImportBatch": lambda: ImportBatch.objects.create(
        user=UserFactory(),
        format="csv",
        filename="statement.csv",
        default_currency="EUR",
        total_rows=16,
        new_rows=12,
        duplicate_rows=3,
        possible_duplicate_rows=1,
    ),
    "imports.ImportProfile": lambda: profile_create(
        user=UserFactory(), name="Bank", options={}, header=["Date", "Amount"]
    ),
    "recurring.RecurringItem": RecurringItemFactory,
    "recurring.RecurringOccurrence": _occurrence,
    "books.Book": lambda: book_create(user=UserFactory(), name=f"Flat {next(_serial)}"),
    "books.Invitation": _invitation,
    "splits.Settlement": _settlement,
    "connections.Connection": lambda: _connection(),
    "connections.ConnectionAccount": lambda: ConnectionAccount.objects.create(
        connection=_connection(), remote_id=f"ACT-{next(_serial)}", name="Checking", currency="USD"
    ),
    "webhooks.Webhook": lambda: _webhook(),
    "webhooks.WebhookDelivery": lambda: WebhookDelivery.objects.create(
        webhook=_webhook(), event="expense.created", body="{}", status="succeeded"
    ),
}
# At 1280 px a list page has room for about this many short columns (the checkbox
# column included).
MAX_COLUMNS = 8


@pytest.fixture
def superuser_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def _registered() -> list[type[models.Model]]:
    return list(admin.site._registry)


def _changelist(model: type[models.Model]) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


def test_every_registered_model_has_a_row_maker():
    assert {model._meta.label for model in _registered()} == set(ROWS)


@pytest.mark.parametrize("label", sorted(ROWS))
def test_list_page_renders_in_a_constant_number_of_queries(superuser_client, label):
    model = next(m for m in _registered() if m._meta.label == label)
    url = _changelist(model)
    ROWS[label]()
    with CaptureQueriesContext(connection) as one_row:
        response = superuser_client.get(url)
    assert response.status_code == 200
    assert len(response.context["cl"].result_list) >= 1
    for _ in range(19):
        ROWS[label]()
    with CaptureQueriesContext(connection) as twenty_rows:
        response = superuser_client.get(url)
    assert response.status_code == 200
    shown = response.context["cl"].result_list
    assert len(shown) >= 20
    assert len(twenty_rows) == len(one_row), [q["sql"] for q in twenty_rows.captured_queries]


@pytest.mark.parametrize("label", sorted(ROWS))
def test_list_page_is_a_handful_of_columns(superuser_client, label):
    model = next(m for m in _registered() if m._meta.label == label)
    ROWS[label]()
    response = superuser_client.get(_changelist(model))
    assert len(response.context["cl"].list_display) <= MAX_COLUMNS


@pytest.mark.parametrize("label", sorted(ROWS))
def test_change_page_renders(superuser_client, label):
    model = next(m for m in _registered() if m._meta.label == label)
    ROWS[label]()
    obj = model._default_manager.first()
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_change", args=[obj.pk])
    assert superuser_client.get(url).status_code == 200


def test_big_tables_skip_the_full_count():
    for model in (Expense, Income, ExchangeRate, Budget, RecurringOccurrence, Notification):
        assert admin.site._registry[model].show_full_result_count is False, model


# --- money -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "amount, currency, shown",
    [
        ("1500", "JPY", "1500 JPY"),
        ("1.25", "BHD", "1.250 BHD"),
        ("12.5", "EUR", "12.50 EUR"),
        ("0.5", "CLF", "0.5000 CLF"),
    ],
)
def test_expense_list_shows_amounts_in_their_currencys_minor_units(
    superuser_client, amount, currency, shown
):
    user = UserFactory(base_currency="JPY")
    ExpenseFactory(
        user=user, amount=Decimal(amount), currency=currency, base_amount=Decimal("1234.0000")
    )
    html = superuser_client.get(_changelist(Expense)).content.decode()
    assert f'<td class="field-amount_shown">{shown}</td>' in html
    # the base amount is in the owner's base currency
    assert '<td class="field-base_amount_shown">1234 JPY</td>' in html


def test_base_currency_amounts_use_the_owners_currency(superuser_client):
    goal = GoalFactory(user=UserFactory(base_currency="BHD"), target_amount=Decimal("2.5"))
    ContributionFactory(goal=goal, amount=Decimal("0.125"))
    Budget.objects.create(
        user=UserFactory(base_currency="JPY"), month=DAY, scope="overall", amount=Decimal("900")
    )
    item = RecurringItemFactory(user=UserFactory(), amount=Decimal("7.5"), currency="EUR")
    RecurringOccurrence.objects.create(item=item, date=DAY)

    assert ">2.500 BHD<" in superuser_client.get(_changelist(Goal)).content.decode()
    change = reverse("admin:goals_goal_change", args=[goal.pk])
    page = superuser_client.get(change).content.decode()
    assert "0.125 BHD" in page and "2.500 BHD" in page  # contribution, target as written
    assert ">900 JPY<" in superuser_client.get(_changelist(Budget)).content.decode()
    assert ">7.50 EUR<" in superuser_client.get(_changelist(RecurringItem)).content.decode()
    assert ">7.50 EUR<" in superuser_client.get(_changelist(RecurringOccurrence)).content.decode()


def test_goal_page_reads_its_contributions_in_a_constant_number_of_queries(superuser_client):
    goal = GoalFactory(user=UserFactory(base_currency="JPY"))
    url = reverse("admin:goals_goal_change", args=[goal.pk])
    ContributionFactory(goal=goal, amount=Decimal("100"))
    with CaptureQueriesContext(connection) as one:
        assert superuser_client.get(url).status_code == 200
    for _ in range(19):
        ContributionFactory(goal=goal, amount=Decimal("100"))
    with CaptureQueriesContext(connection) as twenty:
        page = superuser_client.get(url).content.decode()
    assert page.count("100 JPY") == 20
    assert len(twenty) == len(one)


def test_money_column_sorts_by_the_stored_amount_and_follows_relations():
    column = money_column("amount", "user__base_currency")
    expense = ExpenseFactory(user=UserFactory(base_currency="KWD"), amount=Decimal("3"))
    assert column(expense) == "3.000 KWD"
    assert column.admin_order_field == "amount"
    assert column.short_description == "amount"
    # A row without an amount (an unsaved add form) leaves the cell to the empty display.
    assert column(Expense()) is None


def test_truncated_column_cuts_long_text():
    column = truncated_column("description", 10)
    assert column(Expense(description="short")) == "short"
    assert column(Expense(description="a much longer description")) == "a much lo…"
