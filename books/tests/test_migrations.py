"""Accounts that existed before books get their personal book (books.0002)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def test_existing_accounts_get_a_personal_book_with_their_settings():
    old = migrate([("books", "0001_initial")])
    User = old.get_model("users", "User")
    User.objects.create(
        username="ann", email="ann@example.com", base_currency="JPY", month_start_day=25
    )
    User.objects.create(username="bob", email="bob@example.com", base_currency="EUR")

    new = migrate([("books", "0002_personal_books")])
    Book = new.get_model("books", "Book")
    Membership = new.get_model("books", "Membership")
    books = {
        b.personal_owner.username: (b.kind, b.base_currency, b.month_start_day)
        for b in Book.objects.select_related("personal_owner")
    }
    assert books == {"ann": ("personal", "JPY", 25), "bob": ("personal", "EUR", 1)}
    assert sorted(Membership.objects.values_list("user__username", "role")) == [
        ("ann", "owner"),
        ("bob", "owner"),
    ]

    # Reversible: back to no books, and forward again.
    migrate([("books", "0001_initial")])
    again = migrate([("books", "0002_personal_books")])
    assert again.get_model("books", "Book").objects.count() == 2
    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
