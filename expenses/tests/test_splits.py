"""The split rules below the API: `core.allocation.allocate` (largest remainder) and
`expenses.splits` (modes, order, bulk splits, base-currency re-allocation)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from books.models import Membership
from core.allocation import allocate
from expenses.models import Expense, ExpenseShare
from expenses.splits import (
    SplitError,
    expense_split_apply,
    expenses_split_new,
    shares_recompute_base,
    split_compute,
)
from users.tests.factories import UserFactory

D = Decimal


# --- allocate ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "total, weights, places, expected",
    [
        ("1.00", ["1", "1", "1"], 2, ["0.34", "0.33", "0.33"]),  # tie, start 0: the first part
        ("1.00", ["1", "2"], 2, ["0.33", "0.67"]),  # largest dropped fraction first
        ("0.02", ["1", "1", "1"], 2, ["0.01", "0.01", "0.00"]),
        ("100", ["1", "1", "1"], 0, ["34", "33", "33"]),
        ("1.000", ["1", "1", "1"], 3, ["0.334", "0.333", "0.333"]),
        ("10.00", ["0", "1", "0", "1"], 2, ["0.00", "5.00", "0.00", "5.00"]),
        ("0.05", ["0.000001", "1000000"], 2, ["0.00", "0.05"]),
        ("0", ["1", "2"], 2, ["0.00", "0.00"]),
    ],
)
def test_allocate_gives_floors_then_the_largest_remainders(total, weights, places, expected):
    assert allocate(D(total), [D(w) for w in weights], places) == [D(e) for e in expected]


@pytest.mark.parametrize(
    "start, expected",
    [
        (0, ["0.34", "0.33", "0.33"]),
        (1, ["0.33", "0.34", "0.33"]),
        (2, ["0.33", "0.33", "0.34"]),
        (3, ["0.34", "0.33", "0.33"]),  # taken mod the number of parts
        (7, ["0.33", "0.34", "0.33"]),
        (-1, ["0.33", "0.33", "0.34"]),
    ],
)
def test_allocate_start_is_where_the_odd_units_begin_among_equal_fractions(start, expected):
    assert allocate(D("1.00"), [D(1)] * 3, 2, start=start) == [D(e) for e in expected]


@pytest.mark.parametrize(
    "total, weights, start, expected",
    [
        # Two units left over, among four equal fractions: from `start`, going round.
        ("0.02", ["1", "1", "1", "1"], 3, ["0.01", "0.00", "0.00", "0.01"]),
        ("0.02", ["1", "1", "1", "1"], 1, ["0.00", "0.01", "0.01", "0.00"]),
        # A larger dropped fraction still comes first, whatever `start` says.
        ("1.00", ["1", "2"], 0, ["0.33", "0.67"]),
        ("0.10", ["1", "1", "2"], 1, ["0.02", "0.03", "0.05"]),  # 2.5 / 2.5 / 5 cents
        ("0.10", ["1", "1", "2"], 2, ["0.03", "0.02", "0.05"]),  # from 2, round to 0
        # A zero weight gets zero even when the rotation starts on it.
        ("0.01", ["0", "1", "1"], 0, ["0.00", "0.01", "0.00"]),
    ],
)
def test_allocate_start_only_breaks_ties(total, weights, start, expected):
    result = allocate(D(total), [D(w) for w in weights], 2, start=start)
    assert result == [D(e) for e in expected]


@pytest.mark.parametrize(
    "total, weights, places",
    [("1.00", [], 2), ("1.00", ["1", "-1"], 2), ("1.00", ["0", "0"], 2), ("1.005", ["1"], 2)],
)
def test_allocate_refuses_what_it_cannot_split(total, weights, places):
    with pytest.raises(ValueError):
        allocate(D(total), [D(w) for w in weights], places)


@given(
    units=st.integers(min_value=0, max_value=10**12),
    places=st.sampled_from([0, 2, 3]),
    weights=st.lists(
        st.decimals(min_value=0, max_value=10**6, places=6, allow_nan=False), min_size=1
    ).filter(lambda ws: any(ws)),
)
def test_allocate_sums_exactly_and_each_part_is_within_one_unit(units, places, weights):
    total = D(units).scaleb(-places)
    parts = allocate(total, weights, places)
    assert sum(parts) == total
    unit = D(1).scaleb(-places)
    whole = sum(weights)
    for part, weight in zip(parts, weights, strict=True):
        assert abs(part - total * weight / whole) < unit
        assert part >= 0 and (weight or not part)


# --- split_compute -----------------------------------------------------------------------


def compute(
    mode,
    parts=None,
    amount="10.00",
    currency="EUR",
    base="10.00",
    base_currency="EUR",
    rotation=0,
):
    return split_compute(
        mode=mode,
        parts=[{"user": user, "value": None if v is None else D(v)} for user, v in parts or []],
        amount=D(amount),
        currency=currency,
        base_amount=D(base),
        base_currency=base_currency,
        member_ids=[3, 5, 9],
        rotation=rotation,
    )


def test_parts_come_ordered_by_user_id_whatever_the_order_asked():
    result = compute("shares", [(9, "1"), (3, "1"), (5, "1")])
    assert [(p.user_id, p.amount) for p in result] == [
        (3, D("3.34")),
        (5, D("3.33")),
        (9, D("3.33")),
    ]


def test_equal_ignores_values_and_without_parts_takes_every_member():
    assert [p.amount for p in compute("equal")] == [D("3.34"), D("3.33"), D("3.33")]
    named = compute("equal", [(9, "7"), (5, None)])
    assert [(p.user_id, p.value, p.amount) for p in named] == [
        (5, D(1), D("5.00")),
        (9, D(1), D("5.00")),
    ]


@pytest.mark.parametrize(
    "rotation, amounts, bases",
    [
        (0, ["334", "333", "333"], ["2.09", "2.08", "2.08"]),
        (4, ["333", "334", "333"], ["2.08", "2.09", "2.08"]),
        (11, ["333", "333", "334"], ["2.08", "2.08", "2.09"]),
    ],
)
def test_the_rotation_moves_the_odd_units_in_both_currencies(rotation, amounts, bases):
    # 1000 JPY → 6.25 EUR; rotation (the expense id) mod 3 is the first part in line.
    result = compute("equal", amount="1000", currency="JPY", base="6.25", rotation=rotation)
    assert [p.amount for p in result] == [D(a) for a in amounts]
    assert [p.base_amount for p in result] == [D(b) for b in bases]


def test_base_parts_follow_the_expense_currency_parts():
    # 1000 JPY → 6.25 EUR: the base parts in proportion to 334/333/333, exactly 6.25.
    result = compute("equal", amount="1000", currency="JPY", base="6.25")
    assert [p.amount for p in result] == [D(334), D(333), D(333)]
    assert [p.base_amount for p in result] == [D("2.09"), D("2.08"), D("2.08")]
    # An exact part of 0 owes nothing in either currency.
    zero = compute("exact", [(3, "0"), (5, "10.00")], base="9.09")
    assert [(p.amount, p.base_amount) for p in zero] == [(D(0), D("0.00")), (D("10.00"), D("9.09"))]


@pytest.mark.parametrize(
    "mode, parts, code",
    [
        ("thirds", None, "invalid_split"),
        ("equal", [(4, None)], "not_a_member"),
        ("shares", [(3, "1"), (3, "2")], "duplicate_part"),
        ("exact", [(3, "5.00"), (5, "4.99")], "split_sum_mismatch"),
        ("percent", [(3, "50"), (5, "50.000001")], "split_sum_mismatch"),
        ("percent", [(3, "33.3333333"), (5, "66.6666667")], "invalid_split"),
        ("shares", [(3, "0")], "invalid_split"),
        ("shares", [], "invalid_split"),
    ],
)
def test_split_compute_refusals_carry_their_code(mode, parts, code):
    with pytest.raises(SplitError) as refused:
        compute(mode, parts)
    assert refused.value.code == code and refused.value.field == "split"


def test_stand_in_ids_below_zero_are_parts_without_a_user():
    result = split_compute(
        mode="percent",
        parts=[{"user": 3, "value": D(50)}, {"user": -1, "value": D(50)}],
        amount=D("0.03"),
        currency="EUR",
        base_amount=D("0.03"),
        base_currency="EUR",
        member_ids=[-1, 3],
    )
    assert [(p.user_id, p.amount) for p in result] == [(-1, D("0.02")), (3, D("0.01"))]


# --- with the database -------------------------------------------------------------------


@pytest.fixture
def household(db, shared_book, user):
    members = [user, UserFactory(), UserFactory()]
    return shared_book(owner=user, editors=members[1:], base_currency="EUR"), members


def expense_in(book, user, amount="10.00", **fields):
    return Expense.objects.create(
        book=book,
        user=user,
        amount=D(amount),
        currency=fields.pop("currency", "EUR"),
        base_amount=D(fields.pop("base_amount", amount)),
        date=date(2026, 3, 1),
        description="Shared",
        **fields,
    )


def test_bulk_split_gives_each_new_expense_the_default_split(household):
    book, members = household
    for amount in ("10.00", "0.01", "99.99"):
        expense_in(book, members[1], amount)
    done = expenses_split_new(
        book=book, by_user_id=members[1].pk, expenses=Expense.objects.filter(book=book)
    )
    assert done == 3
    for expense in Expense.objects.filter(book=book):
        assert (expense.split_mode, expense.paid_by_id) == ("equal", members[1].pk)
        shares = list(expense.shares.all())
        assert len(shares) == 3 and sum(s.amount for s in shares) == expense.amount
        assert sum(s.base_amount for s in shares) == expense.base_amount


def test_bulk_split_does_nothing_in_a_personal_book(db, user):
    expense_in(user.personal_book, user)
    assert (
        expenses_split_new(book=user.personal_book, by_user_id=user.pk, expenses=Expense.objects)
        == 0
    )
    assert not ExpenseShare.objects.exists()


def test_base_parts_are_reallocated_in_the_new_base_currencys_units(household):
    book, members = household
    expense = expense_in(book, members[0], "10.00")
    expense_split_apply(expense=expense, by_user_id=members[0].pk)
    # The converter has set the new base amount (1600 JPY); the book still says EUR.
    Expense.objects.filter(pk=expense.pk).update(base_amount=D(1600))
    assert shares_recompute_base(book=book, base_currency="JPY") == 3
    # The odd yen goes to the part at position (expense id mod 3), as in split_compute.
    expected = [D(533)] * 3
    expected[expense.pk % 3] = D(534)
    assert list(expense.shares.values_list("base_amount", flat=True)) == expected


def test_split_reset_and_a_departed_payer(household):
    book, members = household
    expense = expense_in(book, members[0])
    expense_split_apply(
        expense=expense,
        by_user_id=members[0].pk,
        paid_by=members[2].pk,
        split={"mode": "exact", "parts": [{"user": members[1].pk, "value": D(10)}]},
    )
    assert [s.user_id for s in expense.shares.all()] == [members[1].pk]
    Membership.objects.filter(book=book, user=members[2]).delete()
    expense_split_apply(
        expense=expense, by_user_id=members[0].pk, paid_by=members[2].pk, split_reset=True
    )
    expense.refresh_from_db()
    assert (expense.paid_by_id, expense.split_mode) == (members[2].pk, "equal")
    assert [s.user_id for s in expense.shares.all()] == [members[0].pk, members[1].pk]
    other = expense_in(book, members[0])
    with pytest.raises(SplitError) as refused:
        expense_split_apply(expense=other, by_user_id=members[0].pk, paid_by=members[2].pk)
    assert refused.value.field == "paid_by"


def test_base_reallocation_rotates_like_split_compute_with_a_deleted_accounts_part(household):
    """After a base-currency change the odd units land where `split_compute` (with the
    expense id as rotation) puts them, a deleted account's part (user null) counting first,
    as its stand-in id below zero does, on SQLite and PostgreSQL alike."""
    book, members = household
    expense = expense_in(book, members[0], "9.99")
    expense_split_apply(expense=expense, by_user_id=members[0].pk)
    ExpenseShare.objects.filter(expense=expense, user=members[2]).update(user=None)
    # 1000 JPY in proportion to 3.33 / 3.33 / 3.33: one odd yen among three equal parts.
    Expense.objects.filter(pk=expense.pk).update(base_amount=D(1000))
    assert shares_recompute_base(book=book, base_currency="JPY") == 3
    computed = split_compute(
        mode="equal",
        parts=None,
        amount=D("9.99"),
        currency="EUR",
        base_amount=D(1000),
        base_currency="JPY",
        member_ids=[-1, members[0].pk, members[1].pk],
        rotation=expense.pk,
    )
    expected = {(p.user_id if p.user_id > 0 else None): p.base_amount for p in computed}
    assert sorted(expected.values()) == [D(333), D(333), D(334)]
    stored = dict(expense.shares.values_list("user_id", "base_amount"))
    assert stored == expected
