import datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group

from currencies.models import ExchangeRate
from currencies.tests.factories import ExchangeRateFactory
from users.roles import ADMIN
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

D = datetime.date
CURRENCIES = "/api/v1/currencies/"
RATES = "/api/v1/rates/"
CONVERT = "/api/v1/convert/"


@pytest.fixture
def admin_client(client_for):
    admin = UserFactory()
    admin.groups.add(Group.objects.get_or_create(name=ADMIN)[0])
    return client_for(admin)


@pytest.mark.parametrize("url", [CURRENCIES, RATES, f"{CONVERT}?amount=1&from=EUR&to=USD"])
def test_unauthenticated_is_401(api_client, url):
    response = api_client.get(url)

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


# --- /currencies/ -------------------------------------------------------------------


def test_currencies_lists_iso_codes_with_minor_units(auth_client):
    response = auth_client.get(CURRENCIES, {"page_size": 500})

    assert response.status_code == 200
    body = response.json()
    by_code = {c["code"]: c for c in body["results"]}
    assert by_code["EUR"] == {"code": "EUR", "name": "Euro", "numeric": 978, "minor_units": 2}
    assert by_code["JPY"]["minor_units"] == 0
    assert by_code["KWD"]["minor_units"] == 3
    assert "XAU" not in by_code  # gold has no minor units: not a money currency
    codes = [c["code"] for c in body["results"]]
    assert codes == sorted(codes)
    assert body["count"] == len(codes)


def test_currencies_are_paginated(auth_client):
    body = auth_client.get(CURRENCIES, {"page_size": 10}).json()

    assert len(body["results"]) == 10
    assert body["count"] > 100
    assert body["next"] is not None


def test_currencies_search_matches_code_or_name_case_insensitively(auth_client):
    by_name = auth_client.get(CURRENCIES, {"search": "YEN"}).json()
    by_code = auth_client.get(CURRENCIES, {"search": "kwd"}).json()

    assert [c["code"] for c in by_name["results"]] == ["JPY"]
    assert [c["code"] for c in by_code["results"]] == ["KWD"]


def test_currencies_bad_page_is_400(auth_client):
    response = auth_client.get(CURRENCIES, {"page": "x"})

    assert response.status_code == 400
    assert "page" in response.json()


# --- /rates/ ------------------------------------------------------------------------


def test_any_user_reads_rates(auth_client, other_client):
    rate = ExchangeRateFactory(base="EUR", quote="USD", rate=Decimal("1.0469"))

    listed = auth_client.get(RATES).json()
    detail = other_client.get(f"{RATES}{rate.pk}/")

    assert listed["count"] == 1
    assert listed["results"][0] == {
        "id": rate.pk,
        "base": "EUR",
        "quote": "USD",
        "date": "2026-11-20",
        "rate": "1.0469",
        "source": "manual",
        "created_at": listed["results"][0]["created_at"],
        "updated_at": listed["results"][0]["updated_at"],
    }
    assert detail.status_code == 200  # rates are shared, not owned
    assert auth_client.get(f"{RATES}999999/").status_code == 404


def test_rates_list_query_count_does_not_grow_with_rows(auth_client, django_assert_num_queries):
    for day in range(1, 21):
        ExchangeRateFactory(date=D(2026, 11, day))

    # user (JWT), count, page
    with django_assert_num_queries(3):
        assert auth_client.get(RATES).json()["count"] == 20


@pytest.mark.parametrize(
    ("method", "url_suffix"),
    [("post", ""), ("put", "{pk}/"), ("patch", "{pk}/"), ("delete", "{pk}/")],
)
def test_non_admin_cannot_write_rates(auth_client, method, url_suffix):
    rate = ExchangeRateFactory()
    payload = {"base": "EUR", "quote": "GBP", "date": "2026-11-20", "rate": "0.83"}

    response = getattr(auth_client, method)(RATES + url_suffix.format(pk=rate.pk), payload)

    assert response.status_code == 403
    assert response.json() == {
        "detail": "Only administrators may change exchange rates.",
        "code": "permission_denied",
    }
    assert list(ExchangeRate.objects.values_list("quote", "rate")) == [("USD", Decimal("1.05"))]


def test_admin_creates_updates_and_deletes_rates(admin_client):
    created = admin_client.post(
        RATES, {"base": "EUR", "quote": "GBP", "date": "2026-11-20", "rate": "0.8319"}
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["rate"], body["source"]) == ("0.8319", "manual")

    patched = admin_client.patch(f"{RATES}{body['id']}/", {"rate": 0.84, "source": "bank"})
    assert patched.status_code == 200, patched.json()
    stored = ExchangeRate.objects.get(pk=body["id"])
    assert (stored.rate, stored.source) == (Decimal("0.84"), "bank")

    assert admin_client.delete(f"{RATES}{body['id']}/").status_code == 204
    assert not ExchangeRate.objects.exists()


