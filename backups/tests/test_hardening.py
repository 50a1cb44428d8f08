"""Restore refuses what the database cannot hold or no rate here backs, by path, storing
nothing: unstorable text, numbers outside the one grammar, dates outside the supported
range, base amounts without a rate on this server. 4-minor-unit amounts round-trip."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest

from budgets.models import Budget
from currencies.tests.factories import ExchangeRateFactory
from expenses.models import Expense
from expenses.services import expense_create
from goals.models import Contribution
from recurring.models import RecurringItem
from users.tests.factories import UserFactory

from .conftest import RESTORE_URL, export, owned_counts, restore

pytestmark = pytest.mark.django_db

EMPTY = {
    "categories": 0,
    "tags": 0,
    "rules": 0,
    "expenses": 0,
    "incomes": 0,
    "budgets": 0,
    "goals": 0,
    "contributions": 0,
    "preferences": 0,
}


def minimal(base: str = "USD", **sections):
    return {
        "format": "budget-tracker-backup",
        "version": 1,
        "user": {"base_currency": base},
        **sections,
    }


def expense(**fields):
    return {
        "amount": "10.00",
        "currency": "USD",
        "date": "2026-03-10",
        "description": "Lunch",
        **fields,
    }


def raw_restore(client, text: str):
    return client.post(RESTORE_URL, text.encode(), content_type="application/json")


# --- unstorable text ------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["a\x00b", "\x00", "x\ud800y"])
@pytest.mark.parametrize(
    ("sections", "path"),
    [
        ({"expenses": [expense(description="{bad}")]}, ["expenses", "0", "description"]),
        ({"expenses": [expense(tags=["ok", "{bad}"])]}, ["expenses", "0", "tags", "1"]),
        ({"tags": [{"name": "{bad}"}]}, ["tags", "0", "name"]),
        (
            {"goals": [{"name": "G", "target_amount": "5", "notes": "{bad}"}]},
            ["goals", "0", "notes"],
        ),
        (
            {"categories": [{"key": "c1", "name": "{bad}", "kind": "expense"}]},
            ["categories", "0", "name"],
        ),
        ({"recurring": [{"description": "{bad}"}]}, ["recurring", "0", "description"]),
    ],
)
def test_a_nul_or_lone_surrogate_anywhere_is_a_400_naming_the_path(
    auth_client, user, sections, path, bad
):
    text = json.dumps(minimal(**sections)).replace("{bad}", json.dumps(bad)[1:-1])

    response = raw_restore(auth_client, text)

    assert response.status_code == 400, response.content
    if "\ud800" in bad:
        # Refused by the JSON parser every endpoint shares (core.parsers), before the
        # document is read, so there is no path to name.
        assert "unpaired surrogate" in response.json()["detail"]
    else:
        node = response.json()
        for key in path:
            node = node[key]
        assert node == [
            "Contains a character that cannot be stored (NUL or an unpaired surrogate)."
        ]
    assert owned_counts(user) == EMPTY


def test_a_nul_in_a_field_name_is_reported_at_its_object(auth_client, user):
    text = json.dumps(minimal(expenses=[{**expense(), "bad\x00key": 1}]))
    assert "\\u0000" in text
    response = raw_restore(auth_client, text)
    assert response.status_code == 400, response.content
    assert response.json()["expenses"]["0"][0].startswith("A field name.")
    assert owned_counts(user) == EMPTY


# --- numbers and dates ----------------------------------------------------------------


@pytest.mark.parametrize(
    "number", ["1e1000000", "1E+5", "1_000", "١٢", "12345678901234567890123456789", "NaN", " "]
)
@pytest.mark.parametrize(
    ("sections", "path"),
    [
        ({"expenses": [expense(amount="{n}")]}, ("expenses", "0", "amount")),
        ({"expenses": [expense(base_amount="{n}")]}, ("expenses", "0", "base_amount")),
        ({"expenses": [expense(exchange_rate="{n}")]}, ("expenses", "0", "exchange_rate")),
        (
            {"budgets": [{"month": "2026-03", "scope": "overall", "amount": "{n}"}]},
            ("budgets", "0", "amount"),
        ),
        (
            {
                "budgets": [
                    {"month": "2026-03", "scope": "overall", "amount": "1", "warn_threshold": "{n}"}
                ]
            },
            ("budgets", "0", "warn_threshold"),
        ),
        ({"goals": [{"name": "G", "target_amount": "{n}"}]}, ("goals", "0", "target_amount")),
        (
            {
                "goals": [
                    {
                        "name": "G",
                        "target_amount": "5",
                        "contributions": [{"amount": "{n}", "date": "2026-01-01"}],
                    }
                ]
            },
            ("goals", "0", "contributions", "0", "amount"),
        ),
    ],
)
def test_numbers_outside_the_one_grammar_are_refused_by_path(
    auth_client, user, number, sections, path
):
    doc = json.loads(json.dumps(minimal(**sections)).replace('"{n}"', json.dumps(number)))

    response = restore(auth_client, doc)

    assert response.status_code == 400, response.content
    node = response.json()
    for key in path:
        node = node[key]
    assert node
    assert owned_counts(user) == EMPTY


def test_a_json_number_with_a_huge_exponent_is_a_400_not_a_500(auth_client, user):
    text = json.dumps(minimal(expenses=[expense(amount="X")])).replace('"X"', "1e1000000")
    response = raw_restore(auth_client, text)
    assert response.status_code == 400, response.content
    assert response.json()["expenses"]["0"]["amount"] == ["Number is out of range."]


@pytest.mark.parametrize("day", ["0001-01-01", "1899-12-31", "2200-01-01", "9999-12-31"])
@pytest.mark.parametrize(
    ("sections", "path"),
    [
        ({"expenses": [expense(date="{d}")]}, ("expenses", "0", "date")),
        ({"incomes": [expense(date="{d}")]}, ("incomes", "0", "date")),
        (
            {"goals": [{"name": "G", "target_amount": "5", "target_date": "{d}"}]},
            ("goals", "0", "target_date"),
        ),
        (
            {
                "goals": [
                    {
                        "name": "G",
                        "target_amount": "5",
                        "contributions": [{"amount": "1", "date": "{d}"}],
                    }
                ]
            },
            ("goals", "0", "contributions", "0", "date"),
        ),
    ],
)
def test_dates_outside_the_supported_range_are_refused_by_path(
    auth_client, user, day, sections, path
):
    doc = json.loads(json.dumps(minimal(**sections)).replace("{d}", day))

    response = restore(auth_client, doc)

    assert response.status_code == 400, response.content
    node = response.json()
    for key in path:
        node = node[key]
    assert node == ["Use a date between 1900-01-01 and 2199-12-31."]
    assert owned_counts(user) == EMPTY


@pytest.mark.parametrize("month", ["1899-12", "2200-01", "9999-12"])
def test_budget_months_outside_the_range_are_refused(auth_client, user, month):
    doc = minimal(budgets=[{"month": month, "scope": "overall", "amount": "5"}])
    response = restore(auth_client, doc)
    assert response.status_code == 400
    assert "month" in response.json()["budgets"]["0"]
    assert Budget.objects.filter(user=user).count() == 0


def recurring_item(**fields):
    return {
        "kind": "expense",
        "amount": "10.00",
        "currency": "USD",
        "description": "Rent",
        "frequency": "monthly",
        "interval": 1,
        "start_date": "2026-01-31",
        **fields,
    }


@pytest.mark.parametrize(
    ("fields", "key"),
    [
        ({"amount": "1e1000000"}, "amount"),
        ({"amount": "1_000"}, "amount"),
        ({"start_date": "9999-12-31"}, "start_date"),
        ({"end_date": "2200-01-01"}, "end_date"),
        ({"start_date": "1899-12-31"}, "start_date"),
    ],
)
def test_the_recurring_section_uses_the_same_grammar_and_range(auth_client, user, fields, key):
    response = restore(auth_client, minimal(recurring=[recurring_item(**fields)]))
    assert response.status_code == 400, response.content
    assert key in response.json()["recurring"]["0"]
    assert RecurringItem.objects.filter(user=user).count() == 0


def test_the_edges_of_the_range_are_restored(auth_client, user):
    doc = minimal(
        expenses=[expense(date="1900-01-01"), expense(date="2199-12-31", description="Last")],
        recurring=[recurring_item(start_date="2199-12-31")],
    )
    response = restore(auth_client, doc)
    assert response.status_code == 200, response.content
    assert set(Expense.objects.filter(user=user).values_list("date", flat=True)) == {
        date(1900, 1, 1),
        date(2199, 12, 31),
    }


# --- base amounts come from this server's rates ---------------------------------------


def test_the_documents_base_amounts_are_recomputed_not_trusted(auth_client, user):
    ExchangeRateFactory(base="EUR", quote="USD", date=date(2026, 3, 1), rate=Decimal("1.1"))
    doc = minimal(
        expenses=[
            expense(currency="EUR", amount="10.00", base_amount="999.00", exchange_rate="99.9")
        ]
    )

    assert restore(auth_client, doc).status_code == 200

    record = Expense.objects.get(user=user)
    assert (record.base_amount, record.exchange_rate) == (Decimal("11.00"), Decimal("1.1"))


def test_same_base_currency_without_a_rate_here_is_a_400_naming_pair_date_and_path(
    auth_client, user
):
    # The exporting server had a GBP rate; this one has none: the stored figures are not kept.
    doc = minimal(
        expenses=[
            expense(),
            expense(currency="GBP", date="2026-02-01", base_amount="12.70", exchange_rate="1.27"),
        ]
    )

    response = restore(auth_client, doc)

    assert response.status_code == 400
    message = response.json()["expenses"]["1"]["currency"][0]
    assert message.startswith("No exchange rate for GBP->USD on or before 2026-02-01.")
    assert owned_counts(user) == EMPTY


def test_budgets_and_goals_without_a_rate_name_their_paths(client_for):
    fresh = UserFactory(base_currency="EUR")
    doc = minimal(
        "GBP",
        budgets=[{"month": "2026-03", "scope": "overall", "amount": "5"}],
        goals=[{"name": "G", "target_amount": "50"}],
    )

    response = restore(client_for(fresh), doc)

    assert response.status_code == 400, response.content
    body = response.json()
    assert body["budgets"]["0"]["amount"][0].startswith("No exchange rate for GBP->EUR")
    assert owned_counts(fresh) == EMPTY


# --- four minor units -------------------------------------------------------------------


def test_a_clf_ten_thousandth_round_trips_through_export_and_restore(client_for, user):
    ExchangeRateFactory(base="CLF", quote="USD", date=date(2026, 1, 1), rate=Decimal("41.5"))
    client = client_for(user)
    created = client.post(
        "/api/v1/expenses/",
        {"amount": "0.0001", "currency": "CLF", "date": "2026-03-01", "description": "Tiny"},
        format="json",
    )
    assert created.status_code == 201, created.content
    assert created.json()["amount"] == "0.0001"
    assert client.get(f"/api/v1/expenses/{created.json()['id']}/").json()["amount"] == "0.0001"

    doc = export(client)
    assert doc["expenses"][0]["amount"] == "0.0001"

    fresh = UserFactory(base_currency="USD")
    response = restore(client_for(fresh), doc)
    assert response.status_code == 200, response.content
    restored = Expense.objects.get(user=fresh)
    assert (restored.amount, restored.currency) == (Decimal("0.0001"), "CLF")
    assert export(client_for(fresh))["expenses"][0]["amount"] == "0.0001"


def test_five_places_of_clf_are_refused(auth_client, user):
    doc = minimal(expenses=[expense(currency="CLF", amount="0.00001")])
    response = restore(auth_client, doc)
    assert response.status_code == 400
    assert response.json()["expenses"]["0"]["amount"] == [
        "CLF amounts allow at most 4 decimal places."
    ]


def test_contributions_in_a_four_place_base_currency_round_trip(client_for):
    owner = UserFactory(base_currency="CLF")
    doc = minimal(
        "CLF",
        goals=[
            {
                "name": "G",
                "target_amount": "1.2345",
                "contributions": [{"amount": "0.0001", "date": "2026-01-01"}],
            }
        ],
    )
    assert restore(client_for(owner), doc).status_code == 200
    assert Contribution.objects.get(goal__user=owner).amount == Decimal("0.0001")
    again = export(client_for(owner))
    assert again["goals"][0]["target_amount"] == "1.2345"
    assert again["goals"][0]["contributions"][0]["amount"] == "0.0001"


def test_an_account_with_data_is_left_alone_by_a_refused_restore(auth_client, user):
    expense_create(
        user=user, data={"amount": Decimal("1"), "date": date(2026, 1, 1), "description": "Kept"}
    )
    doc = minimal(expenses=[expense(description="bad\x00")])
    assert restore(auth_client, doc, mode="replace").status_code == 400
    assert list(Expense.objects.filter(user=user).values_list("description", flat=True)) == ["Kept"]
