import datetime
import time
from decimal import Decimal

import pytest

from currencies.models import ExchangeRate
from currencies.providers import RatesProvider, RatesProviderError, fetch_rates
from currencies.tests.fake_rates_api import FakeReply

pytestmark = pytest.mark.django_db

D = datetime.date


def test_fetch_stores_the_rates_for_the_date_the_provider_reports(rates_server):
    # Asked for a Sunday, the provider answers with Friday's rates.
    rates_server.reply(rates_server.rates(day="2026-11-20", USD=1.0469, JPY=161.39, XXX=1.0))

    count = fetch_rates(on=D(2026, 11, 22))

    assert count == 2  # XXX is not a currency we know
    assert rates_server.requests == [("/2026-11-22", {"base": ["EUR"]})]
    usd = ExchangeRate.objects.get(quote="USD")
    assert (usd.base, usd.date, usd.rate, usd.source) == (
        "EUR",
        D(2026, 11, 20),
        Decimal("1.0469"),  # via str(), not the binary float 1.04689999…
        "provider",
    )


def test_latest_and_an_explicit_base(rates_server):
    rates_server.reply(rates_server.rates(base="USD", EUR=0.95))

    assert fetch_rates(base="USD") == 1

    assert rates_server.requests == [("/latest", {"base": ["USD"]})]
    assert ExchangeRate.objects.get().base == "USD"


def test_retries_a_503_then_succeeds(rates_server):
    rates_server.reply(
        FakeReply(status=503, body={"message": "busy"}), rates_server.rates(USD=1.05)
    )

    assert fetch_rates(on=D(2026, 11, 20)) == 1
    assert len(rates_server.requests) == 2


def test_gives_up_after_the_configured_retries(rates_server, settings):
    settings.RATES_PROVIDER_RETRIES = 1
    rates_server.reply(FakeReply(status=500, body={"message": "broken"}))

    with pytest.raises(RatesProviderError, match="answered 500"):
        fetch_rates(on=D(2026, 11, 20))
    assert len(rates_server.requests) == 2  # the first try and one retry
    assert ExchangeRate.objects.count() == 0


def test_slow_provider_is_a_timeout_error(rates_server, settings):
    settings.RATES_PROVIDER_TIMEOUT = 0.2
    rates_server.reply(FakeReply(body=rates_server.rates(USD=1.05), delay=1.0))

    started = time.monotonic()
    with pytest.raises(RatesProviderError, match=r"did not answer within 0\.2 s"):
        fetch_rates(on=D(2026, 11, 20))

    assert time.monotonic() - started < 0.9
    assert ExchangeRate.objects.count() == 0


def test_cached_answer_makes_no_second_request(rates_server):
    rates_server.reply(rates_server.rates(USD=1.05))

    fetch_rates(on=D(2026, 11, 20))
    ExchangeRate.objects.all().delete()
    assert fetch_rates(on=D(2026, 11, 20)) == 1  # stored again, from the cache

    assert len(rates_server.requests) == 1
    fetch_rates(on=D(2026, 11, 19))  # another date is another request
    assert len(rates_server.requests) == 2


def test_errors_are_not_cached(rates_server, settings):
    settings.RATES_PROVIDER_RETRIES = 0
    rates_server.reply(FakeReply(status=502, body={}), rates_server.rates(USD=1.05))

    with pytest.raises(RatesProviderError):
        fetch_rates(on=D(2026, 11, 20))
    assert fetch_rates(on=D(2026, 11, 20)) == 1


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<html>not json</html>", "valid JSON"),
        ({"base": "EUR", "date": "2026-11-20"}, '"rates"'),
        ({"base": "USD", "date": "2026-11-20", "rates": {"GBP": 0.8}}, "got USD"),
        ({"base": "EUR", "date": "yesterday", "rates": {"USD": 1.0}}, "not YYYY-MM-DD"),
        ({"base": "EUR", "date": "2026-11-20", "rates": {"USD": -1}}, "not a positive"),
        ({"base": "EUR", "date": "2026-11-20", "rates": {"USD": None}}, "not a positive"),
    ],
)
def test_unusable_answers_are_clear_errors(rates_server, body, message):
    rates_server.reply(FakeReply(body=body))

    with pytest.raises(RatesProviderError, match=message):
        fetch_rates(on=D(2026, 11, 20))
    assert ExchangeRate.objects.count() == 0


def test_unreachable_provider_is_a_clear_error(settings):
    settings.RATES_PROVIDER_URL = "http://127.0.0.1:9"  # discard port: connection refused
    provider = RatesProvider(retries=1, backoff_factor=0)

    with pytest.raises(RatesProviderError, match="Could not reach the rates provider"):
        provider.get_rates(on=D(2026, 11, 20))
