"""Rates are bounded where they enter; conversions of every allowed amount fit the
columns; `/convert/` handles 4-minor-unit currencies and the strict number grammar;
the rate series used by a base-currency change gives exactly what `get_rate` gives."""

import datetime
from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase as HypothesisTestCase

from currencies.admin import ExchangeRateAdmin
from currencies.models import MAX_RATE, MIN_RATE, ExchangeRate
from currencies.providers import RatesProviderError, fetch_rates
from currencies.selectors import (
    ConversionOutOfRange,
    RateUnavailable,
    base_amount,
    get_rate,
    rates_on,
)
from currencies.services import rates_bulk_upsert
from tests.fuzz_depth import examples
from users.roles import ADMIN
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

D = datetime.date
RATES = "/api/v1/rates/"


@pytest.fixture
def admin_client(client_for):
    admin = UserFactory()
    admin.groups.add(Group.objects.get_or_create(name=ADMIN)[0])
    return client_for(admin)


@pytest.mark.parametrize("rate", ["1000000000", "100000000.0000000001", "0.000000009", "1e3"])
def test_api_refuses_rates_out_of_range(admin_client, rate):
    response = admin_client.post(
        RATES, {"base": "EUR", "quote": "USD", "date": "2026-01-01", "rate": rate}, format="json"
    )
    assert response.status_code == 400, response.content
    assert "rate" in response.json()
    assert not ExchangeRate.objects.exists()


@pytest.mark.parametrize("rate", [f"{MIN_RATE:f}", f"{MAX_RATE:f}", "1.0469"])
def test_api_accepts_rates_at_the_bounds(admin_client, rate):
    response = admin_client.post(
        RATES, {"base": "EUR", "quote": "USD", "date": "2026-01-01", "rate": rate}, format="json"
    )
    assert response.status_code == 201, response.content


def test_admin_form_refuses_an_extreme_rate(rf):
    from django.contrib.admin.sites import site

    form_class = ExchangeRateAdmin(ExchangeRate, site).get_form(rf.get("/"))
    form = form_class(
        data={"base": "EUR", "quote": "USD", "date": "2026-01-01", "rate": "1e15", "source": "x"}
    )
    assert not form.is_valid()
    assert "rate" in form.errors


def test_the_database_refuses_an_extreme_rate():
    with pytest.raises(IntegrityError), transaction.atomic():
        ExchangeRate.objects.create(
            base="EUR", quote="USD", date=D(2026, 1, 1), rate=Decimal("1e9")
        )


def test_load_rates_refuses_a_file_with_an_extreme_rate(tmp_path):
    path = tmp_path / "rates.csv"
    path.write_text("Date,USD,JPY,\n2026-11-20,1.0469,1000000000,\n")
    with pytest.raises(CommandError, match="not a positive exchange rate"):
        call_command("load_rates", str(path), stdout=StringIO())
    assert not ExchangeRate.objects.exists()


def test_the_provider_refuses_an_extreme_rate(rates_server):
    rates_server.reply(rates_server.rates(day="2026-11-20", USD=1.05, JPY=1e12))
    with pytest.raises(RatesProviderError):
        fetch_rates(on=D(2026, 11, 20))
    assert not ExchangeRate.objects.exists()


def test_bulk_upsert_refuses_an_extreme_rate():
    from currencies.services import RateRow

    with pytest.raises(ValueError, match="out of range"):
        rates_bulk_upsert(
            rows=[RateRow(base="EUR", quote="USD", date=D(2026, 1, 1), rate=Decimal("1e9"))],
            source="x",
        )


def test_every_allowed_amount_at_the_extreme_rates_fits_base_amount():
    largest = Decimal("999999999999.9999")
    for rate in (MAX_RATE, 1 / MIN_RATE):
        result = base_amount(amount=largest, rate=rate, from_currency="CLF", to_currency="UYW")
        assert result < Decimal(10) ** 20


# --- /convert/ --------------------------------------------------------------------