def test_superuser_may_write_rates(client_for):
    client = client_for(UserFactory(is_superuser=True))
    payload = {"base": "EUR", "quote": "GBP", "date": "2026-11-20", "rate": "0.83"}

    assert client.post(RATES, payload).status_code == 201


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"base": "EUX"}, "base"),
        ({"quote": "usd"}, "quote"),
        ({"quote": "XAU"}, "quote"),
        ({"quote": "EUR"}, "quote"),
        ({"rate": "0"}, "rate"),
        ({"rate": "-1.2"}, "rate"),
        ({"rate": "abc"}, "rate"),
        ({"date": "20/11/2026"}, "date"),
        ({"date": None}, "date"),
    ],
)
def test_invalid_rate_writes_are_400(admin_client, payload, field):
    data = {"base": "EUR", "quote": "USD", "date": "2026-11-20", "rate": "1.05", **payload}

    response = admin_client.post(RATES, data)

    assert response.status_code == 400
    assert field in response.json()
    assert not ExchangeRate.objects.exists()


def test_duplicate_pair_and_date_is_400(admin_client):
    ExchangeRateFactory(base="EUR", quote="USD", date=D(2026, 11, 20))

    response = admin_client.post(
        RATES, {"base": "EUR", "quote": "USD", "date": "2026-11-20", "rate": "1.1"}
    )

    assert response.status_code == 400
    assert response.json() == {
        "non_field_errors": ["A rate for this base, quote and date already exists."]
    }
    assert ExchangeRate.objects.count() == 1


def test_patch_that_makes_base_equal_quote_is_400(admin_client):
    rate = ExchangeRateFactory(base="EUR", quote="USD")

    response = admin_client.patch(f"{RATES}{rate.pk}/", {"quote": "EUR"})

    assert response.status_code == 400
    assert response.json() == {"quote": ["Must differ from base."]}


def _codes(response):
    assert response.status_code == 200, response.json()
    return [(r["base"], r["quote"], r["date"]) for r in response.json()["results"]]


def test_filter_by_base_quote_and_date_range(auth_client):
    ExchangeRateFactory(base="EUR", quote="USD", date=D(2026, 11, 18))
    ExchangeRateFactory(base="EUR", quote="USD", date=D(2026, 11, 20))
    ExchangeRateFactory(base="EUR", quote="GBP", date=D(2026, 11, 20))
    ExchangeRateFactory(base="USD", quote="JPY", date=D(2026, 11, 20))

    assert _codes(auth_client.get(RATES, {"base": "USD"})) == [("USD", "JPY", "2026-11-20")]
    assert _codes(auth_client.get(RATES, {"quote": "USD"})) == [
        ("EUR", "USD", "2026-11-20"),
        ("EUR", "USD", "2026-11-18"),
    ]
    assert _codes(
        auth_client.get(RATES, {"start_date": "2026-11-17", "end_date": "2026-11-19"})
    ) == [("EUR", "USD", "2026-11-18")]


def test_date_filter_returns_each_pairs_latest_rate_on_or_before(auth_client):
    ExchangeRateFactory(base="EUR", quote="USD", date=D(2026, 11, 10))
    ExchangeRateFactory(base="EUR", quote="USD", date=D(2026, 11, 15))
    ExchangeRateFactory(base="EUR", quote="USD", date=D(2026, 11, 20))  # after: not used
    ExchangeRateFactory(base="EUR", quote="GBP", date=D(2026, 11, 1))
    ExchangeRateFactory(base="EUR", quote="JPY", date=D(2026, 11, 19))  # only later rates

    response = auth_client.get(RATES, {"date": "2026-11-18", "ordering": "quote"})

    assert _codes(response) == [("EUR", "GBP", "2026-11-01"), ("EUR", "USD", "2026-11-15")]


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"base": "EURO"}, "base"),
        ({"quote": "ZZZ"}, "quote"),
        ({"date": "2026-02-30"}, "date"),
        ({"start_date": "yesterday"}, "start_date"),
        ({"end_date": "2026-13-01"}, "end_date"),
        ({"start_date": "2026-11-20", "end_date": "2026-11-01"}, "end_date"),
        ({"ordering": "secret"}, "ordering"),
    ],
)
def test_bad_filter_values_are_400_naming_the_parameter(auth_client, params, name):
    response = auth_client.get(RATES, params)

    assert response.status_code == 400
    assert list(response.json()) == [name]


# --- /convert/ ----------------------------------------------------------------------


