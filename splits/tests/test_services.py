"""Settlement writes, base-currency changes, backups' restore, and the rule that a member
leaves (or deletes their account) only when square (SPEC §15)."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest

from books.models import Membership, Role
from books.services import MEMBER_REMOVAL_CHECKS, book_update, member_remove
from core.exceptions import ApplicationError
from currencies.selectors import RateUnavailable
from expenses.models import ExpenseShare
from splits.models import Settlement
from splits.selectors import NotASharedBook, book_balances
from splits.services import (
    BalanceNotSettled,
    SettlementError,
    member_removal_check,
    settlement_delete,
    settlements_bulk_restore,
    settlements_clear,
)
from users.services import user_delete
from users.tests.factories import UserFactory

from .world import DAY, expected, fill, make_trio, settle, spend, usd_rate

pytestmark = pytest.mark.django_db


def balances(book):
    return {row["user"]: row["balance"] for row in book_balances(book=book)}


# --- settlement_create ---------------------------------------------------------------


def test_a_settlement_in_another_currency_is_stored_in_the_base_currency_too():
    trio = make_trio()
    usd_rate()
    settlement = settle(trio.book, trio.b, trio.a, "5.00", "USD", note="cash")
    assert (settlement.amount, settlement.currency) == (Decimal("5.00"), "USD")
    assert settlement.base_amount == Decimal("4.00")
    assert settlement.exchange_rate == Decimal("0.8")
    assert (settlement.user, settlement.note) == (trio.b, "cash")
    assert balances(trio.book) == {trio.a.pk: Decimal(-4), trio.b.pk: Decimal(4), trio.c.pk: 0}


def test_currency_defaults_to_the_books_base_currency():
    trio = make_trio()
    settlement = settle(trio.book, trio.a, trio.b, "3.50", currency="")
    assert (settlement.currency, settlement.base_amount) == ("EUR", Decimal("3.50"))


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"to_user": "self"}, "to", "same_member"),
        ({"to_user": "outsider"}, "to", "not_a_member"),
        ({"from_user": "outsider"}, "from", "not_a_member"),
        ({"amount": Decimal("0")}, "amount", "invalid_settlement"),
        ({"amount": Decimal("-1")}, "amount", "invalid_settlement"),
        ({"amount": Decimal("1.5"), "currency": "JPY"}, "amount", "invalid_settlement"),
        ({"amount": Decimal("1000000000000")}, "amount", "invalid_settlement"),
    ],
)
def test_bad_settlements_are_refused_on_their_field_and_nothing_is_written(change, field, code):
    trio = make_trio()
    outsider = UserFactory()  # a member of another book
    data = {"from_user": trio.a.pk, "to_user": trio.b.pk, "amount": Decimal("5"), "date": DAY}
    for key, value in change.items():
        data[key] = {"self": trio.a.pk, "outsider": outsider.pk}.get(value, value)
    from splits.services import settlement_create

    with pytest.raises(SettlementError) as raised:
        settlement_create(book=trio.book, user=trio.a, data=data)
    assert (raised.value.field, raised.value.code) == (field, code)
    assert not Settlement.objects.exists()


def test_a_personal_book_has_no_settlements():
    user = UserFactory()
    from splits.services import settlement_create

    with pytest.raises(NotASharedBook):
        settlement_create(
            book=user.personal_book,
            user=user,
            data={"from_user": user.pk, "to_user": user.pk, "amount": Decimal(1), "date": DAY},
        )


def test_a_missing_rate_is_a_400_and_nothing_is_written():
    trio = make_trio()
    with pytest.raises(RateUnavailable):
        settle(trio.book, trio.a, trio.b, "5.00", "GBP")
    assert not Settlement.objects.exists()


def test_deleting_a_settlement_moves_the_balances_back():
    trio = fill(make_trio())
    before = balances(trio.book)
    settlement = settle(trio.book, trio.b, trio.a, str(expected(trio)["A"]))
    assert balances(trio.book)[trio.a.pk] == 0
    settlement_delete(settlement=settlement)
    assert balances(trio.book) == before


# --- base-currency change --------------------------------------------------------------


def test_a_base_currency_change_converts_settlements_and_shares_and_stays_balanced():
    trio = fill(make_trio())
    book, _ = book_update(book=trio.book, data={"base_currency": "USD"}, by=trio.a)
    assert book.base_currency == "USD"
    usd = Settlement.objects.get()
    assert (usd.base_amount, usd.exchange_rate) == (Decimal("5.00"), Decimal(1))
    # Every expense's shares were re-allocated from its new base amount.
    for share in ExpenseShare.objects.filter(expense__currency="USD"):
        assert share.base_amount == share.amount
    thirty = ExpenseShare.objects.filter(expense__amount=Decimal("30.00"))
    assert sorted(s.base_amount for s in thirty) == [Decimal("12.50")] * 3
    rows = book_balances(book=book)
    assert sum(row["balance"] for row in rows) == 0
    # 30 EUR = 37.50 USD (12.50 each); 10 EUR = 12.50 USD, re-allocated in proportion to
    # the parts 3.34 / 3.33 / 3.33 EUR: 4.18 to the 3.34 (`trio.odd`), 4.16 to the others;
    # 10 USD (5 / 5); settlement 5 USD.
    ten = {name: Decimal("4.18" if name == trio.odd else "4.16") for name in "ABC"}
    assert balances(book) == {
        trio.a.pk: Decimal("37.50") - Decimal("12.50") - 5 - ten["A"] - 5,
        trio.b.pk: Decimal("10") - Decimal("12.50") - 5 - ten["B"],
        trio.c.pk: Decimal("12.50") - Decimal("12.50") - ten["C"] + 5,
    }


def test_a_base_currency_change_without_a_rate_for_a_settlement_changes_nothing():
    trio = make_trio()
    usd_rate()
    settle(trio.book, trio.a, trio.b, "5.00", "USD")
    with pytest.raises(ApplicationError):
        book_update(book=trio.book, data={"base_currency": "GBP"}, by=trio.a)
    trio.book.refresh_from_db()
    assert trio.book.base_currency == "EUR"
    assert Settlement.objects.get().base_amount == Decimal("4.00")


# --- backups ----------------------------------------------------------------------------


def test_clear_and_restore_settlements():
    trio = fill(make_trio())
    before = balances(trio.book)
    rows = [
        {
            "from_user": s.from_user_id,
            "to_user": s.to_user_id,
            "amount": str(s.amount),
            "currency": s.currency,
            "date": s.date.isoformat(),
            "note": "restored",
        }
        for s in Settlement.objects.all()
    ]
    assert settlements_clear(book=trio.book) == 1
    assert balances(trio.book) != before
    assert settlements_bulk_restore(book=trio.book, user=trio.a, rows=rows) == 1
    restored = Settlement.objects.get()
    assert (restored.base_amount, restored.note, restored.user) == (
        Decimal("4.00"),
        "restored",
        trio.a,
    )
    assert balances(trio.book) == before


def test_restore_takes_a_former_member_but_not_a_stranger():
    trio = fill(make_trio())
    Membership.objects.filter(book=trio.book, user=trio.c).delete()  # C has shares
    row = {"from_user": trio.c.pk, "to_user": trio.a.pk, "amount": "1", "currency": "EUR"}
    assert settlements_bulk_restore(book=trio.book, user=trio.a, rows=[{**row, "date": DAY}]) == 1
    stranger = UserFactory()
    bad = [{**row, "date": DAY}, {**row, "from_user": stranger.pk, "date": DAY}]
    with pytest.raises(SettlementError, match="Settlement 1: User"):
        settlements_bulk_restore(book=trio.book, user=trio.a, rows=bad)
    assert Settlement.objects.count() == 2


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"amount": "1.234"}, "EUR amounts allow at most 2"),
        ({"amount": "1e3"}, "plain decimal"),
        ({"date": "yesterday"}, "not an ISO date"),
        ({"currency": None}, "missing currency"),
        ({"to_user": "from"}, "two different members"),
    ],
)
def test_restore_refuses_a_bad_row_and_writes_nothing(change, message):
    trio = make_trio()
    row = {
        "from_user": trio.a.pk,
        "to_user": trio.b.pk,
        "amount": "2.00",
        "currency": "EUR",
        "date": "2026-03-01",
    }
    row.update({k: (trio.a.pk if v == "from" else v) for k, v in change.items()})
    with pytest.raises(SettlementError, match=message):
        settlements_bulk_restore(book=trio.book, user=trio.a, rows=[row])
    assert not Settlement.objects.exists()


def test_restoring_nothing_into_a_personal_book_is_fine():
    user = UserFactory()
    assert settlements_bulk_restore(book=user.personal_book, user=user, rows=[]) == 0


# --- leaving with a balance ---------------------------------------------------------------


def test_the_check_is_registered():
    assert member_removal_check in MEMBER_REMOVAL_CHECKS


def test_a_member_with_a_balance_cannot_leave_or_be_removed_until_square():
    trio = fill(make_trio())
    membership = Membership.objects.get(book=trio.book, user=trio.c)
    for by, role in ((trio.c, Role.VIEWER), (trio.a, Role.OWNER)):
        with pytest.raises(BalanceNotSettled) as raised:
            member_remove(book=trio.book, member=membership, by=by, by_role=role)
        assert raised.value.code == "balance_not_settled"
        assert raised.value.status_code == 409
        assert f"carol is owed {expected(trio)['C']} EUR" in raised.value.message
        assert "settle-up" in raised.value.message
    assert Membership.objects.filter(book=trio.book, user=trio.c).exists()
    settle(trio.book, trio.b, trio.c, str(expected(trio)["C"]))
    member_remove(book=trio.book, member=membership, by=trio.c, by_role=Role.VIEWER)
    assert not Membership.objects.filter(book=trio.book, user=trio.c).exists()


def test_a_debtor_is_told_they_owe():
    trio = fill(make_trio())
    owes = -expected(trio)["B"]  # 9.33, or 9.34 with the odd cent on B
    with pytest.raises(BalanceNotSettled, match=rf"bob owes {re.escape(str(owes))} EUR"):
        member_removal_check(book=trio.book, user_id=trio.b.pk)


def test_account_deletion_is_refused_with_a_balance_and_changes_nothing():
    trio = fill(make_trio())
    # A is the only owner: deleting would hand the book on. It must not, here.
    with pytest.raises(BalanceNotSettled):
        user_delete(user=trio.a)
    assert Membership.objects.get(book=trio.book, user=trio.a).role == Role.OWNER
    assert Membership.objects.get(book=trio.book, user=trio.b).role == Role.EDITOR
    assert trio.book.__class__.objects.filter(pk=trio.book.pk).exists()
    trio.a.refresh_from_db()


def test_account_deletion_goes_ahead_at_zero():
    trio = make_trio()
    spend(trio.book, trio.a, "30.00")
    settle(trio.book, trio.b, trio.a, "10.00")
    settle(trio.book, trio.c, trio.a, "10.00")
    user_delete(user=trio.a)
    assert Membership.objects.get(book=trio.book, user=trio.b).role == Role.OWNER
    assert all(balance == 0 for balance in balances(trio.book).values())


def test_a_shared_book_one_is_alone_in_does_not_block_deletion():
    user = UserFactory()
    from books.services import book_create

    book = book_create(user=user, name="Solo", base_currency="EUR")
    spend(book, user, "5.00")
    user_delete(user=user)
    assert not type(book).objects.filter(pk=book.pk).exists()


def test_dates_are_kept():
    trio = make_trio()
    settlement = settle(trio.book, trio.a, trio.b, "1.00")
    assert settlement.date == date(2026, 3, 1)
