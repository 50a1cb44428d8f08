"""Fixtures shared by the contract fuzzing modules."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.apps import apps
from django.db import models
from rest_framework_simplejwt.tokens import RefreshToken

from books.models import Book, BookKind, Membership
from budgets.models import Budget
from categories.models import Category
from categories.tests.factories import CategoryFactory
from expenses.tests.factories import ExpenseFactory
from goals.tests.factories import ContributionFactory, GoalFactory
from income.tests.factories import IncomeFactory
from users.models import User
from users.tests.factories import UserFactory


def populate(user) -> None:
    """Some of everything, so lists, reports and lookups have rows."""
    category = CategoryFactory(user=user)
    ExpenseFactory(user=user, category=category)
    IncomeFactory(user=user)
    Budget.objects.create(
        user=user, month=date(2026, 3, 1), scope="overall", amount=Decimal("500.00")
    )
    goal = GoalFactory(user=user)
    ContributionFactory(goal=goal)


SETTINGS_FIELDS = (
    "email",
    "first_name",
    "last_name",
    "base_currency",
    "timezone",
    "month_start_day",
)


def reset_to_populated(user, settings: dict) -> None:
    """Back to what `owner` started with: every record the user owns deleted (the models
    that die with the user, categories last because records RESTRICT them), the user's
    settings restored, and `populate` again. A stateful fuzzing scenario starts from here,
    so what one scenario created cannot change what the next one's requests answer
    (hypothesis replays scenarios and requires them to behave the same)."""

    def dying_with(target: type) -> list[type]:
        return [
            model
            for model in apps.get_models()
            for field in model._meta.concrete_fields
            if field.many_to_one
            and field.remote_field.model is target
            and field.remote_field.on_delete is models.CASCADE
            and model is not Book
        ]

    # Shared books the scenario made go whole; the personal book is emptied.
    Book.objects.filter(memberships__user=user, kind=BookKind.SHARED).delete()
    personal = Book.objects.get(personal_owner=user)
    for model in sorted(set(dying_with(Book)) - {Membership}, key=lambda m: m is Category):
        model._base_manager.filter(book=personal).delete()
    for model in dying_with(User):
        if model is not Membership:
            model._base_manager.filter(user=user).delete()
    User.objects.filter(pk=user.pk).update(**settings)
    Book.objects.filter(pk=personal.pk).update(
        **{key: settings[key] for key in ("base_currency", "month_start_day") if key in settings}
    )
    user.refresh_from_db()
    populate(user)


@pytest.fixture
def owner(db):
    user = UserFactory()
    populate(user)
    return user


@pytest.fixture
def owner_settings(owner) -> dict:
    return {field: getattr(owner, field) for field in SETTINGS_FIELDS}


@pytest.fixture
def auth_headers(owner) -> dict[str, str]:
    return {"Authorization": f"Bearer {RefreshToken.for_user(owner).access_token}"}
