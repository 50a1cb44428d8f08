"""Which column of a statement table holds what: header names → roles (SPEC §11).

Roles: `date`, `description`, `amount` — or `debit` and/or `credit` instead —, and the
optional `merchant` (payee), `currency`, `memo`, `fitid` and `direction` (an "Af Bij" /
"DR/CR" column that gives the sign of an unsigned amount). The client may name columns
(`CsvOptions.columns`, by header text or 0-based index); the other roles are matched
against common header names in English and the major European bank languages.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from core.money import is_currency

from .base import StatementError

ROLES = (
    "date",
    "description",
    "amount",
    "debit",
    "credit",
    "merchant",
    "currency",
    "memo",
    "fitid",
    "direction",
)

# The highest 0-based column number a client may name (a statement has far fewer).
MAX_COLUMN_INDEX = 9999

# Normalised header names (see `normalise_header`), best first within a role.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "date": (
        "date",
        "transaction date",
        "trans date",
        "txn date",
        "booking date",
        "booked date",
        "posting date",
        "posted date",
        "post date",
        "entry date",
        "completed date",
        "started date",
        "datum",
        "buchungstag",
        "buchungsdatum",
        "transactiedatum",
        "boekdatum",
        "boekingsdatum",
        "date operation",
        "date de l'operation",
        "date d'operation",
        "date de operation",
        "date comptable",
        "fecha",
        "fecha operacion",
        "fecha de operacion",
        "fecha contable",
        "data",
        "data operazione",
        "data contabile",
        "data movimento",
        "data operacji",
        "data transakcji",
        "value date",
        "valutadatum",
        "rentedatum",
        "wertstellung",
        "date valeur",
        "date de valeur",
        "fecha valor",
        "data valuta",
    ),
    "description": (
        "description",
        "transaction description",
        "details",
        "transaction details",
        "narrative",
        "narration",
        "particulars",
        "transaction text",
        "text",
        "verwendungszweck",
        "buchungstext",
        "beschreibung",
        "umsatztext",
        "omschrijving",
        "libelle",
        "libelle operation",
        "libelle de l'operation",
        "detail",
        "concepto",
        "descripcion",
        "descrizione",
        "descrizione operazione",
        "causale",
        "opis",
        "tytul",
        "memo",
        "payee",
        "name",
        "naam",
        "naam/omschrijving",
    ),
    "amount": (
        "amount",
        "transaction amount",
        "amt",
        "betrag",
        "umsatz",
        "bedrag",
        "montant",
        "importe",
        "importo",
        "valor",
        "kwota",
        "belopp",
        "belob",
        "value",
    ),
    "debit": (
        "debit",
        "debits",
        "debit amount",
        "withdrawal",
        "withdrawals",
        "paid out",
        "money out",
        "out",
        "outflow",
        "soll",
        "ausgang",
        "belastung",
        "af",
        "debet",
        "cargo",
        "cargos",
        "addebito",
        "addebiti",
        "uscite",
        "dare",
        "obciazenia",
    ),
    "credit": (
        "credit",
        "credits",
        "credit amount",
        "deposit",
        "deposits",
        "paid in",
        "money in",
        "in",
        "inflow",
        "haben",
        "eingang",
        "gutschrift",
        "bij",
        "abono",
        "abonos",
        "ingreso",
        "ingresos",
        "accredito",
        "accrediti",
        "entrate",
        "avere",
        "uznania",
    ),
    "merchant": (
        "payee",
        "payee name",
        "merchant",
        "merchant name",
        "counterparty",
        "counterparty name",
        "counter party",
        "beneficiary",
        "name",
        "naam tegenpartij",
        "tegenpartij",
        "naam",
        "naam/omschrijving",
        "begunstigter/zahlungspflichtiger",
        "auftraggeber/empfanger",
        "empfanger",
        "zahlungsempfanger",
        "auftraggeber",
        "beneficiaire",
        "tiers",
        "beneficiario",
        "ordenante",
        "controparte",
        "kontrahent",
        "nazwa kontrahenta",
    ),
    "currency": (
        "currency",
        "currency code",
        "ccy",
        "curr",
        "wahrung",
        "waehrung",
        "valuta",
        "munt",
        "devise",
        "moneda",
        "divisa",
        "waluta",
    ),
    "memo": (
        "memo",
        "notes",
        "note",
        "remarks",
        "reference",
        "mededelingen",
        "mitteilung",
        "additional information",
        "additional info",
    ),
    "fitid": (
        "fitid",
        "transaction id",
        "transactionid",
        "transaction number",
        "unique id",
        "id",
        "volgnr",
    ),
    # A column found by one of these names is used only when all its values are
    # credit/debit markers (see `table._RowReader._direction_column`).
    "direction": (
        "af/bij",
        "af bij",
        "bij/af",
        "debit/credit",
        "credit/debit",
        "debit credit",
        "credit debit",
        "debit or credit",
        "credit or debit",
        "debet/credit",
        "credit/debet",
        "dr/cr",
        "cr/dr",
        "dr cr",
        "cr dr",
        "d/c",
        "c/d",
        "soll/haben",
        "soll haben",
        "s/h",
        "h/s",
        "credit debit indicator",
        "debit credit indicator",
        "sens",
        "+/-",
        "sign",
        "type",
        "transaction type",
    ),
}
_RANKS = {role: {name: rank for rank, name in enumerate(names)} for role, names in SYNONYMS.items()}
# A header matched only through its number ("Omschrijving-1" → "omschrijving") ranks after
# an exact match of the same name.
_BASE_PENALTY = 0.5

_BRACKETED = re.compile(r"[(\[]([^)\]]*)[)\]]")
_PUNCTUATION = re.compile(r"[_.:*#]")
_SLASH = re.compile(r"\s*/\s*")
_NUMBERED = re.compile(r"(.+?)[\s-]*(\d{1,2})")


def normalise_header(text: str) -> str:
    """Lower case, accents and punctuation dropped, single spaces ("Date opération" →
    "date operation", "Naam / Omschrijving" → "naam/omschrijving")."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    text = _SLASH.sub("/", _PUNCTUATION.sub(" ", text))
    return " ".join(text.split())


