"""CSV exports of expenses and income (SPEC §11), produced as a stream of byte chunks."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Sequence
from contextlib import closing

from django.db.models import QuerySet

from .formatting import TAG_SEPARATOR, neutralise
from .selectors import CHUNK_SIZE, RecordKind, text_chunks

# Excel only reads a CSV file as UTF-8 when it starts with a byte order mark; Python
# (`encoding="utf-8-sig"`), pandas and the bank-statement import skip it.
BOM = "\ufeff"


def header(kind: RecordKind) -> list[str]:
    return [
        "id",
        "date",
        "description",
        "amount",
        "currency",
        "base_amount",
        "base_currency",
        "exchange_rate",
        "category",
        kind.party,
        *kind.extra,
        "tags",
        "notes",
        "created_at",
    ]


class _Pieces:
    """The pseudo-file `csv.writer` writes into; a chunk's text is collected, then joined."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, text: str) -> None:
        self.parts.append(text)

    def take(self) -> bytes:
        data = "".join(self.parts).encode("utf-8")
        self.parts.clear()
        return data


def csv_stream(
    queryset: QuerySet, *, kind: RecordKind, base_currency: str, chunk_size: int = CHUNK_SIZE
) -> Iterator[bytes]:
    """The BOM and header, then one UTF-8 byte string per chunk of `chunk_size` records.

    Text cells (description, category, counterparty, tags, notes) are neutralised
    against formula injection; amounts carry their currency's minor units, `base_amount`
    the base currency's; `date` is ISO 8601 and `created_at` is UTC with milliseconds.
    """
    pieces = _Pieces()
    writer = csv.writer(pieces)
    pieces.write(BOM)
    writer.writerow(header(kind))
    yield pieces.take()
    chunks = text_chunks(queryset, kind=kind, base_currency=base_currency, chunk_size=chunk_size)
    with closing(chunks):
        for rows, tags in chunks:
            writer.writerows(
                (
                    pk,
                    day,
                    neutralise(description),
                    amount,
                    currency,
                    base_amount,
                    base_currency,
                    rate,
                    neutralise(category) if category else "",
                    neutralise(party),
                    *extra,
                    neutralise(TAG_SEPARATOR.join(tags[pk])) if pk in tags else "",
                    neutralise(notes),
                    created_at,
                )
                for (
                    pk,
                    day,
                    description,
                    amount,
                    currency,
                    base_amount,
                    rate,
                    category,
                    party,
                    notes,
                    created_at,
                    *extra,
                ) in rows
            )
            yield pieces.take()


def table_stream(
    header: Sequence[str], rows: Iterable[Sequence[object]], *, chunk_size: int = CHUNK_SIZE
) -> Iterator[bytes]:
    """The BOM and `header`, then `rows` as UTF-8 byte chunks of `chunk_size` rows, for
    files other than the record exports (balances, settlements). The caller neutralises
    its text cells (`formatting.neutralise`); numbers and dates go as they are."""
    pieces = _Pieces()
    writer = csv.writer(pieces)
    pieces.write(BOM)
    writer.writerow(header)
    yield pieces.take()
    for count, row in enumerate(rows, start=1):
        writer.writerow(row)
        if count % chunk_size == 0:
            yield pieces.take()
    tail = pieces.take()
    if tail:
        yield tail
