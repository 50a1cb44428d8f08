"""Reads of a shared book's balances, settle-up and settlements (SPEC §15).

A member's balance, in the book's base currency, is

    balance = paid − share + settled_out − settled_in        (positive: is owed)

- paid: Σ `Expense.base_amount` of the book's split expenses they paid (`paid_by`);
- share: Σ `ExpenseShare.base_amount` of their parts of those expenses;
- settled_out / settled_in: Σ `Settlement.base_amount` they paid / received.

Every figure is a database sum (one grouped query each, whatever the number of members
or records). The parts of an expense sum exactly to its base amount (`expenses.splits`)
and a settlement adds to one member what it takes from another, so the balances of a
book always sum to exactly zero. Settlements are not spending: reports never read them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import QuerySet, Sum

from books.models import Book, Membership
from core.exceptions import ApplicationError
from expenses.models import Expense, ExpenseShare

from .models import Settlement
from .settle import Transfer, settle_up

ZERO = Decimal(0)
FIGURES = ("paid", "share", "settled_out", "settled_in")
# Rows of a deleted account (their user cleared): shown under this name while their
# figures do not cancel out (an account is only deleted at balance zero through the API).
DELETED_ACCOUNT = "(deleted account)"
# `settle_up` keys people by user id; a deleted account's rows go under this one.
_NO_USER = 0


class NotASharedBook(ApplicationError):
    default_code = "not_a_shared_book"

    def __init__(self) -> None:
        super().__init__(
            "Balances, settle-up and settlements are for shared books: a personal book's "
            "expenses are all yours. Use /books/{id}/… of a shared book."
        )


def shared_book_required(book: Book) -> None:
    """Raise NotASharedBook (400) for a personal book."""
    if book.is_personal:
        raise NotASharedBook()


def _sums(queryset: QuerySet, key: str) -> dict[int | None, Decimal]:
    rows = queryset.order_by().values(key).annotate(total=Sum("base_amount"))
    return {user_id: total or ZERO for user_id, total in rows.values_list(key, "total")}


def book_balances(*, book: Book) -> list[dict[str, Any]]:
    """One row per member of `book` (plus any former member, or deleted account, whose
    figures do not cancel out), ordered by user id: `user`, `username`, `paid`, `share`,
    `settled_out`, `settled_in`, `balance`, Decimals in the book's base currency.
    Six queries at most, whatever the size of the book; the balances sum to zero."""
    figures: dict[str, dict[int | None, Decimal]] = {
        "paid": _sums(
            Expense.objects.filter(book=book).exclude(split_mode=""),
            "paid_by",
        ),
        "share": _sums(ExpenseShare.objects.filter(book=book), "user"),
        "settled_out": _sums(Settlement.objects.filter(book=book), "from_user"),
        "settled_in": _sums(Settlement.objects.filter(book=book), "to_user"),
    }
    names: dict[int | None, str] = dict(
        Membership.objects.filter(book=book).values_list("user_id", "user__username")
    )
    members = set(names)
    rows: dict[int | None, dict[str, Any]] = defaultdict(dict)
    for figure, totals in figures.items():
        for user_id, total in totals.items():
            rows[user_id][figure] = total
    for user_id in members:
        rows[user_id]  # every member has a row, even with nothing yet
    result = []
    for user_id, row in rows.items():
        values = {figure: row.get(figure, ZERO) for figure in FIGURES}
        balance = values["paid"] - values["share"] + values["settled_out"] - values["settled_in"]
        if user_id not in members and not balance:
            continue  # a former member who is square is no longer part of the book's picture
        result.append({"user": user_id, **values, "balance": balance})
    former = [row["user"] for row in result if row["user"] not in members and row["user"]]
    if former:
        names.update(get_user_model().objects.filter(pk__in=former).values_list("pk", "username"))
    for row in result:
        row["username"] = names.get(row["user"], DELETED_ACCOUNT)
    result.sort(key=lambda row: (row["user"] is None, row["user"] or 0))
    return [{key: row[key] for key in ("user", "username", *FIGURES, "balance")} for row in result]


def member_balance(*, book: Book, user_id: int) -> Decimal:
    """`user_id`'s balance in `book` (0 when they have no figures there)."""
    return next(
        (row["balance"] for row in book_balances(book=book) if row["user"] == user_id), ZERO
    )


def book_settle_up(*, book: Book) -> list[Transfer]:
    """The fewest transfers (at most members − 1, see `splits.settle`) that bring every
    balance of `book` to exactly zero, in its base currency; largest first by the
    algorithm's order. A deleted account's unsettled remainder appears with user None."""
    balances = {
        (row["user"] if row["user"] is not None else _NO_USER): row["balance"]
        for row in book_balances(book=book)
    }
    return [
        Transfer(
            from_user=transfer.from_user or None,  # type: ignore[arg-type]
            to_user=transfer.to_user or None,  # type: ignore[arg-type]
            amount=transfer.amount,
        )
        for transfer in settle_up(balances)
    ]


def settlement_rows(*, book: Book, chunk_size: int = 2000) -> Iterator[tuple[Any, ...]]:
    """The book's settlements, oldest first, as value tuples `(id, date, from_user_id,
    from username, to_user_id, to username, amount, currency, base_amount, exchange_rate,
    note, created_at)` (for the CSV export), read in chunks."""
    rows = (
        Settlement.objects.filter(book=book)
        .order_by("date", "id")
        .values_list(
            "id",
            "date",
            "from_user_id",
            "from_user__username",
            "to_user_id",
            "to_user__username",
            "amount",
            "currency",
            "base_amount",
            "exchange_rate",
            "note",
            "created_at",
        )
    )
    yield from rows.iterator(chunk_size=chunk_size)