def simple_name(text: str) -> str:
    """How client-given column names are compared: case-insensitive, trimmed."""
    return " ".join(text.split()).casefold()


@dataclass(frozen=True)
class HeaderCell:
    """One header cell, ready to be matched against the synonyms."""

    text: str
    name: str  # normalised, without a bracketed or trailing currency code
    base: str | None  # "omschrijving" for "Omschrijving-1"
    number: int | None
    currency: str | None  # "SGD" for "Withdrawals (SGD)" or "Amount EUR"

    @classmethod
    def parse(cls, text: str) -> HeaderCell:
        currency = None
        for inner in _BRACKETED.findall(text):
            code = inner.strip().upper()
            if len(code) == 3 and is_currency(code):
                currency = code
        name = normalise_header(_BRACKETED.sub(" ", text))
        words = name.split(" ")
        if len(words) > 1 and len(words[-1]) == 3 and is_currency(words[-1].upper()):
            currency = currency or words[-1].upper()
            name = " ".join(words[:-1])
        numbered = _NUMBERED.fullmatch(name)
        base, number = (numbered.group(1), int(numbered.group(2))) if numbered else (None, None)
        return cls(text=text, name=name, base=base, number=number, currency=currency)

    def rank(self, role: str) -> float | None:
        ranks = _RANKS[role]
        if self.name in ranks:
            return ranks[self.name]
        if self.base is not None and self.base in ranks:
            return ranks[self.base] + _BASE_PENALTY
        return None


ColumnRef = int | str


def explicit_columns(columns: Mapping[str, Any] | None) -> dict[str, tuple[ColumnRef, ...]]:
    """The client's `columns` option, checked: role → header names and/or 0-based indices.

    `description` may list several columns (joined in order). Raises `StatementError`
    for an unknown role or a value that is neither a name nor an index.
    """
    if not columns:
        return {}
    if not isinstance(columns, Mapping):
        raise StatementError("columns must map roles to header names or column numbers.")
    checked: dict[str, tuple[ColumnRef, ...]] = {}
    for role, value in columns.items():
        if role not in ROLES:
            raise StatementError(
                f"Unknown column role {role!r}; expected one of {', '.join(ROLES)}."
            )
        values = value if isinstance(value, list | tuple) and role == "description" else [value]
        refs: list[ColumnRef] = []
        for ref in values:
            if isinstance(ref, bool) or not isinstance(ref, int | str):
                raise StatementError(f"Column for {role!r} must be a header name or a number.")
            if isinstance(ref, int) and not 0 <= ref <= MAX_COLUMN_INDEX:
                raise StatementError(
                    f"Column number for {role!r} must be between 0 and {MAX_COLUMN_INDEX}."
                )
            if isinstance(ref, str) and not ref.strip():
                raise StatementError(f"Column name for {role!r} is empty.")
            refs.append(ref)
        if not refs:
            raise StatementError(f"No column given for {role!r}.")
        checked[role] = tuple(refs)
    return checked


