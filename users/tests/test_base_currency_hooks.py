"""Users sits below the apps that store money, so they register how a base-currency
change of a book converts their figures (`users.base_currency`) instead of users
importing them. One registry, for personal and shared books alike."""

from __future__ import annotations

import pytest

from books.services import book_update
from budgets.services import budgets_convert_currency
from core.exceptions import ApplicationError
from expenses.models import Expense
from expenses.services import expenses_recompute_base
from expenses.tests.factories import ExpenseFactory
from goals.services import goals_convert_currency
from income.models import Income
from income.services import incomes_recompute_base
from splits.models import Settlement
from splits.services import settlements_convert_currency
from users import base_currency
from users.models import BaseCurrencyChange, BaseCurrencyChangeStatus
from users.services import _records_at_most, base_currency_change_run, user_update
from users.tests.factories import UserFactory


def test_each_app_that_stores_money_registers_its_converter_in_layer_order():
    assert [(c.name, c.convert, c.records) for c in base_currency.converters()] == [
        ("expenses", expenses_recompute_base, Expense),
        ("income", incomes_recompute_base, Income),
        ("budgets", budgets_convert_currency, None),
        ("goals", goals_convert_currency, None),
        ("splits", settlements_convert_currency, Settlement),
    ]


def test_a_converter_name_is_declared_once(monkeypatch):
    monkeypatch.setattr(base_currency, "_converters", {})

    def convert(**kwargs):
        return 0

    base_currency.register_converter("things", convert)
    base_currency.register_converter("things", convert)  # ready() again: harmless
    with pytest.raises(ValueError, match="already registered"):
        base_currency.register_converter("things", lambda **kwargs: 1)


@pytest.mark.django_db
def test_a_change_runs_every_registered_converter_with_the_new_currency(monkeypatch):
    calls = []
    monkeypatch.setattr(base_currency, "_converters", {})
    base_currency.register_converter(
        "spy", lambda *, book, base_currency: calls.append((book.pk, base_currency))
    )
    user = UserFactory(base_currency="USD")
    user_update(user=user, data={"base_currency": "EUR"})
    assert calls == [(user.personal_book.pk, "EUR")]
    user.refresh_from_db()
    assert user.base_currency == "EUR" and user.personal_book.base_currency == "EUR"


@pytest.mark.django_db
def test_a_shared_books_change_runs_the_same_converters_for_that_book_only(
    monkeypatch, shared_book
):
    calls = []
    monkeypatch.setattr(base_currency, "_converters", {})
    base_currency.register_converter(
        "spy", lambda *, book, base_currency: calls.append((book.pk, base_currency))
    )
    owner = UserFactory(base_currency="USD")
    book = shared_book(owner=owner, base_currency="USD")
    updated, queued = book_update(book=book, data={"base_currency": "JPY"}, by=owner)
    assert queued is None and calls == [(book.pk, "JPY")]
    assert updated.base_currency == "JPY"
    owner.refresh_from_db()
    assert owner.base_currency == "USD" and owner.personal_book.base_currency == "USD"


@pytest.mark.django_db
def test_a_domain_error_of_a_converter_fails_the_queued_change_with_its_message(monkeypatch):
    def refuse(*, book, base_currency):
        raise ApplicationError(f"Cannot re-express the widgets in {base_currency}.")

    monkeypatch.setattr(base_currency, "_converters", {})
    base_currency.register_converter("widgets", refuse)
    user = UserFactory(base_currency="USD")
    change = BaseCurrencyChange.objects.create(
        book=user.personal_book, user=user, from_currency="USD", to_currency="EUR"
    )
    base_currency_change_run(change_id=change.pk)
    change.refresh_from_db()
    user.refresh_from_db()
    assert change.status == BaseCurrencyChangeStatus.FAILED
    assert change.error == "Cannot re-express the widgets in EUR."
    assert user.base_currency == "USD" and user.personal_book.base_currency == "USD"


@pytest.mark.django_db
def test_only_the_records_models_count_toward_queueing_a_change(monkeypatch):
    user = UserFactory()
    ExpenseFactory(user=user)
    book = user.personal_book
    assert not _records_at_most(book=book, limit=0)
    assert _records_at_most(book=book, limit=1)
    monkeypatch.setattr(base_currency, "_converters", {})
    base_currency.register_converter("budgets", budgets_convert_currency)
    assert _records_at_most(book=book, limit=0)
