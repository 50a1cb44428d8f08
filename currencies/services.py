"""Writing exchange rates: one at a time (admin, API) or in bulk (ECB files, the provider)."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from itertools import islice
from pathlib import Path
from typing import IO

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, iterparse
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from core.exceptions import ApplicationError
from core.money import currencies

from .models import MAX_RATE, MIN_RATE, RATE_RANGE_MESSAGE, ExchangeRate

ECB_BASE = "EUR"
BATCH_SIZE = 1000
RATE_DECIMAL_PLACES = Decimal("1e-10")
# An ECB history file is a few MB; anything far larger is not one.
MAX_FILE_BYTES = 100 * 1024 * 1024

_MONTHS = {
    name: number
    for number, name in enumerate(
        (
            "january",
            "february",
            "march",
            "april",
            "may",
            "june",
            "july",
            "august",
            "september",
            "october",
            "november",
            "december",
        ),
        start=1,
    )
}


DUPLICATE_RATE = "A rate for this base, quote and date already exists."


class RatesFileError(ApplicationError, ValueError):
    """A rates file is not in a format we read; nothing from it was stored."""

    default_code = "invalid_rates_file"


@dataclass(frozen=True)
class RateRow:
    base: str
    quote: str
    date: date
    rate: Decimal


def clean_rate(value: Decimal) -> Decimal:
    """A rate fit for the `rate` column, rounded to its 10 decimals.

    Raises ValueError if it is not a number in [MIN_RATE, MAX_RATE]: the bound that
    keeps every conversion of an allowed amount inside the base_amount columns.
    """
    if not value.is_finite() or value <= 0:
        raise ValueError(f"{value} is not a positive number")
    if not MIN_RATE <= value <= MAX_RATE:
        raise ValueError(f"{value} is out of range. {RATE_RANGE_MESSAGE}")
    return value.quantize(RATE_DECIMAL_PLACES)


def rate_upsert(
    *, base: str, quote: str, date: date, rate: Decimal, source: str = "manual"
) -> ExchangeRate:
    """Store the rate of `base`/`quote` on `date`, replacing any rate already there."""
    exchange_rate, _ = ExchangeRate.objects.update_or_create(
        base=base,
        quote=quote,
        date=date,
        defaults={"rate": clean_rate(Decimal(str(rate))), "source": source},
    )
    return exchange_rate


def rate_create(
    *, base: str, quote: str, date: date, rate: Decimal, source: str = "manual"
) -> ExchangeRate:
    """A new rate. Raises ValidationError if the pair already has a rate on `date`."""
    exchange_rate = ExchangeRate(
        base=base, quote=quote, date=date, rate=clean_rate(rate), source=source
    )
    _save_unique(exchange_rate)
    return exchange_rate


def rate_update(*, exchange_rate: ExchangeRate, **changes: object) -> ExchangeRate:
    """Change some of a rate's fields (base, quote, date, rate, source).

    Raises ValidationError if that makes it a second rate for a pair and date.
    """
    if "rate" in changes:
        changes["rate"] = clean_rate(Decimal(str(changes["rate"])))
    for name, value in changes.items():
        setattr(exchange_rate, name, value)
    _save_unique(exchange_rate)
    return exchange_rate


def _save_unique(exchange_rate: ExchangeRate) -> None:
    # Serializers check uniqueness first; this catches the concurrent duplicate.
    try:
        with transaction.atomic():
            exchange_rate.save()
    except IntegrityError:
        raise ValidationError(DUPLICATE_RATE, code="unique") from None


def rates_bulk_upsert(*, rows: Iterable[RateRow], source: str) -> int:
    """Insert or replace many rates in batches, all or nothing; returns how many were written.

    `rows` may be a lazy iterator: it is consumed inside the transaction, so an
    error raised while producing it (a malformed file) leaves the table untouched.
    """
    written = 0
    iterator = iter(rows)
    with transaction.atomic():
        while batch := list(islice(iterator, BATCH_SIZE)):
            # A key twice in one INSERT … ON CONFLICT is an error on PostgreSQL; last wins.
            unique = {(row.base, row.quote, row.date): row for row in batch}
            ExchangeRate.objects.bulk_create(
                [
                    ExchangeRate(
                        base=row.base,
                        quote=row.quote,
                        date=row.date,
                        rate=clean_rate(row.rate),
                        source=source,
                    )
                    for row in unique.values()
                ],
                update_conflicts=True,
                unique_fields=["base", "quote", "date"],
                update_fields=["rate", "source", "updated_at"],
            )
            written += len(unique)
    return written


# --- ECB reference-rate files ------------------------------------------------


def _read_bytes(stream_or_path: str | Path | IO[bytes] | IO[str]) -> bytes:
    if isinstance(stream_or_path, str | Path):
        try:
            with open(stream_or_path, "rb") as handle:
                content = handle.read(MAX_FILE_BYTES + 1)
        except OSError as exc:
            raise RatesFileError(f"Cannot read {stream_or_path}: {exc.strerror}.") from None
    else:
        content = stream_or_path.read(MAX_FILE_BYTES + 1)
        if isinstance(content, str):
            content = content.encode("utf-8")
    if len(content) > MAX_FILE_BYTES:
        raise RatesFileError("The rates file is larger than 100 MB; not an ECB rates file.")
    if content.startswith(b"PK\x03\x04"):
        content = _unzip(content)
    return content


def _unzip(content: bytes) -> bytes:
    """The one CSV or XML inside the ECB's `eurofxref-hist.zip`."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            members = [
                info
                for info in archive.infolist()
                if info.filename.lower().endswith((".csv", ".xml"))
            ]
            if len(members) != 1:
                raise RatesFileError("The zip file must hold exactly one .csv or .xml file.")
            if members[0].file_size > MAX_FILE_BYTES:
                raise RatesFileError("The file inside the zip is larger than 100 MB.")
            return archive.read(members[0])
    except zipfile.BadZipFile as exc:
        raise RatesFileError(f"Not a readable zip file: {exc}.") from None