def test_convert_with_a_direct_rate(auth_client):
    ExchangeRateFactory(base="EUR", quote="JPY", rate=Decimal("161.39"), date=D(2026, 11, 19))

    response = auth_client.get(
        CONVERT, {"amount": "10.55", "from": "EUR", "to": "JPY", "date": "2026-11-21"}
    )

    assert response.status_code == 200
    assert response.json() == {
        "amount": "10.55",
        "from": "EUR",
        "to": "JPY",
        "date": "2026-11-21",
        "rate": "161.39",
        "rate_date": "2026-11-19",
        "result": "1703",
    }


def test_convert_via_a_pivot_rounds_to_three_places(auth_client):
    ExchangeRateFactory(base="EUR", quote="USD", rate=Decimal("1.25"))
    ExchangeRateFactory(base="EUR", quote="KWD", rate=Decimal("0.3846"))

    body = auth_client.get(
        CONVERT, {"amount": "7", "from": "USD", "to": "KWD", "date": "2026-11-20"}
    ).json()

    assert body["amount"] == "7.00"
    assert body["rate"] == "0.30768"
    assert body["result"] == "2.154"  # 2.15376


def test_convert_defaults_to_today(auth_client):
    today = datetime.datetime.now(datetime.UTC).date()
    ExchangeRateFactory(base="EUR", quote="USD", rate=Decimal("2"), date=today)

    body = auth_client.get(CONVERT, {"amount": "1.5", "from": "USD", "to": "EUR"}).json()

    assert body["date"] == today.isoformat()
    assert body["result"] == "0.75"


def test_convert_same_currency(auth_client):
    body = auth_client.get(CONVERT, {"amount": "3", "from": "KWD", "to": "KWD"}).json()

    assert (body["rate"], body["rate_date"], body["result"]) == ("1", None, "3.000")


def test_convert_without_a_rate_is_400_naming_the_pair(auth_client):
    ExchangeRateFactory(base="EUR", quote="USD", date=D(2026, 11, 21))

    response = auth_client.get(
        CONVERT, {"amount": "10", "from": "EUR", "to": "USD", "date": "2026-11-20"}
    )

    assert response.status_code == 400
    assert response.json() == {
        "detail": "No exchange rate for EUR->USD on or before 2026-11-20. "
        "The exchange rates for EUR and USD start on 2026-11-21.",
        "code": "rate_unavailable",
    }


def test_convert_from_a_currency_the_ecb_does_not_cover_names_it_and_how_to_add_rates(
    auth_client,
):
    ExchangeRateFactory(base="EUR", quote="USD", date=D(2026, 11, 1))

    response = auth_client.get(
        CONVERT, {"amount": "10", "from": "XOF", "to": "USD", "date": "2026-11-20"}
    )

    assert response.status_code == 400
    detail = response.json()["detail"]
    assert detail.startswith(
        "No exchange rate for XOF->USD on or before 2026-11-20. "
        "The ECB reference rates do not cover XOF and no rate for it is stored: "
    )
    for way in ("POST /api/v1/rates/", "Django admin", "manage.py load_rates FILE"):
        assert way in detail


@pytest.mark.parametrize(
    ("params", "names"),
    [
        ({}, {"amount", "from", "to"}),
        ({"from": "EUR", "to": "USD"}, {"amount"}),
        ({"amount": "abc", "from": "EUR", "to": "USD"}, {"amount"}),
        ({"amount": "0", "from": "EUR", "to": "USD"}, {"amount"}),
        ({"amount": "-5", "from": "EUR", "to": "USD"}, {"amount"}),
        ({"amount": "NaN", "from": "EUR", "to": "USD"}, {"amount"}),
        ({"amount": "1000000000000", "from": "EUR", "to": "USD"}, {"amount"}),
        ({"amount": "1.5", "from": "JPY", "to": "USD"}, {"amount"}),
        ({"amount": "1", "from": "EURO", "to": "usd"}, {"from", "to"}),
        ({"amount": "1", "from": "EUR", "to": "USD", "date": "21-11-2026"}, {"date"}),
    ],
)
def test_convert_bad_params_are_400_naming_them(auth_client, params, names):
    response = auth_client.get(CONVERT, params)

    assert response.status_code == 400
    assert set(response.json()) == names


def test_convert_accepts_trailing_zeros_beyond_minor_units(auth_client):
    ExchangeRateFactory(base="EUR", quote="JPY", rate=Decimal("100"))

    response = auth_client.get(
        CONVERT, {"amount": "2.00", "from": "JPY", "to": "EUR", "date": "2026-11-20"}
    )

    assert response.status_code == 200
    assert response.json()["amount"] == "2"
    assert response.json()["result"] == "0.02"


@pytest.mark.parametrize("value", ["%", "%s", "%(x)s", "%¥\x01"])
def test_a_percent_sign_in_a_currency_filter_is_a_400_naming_it(auth_client, value):
    response = auth_client.get("/api/v1/rates/", {"base": value})
    assert response.status_code == 400, response.content
    assert "is not a supported ISO 4217 currency code" in response.json()["base"][0]
