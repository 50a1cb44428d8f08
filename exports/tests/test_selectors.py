"""Export reads: text rows rendered by the database agree with the Python formatting."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from categories.tests.factories import TagFactory
from core.money import format_amount
from expenses.models import Expense
from expenses.tests.factories import ExpenseFactory
from exports.csv_export import csv_stream
from exports.formatting import amount_text, neutralise, rate_text
from exports.selectors import EXPENSE, record_chunks, sheet_chunks, tag_names, text_chunks
from exports.xlsx_writer import date_serial, datetime_serial

pytestmark = pytest.mark.django_db

# (amount, currency, base_amount, exchange_rate): minor units 0, 2, 3 and 4, rounding
# half up at the last place, the largest amount, rates with and without decimals.
CASES = [
    ("0.01", "USD", "0.01", "1"),
    ("999999999999", "USD", "999999999999", "1"),
    ("1500", "JPY", "10.005", "0.006670000000"),
    ("7", "JPY", "10.004", "1.000000000000"),
    ("1.234", "KWD", "4.015", "3.253333333333"),
    ("2.5", "CLF", "100.000", "40.000000000000"),
    ("12.5", "EUR", "13.750", "1.100000000000"),
]


def test_database_text_matches_python_formatting(user):
    for amount, currency, base_amount, rate in CASES:
        ExpenseFactory(
            user=user,
            amount=Decimal(amount),
            currency=currency,
            base_amount=Decimal(base_amount),
            exchange_rate=Decimal(rate),
        )
    records = Expense.objects.filter(user=user).order_by("id")

    texts = [
        row for rows, _ in text_chunks(records, kind=EXPENSE, base_currency="USD") for row in rows
    ]
    values = [row for rows, _ in record_chunks(records, kind=EXPENSE) for row in rows]

    assert len(texts) == len(values) == len(CASES)
    for text, value in zip(texts, values, strict=True):
        assert text[1] == value[1].isoformat()
        assert text[3] == format_amount(value[3], value[4]) == amount_text(value[3], value[4])
        assert text[5] == format_amount(value[5], "USD")
        assert text[6] == rate_text(value[6])
    assert [row[3] for row in texts] == [
        "0.01",
        "999999999999.00",
        "1500",
        "7",
        "1.234",
        "2.5000",
        "12.50",
    ]
    assert [row[5] for row in texts] == [
        "0.01",
        "999999999999.00",
        "10.01",
        "10.00",
        "4.02",
        "100.00",
        "13.75",
    ]
    assert [row[6] for row in texts] == ["1", "1", "0.00667", "1", "3.253333333333", "40", "1.1"]


def test_tag_names_one_query_sorted_per_record(user):
    first, second, untagged = ExpenseFactory.create_batch(3, user=user)
    first.tags.set([TagFactory(user=user, name="b"), TagFactory(user=user, name="a")])
    second.tags.set([TagFactory(user=user, name="c")])

    with CaptureQueriesContext(connection) as queries:
        names = tag_names(model=Expense, ids=[first.id, second.id, untagged.id])

    assert len(queries) == 1
    assert names == {first.id: ["a", "b"], second.id: ["c"]}
    assert tag_names(model=Expense, ids=[]) == {}


@pytest.mark.parametrize("trigger", ["=", "+", "-", "@", "\t", "\r"])
def test_neutralise_prefixes_formula_triggers(trigger):
    assert neutralise(f"{trigger}1+1") == f"'{trigger}1+1"


@pytest.mark.parametrize("text", ["", "plain", "a-b", " =leading space", "'already"])
def test_neutralise_leaves_other_text(text):
    assert neutralise(text) == text


def test_an_abandoned_export_closes_its_server_side_cursor(user):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: only it reads through a server-side cursor")
    ExpenseFactory.create_batch(5, user=user)
    records = Expense.objects.filter(user=user)

    def open_cursors() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_cursors WHERE name LIKE '_django_curs_%%'")
            return cursor.fetchone()[0]

    stream = csv_stream(records, kind=EXPENSE, base_currency="USD", chunk_size=2)
    next(stream), next(stream)  # the header and the first two records
    assert open_cursors() == 1
    stream.close()
    assert open_cursors() == 0


def test_sheet_serials_follow_the_writers_rule(user):
    """The database's serial numbers (`SerialDay`, `SerialTime`) are the Python ones,
    Excel's 1900 leap day included; a timestamp is cut to the second."""
    days = [date(1900, 1, 1), date(1900, 2, 28), date(1900, 3, 1), date(2026, 3, 5)]
    for day in days:
        ExpenseFactory(user=user, date=day)
    moment = datetime(2026, 3, 5, 9, 30, 15, 750_000, tzinfo=UTC)
    Expense.objects.filter(user=user).update(created_at=moment)
    records = Expense.objects.filter(user=user).order_by("date")

    rows = [
        row for rows, _ in sheet_chunks(records, kind=EXPENSE, base_currency="USD") for row in rows
    ]

    assert [row[1] for row in rows] == [date_serial(day) for day in days] == [1, 59, 61, 46086]
    expected = datetime_serial(moment.replace(microsecond=0))
    assert all(abs(float(row[10]) - expected) < 1e-9 for row in rows)
