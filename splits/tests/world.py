"""A shared book with three members and mixed-currency records, for the splits tests.

The book is in EUR; 1 EUR = 1.25 USD on 2026-03-01 (so 10.00 USD is 8.00 EUR):

- A pays 30.00 EUR, equal among A, B, C (10.00 each);
- B pays 10.00 USD (8.00 EUR), shares 1:1 between A and B (4.00 EUR each);
- C pays 10.00 EUR, equal among all: 3.33 each and the odd cent to the part at
  position (that expense's id mod 3) of A, B, C (ordered by user id) — `Trio.odd`;
- C pays A 5.00 USD (4.00 EUR) as a settlement.

Balances (paid − share + settled_out − settled_in), with the odd cent on A:
A 30 − 17.34 − 4 = 8.66, B 8 − 17.33 = −9.33, C 10 − 13.33 + 4 = 0.67; on B: 8.67,
−9.34, 0.67; on C: 8.67, −9.33, 0.66. They sum to 0; `shares(trio)` and
`expected(trio)` give the figures for the trio at hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from books.models import Book, Membership, Role
from books.services import book_create
from currencies.models import ExchangeRate
from expenses.services import expense_create
from splits.services import settlement_create
from users.tests.factories import UserFactory

DAY = date(2026, 3, 1)
CENT = Decimal("0.01")


@dataclass
class Trio:
    book: Book
    a: Any
    b: Any
    c: Any
    odd: str = ""  # who has the odd cent of C's 10.00 EUR ("A", "B" or "C"), by `fill`

    @property
    def people(self) -> dict[str, Any]:
        return {"A": self.a, "B": self.b, "C": self.c}


def usd_rate() -> None:
    ExchangeRate.objects.get_or_create(
        base="EUR", quote="USD", date=DAY, defaults={"rate": Decimal("1.25"), "source": "manual"}
    )


def spend(book: Book, by: Any, amount: str, currency: str = "EUR", split: Any = None) -> Any:
    data: dict[str, Any] = {
        "amount": Decimal(amount),
        "currency": currency,
        "date": DAY,
        "description": f"paid by {by.username}",
    }
    if split is not None:
        data["split"] = split
    return expense_create(user=by, book=book, data=data)


def settle(book: Book, by: Any, to: Any, amount: str, currency: str = "EUR", **extra: Any) -> Any:
    data = {"from_user": by.pk, "to_user": to.pk, "amount": Decimal(amount), "date": DAY}
    return settlement_create(book=book, user=by, data={**data, "currency": currency, **extra})


def make_trio(prefix: str = "", **book_fields: Any) -> Trio:
    a, b, c = (UserFactory(username=prefix + name) for name in ("alice", "bob", "carol"))
    book = book_create(user=a, name="Flat", base_currency="EUR", **book_fields)
    Membership.objects.create(book=book, user=b, role=Role.EDITOR)
    Membership.objects.create(book=book, user=c, role=Role.VIEWER)
    return Trio(book=book, a=a, b=b, c=c)


def fill(trio: Trio) -> Trio:
    usd_rate()
    book, a, b, c = trio.book, trio.a, trio.b, trio.c
    spend(book, a, "30.00")
    spend(
        book,
        b,
        "10.00",
        "USD",
        split={
            "mode": "shares",
            "parts": [{"user": a.pk, "value": Decimal(1)}, {"user": b.pk, "value": Decimal(1)}],
        },
    )
    ten = spend(book, c, "10.00")
    trio.odd = "ABC"[ten.pk % 3]  # a, b, c were created in this order: ids ascending
    settle(book, c, a, "5.00", "USD")
    return trio


def shares(trio: Trio) -> dict[str, Decimal]:
    """Each member's share (EUR) of the filled trio's expenses."""
    base = {"A": Decimal("17.33"), "B": Decimal("17.33"), "C": Decimal("13.33")}
    return {name: part + (CENT if name == trio.odd else 0) for name, part in base.items()}


def expected(trio: Trio) -> dict[str, Decimal]:
    """Each member's balance (EUR) in the filled trio."""
    share = shares(trio)
    return {
        "A": Decimal(30) - share["A"] - 4,
        "B": Decimal(8) - share["B"],
        "C": Decimal(10) - share["C"] + 4,
    }