def test_convert_handles_four_minor_units(auth_client):
    ExchangeRate.objects.create(base="CLF", quote="UYW", date=D(2026, 1, 1), rate=Decimal("2.5"))
    response = auth_client.get(
        "/api/v1/convert/", {"amount": "0.0001", "from": "CLF", "to": "UYW", "date": "2026-01-02"}
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["amount"], body["result"]) == ("0.0001", "0.0003")  # 0.00025 half up


@pytest.mark.parametrize("amount", ["1e1000000", "1_000", "١٢", "NaN", "0.00001"])
def test_convert_amount_goes_through_the_strict_parser(auth_client, amount):
    ExchangeRate.objects.create(base="CLF", quote="UYW", date=D(2026, 1, 1), rate=Decimal("2.5"))
    response = auth_client.get(
        "/api/v1/convert/", {"amount": amount, "from": "CLF", "to": "UYW", "date": "2026-01-02"}
    )
    assert response.status_code == 400, response.content
    assert "amount" in response.json()


def test_rates_for_four_minor_units_are_kept_whole(admin_client):
    response = admin_client.post(
        RATES,
        {"base": "CLF", "quote": "USD", "date": "2026-01-01", "rate": "41.1234567891"},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert ExchangeRate.objects.get().rate == Decimal("41.1234567891")


# --- rates_on: one load of the series, the same answers as get_rate ---------------

PAIRS = [("EUR", "USD"), ("EUR", "GBP"), ("USD", "JPY"), ("GBP", "EUR"), ("USD", "GBP")]
CODES = ["EUR", "USD", "GBP", "JPY"]


class TestRatesOnMatchesGetRate(HypothesisTestCase):
    @settings(max_examples=examples(60), deadline=None)
    @given(
        rows=st.lists(
            st.tuples(
                st.sampled_from(PAIRS),
                st.integers(0, 40),
                st.decimals(min_value=Decimal("0.01"), max_value=Decimal("500"), places=4),
            ),
            max_size=25,
        ),
        pair=st.tuples(st.sampled_from(CODES), st.sampled_from(CODES)),
        days=st.lists(st.integers(0, 45), min_size=1, max_size=15),
    )
    def test_same_answers(self, rows, pair, days):
        start = D(2025, 1, 1)
        for (base, quote), offset, rate in rows:
            ExchangeRate.objects.update_or_create(
                base=base,
                quote=quote,
                date=start + datetime.timedelta(days=offset),
                defaults={"rate": rate},
            )
        from_currency, to_currency = pair
        dates = [start + datetime.timedelta(days=d) for d in days]
        expected = {}
        for day in dates:
            try:
                expected[day] = get_rate(
                    from_currency=from_currency, to_currency=to_currency, on=day
                )
            except RateUnavailable:
                expected[day] = None
        if any(quote is None for quote in expected.values()):
            with pytest.raises(RateUnavailable):
                rates_on(from_currency=from_currency, to_currency=to_currency, dates=dates)
        else:
            found = rates_on(from_currency=from_currency, to_currency=to_currency, dates=dates)
            assert found == expected


def test_rates_on_uses_one_query_for_many_dates(django_assert_max_num_queries):
    for offset in range(100):
        ExchangeRate.objects.create(
            base="EUR",
            quote="USD",
            date=D(2025, 1, 1) + datetime.timedelta(days=offset),
            rate=Decimal("1.1"),
        )
        ExchangeRate.objects.create(
            base="EUR",
            quote="GBP",
            date=D(2025, 1, 1) + datetime.timedelta(days=offset),
            rate=Decimal("0.85"),
        )
    dates = [D(2025, 1, 1) + datetime.timedelta(days=offset) for offset in range(100)]
    with django_assert_max_num_queries(1):
        quotes = rates_on(from_currency="USD", to_currency="GBP", dates=dates)
    assert len(quotes) == 100


def test_a_cross_rate_rounding_to_zero_is_refused():
    day = D(2025, 1, 1)
    ExchangeRate.objects.create(base="EUR", quote="IRR", date=day, rate=MAX_RATE)
    ExchangeRate.objects.create(base="EUR", quote="KWD", date=day, rate=MIN_RATE)
    with pytest.raises(ConversionOutOfRange, match="IRR->KWD"):
        get_rate(from_currency="IRR", to_currency="KWD", on=day)
