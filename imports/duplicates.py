"""Possible duplicates: statement rows that look like a record entered by hand (SPEC §11).

A row is a *possible duplicate* of a record that no import created (entered by hand,
by a recurring item, or restored from a backup) when all of these hold:

- same kind (an outflow only against an expense, an inflow only against an income),
  same currency and the same amount (as numbers: 12.5 = 12.5000);
- the dates are at most `WINDOW_DAYS` (3) days apart;
- the texts are similar. Texts are normalised into words (accents dropped, case
  folded, split on anything that is not a letter or digit, numbers and one-letter
  words dropped). The similarity of two texts is the larger of the word overlap —
  shared words ÷ words of the shorter text, so "Tesco" is similar to "CARD 1234 TESCO
  STORES LONDON" — and difflib's SequenceMatcher ratio of the two word sequences. The
  row's text is its description plus its payee/merchant; it is compared with the
  record's description, its merchant (an income's payer) and the two together, and
  the best of the three counts. Similar means ≥ `SIMILARITY` (0.6).

One record is claimed by at most one row, so two genuine rows are never both skipped
against one record: all (row, record) pairs are ranked by date distance, then higher
similarity, then line and record id, and taken greedily. Bounded work: for each row,
at most `MAX_CANDIDATES` records (the nearest in date, then by id) are compared.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from difflib import SequenceMatcher
from itertools import chain
from typing import Any

WINDOW_DAYS = 3
SIMILARITY = 0.6
MAX_CANDIDATES = 200  # records compared per row, nearest first

_NOT_WORD = re.compile(r"[^0-9a-z]+")

# A stored record as the selectors give it: (id, date, amount, currency, description, text).
RecordTuple = tuple[int, date, Any, str, str, str]


def words(text: str) -> tuple[str, ...]:
    """The words texts are compared by (see the module docstring)."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    return tuple(word for word in _NOT_WORD.split(text) if len(word) > 1 and not word.isdigit())


@dataclass(frozen=True)
class _Text:
    words: frozenset[str]
    joined: str

    @classmethod
    def of(cls, *parts: str) -> _Text:
        found = words(" ".join(parts))
        return cls(words=frozenset(found), joined=" ".join(found))


def similarity(a: _Text, b: _Text) -> float:
    """0..1; texts are similar at `SIMILARITY` or more."""
    if not a.words or not b.words:
        return 0.0
    overlap = len(a.words & b.words) / min(len(a.words), len(b.words))
    if overlap >= SIMILARITY:
        return overlap
    matcher = SequenceMatcher(None, a.joined, b.joined, autojunk=False)
    if matcher.real_quick_ratio() < SIMILARITY or matcher.quick_ratio() < SIMILARITY:
        return overlap
    return max(overlap, matcher.ratio())


@dataclass(frozen=True)
class _Record:
    kind: str
    id: int
    date: date
    texts: tuple[_Text, ...]  # description, merchant, both (the non-empty ones)

    @classmethod
    def of(cls, kind: str, record_id: int, day: date, description: str, text: str) -> _Record:
        texts = [_Text.of(description)]
        if text.strip():
            texts += [_Text.of(text), _Text.of(description, text)]
        return cls(kind, record_id, day, tuple(texts))

    def similarity(self, row_text: _Text) -> float:
        return max(similarity(row_text, text) for text in self.texts)


def date_window(dates: Iterable[date]) -> tuple[date, date] | None:
    """The dates candidate records may have for rows on `dates`."""
    dates = list(dates)
    if not dates:
        return None
    return min(dates) - timedelta(days=WINDOW_DAYS), max(dates) + timedelta(days=WINDOW_DAYS)


def match(
    rows: Sequence[Mapping[str, Any]], records: Mapping[str, Iterable[RecordTuple]]
) -> dict[int, tuple[str, int]]:
    """Index in `rows` → (kind, record id) of the record each row possibly duplicates.

    `rows` are preview rows (`kind`, `currency`, `amount`, `date`, `description`,
    `merchant`, `line`); `records` maps a kind to the records not created by an import,
    streamed: only those whose (currency, amount) some row has are kept in memory.
    """
    streams = {kind: iter(stream) for kind, stream in records.items()}
    firsts = {kind: next(stream, None) for kind, stream in streams.items()}
    if all(first is None for first in firsts.values()):
        return {}  # nothing entered by hand in the window: the rows need no indexing
    wanted: dict[tuple[str, str, Decimal], list[int]] = defaultdict(list)
    for index, row in enumerate(rows):
        wanted[(row["kind"], row["currency"], Decimal(row["amount"]))].append(index)
    if not wanted:
        return {}
    # (kind, currency, amount) → date → records of that day, by id
    found: dict[tuple[str, str, Decimal], dict[date, list[_Record]]] = {}
    for kind, stream in streams.items():
        first = firsts[kind]
        if first is None:
            continue
        for record_id, day, amount, currency, description, text in chain([first], stream):
            key = (kind, currency, amount)
            if key in wanted:
                record = _Record.of(kind, record_id, day, description, text)
                found.setdefault(key, defaultdict(list))[day].append(record)
    if not found:
        return {}
    pairs: list[tuple[int, float, int, int, str, int]] = []
    for key, by_day in found.items():
        for day_records in by_day.values():
            day_records.sort(key=lambda r: r.id)
        for index in wanted[key]:
            row = rows[index]
            row_text = _Text.of(row["description"], row.get("merchant", ""))
            row_day = date.fromisoformat(row["date"])
            for compared, (distance, record) in enumerate(_nearest(by_day, row_day)):
                if compared >= MAX_CANDIDATES:
                    break
                score = record.similarity(row_text)
                if score >= SIMILARITY:
                    pairs.append((distance, -score, row["line"], index, record.kind, record.id))
    pairs.sort()
    claimed_rows: dict[int, tuple[str, int]] = {}
    claimed_records: set[tuple[str, int]] = set()
    for _, _, _, index, kind, record_id in pairs:
        if index in claimed_rows or (kind, record_id) in claimed_records:
            continue
        claimed_rows[index] = (kind, record_id)
        claimed_records.add((kind, record_id))
    return claimed_rows


def _nearest(by_day: Mapping[date, list[_Record]], day: date) -> Iterable[tuple[int, _Record]]:
    """Records within the window, nearest day first (earlier before later), then by id."""
    for distance in range(WINDOW_DAYS + 1):
        days = [day] if distance == 0 else [day - timedelta(distance), day + timedelta(distance)]
        for one in days:
            for record in by_day.get(one, ()):
                yield distance, record
