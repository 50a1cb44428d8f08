import datetime
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from currencies.models import ExchangeRate
from currencies.tests.fake_rates_api import FakeReply

pytestmark = pytest.mark.django_db

XML = """<?xml version="1.0" encoding="UTF-8"?>
<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01"
    xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">
  <gesmes:subject>Reference rates</gesmes:subject>
  <Cube><Cube time="2026-11-20">
    <Cube currency="USD" rate="1.0469"/><Cube currency="JPY" rate="161.39"/>
  </Cube></Cube>
</gesmes:Envelope>
"""


def _run(*args):
    out = StringIO()
    call_command("load_rates", *args, stdout=out)
    return out.getvalue()


def test_loads_a_csv_file(tmp_path):
    path = tmp_path / "eurofxref.csv"
    path.write_text("Date, USD, JPY, \n20 November 2026, 1.0469, N/A, \n")

    assert f"Loaded 1 rates from {path}." in _run(str(path))
    assert ExchangeRate.objects.get().source == "ecb"


def test_detects_xml_by_content_whatever_the_file_name(tmp_path):
    path = tmp_path / "rates.txt"
    path.write_text(XML)

    assert "Loaded 2 rates" in _run(str(path), "--source", "ecb-archive")
    assert set(ExchangeRate.objects.values_list("source", flat=True)) == {"ecb-archive"}


def test_malformed_file_is_a_command_error(tmp_path):
    path = tmp_path / "broken.csv"
    path.write_text("Date,USD,\n2026-11-20,lots,\n")

    with pytest.raises(CommandError, match=r"broken.csv: Line 2, USD: 'lots'"):
        _run(str(path))
    assert ExchangeRate.objects.count() == 0


def test_needs_a_path_or_fetch(tmp_path):
    with pytest.raises(CommandError, match="either a PATH"):
        _run()
    with pytest.raises(CommandError, match="either a PATH"):
        _run(str(tmp_path / "x.csv"), "--fetch")


def test_fetch_uses_the_provider(rates_server):
    rates_server.reply(rates_server.rates(day="2026-11-20", USD=1.05, GBP=0.84))

    assert "Fetched 2 rates from the provider." in _run("--fetch", "--date", "2026-11-20")
    assert rates_server.requests[0][0] == "/2026-11-20"
    assert ExchangeRate.objects.filter(date=datetime.date(2026, 11, 20)).count() == 2


def test_fetch_errors_are_command_errors(rates_server, settings):
    settings.RATES_PROVIDER_RETRIES = 0
    rates_server.reply(FakeReply(status=404, body={"message": "not found"}))

    with pytest.raises(CommandError, match="answered 404"):
        _run("--fetch")
    with pytest.raises(CommandError, match="--date: '20/11/2026' is not a date"):
        _run("--fetch", "--date", "20/11/2026")
