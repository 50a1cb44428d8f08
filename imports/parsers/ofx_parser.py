"""OFX 1.x (SGML), OFX 2.x (XML) and QFX statements, read with ofxtools (SPEC §11).

ofxtools reads the header and builds the element tree; the rows are taken from that
tree rather than from `OFXTree.convert()`, whose strict model rejects real files that
banks send (two STMTRS in one STMTTRNRS, over-long ACCTIDs, ...). Values still go
through ofxtools' own type converters (dates, decimals, entity unescaping).

What is done to the bytes before ofxtools sees them, and why (real files break the
letter of the spec in ways ofxtools' strict header reader refuses):
- The text is decoded here: UTF-8 when the bytes are valid UTF-8 (whatever the header
  declares: banks label UTF-8 files `CHARSET:1252`), else the declared CHARSET or XML
  encoding (with aliases such as `8859-1` that ofxtools rejects), else cp1252, else
  Latin-1 — so a wrong declaration never stops a file from being read.
- Whatever comes before `<OFX>` — the OFX 1 header with blank lines, `\r\r\n` line
  ends or a BOM inside it, the OFX 2 declarations in any attribute order, stray text —
  is only read for its charset and then replaced by a standard header; whatever comes
  after `</OFX>` is dropped. Several `<OFX>` documents in one file are read in turn.
- DTD and entity declarations are refused outright. ofxtools never hands the text
  to an XML parser (its reader is regex-based and expands nothing), and defusedxml
  double-checks OFX 2 bodies, so no entity is expanded and no external file is read.
- The tree builder closes elements as SGML does (an element without text and without
  end tag, an aggregate re-opened while open), ignores end tags of elements already
  closed, and checks that every statement aggregate is closed, which is how a
  truncated download is told apart from a short statement.
- Optional aggregates (LEDGERBAL, BANKACCTFROM, DTSTART/DTEND, NAME/MEMO) may be
  missing: a transaction without NAME and MEMO is described by its CHECKNUM or
  TRNTYPE ("Check 1000", "ATM"), one without DTPOSTED is dated by DTUSER.
"""

from __future__ import annotations

import bisect
import codecs
import decimal
import html
import re
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterable
from datetime import date
from io import BytesIO

import defusedxml.ElementTree as DefusedET
from defusedxml import DefusedXmlException
from ofxtools.models.base import Aggregate
from ofxtools.Parser import OFXTree, ParseError, TreeBuilder
from ofxtools.Types import DT_REGEX
from ofxtools.Types import String as OFXString

from core.money import MoneyParseError, is_currency, parse_money

from .base import (
    ParsedRow,
    ParseResult,
    StatementError,
    max_transactions,
    too_many_transactions,
)
from .encodings import text_codec

__all__ = ["looks_like_ofx", "parse_ofx"]

TEXT_MAX = 255

_V2_HEADER = re.compile(r"<\?OFX\s", re.IGNORECASE)
_XML_DECL = re.compile(r"<\?xml\b[^>]*\?>", re.IGNORECASE)
_XML_ENCODING = re.compile(r"""\bencoding\s*=\s*["']([\w.:-]+)["']""", re.IGNORECASE)
# Not anchored to line starts: some banks send the whole OFX 1 header on one line.
_HEADER_FIELD = re.compile(r"\b(CHARSET|ENCODING)[ \t]*:[ \t]*([\w-]*)", re.IGNORECASE)
_DECLARATION = re.compile(r"<!\s*(?:DOCTYPE|ENTITY|ELEMENT|ATTLIST)", re.IGNORECASE)
_OFX_OPEN = re.compile(r"<OFX\s*>", re.IGNORECASE)
_OFX_CLOSE = re.compile(r"</OFX\s*>", re.IGNORECASE)
_STMTTRN_START = re.compile(r"<STMTTRN>")
_SNIFF_START = re.compile(rb"OFXHEADER[ \t]*:|<\?OFX\s|<OFX>", re.IGNORECASE)
_SNIFF_BODY = re.compile(rb"<OFX>", re.IGNORECASE)
SNIFF_JUNK_LIMIT = 1024  # bytes of stray text tolerated before the OFX header
# "\r\r\n" (a CRLF file whose line ends were converted once more) is one line end.
_LINE_BREAK = re.compile(r"\r*\n|\r")
_WHITESPACE = re.compile(r"\s+")
_NUMERIC_REFERENCE = re.compile(r"&#(?:[xX][0-9a-fA-F]{1,6}|[0-9]{1,7});")
_DATE_PREFIX = re.compile(r"(?P<year>\d{4})(?P<month>\d{2})(?P<day>\d{2})")

