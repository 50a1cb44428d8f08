"""ISO 20022 camt.053 (end-of-day statement) and camt.052 (intraday report) files (SPEC §11).

Read with defusedxml's ElementTree, not a camt library. Of the maintained Python
packages, pycamt reads camt.053 and camt.052 but takes a transaction detail's amount
from the first `Amt` anywhere below `TxDtls` (in camt.053.001.02 that can be the
instructed amount, in a foreign currency), drops the detail amount's currency and
lets the XML declare a DTD; camt053 is a pre-1.0 (0.0.x) package a few months old
with a large dependency tree. A camt document is a plain, well-specified XML tree, so
the few elements we need are read here, version-agnostically (namespace
`urn:iso:std:iso:20022:tech:xsd:camt.05[23].001.NN`, any NN), and streamed
(iterparse, each entry cleared once read) so memory stays flat.

Hardening: defusedxml refuses any DTD (so no entity expansion such as billion laughs,
no external entity, no external DTD), and the number of entries is counted from the
bytes before parsing, so a file over `IMPORT_MAX_ROWS` is refused without reading it.

Mapping of one `Ntry`:
- date: `BookgDt/Dt` (or the date part of `BookgDt/DtTm`, as written, no time-zone
  shift), else `ValDt`; amount: `Amt` (unsigned, through `core.money.parse_money`) in
  its `Ccy` (else the account's `Acct/Ccy`); `CdtDbtInd` DBIT → outflow. A reversal
  (`RvslInd` true) keeps the sign its `CdtDbtInd` gives (ISO: a reversed debit is
  booked as a credit) and its description says "Reversal".
- description: the remittance information (`RmtInf/Ustrd`, else the structured
  creditor reference), else `AddtlTxInf`, else `AddtlNtryInf`, else the counterparty;
  merchant: the counterparty's name (the creditor of an outflow, the debtor of an
  inflow; `Pty/Nm` in newer versions).
- FITID: the account (IBAN or other id) and the bank's reference (`AcctSvcrRef`, else
  `NtryRef`); a reference the file repeats gets its occurrence number, so two entries
  sharing a reference are never taken for one.
- A batch entry whose transaction details (`NtryDtls/TxDtls`) all carry an amount in
  the entry's currency adding up to the entry's amount gives one row per detail (its
  own reference, else the entry's plus the detail's position); otherwise one row.
- Entries that are not booked (`Sts` PDNG or INFO, as camt.052 reports carry) are
  listed as errors, not imported: the booked entry comes in a later statement.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from functools import cache
from io import BytesIO
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as DefusedET
from defusedxml import DefusedXmlException

from core.money import MoneyParseError, is_currency, parse_money

from .base import (
    ParsedRow,
    ParseResult,
    StatementError,
    UniqueFitids,
    max_transactions,
    too_many_transactions,
)

__all__ = ["CAMT_NAMESPACE", "parse_camt"]

TEXT_MAX = 255

CAMT_NAMESPACE = re.compile(r"urn:iso:std:iso:20022:tech:xsd:camt\.(05[23])\.001\.(\d{2})")
# The message's container and the statement/report elements inside it.
_CONTAINERS = {"052": ("BkToCstmrAcctRpt", "Rpt"), "053": ("BkToCstmrStmt", "Stmt")}
# An entry's start tag, with or without a namespace prefix (not NtryRef/NtryDtls).
_ENTRY_START = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?Ntry[\s/>]")
_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_WHITESPACE = re.compile(r"\s+")
_BOOKED = "BOOK"


def parse_camt(content: bytes) -> ParseResult:
    """Read every entry of every statement (camt.053) or report (camt.052) of the file.

    Returns rows in file order; an entry that cannot be read, or is not booked, becomes
    an error for its line. Raises `StatementError` for a file that is not a camt.052 or
    camt.053 document, is malformed or truncated, declares a DTD or entities, or holds
    more than IMPORT_MAX_ROWS entries.
    """
    starts = [match.start() for match in _ENTRY_START.finditer(content)]
    if len(starts) > max_transactions():
        raise too_many_transactions(len(starts))
    lines = _line_numbers(content, starts)

    result = ParseResult(format="camt")
    account_currencies: set[str] = set()
    fitids = UniqueFitids()
    ordinal = 0
    try:
        for entry, account, currency in _entries(content):
            line = lines[ordinal] if lines and ordinal < len(lines) else ordinal + 1
            ordinal += 1
            if currency:
                account_currencies.add(currency)
            for row in _entry_rows(entry, line=line, account=account, currency=currency):
                if isinstance(row, str):
                    result.errors.append((line, row))
                    continue
                result.rows.append(fitids.assign(row))
            if len(result.rows) + len(result.errors) > max_transactions():
                raise too_many_transactions(len(result.rows) + len(result.errors))
    except DefusedXmlException as err:
        raise StatementError(
            "The camt file declares a DTD or entities, which statements never need; "
            "it was not read."
        ) from err
    except ParseError as err:
        raise StatementError(f"The camt file is not well-formed XML ({err}).") from err
    except LookupError as err:  # the XML declaration names an encoding Python lacks
        raise StatementError(f"The camt file declares an unknown encoding ({err}).") from err
    if len(account_currencies) == 1:
        result.currency = account_currencies.pop()
    return result


def _line_numbers(content: bytes, starts: list[int]) -> list[int]:
    """The 1-based line of each entry start tag, in document order."""
    lines, line, position = [], 1, 0
    for start in starts:
        line += content.count(b"\n", position, start)
        position = start
        lines.append(line)
    return lines


class _Names:
    """Qualified element names (`{namespace}Tag`) of one camt version."""

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace
        self._paths: dict[str, str] = {}

    def __call__(self, path: str) -> str:
        qualified = self._paths.get(path)
        if qualified is None:
            qualified = "/".join(f"{{{self.namespace}}}{part}" for part in path.split("/"))
            self._paths[path] = qualified
        return qualified


@cache
def _names(namespace: str) -> _Names:
    return _Names(namespace)


def _entries(content: bytes) -> Iterator[tuple[Element, str, str | None]]:
    """Yield (entry, account id, account currency) for each `Ntry`, streaming.

    Checks the root first: a `Document` in a camt.052 or camt.053 namespace.
    """
    events = DefusedET.iterparse(BytesIO(content), events=("start", "end"), forbid_dtd=True)
    names: _Names | None = None
    container = statement_tag = ""
    depth = 0
    account, currency = "", None
    for event, element in events:
        if names is None:
            names, container, statement_tag = _check_root(element)
            depth = 1
            continue
        if event == "start":
            depth += 1
            continue
        depth -= 1
        tag = element.tag
        # Document(0) / container(1) / statement(2) / Acct or Ntry(3)
        if depth == 3 and tag == names("Acct"):
            account = _account_id(element, names)
            currency = _text(element, names("Ccy")).upper() or None
        elif depth == 3 and tag == names("Ntry"):
            yield element, account, currency
            element.clear()
        elif depth == 2 and tag == names(statement_tag):
            account, currency = "", None
            element.clear()
        elif depth == 1 and tag != names(container):
            element.clear()


def _check_root(root: Element) -> tuple[_Names, str, str]:
    namespace, _, local = root.tag[1:].partition("}") if root.tag.startswith("{") else ("", "", "")
    match = CAMT_NAMESPACE.fullmatch(namespace)
    if match is None or local != "Document":
        shown = (namespace or root.tag)[:80]
        raise StatementError(
            f"This is not a camt.052 or camt.053 document (its root is {shown!r}); expected "
            '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.NN"> (or camt.052).'
        )
    container, statement_tag = _CONTAINERS[match.group(1)]
    return _names(namespace), container, statement_tag


def _account_id(account: Element, names: _Names) -> str:
    return _text(account, names("Id/IBAN")) or _text(account, names("Id/Othr/Id"))


def _entry_rows(
    entry: Element, *, line: int, account: str, currency: str | None
) -> list[ParsedRow | str]:
    """The entry as one row, or one per transaction detail, or the reason it cannot be."""
    n = _names(entry.tag[1:].partition("}")[0])
    status = _text(entry, n("Sts/Cd")) or _text(entry, n("Sts"))
    if status and status.upper() != _BOOKED:
        return [f"The entry is not booked (status {status[:10]}); it is not imported."]

    amount_text = _text(entry, n("Amt"))
    direction = _text(entry, n("CdtDbtInd")).upper()
    day_text = _date_text(entry, n)
    missing = [
        name
        for name, value in (("Amt", amount_text), ("CdtDbtInd", direction), ("BookgDt", day_text))
        if not value
    ]
    if missing:
        return [f"The entry has no {' or '.join(missing)}."]
    if direction not in ("CRDT", "DBIT"):
        return [f"CdtDbtInd {direction[:20]!r} is neither CRDT nor DBIT."]
    day = _date(day_text)
    if day is None:
        return [f"The booking date {day_text[:40]!r} is not a date."]
    amount = _amount(amount_text)
    if amount is None:
        return [f"Amt {amount_text[:40]!r} is not an amount."]
    amount_element = entry.find(n("Amt"))
    entry_currency = _currency_of(amount_element, currency)
    if entry_currency is None or not is_currency(entry_currency):
        shown = amount_element.get("Ccy", "") if amount_element is not None else ""
        return [f"Ccy {shown[:20]!r} is not a currency we support."]

    reversal = _text(entry, n("RvslInd")).lower() in ("true", "1")
    entry_info = _clean(_text(entry, n("AddtlNtryInf")))
    reference = _text(entry, n("AcctSvcrRef")) or _text(entry, n("NtryRef"))
    details = entry.findall(n("NtryDtls/TxDtls"))
    split = _split_amounts(details, n, amount=amount, direction=direction, currency=entry_currency)

    rows: list[ParsedRow | str] = []
    if split is None:
        parts = [(details[0] if len(details) == 1 else None, amount, direction, reference)]
    else:
        parts = [
            (
                detail,
                detail_amount,
                detail_direction,
                _text(detail, n("Refs/AcctSvcrRef"))
                or (f"{reference}/{index}" if reference else ""),
            )
            for index, (detail, (detail_amount, detail_direction)) in enumerate(
                zip(details, split, strict=True), start=1
            )
        ]
    for detail, part_amount, part_direction, part_reference in parts:
        outflow = part_direction == "DBIT"
        # The counterparty of an outflow is its creditor; a reversal swaps the sides.
        side = "Cdtr" if outflow != reversal else "Dbtr"
        merchant = _party_name(detail, n, side) if detail is not None else ""
        description = ""
        if detail is not None:
            description = _remittance(detail, n) or _clean(_text(detail, n("AddtlTxInf")))
        description = description or entry_info or merchant
        if reversal:
            description = f"Reversal: {description}" if description else "Reversal"
        fitid = f"{account}/{part_reference}" if account and part_reference else part_reference
        rows.append(
            ParsedRow(
                line=line,
                date=day,
                description=description[:TEXT_MAX],
                amount=-part_amount if outflow else part_amount,
                currency=entry_currency,
                merchant=merchant[:TEXT_MAX],
                fitid=fitid[:TEXT_MAX],
                memo=entry_info[:TEXT_MAX] if entry_info != description else "",
            )
        )
    return rows


def _split_amounts(
    details: list[Element], n: _Names, *, amount: Decimal, direction: str, currency: str
) -> list[tuple[Decimal, str]] | None:
    """Each detail's (amount, direction) when a batch entry can be split, else None.

    Splitting needs two or more details, each with an amount in the entry's currency
    (`TxDtls/Amt`, or `AmtDtls/TxAmt/Amt` in .001.02), adding up to the entry's signed
    amount: the rows then sum to exactly what the bank booked.
    """
    if len(details) < 2:
        return None
    parts: list[tuple[Decimal, str]] = []
    for detail in details:
        element = detail.find(n("Amt"))
        if element is None:
            element = detail.find(n("AmtDtls/TxAmt/Amt"))
        if element is None or _currency_of(element, currency) != currency:
            return None
        value = _amount(element.text or "")
        if value is None:
            return None
        detail_direction = _text(detail, n("CdtDbtInd")).upper() or direction
        if detail_direction not in ("CRDT", "DBIT"):
            return None
        parts.append((value, detail_direction))
    total = sum((v if d == "CRDT" else -v for v, d in parts), Decimal(0))
    if total != (amount if direction == "CRDT" else -amount):
        return None
    return parts


def _date_text(entry: Element, n: _Names) -> str:
    for path in ("BookgDt/Dt", "BookgDt/DtTm", "ValDt/Dt", "ValDt/DtTm"):
        value = _text(entry, n(path))
        if value:
            return value
    return ""


def _date(value: str) -> date | None:
    """The calendar date as written (the date part of a date-time; no zone shift)."""
    match = _ISO_DATE.match(value)
    if match is None:
        return None
    try:
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return None


def _amount(value: str) -> Decimal | None:
    """An unsigned camt amount through `core.money.parse_money`; the sign is CdtDbtInd."""
    text = value.strip()
    if text.startswith(("-", "+")):
        return None
    try:
        return parse_money(text)
    except MoneyParseError:
        return None


def _currency_of(element: Element | None, fallback: str | None) -> str | None:
    code = (element.get("Ccy", "") if element is not None else "").strip().upper()
    return code or fallback


def _party_name(detail: Element, n: _Names, side: str) -> str:
    for path in (
        f"RltdPties/{side}/Nm",
        f"RltdPties/{side}/Pty/Nm",
        f"RltdPties/Ultmt{side}/Nm",
        f"RltdPties/Ultmt{side}/Pty/Nm",
    ):
        name = _clean(_text(detail, n(path)))
        if name:
            return name
    return ""


def _remittance(detail: Element, n: _Names) -> str:
    lines = [_clean(e.text or "") for e in detail.iterfind(n("RmtInf/Ustrd"))]
    text = " ".join(line for line in lines if line)
    if text:
        return text
    references = [_clean(e.text or "") for e in detail.iterfind(n("RmtInf/Strd/CdtrRefInf/Ref"))]
    return " ".join(ref for ref in references if ref)


def _text(element: Element, path: str) -> str:
    found = element.find(path)
    if found is None or found.text is None:
        return ""
    return found.text.strip()


def _clean(value: str) -> str:
    return _WHITESPACE.sub(" ", value).strip()
