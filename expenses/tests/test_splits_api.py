"""Splits on shared-book expenses through the API (SPEC §15): who paid, how the amount
divides, what every kind of bad split answers, and how edits re-split."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from books.models import Membership, Role
from currencies.models import ExchangeRate
from expenses.models import Expense, ExpenseShare
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

RATES = {"USD": "1.1", "JPY": "160", "KWD": "0.33", "GBP": "0.85"}


@pytest.fixture
def rates():
    for quote, rate in RATES.items():
        ExchangeRate.objects.create(base="EUR", quote=quote, date=date(2026, 1, 1), rate=rate)


@pytest.fixture
def trio(shared_book, user, other_user):
    third = UserFactory()
    book = shared_book(editors=[other_user, third], base_currency="EUR")
    return book, [user, other_user, third]


@pytest.fixture
def outsider():
    return UserFactory()


def url(book, pk=None):
    base = f"/api/v1/books/{book.pk}/expenses/"
    return f"{base}{pk}/" if pk else base


def body(amount="10.00", **extra):
    return {"amount": amount, "date": "2026-03-01", "description": "Pizza", **extra}


def parts_of(people, *values):
    return [
        {"user": person.pk, "value": value}
        for person, value in zip(people, values, strict=False)
        if value is not None
    ]


def create(client, book, **extra):
    response = client.post(url(book), body(**extra), format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def stored(expense_id):
    return list(
        ExpenseShare.objects.filter(expense_id=expense_id)
        .order_by("user_id")
        .values_list("user_id", "value", "amount", "base_amount")
    )


def amounts(answer):
    return [(part["user"], part["amount"]) for part in answer["split"]["parts"]]


def odd_units(expense_id, floor, raised, size, units=1):
    """The parts of a split of `size` equal dropped fractions (parts ordered by user id):
    `units` odd units raise `floor` to `raised`, one each from position (expense id mod
    size) and going round."""
    parts = [floor] * size
    for step in range(units):
        parts[(expense_id + step) % size] = raised
    return parts


def assert_sums(answer):
    parts = answer["split"]["parts"]
    assert sum(Decimal(part["amount"]) for part in parts) == Decimal(answer["amount"])
    assert sum(Decimal(part["base_amount"]) for part in parts) == Decimal(answer["base_amount"])


# --- creating -----------------------------------------------------------------------------


def test_default_is_equal_among_members_paid_by_caller(auth_client, trio):
    book, people = trio
    answer = create(auth_client, book)
    assert answer["paid_by"] == people[0].pk
    assert answer["split"]["mode"] == "equal"
    # 10.00 / 3: the odd cent goes to the part at position (expense id mod 3).
    expected = odd_units(answer["id"], "3.33", "3.34", 3)
    assert [part["amount"] for part in answer["split"]["parts"]] == expected
    assert [part["user"] for part in answer["split"]["parts"]] == sorted(p.pk for p in people)
    assert [row[2] for row in stored(answer["id"])] == [Decimal(a) for a in expected]


@pytest.mark.parametrize(
    "mode, values, expected",
    [
        ("equal", (None, "", ""), None),
        ("shares", ("1", "2", None), ["3.33", "6.67"]),
        ("exact", ("2.50", "0", "7.50"), ["2.50", "0.00", "7.50"]),
        ("percent", ("12.5", "12.5", "75"), ["1.25", "1.25", "7.50"]),
    ],
)
def test_each_mode_divides_the_amount_exactly(auth_client, trio, mode, values, expected):
    book, people = trio
    if mode == "equal":  # equal among two of the three: parts name them, without values
        split = {"mode": "equal", "parts": [{"user": people[1].pk}, {"user": people[2].pk}]}
        expected = ["5.00", "5.00"]
    else:
        split = {"mode": mode, "parts": parts_of(people, *values)}
    answer = create(auth_client, book, split=split, paid_by=people[1].pk)
    assert answer["paid_by"] == people[1].pk
    assert answer["split"]["mode"] == mode
    assert [part["amount"] for part in answer["split"]["parts"]] == expected
    assert_sums(answer)
    assert Expense.objects.get(pk=answer["id"]).paid_by_id == people[1].pk
    assert len(stored(answer["id"])) == len(expected)


def test_an_editor_splits_a_viewer_gets_403_an_outsider_404(client_for, trio, user, outsider):
    book, people = trio
    viewer = UserFactory()
    Membership.objects.create(book=book, user=viewer, role=Role.VIEWER)
    split = {"mode": "shares", "parts": parts_of(people, "1", "1", "2")}
    answer = create(client_for(people[1]), book, split=split)
    assert answer["paid_by"] == people[1].pk
    assert [part["amount"] for part in answer["split"]["parts"]] == ["2.50", "2.50", "5.00"]

    for client, status in ((client_for(viewer), 403), (client_for(outsider), 404)):
        before = stored(answer["id"])
        created = client.post(url(book), body(split=split), format="json")
        changed = client.patch(url(book, answer["id"]), {"split": None}, format="json")
        assert (created.status_code, changed.status_code) == (status, status)
        assert Expense.objects.count() == 1 and stored(answer["id"]) == before
    # The viewer is a member: they may be named in a split and as the payer.
    named = create(
        client_for(user),
        book,
        paid_by=viewer.pk,
        split={"mode": "equal", "parts": [{"user": viewer.pk}]},
    )
    assert named["paid_by"] == viewer.pk and amounts(named) == [(viewer.pk, "10.00")]


# --- every refusal names its field and writes nothing ------------------------------------


def _bad_splits(people, outsider):
    a, b, _ = (person.pk for person in people)
    many = [{"user": n, "value": "1"} for n in range(1, 202)]
    return {
        "unknown mode": ({"mode": "halves"}, "split"),
        "mode missing": ({"parts": [{"user": a}]}, "split"),
        "not an object": ("equal", "split"),
        "parts not a list": ({"mode": "equal", "parts": {"user": a}}, "split"),
        "part not an object": ({"mode": "equal", "parts": [a]}, "split"),
        "part without user": ({"mode": "shares", "parts": [{"value": "1"}]}, "split"),
        "unknown key in a part": ({"mode": "equal", "parts": [{"user": a, "x": 1}]}, "split"),
        "read-only amount in a part": (
            {"mode": "equal", "parts": [{"user": a, "amount": "10.00"}]},
            "split",
        ),
        "non-member": ({"mode": "equal", "parts": [{"user": outsider.pk}]}, "split"),
        "unknown user id": ({"mode": "equal", "parts": [{"user": 10**12}]}, "split"),
        "duplicate": ({"mode": "equal", "parts": [{"user": a}, {"user": a}]}, "split"),
        "shares missing a value": (
            {"mode": "shares", "parts": [{"user": a, "value": "1"}, {"user": b}]},
            "split",
        ),
        "exact missing a value": ({"mode": "exact", "parts": [{"user": a}]}, "split"),
        "percent without parts": ({"mode": "percent"}, "split"),
        "value not a number": ({"mode": "shares", "parts": [{"user": a, "value": "x"}]}, "split"),
        "value a boolean": ({"mode": "shares", "parts": [{"user": a, "value": True}]}, "split"),
        "shares zero": ({"mode": "shares", "parts": parts_of(people, "0", "1")}, "split"),
        "shares negative": ({"mode": "shares", "parts": parts_of(people, "-1", "2")}, "split"),
        "shares too big": ({"mode": "shares", "parts": parts_of(people, "1000001")}, "split"),
        "exact short": ({"mode": "exact", "parts": parts_of(people, "4", "5")}, "split"),
        "exact over": ({"mode": "exact", "parts": parts_of(people, "4", "5", "2")}, "split"),
        "exact negative": ({"mode": "exact", "parts": parts_of(people, "12", "-2")}, "split"),
        "exact EUR 3 decimals": (
            {"mode": "exact", "parts": parts_of(people, "3.335", "6.665")},
            "split",
        ),
        "percent short": ({"mode": "percent", "parts": parts_of(people, "50", "40")}, "split"),
        "percent negative": (
            {"mode": "percent", "parts": parts_of(people, "150", "-50")},
            "split",
        ),
        "percent 7 decimals": (
            {"mode": "percent", "parts": parts_of(people, "33.3333333", "66.6666667")},
            "split",
        ),
        "too many parts": ({"mode": "shares", "parts": many}, "split"),
        "paid_by non-member": ({"paid_by": outsider.pk}, "paid_by"),
        "paid_by not a number": ({"paid_by": "me"}, "paid_by"),
        "paid_by zero": ({"paid_by": 0}, "paid_by"),
        "unknown payer id": ({"paid_by": 10**12}, "paid_by"),
    }


# The names of `_bad_splits`' cases (pytest ids; the test below checks they are all here).
CASES = [
    "unknown mode",
    "mode missing",
    "not an object",
    "parts not a list",
    "part not an object",
    "part without user",
    "unknown key in a part",
    "read-only amount in a part",
    "non-member",
    "unknown user id",
    "duplicate",
    "shares missing a value",
    "exact missing a value",
    "percent without parts",
    "value not a number",
    "value a boolean",
    "shares zero",
    "shares negative",
    "shares too big",
    "exact short",
    "exact over",
    "exact negative",
    "exact EUR 3 decimals",
    "percent short",
    "percent negative",
    "percent 7 decimals",
    "too many parts",
    "paid_by non-member",
    "paid_by not a number",
    "paid_by zero",
    "unknown payer id",
]


def _request_part(case, field):
    return {"split": case} if field == "split" else case


@pytest.mark.parametrize("name", CASES)
def test_a_bad_split_on_create_is_a_400_naming_it_and_writes_nothing(
    auth_client, trio, outsider, name
):
    book, people = trio
    cases = _bad_splits(people, outsider)
    assert set(cases) == set(CASES)
    case, field = cases[name]
    response = auth_client.post(url(book), body(**_request_part(case, field)), format="json")
    assert response.status_code == 400, response.json()
    assert list(response.json()) == [field], response.json()
    assert not Expense.objects.exists() and not ExpenseShare.objects.exists()


@pytest.mark.parametrize("name", CASES)
def test_a_bad_split_on_update_is_a_400_and_changes_nothing(auth_client, trio, outsider, name):
    book, people = trio
    answer = create(auth_client, book)
    before = stored(answer["id"])
    case, field = _bad_splits(people, outsider)[name]
    for method in (auth_client.patch, auth_client.put):
        response = method(
            url(book, answer["id"]),
            body(amount="20.00", **_request_part(case, field)),
            format="json",
        )
        assert response.status_code == 400, response.json()
        assert list(response.json()) == [field], response.json()
    expense = Expense.objects.get(pk=answer["id"])
    assert (expense.amount, expense.paid_by_id, expense.split_mode) == (
        Decimal("10.00"),
        people[0].pk,
        "equal",
    )
    assert stored(answer["id"]) == before


@pytest.mark.parametrize(
    "currency, amount, good, bad",
    [
        ("JPY", "1000", ("333", "667"), ("333.5", "666.5")),
        ("KWD", "1.000", ("0.333", "0.667"), ("0.3335", "0.6665")),
        ("USD", "10.00", ("3.33", "6.67"), ("3.333", "6.667")),
    ],
)
def test_exact_parts_take_the_currencys_decimal_places(
    auth_client, trio, rates, currency, amount, good, bad
):
    book, people = trio
    refused = auth_client.post(
        url(book),
        body(
            amount=amount,
            currency=currency,
            split={"mode": "exact", "parts": parts_of(people, *bad)},
        ),
        format="json",
    )
    assert refused.status_code == 400
    assert f"{currency} amounts allow at most" in refused.json()["split"][0]
    assert not ExpenseShare.objects.exists()
    answer = create(
        auth_client,
        book,
        amount=amount,
        currency=currency,
        split={"mode": "exact", "parts": parts_of(people, *good)},
    )
    assert [part["amount"] for part in answer["split"]["parts"]] == list(good)
    assert [part["value"] for part in answer["split"]["parts"]] == list(good)
    assert_sums(answer)


def test_equal_split_in_a_zero_decimal_currency_gives_whole_units(auth_client, trio, rates):
    book, _ = trio
    answer = create(auth_client, book, amount="1000", currency="JPY")
    expected = odd_units(answer["id"], "333", "334", 3)
    assert [part["amount"] for part in answer["split"]["parts"]] == expected
    assert_sums(answer)


def test_personal_book_refuses_a_payer_or_a_split_but_takes_their_null(auth_client, user):
    for extra, field in (
        ({"paid_by": user.pk}, "paid_by"),
        ({"split": {"mode": "equal"}}, "split"),
        ({"split": {"mode": "bogus"}}, "split"),
    ):
        response = auth_client.post("/api/v1/expenses/", body(**extra), format="json")
        assert response.status_code == 400
        assert list(response.json()) == [field], response.json()
    assert not Expense.objects.exists()
    answer = auth_client.post(
        "/api/v1/expenses/", body(paid_by=None, split=None), format="json"
    ).json()
    assert (answer["paid_by"], answer["split"]) == (None, None)
    # What GET shows can be sent back (the read-only fields aside).
    shown = auth_client.get(f"/api/v1/expenses/{answer['id']}/").json()
    writable = {k: shown[k] for k in ("amount", "date", "description", "paid_by", "split")}
    assert auth_client.put(f"/api/v1/expenses/{answer['id']}/", writable).status_code == 200
    patched = auth_client.patch(
        f"/api/v1/expenses/{answer['id']}/", {"paid_by": user.pk}, format="json"
    )
    assert patched.status_code == 400 and list(patched.json()) == ["paid_by"]
    assert not ExpenseShare.objects.exists()


# --- editing -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "split, after",
    [
        # 7.01 / 3 = 2.33⅔ each: two odd cents, from position (expense id mod 3).
        ({"mode": "equal"}, ("2.33", "2.34", 3, 2)),
        ({"mode": "shares", "values": ("1", "2", "3")}, ["1.17", "2.34", "3.50"]),  # no tie
        ({"mode": "percent", "values": ("50", None, "50")}, ("3.50", "3.51", 2, 1)),
    ],
)
def test_a_new_amount_resplits_by_the_same_rule(auth_client, trio, split, after):
    book, people = trio
    asked = {"mode": split["mode"]}
    if "values" in split:
        asked["parts"] = parts_of(people, *split["values"])
    created = create(auth_client, book, split=asked)
    values = [part["value"] for part in created["split"]["parts"]]
    if isinstance(after, tuple):
        after = odd_units(created["id"], *after)
    response = auth_client.patch(url(book, created["id"]), {"amount": "7.01"}, format="json")
    assert response.status_code == 200, response.json()
    answer = response.json()
    assert answer["split"]["mode"] == split["mode"]
    assert [part["value"] for part in answer["split"]["parts"]] == values
    assert [part["amount"] for part in answer["split"]["parts"]] == after
    assert_sums(answer)
    assert [row[2] for row in stored(answer["id"])] == [Decimal(a) for a in after]


def test_an_exact_split_needs_new_parts_for_a_new_amount(auth_client, trio):
    book, people = trio
    created = create(
        auth_client, book, split={"mode": "exact", "parts": parts_of(people, "4.00", "6.00")}
    )
    before = stored(created["id"])
    response = auth_client.patch(url(book, created["id"]), {"amount": "12.00"}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["split"]
    assert "send `split` with new parts" in response.json()["split"][0]
    assert Expense.objects.get(pk=created["id"]).amount == Decimal("10.00")
    assert stored(created["id"]) == before

    new_parts = {"mode": "exact", "parts": parts_of(people, "5.00", "7.00")}
    response = auth_client.patch(
        url(book, created["id"]), {"amount": "12.00", "split": new_parts}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert [part["amount"] for part in response.json()["split"]["parts"]] == ["5.00", "7.00"]
    # A change that keeps the sum (the date) re-splits without new parts.
    moved = auth_client.patch(url(book, created["id"]), {"date": "2026-03-02"}, format="json")
    assert moved.status_code == 200
    assert [part["amount"] for part in moved.json()["split"]["parts"]] == ["5.00", "7.00"]


def test_a_new_currency_resplits_in_it(auth_client, trio, rates):
    book, people = trio
    created = create(
        auth_client, book, split={"mode": "shares", "parts": parts_of(people, "1", "1", "1")}
    )
    response = auth_client.patch(
        url(book, created["id"]), {"amount": "1000", "currency": "JPY"}, format="json"
    )
    assert response.status_code == 200, response.json()
    answer = response.json()
    assert answer["currency"] == "JPY" and answer["split"]["mode"] == "shares"
    expected = odd_units(answer["id"], "333", "334", 3)
    assert [part["amount"] for part in answer["split"]["parts"]] == expected
    assert answer["base_amount"] == "6.25"  # 1000 / 160
    # The base parts follow: the odd euro cent goes with the odd yen.
    expected = odd_units(answer["id"], "2.08", "2.09", 3)
    assert [part["base_amount"] for part in answer["split"]["parts"]] == expected
    assert_sums(answer)

    exact = create(
        auth_client, book, split={"mode": "exact", "parts": parts_of(people, "3.50", "6.50")}
    )
    # 10.00 EUR → 10 JPY: the sum still matches but JPY has no cents.
    refused = auth_client.patch(
        url(book, exact["id"]), {"amount": "10", "currency": "JPY"}, format="json"
    )
    assert refused.status_code == 400 and list(refused.json()) == ["split"]
    assert "JPY amounts allow at most 0 decimal places" in refused.json()["split"][0]
    assert Expense.objects.get(pk=exact["id"]).currency == "EUR"


def test_put_without_split_keeps_it_and_null_goes_back_to_the_books_default(auth_client, trio):
    book, people = trio
    created = create(
        auth_client,
        book,
        paid_by=people[2].pk,
        split={"mode": "percent", "parts": parts_of(people, "20", "80")},
    )
    replaced = auth_client.put(
        url(book, created["id"]), body(amount="20.00", description="Pizza x2"), format="json"
    )
    assert replaced.status_code == 200, replaced.json()
    answer = replaced.json()
    assert answer["paid_by"] == people[2].pk  # absent: kept
    assert answer["split"]["mode"] == "percent"
    assert amounts(answer) == [(people[0].pk, "4.00"), (people[1].pk, "16.00")]

    # paid_by: null is "not sent" (what a personal book shows): the payer stays.
    kept = auth_client.patch(url(book, created["id"]), {"paid_by": None}, format="json")
    assert kept.status_code == 200 and kept.json()["paid_by"] == people[2].pk

    reset = auth_client.patch(url(book, created["id"]), {"split": None}, format="json")
    assert reset.status_code == 200, reset.json()
    answer = reset.json()
    assert answer["split"]["mode"] == "equal"
    # 20.00 / 3 = 6.66⅔ each: two odd cents, from position (expense id mod 3).
    expected = odd_units(created["id"], "6.66", "6.67", 3, units=2)
    assert amounts(answer) == [(p.pk, a) for p, a in zip(people, expected, strict=True)]
    assert answer["paid_by"] == people[2].pk
    assert Expense.objects.get(pk=created["id"]).split_mode == "equal"

    # The book's own default (fixed shares), set by its owner, is what null goes back to.
    book.default_split = {
        "mode": "shares",
        "parts": [{"user": people[0].pk, "value": "3"}, {"user": people[1].pk, "value": "1"}],
    }
    book.save(update_fields=["default_split"])
    reset = auth_client.put(url(book, created["id"]), body(split=None), format="json").json()
    assert reset["split"]["mode"] == "shares"
    assert amounts(reset) == [(people[0].pk, "7.50"), (people[1].pk, "2.50")]


def test_changing_only_the_payer_keeps_the_parts(auth_client, trio):
    book, people = trio
    created = create(
        auth_client, book, split={"mode": "shares", "parts": parts_of(people, "1", "3")}
    )
    share_ids = list(
        ExpenseShare.objects.filter(expense_id=created["id"]).values_list("pk", flat=True)
    )
    response = auth_client.patch(url(book, created["id"]), {"paid_by": people[1].pk}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["paid_by"] == people[1].pk
    assert response.json()["split"] == created["split"]
    assert Expense.objects.get(pk=created["id"]).paid_by_id == people[1].pk
    assert (
        list(ExpenseShare.objects.filter(expense_id=created["id"]).values_list("pk", flat=True))
        == share_ids
    )


def test_a_payer_who_left_stays_until_changed_and_cannot_be_named_again(auth_client, trio):
    book, people = trio
    created = create(auth_client, book, paid_by=people[2].pk)
    Membership.objects.filter(book=book, user=people[2]).delete()
    # A full round trip of the expense still works: the payer and their part stay.
    shown = auth_client.get(url(book, created["id"])).json()
    again = auth_client.put(
        url(book, created["id"]),
        body(amount="20.00", paid_by=shown["paid_by"]),
        format="json",
    )
    assert again.status_code == 200, again.json()
    assert again.json()["paid_by"] == people[2].pk
    assert [part["user"] for part in again.json()["split"]["parts"]] == [p.pk for p in people]
    assert_sums(again.json())
    # ...but they cannot be made the payer or given a part of anything else.
    other = create(auth_client, book)
    assert [part["user"] for part in other["split"]["parts"]] == [people[0].pk, people[1].pk]
    for extra, field in (
        ({"paid_by": people[2].pk}, "paid_by"),
        ({"split": {"mode": "equal", "parts": [{"user": people[2].pk}]}}, "split"),
    ):
        refused = auth_client.patch(url(book, other["id"]), extra, format="json")
        assert refused.status_code == 400 and list(refused.json()) == [field]


def test_a_deleted_accounts_part_keeps_its_place_on_a_resplit(auth_client, trio):
    book, people = trio
    created = create(
        auth_client, book, split={"mode": "percent", "parts": parts_of(people, "50", "25", "25")}
    )
    # What deleting the account (once settled) leaves: the part, without its user.
    ExpenseShare.objects.filter(user=people[2]).update(user=None)
    response = auth_client.patch(url(book, created["id"]), {"amount": "20.00"}, format="json")
    assert response.status_code == 200, response.json()
    parts = response.json()["split"]["parts"]
    assert sorted((part["user"] or 0, part["amount"]) for part in parts) == sorted(
        [(people[0].pk, "10.00"), (people[1].pk, "5.00"), (0, "5.00")]
    )
    assert_sums(response.json())


# --- currencies --------------------------------------------------------------------------


def test_a_foreign_currency_expense_splits_its_base_amount_exactly(auth_client, trio, rates):
    book, people = trio
    answer = create(auth_client, book, amount="10.00", currency="USD")
    assert answer["base_amount"] == "9.09"  # 10 / 1.1
    expected = odd_units(answer["id"], "3.33", "3.34", 3)
    assert [part["amount"] for part in answer["split"]["parts"]] == expected
    # 9.09 in proportion to 3.34/3.33/3.33: 3.0361, 3.0270, 3.0270: the two 3.33 parts
    # have the larger dropped fractions, wherever the 3.34 is.
    assert [part["base_amount"] for part in answer["split"]["parts"]] == ["3.03", "3.03", "3.03"]
    assert_sums(answer)
    kwd = create(
        auth_client,
        book,
        amount="1.000",
        currency="KWD",
        split={"mode": "shares", "parts": parts_of(people, "1", "1", "1")},
    )
    expected = odd_units(kwd["id"], "0.333", "0.334", 3)
    assert [part["amount"] for part in kwd["split"]["parts"]] == expected
    assert_sums(kwd)


@pytest.mark.parametrize("to_currency", ["JPY", "USD", "KWD"])
def test_a_new_base_currency_of_the_book_reallocates_the_base_parts(
    auth_client, trio, rates, to_currency
):
    book, people = trio
    created = [
        create(auth_client, book, amount=amount, split=split)
        for amount, split in (
            ("10.00", None),
            ("0.10", {"mode": "shares", "parts": parts_of(people, "1", "1", "5")}),
            ("99.99", {"mode": "percent", "parts": parts_of(people, "33.3", "33.3", "33.4")}),
        )
    ]
    created.append(create(auth_client, book, amount="15.00", currency="GBP"))
    response = auth_client.patch(
        f"/api/v1/books/{book.pk}/", {"base_currency": to_currency}, format="json"
    )
    assert response.status_code == 200, response.json()
    places = {"JPY": 0, "USD": 2, "KWD": 3}[to_currency]
    for before in created:
        answer = auth_client.get(url(book, before["id"])).json()
        assert_sums(answer)
        assert [part["amount"] for part in answer["split"]["parts"]] == amounts_only(before)
        for share in ExpenseShare.objects.filter(expense_id=before["id"]):
            assert share.base_amount == share.base_amount.quantize(Decimal(1).scaleb(-places))
        expense = Expense.objects.get(pk=before["id"])
        total = sum(s.base_amount for s in ExpenseShare.objects.filter(expense=expense))
        assert total == expense.base_amount


def amounts_only(answer):
    return [part["amount"] for part in answer["split"]["parts"]]


# --- reading -----------------------------------------------------------------------------


def test_the_list_takes_the_same_queries_for_1_or_20_split_expenses(auth_client, trio):
    book, people = trio
    create(auth_client, book)

    def list_queries():
        with CaptureQueriesContext(connection) as queries:
            response = auth_client.get(url(book))
        assert response.status_code == 200
        return len(queries), response.json()["results"]

    one, results = list_queries()
    assert len(results) == 1 and len(results[0]["split"]["parts"]) == 3
    for n in range(19):
        split = {"mode": "shares", "parts": parts_of(people, "1", str(n + 1))}
        create(auth_client, book, split=split, paid_by=people[n % 3].pk)
    twenty, results = list_queries()
    assert len(results) == 20 and all(result["split"]["parts"] for result in results)
    assert twenty == one


def test_the_schema_shows_the_split_request_and_response_shapes(api_client):
    schema = api_client.get("/api/v1/schema/?format=json").json()
    components = schema["components"]["schemas"]
    expense, request = components["Expense"]["properties"], components["ExpenseRequest"]
    assert expense["paid_by"]["nullable"] and expense["paid_by"]["type"] == "integer"
    assert request["properties"]["paid_by"]["nullable"]
    assert _ref(expense["split"]) == "#/components/schemas/Split"
    assert _ref(request["properties"]["split"]) == "#/components/schemas/SplitRequest"
    split, split_request = components["Split"], components["SplitRequest"]
    assert split["properties"]["mode"] == split_request["properties"]["mode"]
    parts = _component(components, split["properties"]["parts"]["items"])
    request_parts = _component(components, split_request["properties"]["parts"]["items"])
    assert {"user", "value", "amount", "base_amount"} <= set(parts["properties"])
    assert set(request_parts["properties"]) == {"user", "value"}
    assert request_parts["required"] == ["user"] and split_request["required"] == ["mode"]
    create = schema["paths"]["/api/v1/books/{book_id}/expenses/"]["post"]["description"]
    assert "`paid_by`" in create and "`split`" in create


def _ref(schema):
    if "$ref" in schema:
        return schema["$ref"]
    return next(
        item["$ref"] for item in schema.get("allOf", schema.get("oneOf", [])) if "$ref" in item
    )


def _component(components, schema):
    return components[schema["$ref"].rsplit("/", 1)[1]] if "$ref" in schema else schema