_SYNTHETIC_V1_HEADER = (
    "OFXHEADER:100\nDATA:OFXSGML\nVERSION:102\nSECURITY:NONE\nENCODING:UTF-8\n"
    "CHARSET:NONE\nCOMPRESSION:NONE\nOLDFILEUID:NONE\nNEWFILEUID:NONE\n\n"
)
# What may come before the first <OFX>: headers, declarations, a few lines of junk.
PREAMBLE_LIMIT = 64 * 1024
# `<OFX>` documents one file may hold (banks concatenate one per account).
MAX_DOCUMENTS = 100
# Elements open at once; real statements nest about 8 deep.
MAX_DEPTH = 64


# ofxtools' aggregates; any other tag is a data element (leaf), even one it does not know.
def _subclass_names(cls: type) -> set[str]:
    names = set()
    for sub in cls.__subclasses__():
        names |= {sub.__name__, *_subclass_names(sub)}
    return names


def _children_by_aggregate() -> dict[str, frozenset[str]]:
    """Each ofxtools aggregate's possible child tags, from its model's spec."""
    children: dict[str, set[str]] = {}
    pending = list(Aggregate.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        children.setdefault(cls.__name__, set()).update(name.upper() for name in cls.spec)
    return {name: frozenset(tags) for name, tags in children.items()}


_AGGREGATES = frozenset(_subclass_names(Aggregate))
_CHILDREN = _children_by_aggregate()
# What may be left open when the text ends without being truncated: the root and the
# message-set wrappers, all of whose statements were closed.
_MAY_STAY_OPEN = re.compile(r"OFX|[A-Z0-9]+MSGSRSV[12]")
# How a transaction without NAME or MEMO is described (OFX 1.0.3 §11.4.2.3.1.1).
_TRNTYPE_TEXT = {
    "CREDIT": "Credit",
    "DEBIT": "Debit",
    "INT": "Interest",
    "DIV": "Dividend",
    "FEE": "Fee",
    "SRVCHG": "Service charge",
    "DEP": "Deposit",
    "ATM": "ATM",
    "POS": "Point of sale",
    "XFER": "Transfer",
    "CHECK": "Check",
    "PAYMENT": "Payment",
    "CASH": "Cash withdrawal",
    "DIRECTDEP": "Direct deposit",
    "DIRECTDEBIT": "Direct debit",
    "REPEATPMT": "Repeating payment",
    "HOLD": "Hold",
    "OTHER": "Other",
}

# OFX 1 CHARSET values → Python codecs. ISO-8859-1 is read as its superset cp1252,
# as browsers do, because banks that label files Latin-1 routinely put € and curly
# quotes in them; bytes cp1252 leaves undefined fall back to Latin-1.
_CHARSETS = {
    "1252": "cp1252",
    "CP1252": "cp1252",
    "WINDOWS-1252": "cp1252",
    "ISO-8859-1": "cp1252",
    "8859-1": "cp1252",
    "ISO8859-1": "cp1252",
    "ISO_8859-1": "cp1252",
    "LATIN1": "cp1252",
    "LATIN-1": "cp1252",
    "UTF-8": "utf-8",
    "UTF8": "utf-8",
}

_STATEMENT_TAGS = ("STMTRS", "CCSTMTRS")
_UNSUPPORTED = "unsupported"  # `_currency`'s answer for a code we do not support


def parse_ofx(content: bytes, *, fmt: str = "ofx") -> ParseResult:
    """Read the bank and credit-card statements of an OFX or QFX file.

    Returns one row per STMTTRN of every STMTRS/CCSTMTRS (investment statements are
    ignored), in file order, across every `<OFX>` document of the file; a transaction
    without a date or amount, or with one that cannot be read, becomes an error for
    its line instead. Raises `StatementError` when the file is not OFX, is truncated
    or malformed, declares a DTD or entities, or holds no bank or credit-card statement.
    """
    if fmt not in ("ofx", "qfx"):
        raise ValueError(f"fmt must be 'ofx' or 'qfx', not {fmt!r}")
    text = _decode(content)
    _refuse_declarations(text)
    found = len(_STMTTRN_START.findall(text))
    if found > max_transactions():
        raise too_many_transactions(found)
    roots = _parse_documents(text)

    statements = [
        element for root in roots for element in root.iter() if element.tag in _STATEMENT_TAGS
    ]
    if not statements:
        raise StatementError(
            "The OFX file holds no bank or credit-card statement (STMTRS or CCSTMTRS)."
        )

    line_of = _transaction_lines(roots, text)
    result = ParseResult(format=fmt)
    statement_currencies: set[str] = set()
    ordinal = 0
    for statement in statements:
        curdef = _currency(_text(statement, "CURDEF"))
        if curdef is _UNSUPPORTED:
            raise StatementError(
                f"The statement's currency (CURDEF) {_text(statement, 'CURDEF')[:20]!r} is "
                "not a currency we support."
            )
        if curdef:
            statement_currencies.add(curdef)
        for transaction in statement.iterfind("BANKTRANLIST/STMTTRN"):
            ordinal += 1
            line = line_of.get(id(transaction), ordinal)
            row_or_error = _row(transaction, line=line, curdef=curdef)
            if isinstance(row_or_error, ParsedRow):
                result.rows.append(row_or_error)
            else:
                result.errors.append((line, row_or_error))
    if len(statement_currencies) == 1:
        result.currency = statement_currencies.pop()
    return result


def looks_like_ofx(head: bytes) -> bool:
    """Whether the first bytes of a file are an OFX statement that `parse_ofx` reads:
    an OFX 1 header, OFX 2 declaration or `<OFX>` within the first KiB — after blank
    lines, byte-order marks or a line of stray text — and `<OFX>` within the preamble
    limit. For format detection, which otherwise wants the header at the very start."""
    start = _SNIFF_START.search(head, 0, SNIFF_JUNK_LIMIT + 16)
    return start is not None and (
        _SNIFF_BODY.search(head, start.start(), PREAMBLE_LIMIT + 16) is not None
    )


def _decode(content: bytes) -> str:
    """The file as text: a BOM's encoding; else UTF-8 when the bytes are valid UTF-8
    (pure ASCII included), whatever the header says; else the declared charset; else
    cp1252; else Latin-1, which reads any bytes."""
    if content.startswith(codecs.BOM_UTF8):
        content = content[len(codecs.BOM_UTF8) :]
    elif content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _decode_first(content, ["utf-16"])
    try:
        return _strip_boms(content.decode("utf-8"))
    except UnicodeDecodeError:
        pass
    return _decode_first(content, [_declared_codec(content), "cp1252"])


def _declared_codec(content: bytes) -> str | None:
    """The codec the OFX 1 header (CHARSET, or ENCODING when it names a Unicode form)
    or the XML declaration names, when it is one a file can be written in."""
    head = content[: PREAMBLE_LIMIT // 16].decode("latin-1")
    xml_decl = _XML_DECL.search(head)
    if xml_decl:
        declared = _XML_ENCODING.search(xml_decl.group(0))
        return _codec(declared.group(1)) if declared else None
    header = head.partition("<")[0]
    fields = {name.upper(): value.upper() for name, value in _HEADER_FIELD.findall(header)}
    if fields.get("ENCODING") in ("UTF-8", "UTF8", "UNICODE"):
        return None  # the bytes are not valid UTF-8, or they would have been read as such
    charset = fields.get("CHARSET", "NONE")
    return None if charset in ("NONE", "") else _codec(charset)


def _codec(label: str) -> str | None:
    """The codec for a declared charset label, or None when there is none or when it
    cannot be how the file is written: ASCII bytes read as UTF-16 or EBCDIC are garbage."""
    label = label.strip().upper()
    if label in _CHARSETS:
        return _CHARSETS[label]
    for candidate in (label, f"cp{label}"):
        try:
            name = text_codec(candidate)
            ascii_compatible = "<OFX>".encode(name) == b"<OFX>"
        except (ValueError, UnicodeError):
            continue
        # UTF-16/32 without a BOM, UTF-7, EBCDIC: the header was ASCII, so not these.
        return name if ascii_compatible else None
    return None


def _decode_first(content: bytes, encodings: Iterable[str | None]) -> str:
    for encoding in encodings:
        if encoding is None:
            continue
        try:
            text = content.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
        return _strip_boms(text)
    return _strip_boms(content.decode("latin-1"))


def _strip_boms(text: str) -> str:
    """Without byte-order marks at the start, even after blank lines (a file
    concatenated from a BOM-marked header and a body)."""
    head, rest = text[:PREAMBLE_LIMIT], text[PREAMBLE_LIMIT:]
    return head.lstrip().replace("\ufeff", "") + rest if "\ufeff" in head else text


def _refuse_declarations(text: str) -> None:
    if _DECLARATION.search(text):
        raise StatementError(
            "The OFX file declares a DTD or entities, which statements never need; it was not read."
        )


def _parse_documents(text: str) -> list[ET.Element]:
    """The element tree of each `<OFX>` document in the text (usually one)."""
    starts = [match.start() for match in _OFX_OPEN.finditer(text)]
    if not starts or starts[0] > PREAMBLE_LIMIT:
        raise StatementError("This is not an OFX file: it has no <OFX> element.")
    if len(starts) > MAX_DOCUMENTS:
        raise StatementError(
            f"The file holds {len(starts)} OFX documents (<OFX> elements); at most "
            f"{MAX_DOCUMENTS} can be read from one file."
        )
    preamble = text[: starts[0]]
    if _V2_HEADER.search(preamble):
        declaration = _XML_DECL.search(preamble)
        _defused_check(text[declaration.start() if declaration else starts[0] :])
    roots = []
    for start, end in zip(starts, [*starts[1:], len(text)], strict=True):
        document = text[start:end]
        closes = list(_OFX_CLOSE.finditer(document))
        if closes:
            document = document[: closes[-1].end()]
        roots.append(_parse_tree(document))
    return roots


def _parse_tree(document: str) -> ET.Element:
    """Hand one `<OFX>…</OFX>` body to ofxtools under a header it accepts; the root."""
    normalised = _SYNTHETIC_V1_HEADER + document
    tree = OFXTree()
    try:
        root = tree.parse(BytesIO(normalised.encode("utf-8")), parser=_BalancedTreeBuilder())
    except Exception as err:  # ofxtools raises SyntaxError/ValueError subclasses and more
        raise StatementError(f"The OFX file cannot be read: {_short(err)}") from err
    if root is None or root.tag != "OFX":
        raise StatementError("The OFX file cannot be read: its root element is not <OFX>.")
    return root


def _defused_check(text: str) -> None:
    """Let defusedxml look at an OFX 2 body; markup it cannot parse is ofxtools' call."""
    try:
        DefusedET.fromstring(
            text.encode("utf-8"), forbid_dtd=True, forbid_entities=True, forbid_external=True
        )
    except DefusedXmlException as err:
        raise StatementError(
            "The OFX file declares a DTD or entities, which statements never need; it was not read."
        ) from err
    except (ET.ParseError, ValueError):
        pass


class _BalancedTreeBuilder(TreeBuilder):
    """ofxtools' SGML/XML reader, closing elements as SGML does and refusing truncation.

    - A data element (any tag but ofxtools' aggregates) without text and without end
      tag ("<MEMO>" followed by the next tag) is empty and closed at once.
    - A tag that the innermost open aggregate cannot contain (per ofxtools' models)
      but an enclosing one can closes the aggregates in between, as an SGML parser
      infers omitted end tags from the DTD: "<STMTTRN>" while a STMTTRN is open,
      "<BANKTRANLIST>" while BANKACCTFROM is. Elements still open when their parent
      closes are closed with it.
    - An end tag of an element closed that way (or of an empty element) is ignored;
      one of an aggregate that was never open is an error, and so is nesting more than
      `MAX_DEPTH` deep (no statement comes close; it keeps every step bounded).
    - The stock builder returns whatever it has when the text stops, so a truncated
      download would look like a shorter statement: here an aggregate other than the
      root and the message-set wrappers left open at the end is an error.
    """

    def __init__(self) -> None:
        super().__init__()
        self._open: list[str] = []
        self._closed_early: Counter[str] = Counter()

    def _start(self, tag: str, text: str | None, closetag: str | None) -> None:
        # ofxtools' own `_start` (start; text → data and end; end tag → end), without
        # its per-tag debug logging, plus: no text and no end tag on a data element → end.
        self.start(tag, {})
        if text:
            self.data(text)
            self.end(tag)
        elif closetag or tag not in _AGGREGATES:
            self.end(tag)

    def start(self, tag: str, attrs: dict[str, str]) -> ET.Element:
        self._close_omitted(tag)
        if len(self._open) >= MAX_DEPTH:
            raise ParseError(f"elements are nested more than {MAX_DEPTH} deep")
        self._open.append(tag)
        return super().start(tag, attrs)

    def _close_omitted(self, tag: str) -> None:
        """Close the open aggregates that cannot hold `tag` when an enclosing one can."""
        if tag in _AGGREGATES and tag in self._open:
            # No OFX aggregate contains itself, even indirectly: the open one was not
            # closed. (Its end tag will not come either, so it is not `_closed_early`.)
            while self._open[-1] != tag:
                self._close_early()
            super().end(self._open.pop())
            return
        if not self._open or tag in _CHILDREN.get(self._open[-1], (tag,)):
            return
        for depth in range(len(self._open) - 2, -1, -1):
            allowed = _CHILDREN.get(self._open[depth])
            if allowed is None:
                return  # an aggregate ofxtools does not know: leave the nesting alone
            if tag in allowed:
                while len(self._open) > depth + 1:
                    self._close_early()
                return

    def _close_early(self) -> None:
        closing = self._open.pop()
        self._closed_early[closing] += 1
        super().end(closing)

    def end(self, tag: str) -> ET.Element | None:
        if self._open and self._open[-1] == tag:
            self._open.pop()
            return super().end(tag)
        if tag not in self._open:
            if tag not in _AGGREGATES:
                return None  # the end tag of an empty element, already closed
            if self._closed_early[tag]:
                self._closed_early[tag] -= 1
                return None
            raise ParseError(f"</{tag}> closes an element that is not open")
        while self._open[-1] != tag:
            super().end(self._open.pop())
        self._open.pop()
        return super().end(tag)

    def close(self) -> ET.Element:
        unclosed = [tag for tag in self._open if not _MAY_STAY_OPEN.fullmatch(tag)]
        if unclosed:
            raise ParseError(f"<{unclosed[-1]}> is never closed; the file looks truncated")
        while self._open:
            super().end(self._open.pop())
        return super().close()


def _short(err: Exception, limit: int = 200) -> str:
    message = _WHITESPACE.sub(" ", str(err)).strip() or type(err).__name__
    return message if len(message) <= limit else message[: limit - 1] + "…"


def _transaction_lines(roots: list[ET.Element], text: str) -> dict[int, int]:
    """Map each STMTTRN element (by id) to the line of the file where it starts.

    The n-th `<STMTTRN>` tag of the text is the n-th STMTTRN of the trees, both being
    in document order; if the counts disagree (a tag inside CDATA, say) the caller
    falls back to record numbers rather than guess.
    """
    elements = [element for root in roots for element in root.iter("STMTTRN")]
    starts = [match.start() for match in _STMTTRN_START.finditer(text)]
    if len(starts) != len(elements):
        return {}
    breaks = [match.start() for match in _LINE_BREAK.finditer(text)]
    return {
        id(element): bisect.bisect_right(breaks, start) + 1
        for element, start in zip(elements, starts, strict=True)
    }


def _row(transaction: ET.Element, *, line: int, curdef: str | None) -> ParsedRow | str:
    """The transaction as a row, or the message explaining why it cannot be one."""
    posted = _text(transaction, "DTPOSTED") or _text(transaction, "DTUSER")
    amount_text = _text(transaction, "TRNAMT")
    missing = [tag for tag, value in (("DTPOSTED", posted), ("TRNAMT", amount_text)) if not value]
    if missing:
        return f"The transaction has no {' or '.join(missing)}."

    posted_on = _posted_date(posted)
    if posted_on is None:
        return f"DTPOSTED {posted!r} is not a date."
    amount = _amount(amount_text)
    if amount is None:
        return f"TRNAMT {amount_text!r} is not an amount."

    name = _string(_text(transaction, "NAME") or _text(transaction, "PAYEE/NAME"))
    memo = _string(_text(transaction, "MEMO"))
    description = name
    if memo and memo.casefold() != name.casefold():
        description = f"{name} - {memo}" if name else memo
    description = description or _fallback_description(transaction)
    # CURRENCY means TRNAMT is in that currency; ORIGCURRENCY means it was already
    # converted into CURDEF (OFX 2.1.1 §5.2), so only the former changes the currency.
    # An ORIGCURRENCY we do not support does not matter: the amount is in CURDEF.
    own_currency = _text(transaction, "CURRENCY/CURSYM")
    currency = _currency(own_currency)
    if currency is _UNSUPPORTED:
        return f"CURRENCY {own_currency[:20]!r} is not a currency we support."
    currency = currency or curdef
    return ParsedRow(
        line=line,
        date=posted_on,
        description=description[:TEXT_MAX],
        amount=amount,
        currency=currency,
        merchant=name[:TEXT_MAX],
        fitid=_string(_text(transaction, "FITID")),
        memo=memo[:TEXT_MAX],
    )


def _fallback_description(transaction: ET.Element) -> str:
    """For a transaction without NAME, PAYEE or MEMO: "Check 1000", "ATM", "Debit"."""
    check = _string(_text(transaction, "CHECKNUM"))
    if check:
        return f"Check {check}"
    kind = _text(transaction, "TRNTYPE").upper()
    return _TRNTYPE_TEXT.get(kind, _string(kind).capitalize())


def _text(element: ET.Element, path: str) -> str:
    found = element.find(path)
    if found is None or found.text is None:
        return ""
    return found.text.strip()


def _string(value: str) -> str:
    if not value:
        return ""
    # ofxtools unescapes the named entities OFX allows; OFX 2 (XML) may also use
    # numeric references such as &#233;.
    text = _NUMERIC_REFERENCE.sub(lambda ref: html.unescape(ref.group(0)), value)
    return _WHITESPACE.sub(" ", OFXString().convert(text) or "").strip()


def _posted_date(value: str) -> date | None:
    """The date the bank wrote, ignoring any time and UTC offset after it.

    ofxtools' DateTime converter would shift the value to UTC and could move it to
    the previous or next day; only its format (DT_REGEX) is used here.
    """
    match = DT_REGEX.match(value) or _DATE_PREFIX.match(value)
    if match is None:
        return None
    try:
        return date(int(match["year"]), int(match["month"]), int(match["day"]))
    except ValueError:
        return None


def _amount(value: str) -> decimal.Decimal | None:
    """TRNAMT through `core.money.parse_money`, the project's one number grammar (a
    decimal comma, which OFX allows, is read as a point); exponents, separators and
    over-long numbers are not amounts."""
    text = value.strip()
    if "," in text and "." not in text:
        text = text.replace(",", ".")
    try:
        return parse_money(text)
    except MoneyParseError:
        return None


def _currency(value: str) -> str | None:
    """The ISO code, None when the file gives none, `_UNSUPPORTED` for a code (or
    anything else) that is not a currency we support: such rows are flagged, never
    read as the default currency."""
    code = value.strip().upper()
    if not code:
        return None
    return code if is_currency(code) else _UNSUPPORTED