def _parse_date(text: str, where: str) -> date:
    """`2026-11-20` (history files) or `20 November 2026` (the daily CSV)."""
    text = text.strip()
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    parts = text.split()
    if len(parts) == 3 and parts[1].lower() in _MONTHS:
        try:
            return date(int(parts[2]), _MONTHS[parts[1].lower()], int(parts[0]))
        except ValueError:
            pass
    raise RatesFileError(f"{where}: {text!r} is not a date (use YYYY-MM-DD).")


def _parse_rate(text: str, where: str) -> Decimal | None:
    """The rate in a cell, or None for an empty or `N/A` cell (no quote that day)."""
    text = text.strip()
    if not text or text.upper() == "N/A":
        return None
    try:
        return clean_rate(Decimal(text))
    except (InvalidOperation, ValueError):
        raise RatesFileError(f"{where}: {text!r} is not a positive exchange rate.") from None


def _iter_csv(text: str) -> Iterator[RateRow]:
    known = currencies()
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if not header or header[0].strip().lower() != "date":
        raise RatesFileError(
            "Not an ECB rates CSV: the first line must be a header starting with 'Date' "
            "followed by currency codes."
        )
    codes = [cell.strip().upper() for cell in header[1:]]
    while codes and not codes[-1]:  # the ECB ends every line with a comma
        codes.pop()
    if not codes:
        raise RatesFileError("Not an ECB rates CSV: the header names no currencies.")
    found_rows = False
    for line_no, cells in enumerate(reader, start=2):
        if not any(cell.strip() for cell in cells):
            continue
        values = cells[1:]
        if len(values) > len(codes) and any(v.strip() for v in values[len(codes) :]):
            raise RatesFileError(
                f"Line {line_no}: {len(values)} values but the header names {len(codes)} "
                "currencies."
            )
        found_rows = True
        day = _parse_date(cells[0], f"Line {line_no}")
        for code, cell in zip(codes, values, strict=False):
            rate = _parse_rate(cell, f"Line {line_no}, {code}")
            if rate is not None and code in known and code != ECB_BASE:
                yield RateRow(base=ECB_BASE, quote=code, date=day, rate=rate)
    if not found_rows:
        raise RatesFileError("The rates CSV has a header but no dates.")


def _local_name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _iter_xml(content: bytes) -> Iterator[RateRow]:
    known = currencies()
    found_days = False
    try:
        # defusedxml: no DTDs, no entity expansion, no external references.
        events = iterparse(io.BytesIO(content), events=("end",), forbid_dtd=True)
        for _, element in events:
            if _local_name(element.tag) != "Cube" or "time" not in element.attrib:
                continue
            day = _parse_date(element.attrib["time"], "Cube time")
            found_days = True
            for child in element:
                code = child.attrib.get("currency", "").strip().upper()
                if _local_name(child.tag) != "Cube" or not code:
                    raise RatesFileError(
                        f"Cube time={day.isoformat()}: every entry needs currency= and rate=."
                    )
                rate = _parse_rate(child.attrib.get("rate", ""), f"{day.isoformat()}, {code}")
                if rate is not None and code in known and code != ECB_BASE:
                    yield RateRow(base=ECB_BASE, quote=code, date=day, rate=rate)
            element.clear()
    except ParseError as exc:
        raise RatesFileError(f"Not a well-formed XML file: {exc}.") from None
    except DefusedXmlException as exc:
        raise RatesFileError(f"Refused an unsafe XML construct: {exc}.") from None
    if not found_days:
        raise RatesFileError(
            'Not an ECB rates XML file: no <Cube time="YYYY-MM-DD"> elements found.'
        )


def _iter_ecb(content: bytes) -> Iterator[RateRow]:
    stripped = content.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not stripped:
        raise RatesFileError("The rates file is empty.")
    if stripped.startswith(b"<"):
        return _iter_xml(stripped)
    try:
        text = stripped.decode("utf-8")
    except UnicodeDecodeError:
        raise RatesFileError("Not an ECB rates file: neither XML nor UTF-8 CSV.") from None
    return _iter_csv(text)


def rates_load_ecb(*, stream_or_path: str | Path | IO[bytes] | IO[str], source: str = "ecb") -> int:
    """Load an ECB reference-rate file (CSV or XML, daily or history, optionally zipped).

    Every rate is stored as EUR→currency; currencies unknown to ISO 4217 (e.g. the
    pre-euro ones in the history files) and `N/A` cells are skipped. Existing rates
    for the same pair and date are replaced. Returns the number of rates written.
    Raises RatesFileError (a ValueError) for a malformed file, storing nothing.
    """
    content = _read_bytes(stream_or_path)
    return rates_bulk_upsert(rows=_iter_ecb(content), source=source)
