"""Expenses already in shared books when splits came (expenses.0009) become equal splits
among the book's members, paid by their creator, exact to the cent in both currencies;
those whose creator has left, and personal-book expenses, stay unsplit. On SQLite and
PostgreSQL."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE_SPLITS = [("expenses", "0008_books_required")]
SPLITS = [("expenses", "0009_splits")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def test_shared_expenses_become_equal_splits_paid_by_their_creator():
    old = migrate(BEFORE_SPLITS)
    User = old.get_model("users", "User")
    Book = old.get_model("books", "Book")
    Membership = old.get_model("books", "Membership")
    Expense = old.get_model("expenses", "Expense")

    ann, bob, cat, dan = (
        User.objects.create(username=name, email=f"{name}@example.com", base_currency="EUR")
        for name in ("ann", "bob", "cat", "dan")
    )
    personal = Book.objects.create(
        name="Personal", kind="personal", personal_owner=ann, base_currency="EUR"
    )
    Membership.objects.create(book=personal, user=ann, role="owner")
    flat = Book.objects.create(name="Flat", kind="shared", base_currency="EUR")
    for member, role in ((ann, "owner"), (bob, "editor"), (cat, "viewer")):
        Membership.objects.create(book=flat, user=member, role=role)
    yen = Book.objects.create(name="Trip", kind="shared", base_currency="JPY")
    for member in (bob, cat):
        Membership.objects.create(book=yen, user=member, role="owner")

    def expense(book, user, amount, currency, base_amount, description):
        return Expense.objects.create(
            book=book,
            user=user,
            amount=Decimal(amount),
            currency=currency,
            base_amount=Decimal(base_amount),
            exchange_rate=Decimal(base_amount) / Decimal(amount),
            date=date(2026, 3, 1),
            description=description,
        )

    made = {
        "rent": expense(flat, bob, "100.00", "EUR", "100.00", "Rent"),
        # The odd cent goes to the part at position (expense id mod 3), parts ordered by
        # user id, in both currencies.
        "taxi": expense(flat, cat, "10.00", "USD", "9.10", "Taxi"),
        "ramen": expense(yen, cat, "1001", "JPY", "1001", "Ramen"),
        # Base parts follow the expense-currency parts (3:2 of ¥8).
        "fees": expense(yen, bob, "0.05", "EUR", "8", "Fees"),
        # Dan left the flat: his expense stays unsplit (no invented debt).
        "gone": expense(flat, dan, "30.00", "EUR", "30.00", "Old"),
        "nobody": expense(flat, None, "12.00", "EUR", "12.00", "Deleted account"),
        "mine": expense(personal, ann, "5.00", "EUR", "5.00", "Coffee"),
    }

    new = migrate(SPLITS)
    Expense = new.get_model("expenses", "Expense")
    ExpenseShare = new.get_model("expenses", "ExpenseShare")

    def split_of(name):
        stored = Expense.objects.get(pk=made[name].pk)
        shares = ExpenseShare.objects.filter(expense_id=stored.pk).order_by("user_id")
        return (
            stored.split_mode,
            stored.paid_by_id,
            [(s.user_id, s.value, s.amount, s.base_amount, s.book_id) for s in shares],
        )

    one = Decimal(1)

    def parts(name, members, book, odd, rest):
        """Parts of `members` (by user id): `odd` (amount, base) at position (the
        expense's id mod how many), `rest` for the others."""
        at = made[name].pk % len(members)
        return [
            (member.pk, one, *(Decimal(v) for v in (odd if i == at else rest)), book.pk)
            for i, member in enumerate(members)
        ]

    assert split_of("rent") == (
        "equal",
        bob.pk,
        parts("rent", (ann, bob, cat), flat, ("33.34", "33.34"), ("33.33", "33.33")),
    )
    # 9.10 in proportion to 3.34/3.33/3.33: 3.0394…, 3.0303… — the odd base cent too.
    assert split_of("taxi") == (
        "equal",
        cat.pk,
        parts("taxi", (ann, bob, cat), flat, ("3.34", "3.04"), ("3.33", "3.03")),
    )
    assert split_of("ramen") == (
        "equal",
        cat.pk,
        parts("ramen", (bob, cat), yen, ("501", "501"), ("500", "500")),
    )
    assert split_of("fees") == (
        "equal",
        bob.pk,
        parts("fees", (bob, cat), yen, ("0.03", "5"), ("0.02", "3")),
    )
    for name in ("gone", "nobody", "mine"):
        assert split_of(name) == ("", None, []), name
    # Every split expense's parts sum exactly to its amounts.
    for name in ("rent", "taxi", "ramen", "fees"):
        stored = Expense.objects.get(pk=made[name].pk)
        shares = ExpenseShare.objects.filter(expense_id=stored.pk)
        assert sum(s.amount for s in shares) == stored.amount, name
        assert sum(s.base_amount for s in shares) == stored.base_amount, name

    # Reversible: back before splits (the parts go with the table), and forward again
    # gives the same parts.
    migrate(BEFORE_SPLITS)
    again = migrate(SPLITS)
    assert again.get_model("expenses", "ExpenseShare").objects.count() == 3 + 3 + 2 + 2
    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
