"""Balances and settle-up of a shared book (SPEC §15), read by the database."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from books.models import Membership, Role
from books.services import book_create
from splits.selectors import DELETED_ACCOUNT, book_balances, book_settle_up
from users.tests.factories import UserFactory

from .world import expected, fill, make_trio, settle, shares, spend

pytestmark = pytest.mark.django_db


def by_name(rows):
    return {row["username"]: row for row in rows}


def test_balances_with_mixed_currencies_and_a_settlement():
    trio = fill(make_trio())
    rows = book_balances(book=trio.book)
    assert [row["user"] for row in rows] == sorted(p.pk for p in trio.people.values())
    named = by_name(rows)
    alice, bob, carol = named["alice"], named["bob"], named["carol"]
    share = shares(trio)  # 17.33 / 17.33 / 13.33 and the odd cent of 10.00 / 3
    assert (alice["paid"], alice["share"], alice["settled_out"], alice["settled_in"]) == (
        Decimal("30"),
        share["A"],
        Decimal("0"),
        Decimal("4"),
    )
    assert (bob["paid"], bob["share"]) == (Decimal("8"), share["B"])
    assert (carol["paid"], carol["share"], carol["settled_out"]) == (
        Decimal("10"),
        share["C"],
        Decimal("4"),
    )
    assert {name[0].upper(): named[name]["balance"] for name in named} == expected(trio)
    assert sum(row["balance"] for row in rows) == 0


def test_a_new_member_has_a_row_of_zeros():
    trio = make_trio()
    rows = book_balances(book=trio.book)
    assert len(rows) == 3
    assert all(row[key] == 0 for row in rows for key in ("paid", "share", "balance"))


def test_personal_book_expenses_do_not_count():
    trio = fill(make_trio())
    before = book_balances(book=trio.book)
    spend(trio.a.personal_book, trio.a, "99.00")
    assert book_balances(book=trio.book) == before


def test_settle_up_recorded_as_settlements_zeroes_every_balance():
    trio = fill(make_trio())
    transfers = book_settle_up(book=trio.book)
    assert 0 < len(transfers) <= 2  # members − 1
    users = {p.pk: p for p in trio.people.values()}
    for transfer in transfers:
        assert transfer.amount > 0
        settle(trio.book, users[transfer.from_user], users[transfer.to_user], str(transfer.amount))
    assert all(row["balance"] == 0 for row in book_balances(book=trio.book))
    assert book_settle_up(book=trio.book) == []


def test_settle_up_pays_the_creditors_from_the_debtor():
    trio = fill(make_trio())
    transfers = {(t.from_user, t.to_user): t.amount for t in book_settle_up(book=trio.book)}
    # B owes 9.33 (or 9.34): 8.66 (or 8.67) to A and 0.67 (or 0.66) to C.
    balance = expected(trio)
    assert transfers == {
        (trio.b.pk, trio.a.pk): balance["A"],
        (trio.b.pk, trio.c.pk): balance["C"],
    }


def test_a_former_member_with_figures_stays_until_square():
    trio = fill(make_trio())
    # Bypassing the service (which refuses while C's balance is not 0): C is gone.
    Membership.objects.filter(book=trio.book, user=trio.c).delete()
    named = by_name(book_balances(book=trio.book))
    owed = expected(trio)["C"]  # 0.67 (0.66 with the odd cent on C)
    assert named["carol"]["balance"] == owed
    assert sum(row["balance"] for row in named.values()) == 0
    settle(trio.book, trio.a, trio.b, str(owed))  # A and B are still members
    # C's 0.67 is still owed to C, who is no member now: the row stays.
    assert "carol" in by_name(book_balances(book=trio.book))


def test_a_square_former_member_drops_out():
    trio = make_trio()
    Membership.objects.filter(book=trio.book, user=trio.c).delete()
    assert "carol" not in by_name(book_balances(book=trio.book))


def test_a_deleted_accounts_remainder_is_shown_and_settle_up_still_balances():
    trio = fill(make_trio())
    # The API refuses to delete an account with a balance; the admin could.
    Membership.objects.filter(book=trio.book, user=trio.c).delete()
    trio.c.delete()
    rows = book_balances(book=trio.book)
    ghost = by_name(rows)[DELETED_ACCOUNT]
    assert ghost["user"] is None and ghost["balance"] == expected(trio)["C"]
    assert rows[-1] is ghost
    assert sum(row["balance"] for row in rows) == 0
    transfers = book_settle_up(book=trio.book)
    assert {t.to_user for t in transfers} == {trio.a.pk, None}


def _book_of(size: int, records: int):
    owner = UserFactory()
    book = book_create(user=owner, name=f"Book of {size}", base_currency="EUR")
    members = [owner]
    for _ in range(size - 1):
        member = UserFactory()
        Membership.objects.create(book=book, user=member, role=Role.EDITOR)
        members.append(member)
    for index in range(records):
        spend(book, members[index % size], "10.00")
        if size > 1:
            settle(book, members[index % size], members[(index + 1) % size], "1.00")
    return book


def _queries(book) -> int:
    with CaptureQueriesContext(connection) as captured:
        rows = book_balances(book=book)
        book_settle_up(book=book)
    assert sum(row["balance"] for row in rows) == 0
    return len(captured)


def test_balances_take_the_same_few_queries_for_1_or_10_members():
    small = _queries(_book_of(1, 1))
    big = _queries(_book_of(10, 10))
    assert small == big <= 10  # balances + settle-up (which reads the balances again)
