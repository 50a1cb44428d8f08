"""The bundled ECB rates: the loader (COPY on PostgreSQL, batches elsewhere), the
`post_migrate` autoload and `load_rates --bundled`, on a small stand-in for the file.

The real file, loaded by `migrate` on an empty database, is tested in
tests/test_statements_out_of_the_box.py.
"""

from __future__ import annotations

import io
import logging
import zipfile
from datetime import date
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from currencies import bundled
from currencies.bundled import BUNDLED_SOURCE, autoload_bundled_rates, rates_load_bundled
from currencies.models import ExchangeRate

pytestmark = pytest.mark.django_db

# Like eurofxref-hist.csv: newest day first, N/A cells, a pre-euro currency (CYP, no
# longer in ISO 4217), a trailing comma.
HISTORY = (
    "Date,USD,JPY,CYP,GBP,\n"
    "2017-03-02,1.0503,119.97,N/A,0.85735,\n"
    "2017-03-01,1.0553,119.44,N/A,0.85270,\n"
    "1999-01-04,1.1789,133.73,0.58231,0.7111,\n"
)
ROWS_IN_HISTORY = 9  # 3 days × USD, JPY, GBP


@pytest.fixture
def small_bundle(tmp_path, monkeypatch):
    path = tmp_path / "eurofxref-hist.zip"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("eurofxref-hist.csv", HISTORY)
    path.write_bytes(buffer.getvalue())
    monkeypatch.setattr(bundled, "bundled_file", lambda: path)
    bundled.ecb_currencies.cache_clear()
    yield path
    bundled.ecb_currencies.cache_clear()  # what the real file covers, for the next tests


def test_loads_every_rate_of_the_file_as_eur_based_bundled_rows(small_bundle):
    result = rates_load_bundled()

    assert (result.added, result.read) == (ROWS_IN_HISTORY, ROWS_IN_HISTORY)
    assert ExchangeRate.objects.filter(source=BUNDLED_SOURCE, base="EUR").count() == 9
    assert not ExchangeRate.objects.filter(quote="CYP").exists()
    gbp = ExchangeRate.objects.get(quote="GBP", date=date(2017, 3, 1))
    assert gbp.rate == Decimal("0.8527")


def test_a_stored_rate_is_never_replaced_and_a_reload_adds_only_what_is_missing(small_bundle):
    ExchangeRate.objects.create(
        base="EUR", quote="USD", date=date(2017, 3, 2), rate=Decimal("1.06"), source="provider"
    )
    assert rates_load_bundled().added == ROWS_IN_HISTORY - 1
    ExchangeRate.objects.filter(quote="JPY").delete()

    again = rates_load_bundled()  # also inside one transaction: the COPY table is gone

    assert again.added == 3
    assert ExchangeRate.objects.count() == ROWS_IN_HISTORY
    kept = ExchangeRate.objects.get(quote="USD", date=date(2017, 3, 2))
    assert (kept.rate, kept.source) == (Decimal("1.06"), "provider")


def test_autoload_runs_when_switched_on_and_no_bundled_rate_is_stored(small_bundle, settings):
    settings.RATES_BUNDLED_AUTOLOAD = False
    call_command("migrate", verbosity=0)
    assert ExchangeRate.objects.count() == 0

    settings.RATES_BUNDLED_AUTOLOAD = True
    out = StringIO()
    call_command("migrate", verbosity=1, stdout=out)
    assert ExchangeRate.objects.count() == ROWS_IN_HISTORY
    assert f"Loaded {ROWS_IN_HISTORY} bundled ECB exchange rates" in out.getvalue()

    ExchangeRate.objects.filter(quote="JPY").delete()
    call_command("migrate", verbosity=0)  # bundled rows exist: left as they are
    assert ExchangeRate.objects.count() == ROWS_IN_HISTORY - 3


def test_an_unreadable_bundle_fails_the_command_but_not_migrate(
    tmp_path, monkeypatch, caplog, settings
):
    monkeypatch.setattr(bundled, "bundled_file", lambda: tmp_path / "missing.zip")
    settings.RATES_BUNDLED_AUTOLOAD = True

    with pytest.raises(CommandError, match="bundled ECB rates could not be read"):
        call_command("load_rates", "--bundled", stdout=StringIO())
    with caplog.at_level(logging.ERROR, logger="currencies.bundled"):
        autoload_bundled_rates(using="default", verbosity=0)

    assert "Could not load the bundled ECB rates" in caplog.text
    assert ExchangeRate.objects.count() == 0


def test_load_rates_bundled_reports_what_it_added(small_bundle):
    out = StringIO()
    call_command("load_rates", "--bundled", stdout=out)

    assert f"Loaded {ROWS_IN_HISTORY} bundled ECB rates" in out.getvalue()
    assert "rates already stored were kept" in out.getvalue()


@pytest.mark.parametrize(
    "args",
    [["--bundled", "rates.csv"], ["--bundled", "--fetch"], ["--bundled", "--date", "2026-01-01"]],
)
def test_bundled_goes_alone(args):
    with pytest.raises(CommandError):
        call_command("load_rates", *args, stdout=StringIO())
