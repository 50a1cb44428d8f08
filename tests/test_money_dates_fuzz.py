"""Generated money and date inputs sent to every entry point that takes them.

One number grammar (`core.money.parse_money`) and one supported date range
(`core.dates.MIN_DATE`..`MAX_DATE`) hold everywhere: request bodies, query filters,
report parameters, rates, conversion and backup restore. For every generated input:
never a 5xx; a valid value is accepted and comes back exactly (0-4 minor units); an
invalid one is a 400 naming the field or parameter, and nothing is stored.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import Group
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.dates import MAX_DATE, MIN_DATE
from core.money import MAX_AMOUNT
from currencies.tests.factories import ExchangeRateFactory
from expenses.models import Expense
from goals.tests.factories import GoalFactory
from income.models import Income
from recurring.models import RecurringItem
from tests.fuzz_depth import examples
from users.roles import ADMIN
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

API = "/api/v1"
FUZZ = settings(
    max_examples=examples(40),
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
# Currencies with 0, 2, 3 and 4 minor units.
CURRENCIES = {"JPY": 0, "USD": 2, "KWD": 3, "CLF": 4}
EXTREME_DATES = [
    date(1, 1, 1),
    date(1899, 12, 31),
    MIN_DATE,
    MAX_DATE,
    date(2200, 1, 1),
    date(9999, 12, 31),
]

# --- strategies ----------------------------------------------------------------------

huge_exponents = st.one_of(
    st.sampled_from(["1e1000000", "1E+999999", "-1e-1000000", "9e99", "1e3", "1E-2"]),
    st.builds(lambda m, e: f"{m}e{e}", st.integers(1, 9), st.integers(-(10**7), 10**7)),
)
underscores = st.builds(lambda a, b: f"{a}_{b:03d}", st.integers(1, 999), st.integers(0, 999))
non_ascii_digits = st.text(
    alphabet=st.characters(categories=["Nd"]).filter(lambda c: not c.isascii()),
    min_size=1,
    max_size=6,
)
too_many_digits = st.one_of(
    st.integers(25, 60).map(lambda n: "1" * n),
    st.integers(25, 40).map(lambda n: "0." + "1" * n),
)
malformed = st.sampled_from(
    ["NaN", "Infinity", "-Infinity", "", " ", "1.2.3", "12,50", "0x10", "1 000", "+-1", "١.٥"]
)
bad_numbers = st.one_of(huge_exponents, underscores, non_ascii_digits, too_many_digits, malformed)
# Raw JSON numbers (not strings) that the strict parser turns into huge Decimals.
raw_json_numbers = st.one_of(
    st.sampled_from(["1e1000000", "1E+999999", "-1e-1000000", "1e28", "1" * 40]),
    st.builds(lambda e: f"1e{e}", st.integers(25, 10**6)),
)
any_date = st.one_of(st.sampled_from(EXTREME_DATES), st.dates())


def valid_amount(places: int) -> st.SearchStrategy[str]:
    """A positive amount of at most MAX_AMOUNT with exactly `places` decimals."""
    unit = 10**places
    return st.integers(1, int(MAX_AMOUNT) * unit).map(
        lambda n: format(Decimal(n).scaleb(-places), "f")
    )


currency_and_amount = st.sampled_from(sorted(CURRENCIES)).flatmap(
    lambda code: st.tuples(st.just(code), valid_amount(CURRENCIES[code]))
)


def in_range(day: date) -> bool:
    return MIN_DATE <= day <= MAX_DATE


def body(response: Any) -> Any:
    assert response["Content-Type"].startswith("application/json"), response.content[:200]
    return response.json()


def named(response: Any, *path: str) -> Any:
    """The error under `path`, asserting a 400 that names it."""
    assert response.status_code == 400, (response.status_code, response.content[:300])
    node = body(response)
    for key in path:
        assert isinstance(node, dict) and key in node, (path, node)
        node = node[key]
    assert node
    return node


@pytest.fixture
def rates(db):
    for code in ("JPY", "KWD", "CLF"):
        ExchangeRateFactory(
            base=code, quote="USD", date=date(1900, 1, 1), rate=Decimal("1.5"), source="test"
        )


@pytest.fixture
def admin_client(client_for):
    admin = UserFactory()
    admin.groups.add(Group.objects.get_or_create(name=ADMIN)[0])
    return client_for(admin)


@pytest.fixture
def goal(user):
    return GoalFactory(user=user)


# --- money in request bodies -----------------------------------------------------------


def money_bodies(goal_id: int) -> dict[str, tuple[str, Callable[[str], dict[str, Any]]]]:
    """entry point → (url, body with the number under test at the field of that name)."""
    return {
        "expense.amount": (
            f"{API}/expenses/",
            lambda n: {"amount": n, "date": "2026-01-01", "description": "x"},
        ),
        "income.amount": (
            f"{API}/incomes/",
            lambda n: {"amount": n, "date": "2026-01-01", "description": "x"},
        ),
        "budget.amount": (
            f"{API}/budgets/",
            lambda n: {"month": "2026-01", "scope": "overall", "amount": n},
        ),
        "budget.warn_threshold": (
            f"{API}/budgets/",
            lambda n: {"month": "2026-02", "scope": "overall", "amount": "5", "warn_threshold": n},
        ),
        "goal.target_amount": (f"{API}/goals/", lambda n: {"name": "g", "target_amount": n}),
        "contribution.amount": (
            f"{API}/goals/{goal_id}/contributions/",
            lambda n: {"amount": n, "date": "2026-01-01"},
        ),
        "recurring.amount": (
            f"{API}/recurring/",
            lambda n: {
                "kind": "expense",
                "amount": n,
                "description": "x",
                "frequency": "monthly",
                "start_date": "2026-01-01",
            },
        ),
    }


ENTRY_POINTS = sorted(money_bodies(0))


def _stored_counts(user: Any) -> tuple[int, int, int]:
    return (
        Expense.objects.filter(user=user).count(),
        Income.objects.filter(user=user).count(),
        RecurringItem.objects.filter(user=user).count(),
    )


@FUZZ
@given(number=bad_numbers, entry=st.sampled_from(ENTRY_POINTS))
def test_bad_numbers_in_any_money_field_are_a_400_naming_it(auth_client, user, goal, number, entry):
    url, build = money_bodies(goal.pk)[entry]
    field = entry.split(".")[1]
    before = _stored_counts(user)

    response = auth_client.post(url, build(number), format="json")

    named(response, field)
    assert _stored_counts(user) == before


@FUZZ
@given(number=raw_json_numbers, entry=st.sampled_from(ENTRY_POINTS))
def test_raw_json_numbers_with_huge_exponents_are_a_400_naming_the_field(
    auth_client, user, goal, number, entry
):
    url, build = money_bodies(goal.pk)[entry]
    field = entry.split(".")[1]
    raw = json.dumps(build("PLACEHOLDER")).replace('"PLACEHOLDER"', number)

    response = auth_client.post(url, raw, content_type="application/json")

    named(response, field)


@FUZZ
@given(pair=currency_and_amount, kind=st.sampled_from(["expenses", "incomes", "recurring"]))
def test_valid_amounts_of_0_to_4_minor_units_round_trip(auth_client, rates, pair, kind):
    currency, amount = pair
    payload: dict[str, Any] = {
        "amount": amount,
        "currency": currency,
        "date": "2026-01-01",
        "description": "x",
    }
    if kind == "recurring":
        payload.update(kind="expense", frequency="monthly", start_date="2026-01-01")
        del payload["date"]

    created = auth_client.post(f"{API}/{kind}/", payload, format="json")

    assert created.status_code == 201, created.content
    assert created.json()["amount"] == amount
    read = auth_client.get(f"{API}/{kind}/{created.json()['id']}/")
    assert read.json()["amount"] == amount


@FUZZ
@given(pair=currency_and_amount, kind=st.sampled_from(["expenses", "incomes", "recurring"]))
def test_one_decimal_more_than_the_currency_allows_is_a_400(auth_client, rates, pair, kind):
    currency, amount = pair
    too_precise = (
        amount + ("1" if "." in amount else ".1") if CURRENCIES[currency] else amount + ".5"
    )
    payload: dict[str, Any] = {
        "amount": too_precise,
        "currency": currency,
        "description": "x",
        "date": "2026-01-01",
    }
    if kind == "recurring":
        payload.update(kind="expense", frequency="monthly", start_date="2026-01-01")
        del payload["date"]

    response = auth_client.post(f"{API}/{kind}/", payload, format="json")

    named(response, "amount")


@FUZZ
@given(pair=currency_and_amount)
def test_base_currency_amounts_of_0_to_4_minor_units_round_trip(client_for, pair):
    currency, amount = pair
    client = client_for(UserFactory(base_currency=currency))

    budget = client.post(
        f"{API}/budgets/", {"month": "2026-01", "scope": "overall", "amount": amount}, format="json"
    )
    goal = client.post(f"{API}/goals/", {"name": "g", "target_amount": amount}, format="json")
    assert budget.status_code == 201, budget.content
    assert goal.status_code == 201, goal.content
    contribution = client.post(
        f"{API}/goals/{goal.json()['id']}/contributions/",
        {"amount": amount, "date": "2026-01-01"},
        format="json",
    )

    assert contribution.status_code == 201, contribution.content
    assert budget.json()["amount"] == goal.json()["target_amount"] == amount
    assert contribution.json()["amount"] == amount
    assert client.get(f"{API}/budgets/{budget.json()['id']}/").json()["amount"] == amount


# --- money in query strings and rates --------------------------------------------------


@FUZZ
@given(
    number=bad_numbers,
    target=st.sampled_from(
        [
            ("/expenses/?min_amount=", "min_amount"),
            ("/expenses/?max_amount=", "max_amount"),
            ("/incomes/?min_amount=", "min_amount"),
            ("/incomes/?max_amount=", "max_amount"),
            ("/export/expenses.csv?min_amount=", "min_amount"),
            ("/convert/?from=USD&to=EUR&amount=", "amount"),
        ]
    ),
)
def test_bad_numbers_in_query_parameters_are_a_400_naming_them(auth_client, number, target):
    prefix, param = target
    if number == "":
        return  # an empty filter is "no filter"; an empty amount is covered by `required`.
    response = auth_client.get(API + prefix.split("?")[0], _query(prefix, number))
    named(response, param)


def _query(prefix: str, number: str) -> dict[str, str]:
    pairs = dict(part.split("=", 1) for part in prefix.split("?", 1)[1].split("&"))
    last = list(pairs)[-1]
    pairs[last] = number
    return pairs


@FUZZ
@given(pair=currency_and_amount)
def test_valid_amount_filters_find_the_record(auth_client, rates, pair):
    currency, amount = pair
    created = auth_client.post(
        f"{API}/expenses/",
        {"amount": amount, "currency": currency, "date": "2026-01-01", "description": "x"},
        format="json",
    )
    assert created.status_code == 201
    found = auth_client.get(
        f"{API}/expenses/", {"min_amount": amount, "max_amount": amount, "currency": currency}
    )
    assert found.status_code == 200
    assert created.json()["id"] in {row["id"] for row in found.json()["results"]}


@FUZZ
@given(number=st.one_of(bad_numbers, raw_json_numbers))
def test_bad_rates_are_a_400_naming_rate(admin_client, number):
    response = admin_client.post(
        f"{API}/rates/",
        {"base": "CLF", "quote": "USD", "date": "2026-01-01", "rate": number},
        format="json",
    )
    named(response, "rate")


# --- dates -----------------------------------------------------------------------------


def date_bodies(goal_id: int) -> dict[str, tuple[str, str, Callable[[date], dict[str, Any]]]]:
    """entry point → (url, field named in a 400, body for the date under test)."""
    iso = date.isoformat
    return {
        "expense.date": (
            f"{API}/expenses/",
            "date",
            lambda d: {"amount": "1", "date": iso(d), "description": "x"},
        ),
        "income.date": (
            f"{API}/incomes/",
            "date",
            lambda d: {"amount": "1", "date": iso(d), "description": "x"},
        ),
        "budget.month": (
            f"{API}/budgets/",
            "month",
            lambda d: {"month": f"{d.year:04d}-{d.month:02d}", "scope": "overall", "amount": "1"},
        ),
        "goal.target_date": (
            f"{API}/goals/",
            "target_date",
            lambda d: {"name": "g", "target_amount": "1", "target_date": iso(d)},
        ),
        "contribution.date": (
            f"{API}/goals/{goal_id}/contributions/",
            "date",
            lambda d: {"amount": "1", "date": iso(d)},
        ),
        "recurring.start_date": (
            f"{API}/recurring/",
            "start_date",
            lambda d: {
                "kind": "expense",
                "amount": "1",
                "description": "x",
                "frequency": "daily",
                "start_date": iso(d),
            },
        ),
        "recurring.end_date": (
            f"{API}/recurring/",
            "end_date",
            lambda d: {
                "kind": "expense",
                "amount": "1",
                "description": "x",
                "frequency": "yearly",
                "start_date": iso(MIN_DATE),
                "end_date": iso(d),
            },
        ),
    }


DATE_ENTRY_POINTS = sorted(date_bodies(0))


@FUZZ
@given(day=any_date, entry=st.sampled_from(DATE_ENTRY_POINTS))
def test_dates_in_bodies_are_accepted_in_range_and_a_400_outside(
    auth_client, user, goal, day, entry
):
    url, field, build = date_bodies(goal.pk)[entry]
    before = _stored_counts(user)

    response = auth_client.post(url, build(day), format="json")

    if in_range(day):
        assert response.status_code in (200, 201), response.content
        data = response.json()
        if field == "month":
            assert data["month"] == f"{day.year:04d}-{day.month:02d}"
        else:
            assert data[field] == day.isoformat()
    else:
        assert named(response, field)
        assert _stored_counts(user) == before


QUERY_DATES = [
    ("/expenses/", "start_date", {}),
    ("/expenses/", "end_date", {}),
    ("/expenses/", "month", {}),
    ("/incomes/", "start_date", {}),
    ("/export/expenses.csv", "start_date", {}),
    ("/rates/", "date", {}),
    ("/rates/", "start_date", {}),
    ("/convert/", "date", {"amount": "1", "from": "USD", "to": "USD"}),
    ("/reports/summary/", "start", {"end": MAX_DATE.isoformat()}),
    ("/reports/timeseries/", "end", {"start": MIN_DATE.isoformat(), "bucket": "month"}),
    ("/summary/", "month", {}),
    ("/budgets/status/", "month", {}),
    ("/recurring/{item}/occurrences/", "start", {}),
]


@FUZZ
@given(day=any_date, target=st.sampled_from(QUERY_DATES))
def test_dates_in_query_parameters_are_a_400_outside_the_range(auth_client, user, day, target):
    path, param, extra = target
    if "{item}" in path:
        item = RecurringItem.objects.filter(user=user).first() or RecurringItem.objects.create(
            user=user,
            kind="expense",
            amount=Decimal("1"),
            currency="USD",
            description="x",
            frequency="monthly",
            start_date=date(2026, 1, 1),
        )
        path = path.format(item=item.pk)
    value = day.isoformat()
    if param == "month" and path != "/expenses/":
        value = f"{day.year:04d}-{day.month:02d}"
    params = {**extra, param: value}
    if path == "/reports/summary/" and not in_range(day):
        params["end"] = value  # keep end ≥ start so only the range is at fault

    response = auth_client.get(API + path, params)

    assert response.status_code < 500, response.content[:300]
    if in_range(day):
        if response.status_code == 400:
            # Other rules may apply (e.g. end before start, a 100-year span), never the range.
            assert "between" not in json.dumps(response.json()), response.json()
    else:
        named(response, param)


# --- backup restore --------------------------------------------------------------------


def _backup(**sections: Any) -> dict[str, Any]:
    return {
        "format": "budget-tracker-backup",
        "version": 1,
        "user": {"base_currency": "USD"},
        **sections,
    }


@FUZZ
@given(number=bad_numbers, field=st.sampled_from(["amount", "base_amount", "exchange_rate"]))
def test_backup_numbers_follow_the_one_grammar(auth_client, user, number, field):
    record = {"amount": "1", "currency": "USD", "date": "2026-01-01", "description": "x"}
    response = auth_client.post(
        f"{API}/import/backup/", _backup(expenses=[{**record, field: number}]), format="json"
    )
    named(response, "expenses", "0", field)
    assert not Expense.objects.filter(user=user).exists()


@FUZZ
@given(day=any_date)
def test_backup_dates_follow_the_one_range(auth_client, user, day):
    record = {"amount": "1", "currency": "USD", "date": day.isoformat(), "description": "x"}
    before = Expense.objects.filter(user=user).count()

    response = auth_client.post(f"{API}/import/backup/", _backup(expenses=[record]), format="json")

    if in_range(day):
        assert response.status_code == 200, response.content
    else:
        assert named(response, "expenses", "0", "date") == [
            "Use a date between 1900-01-01 and 2199-12-31."
        ]
        assert Expense.objects.filter(user=user).count() == before


@FUZZ
@given(pair=currency_and_amount)
def test_backup_amounts_of_0_to_4_minor_units_round_trip(auth_client, user, rates, pair):
    currency, amount = pair
    record = {"amount": amount, "currency": currency, "date": "2026-01-01", "description": pair[1]}

    response = auth_client.post(f"{API}/import/backup/", _backup(expenses=[record]), format="json")

    assert response.status_code == 200, response.content
    stored = Expense.objects.filter(user=user, description=pair[1], currency=currency).first()
    assert stored is not None and stored.amount == Decimal(amount)
