import datetime
from decimal import Decimal

import pytest

from currencies.selectors import RateUnavailable, convert, get_rate, rates_on, rates_on_each
from currencies.tests.factories import ExchangeRateFactory
from currencies.tests.fake_rates_api import FakeReply

pytestmark = pytest.mark.django_db

D = datetime.date


def test_direct_rate():
    ExchangeRateFactory(base="EUR", quote="USD", rate=Decimal("1.05"), date=D(2026, 11, 20))

    quote = get_rate(from_currency="EUR", to_currency="USD", on=D(2026, 11, 20))

    assert quote.rate == Decimal("1.05")
    assert quote.date == D(2026, 11, 20)


def test_inverse_rate():
    ExchangeRateFactory(base="EUR", quote="USD", rate=Decimal("1.25"), date=D(2026, 11, 20))

    quote = get_rate(from_currency="USD", to_currency="EUR", on=D(2026, 11, 20))

    assert quote.rate == Decimal("0.8")


def test_cross_rate_via_a_common_base():
    ExchangeRateFactory(base="EUR", quote="USD", rate=Decimal("1.10"), date=D(2026, 11, 20))
    ExchangeRateFactory(base="EUR", quote="GBP", rate=Decimal("0.88"), date=D(2026, 11, 19))

    quote = get_rate(from_currency="USD", to_currency="GBP", on=D(2026, 11, 20))

    assert quote.rate == Decimal("0.8")  # 0.88 / 1.10
    assert quote.date == D(2026, 11, 19)  # the older of the two rates used


def test_uses_latest_rate_on_or_before_the_date_never_a_later_one():
    ExchangeRateFactory(quote="USD", rate=Decimal("1.01"), date=D(2026, 11, 1))
    ExchangeRateFactory(quote="USD", rate=Decimal("1.02"), date=D(2026, 11, 10))
    ExchangeRateFactory(quote="USD", rate=Decimal("1.03"), date=D(2026, 11, 20))

    quote = get_rate(from_currency="EUR", to_currency="USD", on=D(2026, 11, 15))

    assert (quote.rate, quote.date) == (Decimal("1.02"), D(2026, 11, 10))


def test_same_currency_is_one():
    quote = get_rate(from_currency="JPY", to_currency="JPY", on=D(2026, 11, 20))

    assert quote.rate == Decimal(1)
    assert quote.date is None


def test_no_rate_raises_naming_the_pair_and_date():
    ExchangeRateFactory(quote="USD", date=D(2026, 11, 20))

    with pytest.raises(RateUnavailable) as excinfo:
        get_rate(from_currency="EUR", to_currency="USD", on=D(2026, 11, 19))

    assert str(excinfo.value) == (
        "No exchange rate for EUR->USD on or before 2026-11-19. "
        "The exchange rates for EUR and USD start on 2026-11-20."
    )
    assert excinfo.value.code == "rate_unavailable"


def test_unconnected_currencies_raise():
    ExchangeRateFactory(base="EUR", quote="USD")
    ExchangeRateFactory(base="JPY", quote="KRW")

    with pytest.raises(RateUnavailable, match="USD->KRW"):
        get_rate(from_currency="USD", to_currency="KRW", on=D(2026, 11, 20))


def test_convert_rounds_to_the_target_minor_units():
    ExchangeRateFactory(base="EUR", quote="JPY", rate=Decimal("161.39"))
    ExchangeRateFactory(base="EUR", quote="KWD", rate=Decimal("0.32456"))
    on = D(2026, 11, 20)

    yen, _ = convert(amount=Decimal("10.55"), from_currency="EUR", to_currency="JPY", on=on)
    dinar, _ = convert(amount=Decimal("10.55"), from_currency="EUR", to_currency="KWD", on=on)

    assert yen == Decimal("1703")  # 1702.6645 → 0 places
    assert yen.as_tuple().exponent == 0
    assert dinar == Decimal("3.424")  # 3.424108 → 3 places
    assert dinar.as_tuple().exponent == -3


def test_convert_rounds_half_up():
    ExchangeRateFactory(base="EUR", quote="JPY", rate=Decimal("100"))

    yen, _ = convert(
        amount=Decimal("0.05"), from_currency="EUR", to_currency="JPY", on=D(2026, 11, 20)
    )
    assert yen == Decimal("5")
    yen, _ = convert(
        amount=Decimal("0.125"), from_currency="KWD", to_currency="KWD", on=D(2026, 11, 20)
    )
    assert yen == Decimal("0.125")


def test_fetch_on_miss_asks_the_provider_once_then_finds_the_rate(settings, rates_server):
    settings.RATES_FETCH_ON_MISS = True
    rates_server.reply(rates_server.rates(day="2026-11-20", USD=1.05, GBP=0.84))

    quote = get_rate(from_currency="USD", to_currency="GBP", on=D(2026, 11, 21))

    assert quote.rate == Decimal("0.8")
    assert quote.date == D(2026, 11, 20)
    assert [path for path, _ in rates_server.requests] == ["/2026-11-21"]


def test_fetch_on_miss_provider_failure_is_still_rate_unavailable(settings, rates_server, caplog):
    settings.RATES_FETCH_ON_MISS = True
    settings.RATES_PROVIDER_RETRIES = 0
    rates_server.reply(FakeReply(status=500, body={"message": "down"}))

    with pytest.raises(RateUnavailable, match="USD->GBP"):
        get_rate(from_currency="USD", to_currency="GBP", on=D(2026, 11, 20))
    with pytest.raises(RateUnavailable):
        get_rate(from_currency="USD", to_currency="GBP", on=D(2026, 11, 20))

    assert len(rates_server.requests) == 1  # the failure pauses asking for that date
    assert "Rates provider failed" in caplog.text


def test_without_fetch_on_miss_the_provider_is_never_asked(settings, rates_server):
    settings.RATES_FETCH_ON_MISS = False
    rates_server.reply(rates_server.rates(USD=1.05))

    with pytest.raises(RateUnavailable):
        get_rate(from_currency="EUR", to_currency="USD", on=D(2026, 11, 20))

    assert rates_server.requests == []


def test_rates_on_each_answers_every_date_on_its_own_and_rates_on_stops_at_the_first_gap():
    ExchangeRateFactory(base="EUR", quote="USD", date=D(2026, 3, 2), rate=Decimal("1.2"))
    ExchangeRateFactory(base="EUR", quote="GBP", date=D(2026, 3, 4), rate=Decimal("0.8"))
    days = [D(2026, 3, 1), D(2026, 3, 3), D(2026, 3, 5)]

    answers = rates_on_each(from_currency="GBP", to_currency="USD", dates=days)

    assert isinstance(answers[D(2026, 3, 1)], RateUnavailable)
    assert isinstance(answers[D(2026, 3, 3)], RateUnavailable)
    assert "GBP->USD on or before 2026-03-03" in str(answers[D(2026, 3, 3)])
    assert answers[D(2026, 3, 5)].rate == Decimal("1.5")  # 1.2 / 0.8, through EUR
    with pytest.raises(RateUnavailable, match="on or before 2026-03-01"):
        rates_on(from_currency="GBP", to_currency="USD", dates=days)