def covered_by_indices(explicit: Mapping[str, tuple[ColumnRef, ...]]) -> bool:
    """True when the client gave every required role by column number, so no header
    names are needed to read the table."""

    def by_index(role: str) -> bool:
        refs = explicit.get(role)
        return bool(refs) and all(isinstance(ref, int) for ref in refs)

    return (
        by_index("date")
        and any(by_index(role) for role in ("amount", "debit", "credit"))
        and any(by_index(role) for role in ("description", "merchant"))
    )


@dataclass
class ColumnMap:
    """Resolved column indices for one table (description may span several columns)."""

    date: int
    description: tuple[int, ...] = ()
    amount: int | None = None
    debit: int | None = None
    credit: int | None = None
    merchant: int | None = None
    currency: int | None = None
    memo: int | None = None
    fitid: int | None = None
    direction: int | None = None
    header_currency: str | None = None  # declared by an amount column's header
    matched: int = 0  # roles found by name, to rank header candidates
    missing: list[str] = field(default_factory=list)


_AUTO_ORDER = (
    "date",
    "amount",
    "debit",
    "credit",
    "currency",
    "direction",
    "description",
    "merchant",
    "memo",
    "fitid",
)


def _find_named(ref: str, cells: Sequence[HeaderCell]) -> int | None:
    wanted = simple_name(ref)
    for index, cell in enumerate(cells):
        if simple_name(cell.text) == wanted:
            return index
    wanted = normalise_header(ref)
    for index, cell in enumerate(cells):
        if normalise_header(cell.text) == wanted:
            return index
    number = ref.strip()
    if number.isascii() and number.isdigit() and len(number) <= len(str(MAX_COLUMN_INDEX)):
        return int(number)
    return None


def resolve_columns(
    header: Sequence[str] | None, explicit: Mapping[str, tuple[ColumnRef, ...]]
) -> ColumnMap:
    """Map roles to column indices for a header row (`header` None: indices only).

    The result's `missing` lists what is still lacking, empty when the table is
    readable; `date` is -1 when no date column was found.
    """
    cells = [HeaderCell.parse(text) for text in header] if header is not None else []
    found: dict[str, list[int]] = {}
    missing: list[str] = []
    for role, refs in explicit.items():
        indices = []
        for ref in refs:
            index = ref if isinstance(ref, int) else _find_named(ref, cells)
            if index is None:
                missing.append(f"{role} (no column named {ref!r})")
            else:
                indices.append(index)
        if indices:
            found[role] = indices

    used = {index for indices in found.values() for index in indices}
    matched = 0
    client_amount = any(role in explicit for role in ("amount", "debit", "credit"))
    for role in _AUTO_ORDER:
        if role in explicit or not cells:
            continue
        if role in ("amount", "debit", "credit") and client_amount:
            continue
        if role in ("debit", "credit") and "amount" in found:
            continue
        if role == "direction" and "amount" not in found:
            continue
        best: tuple[float, int] | None = None
        for index, cell in enumerate(cells):
            if index in used:
                continue
            rank = cell.rank(role)
            if rank is not None and (best is None or (rank, index) < best):
                best = (rank, index)
        if best is None:
            continue
        chosen = [best[1]]
        base = cells[best[1]].base
        if role == "description" and base is not None:
            siblings = [
                (cell.number or 0, index)
                for index, cell in enumerate(cells)
                if index not in used and index != best[1] and cell.base == base
            ]
            chosen += [index for _, index in sorted(siblings)]
        found[role] = chosen
        used.update(chosen)
        matched += 1

    required = (
        (("date",), "date"),
        (("amount", "debit", "credit"), "amount (or debit and credit)"),
        (("description", "merchant"), "description (or payee)"),
    )
    for group, label in required:
        # a role the client named but that is absent is already reported by name
        if not any(role in found or role in explicit for role in group):
            missing.append(label)
    if "date" not in found:
        return ColumnMap(date=-1, matched=matched, missing=missing)

    def one(role: str) -> int | None:
        return found[role][0] if role in found else None

    header_currency = None
    for role in ("amount", "debit", "credit"):
        index = one(role)
        if index is not None and index < len(cells) and cells[index].currency:
            header_currency = cells[index].currency
            break
    return ColumnMap(
        date=found["date"][0],
        description=tuple(found.get("description", ())),
        amount=one("amount"),
        debit=one("debit"),
        credit=one("credit"),
        merchant=one("merchant"),
        currency=one("currency"),
        memo=one("memo"),
        fitid=one("fitid"),
        direction=one("direction"),
        header_currency=header_currency,
        matched=matched,
        missing=missing,
    )
