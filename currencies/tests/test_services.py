import datetime
import io
import zipfile
from decimal import Decimal

import pytest

from currencies import services
from currencies.models import ExchangeRate
from currencies.services import RatesFileError, rate_upsert, rates_load_ecb
from currencies.tests.factories import ExchangeRateFactory

pytestmark = pytest.mark.django_db

D = datetime.date

# eurofxref-hist.csv: ISO dates, withdrawn currencies (CYP, HRK) as N/A, a trailing comma.
HIST_CSV = (
    "Date,USD,JPY,CYP,GBP,KWD,HRK,\n"
    "2026-11-20,1.0469,161.39,N/A,0.8319,N/A,N/A,\n"
    "2026-11-19,1.0537,163.21,N/A,0.8344,0.32456,N/A,\n"
)
# eurofxref.csv (the daily file): spaces after commas and an English long date.
DAILY_CSV = "Date, USD, JPY, CHF, GBP, \n21 November 2026, 1.0500, 162.00, 0.9266, 0.8400, \n"
DAILY_XML = """<?xml version="1.0" encoding="UTF-8"?>
<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01"
    xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">
\t<gesmes:subject>Reference rates</gesmes:subject>
\t<gesmes:Sender>
\t\t<gesmes:name>European Central Bank</gesmes:name>
\t</gesmes:Sender>
\t<Cube>
\t\t<Cube time='2026-11-20'>
\t\t\t<Cube currency='USD' rate='1.0469'/>
\t\t\t<Cube currency='JPY' rate='161.39'/>
\t\t\t<Cube currency='GBP' rate='0.8319'/>
\t\t</Cube>
\t\t<Cube time='2026-11-19'>
\t\t\t<Cube currency='USD' rate='1.0537'/>
\t\t\t<Cube currency='XYZ' rate='9.99'/>
\t\t</Cube>
\t</Cube>
</gesmes:Envelope>
"""


def _rates():
    return {(r.base, r.quote, r.date): r.rate for r in ExchangeRate.objects.all()}


def test_rate_upsert_creates_then_replaces():
    first = rate_upsert(base="EUR", quote="USD", date=D(2026, 11, 20), rate=Decimal("1.05"))
    second = rate_upsert(
        base="EUR", quote="USD", date=D(2026, 11, 20), rate=Decimal("1.06"), source="ecb"
    )

    assert first.pk == second.pk
    stored = ExchangeRate.objects.get()
    assert (stored.rate, stored.source) == (Decimal("1.06"), "ecb")


def test_load_history_csv_skips_na_and_unknown_currencies(tmp_path):
    path = tmp_path / "eurofxref-hist.csv"
    path.write_text(HIST_CSV)

    count = rates_load_ecb(stream_or_path=path)

    assert count == 7
    rates = _rates()
    assert rates[("EUR", "USD", D(2026, 11, 20))] == Decimal("1.0469")
    assert rates[("EUR", "KWD", D(2026, 11, 19))] == Decimal("0.32456")
    assert ("EUR", "KWD", D(2026, 11, 20)) not in rates  # N/A
    assert not ExchangeRate.objects.filter(quote__in=["CYP", "HRK"]).exists()
    assert set(ExchangeRate.objects.values_list("source", flat=True)) == {"ecb"}


def test_load_daily_csv_with_long_date_and_spaces():
    count = rates_load_ecb(stream_or_path=io.StringIO(DAILY_CSV))

    assert count == 4
    assert _rates()[("EUR", "GBP", D(2026, 11, 21))] == Decimal("0.84")


def test_load_xml_daily_and_history_layout(tmp_path):
    path = tmp_path / "eurofxref-hist.xml"
    path.write_text(DAILY_XML)

    count = rates_load_ecb(stream_or_path=str(path))

    assert count == 4  # XYZ is not an ISO 4217 currency
    assert _rates() == {
        ("EUR", "USD", D(2026, 11, 20)): Decimal("1.0469"),
        ("EUR", "JPY", D(2026, 11, 20)): Decimal("161.39"),
        ("EUR", "GBP", D(2026, 11, 20)): Decimal("0.8319"),
        ("EUR", "USD", D(2026, 11, 19)): Decimal("1.0537"),
    }


def test_load_zipped_history(tmp_path):
    path = tmp_path / "eurofxref-hist.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("eurofxref-hist.csv", HIST_CSV)

    assert rates_load_ecb(stream_or_path=path) == 7


def test_loading_again_replaces_rates_instead_of_duplicating():
    ExchangeRateFactory(base="EUR", quote="USD", date=D(2026, 11, 20), rate=Decimal("9"))

    rates_load_ecb(stream_or_path=io.BytesIO(HIST_CSV.encode()))
    rates_load_ecb(stream_or_path=io.BytesIO(HIST_CSV.encode()))

    assert ExchangeRate.objects.count() == 7
    usd = ExchangeRate.objects.get(quote="USD", date=D(2026, 11, 20))
    assert (usd.rate, usd.source) == (Decimal("1.0469"), "ecb")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "empty"),
        ("Currency,USD\n2026-11-20,1.05\n", "header starting with 'Date'"),
        ("Date,USD,GBP,\n", "no dates"),
        ("Date,USD,GBP,\n2026-11-20,1.05,0.83,\n2026-13-45,1.05,0.83,\n", "Line 3"),
        ("Date,USD,GBP,\n2026-11-20,1.05,abc,\n", "Line 2, GBP: 'abc'"),
        ("Date,USD,GBP,\n2026-11-20,1.05,-0.83,\n", "not a positive exchange rate"),
        ("Date,USD,\n2026-11-20,1.05,1.07,1.08\n", "3 values but the header names 1"),
        ("<gesmes:Envelope><Cube>", "well-formed"),
        ("<root><item/></root>", "no <Cube"),
        ("<Cube><Cube time='2026-11-20'><Cube currency='USD' rate='x'/></Cube></Cube>", "'x'"),
    ],
)
def test_malformed_file_raises_and_stores_nothing(monkeypatch, content, message):
    monkeypatch.setattr(services, "BATCH_SIZE", 1)  # earlier batches are rolled back too

    with pytest.raises(RatesFileError) as excinfo:
        rates_load_ecb(stream_or_path=io.StringIO(content))

    assert message in str(excinfo.value)
    assert isinstance(excinfo.value, ValueError)
    assert ExchangeRate.objects.count() == 0


def test_xml_with_entities_is_refused():
    evil = (
        '<?xml version="1.0"?>\n'
        '<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
        "<Cube><Cube time='2026-11-20'><Cube currency='USD' rate='&xxe;'/></Cube></Cube>"
    )

    with pytest.raises(RatesFileError, match="unsafe XML"):
        rates_load_ecb(stream_or_path=io.StringIO(evil))
    assert ExchangeRate.objects.count() == 0


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(RatesFileError, match="Cannot read"):
        rates_load_ecb(stream_or_path=tmp_path / "nope.csv")


def test_rate_create_duplicate_is_a_validation_error_not_a_500():
    from django.core.exceptions import ValidationError

    ExchangeRateFactory(base="EUR", quote="USD", date=D(2026, 11, 20))

    with pytest.raises(ValidationError, match="already exists"):
        services.rate_create(base="EUR", quote="USD", date=D(2026, 11, 20), rate=Decimal("1.1"))
    assert ExchangeRate.objects.count() == 1
