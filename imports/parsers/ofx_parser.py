"""OFX 1.x (SGML), OFX 2.x (XML) and QFX statements, read with ofxtools (SPEC §11).

ofxtools reads the header and builds the element tree; the rows are taken from that
tree rather than from `OFXTree.convert()`, whose strict model rejects real files that
banks send (two STMTRS in one STMTTRNRS, over-long ACCTIDs, ...). Values still go
through ofxtools' own type converters (dates, decimals, entity unescaping).

What is done to the bytes before ofxtools sees them, and why:
- The body is decoded here, from the header's CHARSET/ENCODING (with aliases such as
  `8859-1` that ofxtools rejects) and a UTF-8 → cp1252 fallback, then handed to
  ofxtools re-encoded as UTF-8 under a `CHARSET:NONE`/`ENCODING:UTF-8` header.
- A file with `<OFX>` but no OFX header gets a standard one; an OFX 2 file gets a
  plain XML declaration (ofxtools insists on one, in one attribute order).
- DTD and entity declarations are refused outright. ofxtools never hands the text
  to an XML parser (its reader is regex-based and expands nothing), and defusedxml
  double-checks OFX 2 bodies, so no entity is expanded and no external file is read.
- The tree builder checks that every aggregate is closed, which is how a truncated
  download is told apart from a short statement.
"""

from __future__ import annotations

import bisect
import codecs
import decimal
import html
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from datetime import date
from io import BytesIO

import defusedxml.ElementTree as DefusedET
from defusedxml import DefusedXmlException
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

__all__ = ["parse_ofx"]

TEXT_MAX = 255

_V1_HEADER = re.compile(r"\A\s*OFXHEADER\s*:", re.IGNORECASE)
_V2_HEADER = re.compile(r"<\?OFX\s", re.IGNORECASE)
_XML_DECL = re.compile(r"\A\s*<\?xml\b[^>]*\?>", re.IGNORECASE)
_XML_ENCODING = re.compile(r"""\bencoding\s*=\s*["']([\w.:-]+)["']""", re.IGNORECASE)
_BARE_OFX = re.compile(r"\A\s*(?:<\?xml\b[^>]*\?>\s*)?<OFX>", re.IGNORECASE)
# Not anchored to line starts: some banks send the whole OFX 1 header on one line.
_HEADER_FIELD = re.compile(r"\b(CHARSET|ENCODING)([ \t]*:[ \t]*)([\w-]*)", re.IGNORECASE)
_DECLARATION = re.compile(r"<!\s*(?:DOCTYPE|ENTITY|ELEMENT|ATTLIST)", re.IGNORECASE)
_STMTTRN_START = re.compile(r"<STMTTRN>")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_WHITESPACE = re.compile(r"\s+")
_NUMERIC_REFERENCE = re.compile(r"&#(?:[xX][0-9a-fA-F]{1,6}|[0-9]{1,7});")
_DATE_PREFIX = re.compile(r"(?P<year>\d{4})(?P<month>\d{2})(?P<day>\d{2})")

_SYNTHETIC_V1_HEADER = (
    "OFXHEADER:100\nDATA:OFXSGML\nVERSION:102\nSECURITY:NONE\nENCODING:UTF-8\n"
    "CHARSET:NONE\nCOMPRESSION:NONE\nOLDFILEUID:NONE\nNEWFILEUID:NONE\n\n"
)
_PLAIN_XML_DECL = '<?xml version="1.0" encoding="UTF-8"?>\n'

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
    ignored), in file order; a transaction without a date or amount, or with one
    that cannot be read, becomes an error for its line instead. Raises
    `StatementError` when the file is not OFX, is truncated or malformed, declares
    a DTD or entities, or holds no bank or credit-card statement.
    """
    if fmt not in ("ofx", "qfx"):
        raise ValueError(f"fmt must be 'ofx' or 'qfx', not {fmt!r}")
    text = _decode(content)
    _refuse_declarations(text)
    found = len(_STMTTRN_START.findall(text))
    if found > max_transactions():
        raise too_many_transactions(found)
    root = _parse_tree(text)

    statements = [element for element in root.iter() if element.tag in _STATEMENT_TAGS]
    if not statements:
        raise StatementError(
            "The OFX file holds no bank or credit-card statement (STMTRS or CCSTMTRS)."
        )

    line_of = _transaction_lines(root, text)
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


def _decode(content: bytes) -> str:
    if content.startswith(codecs.BOM_UTF8):
        return _decode_first(content[len(codecs.BOM_UTF8) :], ["utf-8", "cp1252"])
    if content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _decode_first(content, ["utf-16"])

    head = content[:4096].decode("latin-1")
    xml_decl = _XML_DECL.match(head)
    if xml_decl:
        declared = _XML_ENCODING.search(xml_decl.group(0))
        preferred = [_codec(declared.group(1))] if declared else []
        return _decode_first(content, [*preferred, "utf-8", "cp1252"])

    header = head.partition("<")[0]
    fields = {name.upper(): value.upper() for name, _, value in _HEADER_FIELD.findall(header)}
    if fields.get("ENCODING") in ("UTF-8", "UTF8", "UNICODE"):
        return _decode_first(content, ["utf-8", "cp1252"])
    charset = fields.get("CHARSET", "NONE")
    preferred = [] if charset in ("NONE", "") else [_codec(charset)]
    return _decode_first(content, [*preferred, "utf-8", "cp1252"])


def _codec(label: str) -> str | None:
    label = label.strip().upper()
    if label in _CHARSETS:
        return _CHARSETS[label]
    for candidate in (label, f"cp{label}"):
        try:
            return codecs.lookup(candidate).name
        except LookupError:
            continue
    return None


def _decode_first(content: bytes, encodings: Iterable[str | None]) -> str:
    for encoding in encodings:
        if encoding is None:
            continue
        try:
            text = content.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
        return text.removeprefix("\ufeff")
    return content.decode("latin-1")


def _refuse_declarations(text: str) -> None:
    if _DECLARATION.search(text):
        raise StatementError(
            "The OFX file declares a DTD or entities, which statements never need; it was not read."
        )


def _parse_tree(text: str) -> ET.Element:
    """Hand the decoded text to ofxtools under a header it accepts; return the root."""
    if _V1_HEADER.match(text):
        header_end = text.find("<")
        header_end = len(text) if header_end < 0 else header_end
        header = _HEADER_FIELD.sub(_utf8_header_field, text[:header_end])
        normalised = header + text[header_end:]
    elif _V2_HEADER.search(text[:4096]):
        _defused_check(text)
        normalised = _PLAIN_XML_DECL + _XML_DECL.sub("", text, count=1).lstrip()
    elif _BARE_OFX.match(text):
        normalised = _SYNTHETIC_V1_HEADER + _XML_DECL.sub("", text, count=1).lstrip()
    else:
        raise StatementError("This is not an OFX file: it has no OFX header or <OFX> element.")

    tree = OFXTree()
    try:
        root = tree.parse(BytesIO(normalised.encode("utf-8")), parser=_BalancedTreeBuilder())
    except Exception as err:  # ofxtools raises SyntaxError/ValueError subclasses and more
        raise StatementError(f"The OFX file cannot be read: {_short(err)}") from err
    if root is None or root.tag != "OFX":
        raise StatementError("The OFX file cannot be read: its root element is not <OFX>.")
    return root


def _utf8_header_field(match: re.Match[str]) -> str:
    name, separator = match.group(1), match.group(2)
    return name + separator + ("NONE" if name.upper() == "CHARSET" else "UTF-8")


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
    """ofxtools' SGML/XML reader, refusing unclosed aggregates and stray end tags.

    The stock builder returns whatever it has when the text stops, so a truncated
    download would look like a shorter statement. Elements without text and without
    an end tag (legal in OFX 1) are closed when their parent is, as SGML does.
    """

    def __init__(self) -> None:
        super().__init__()
        self._open: list[str] = []

    def start(self, tag: str, attrs: dict[str, str]) -> ET.Element:
        self._open.append(tag)
        return super().start(tag, attrs)

    def end(self, tag: str) -> ET.Element:
        if tag not in self._open:
            raise ParseError(f"</{tag}> closes an element that is not open")
        while self._open[-1] != tag:
            super().end(self._open.pop())
        self._open.pop()
        return super().end(tag)

    def close(self) -> ET.Element:
        if self._open:
            raise ParseError(f"<{self._open[-1]}> is never closed; the file looks truncated")
        return super().close()


def _short(err: Exception, limit: int = 200) -> str:
    message = _WHITESPACE.sub(" ", str(err)).strip() or type(err).__name__
    return message if len(message) <= limit else message[: limit - 1] + "…"


def _transaction_lines(root: ET.Element, text: str) -> dict[int, int]:
    """Map each STMTTRN element (by id) to the line of the file where it starts.

    The n-th `<STMTTRN>` tag of the text is the n-th STMTTRN of the tree, both being
    in document order; if the counts disagree (a tag inside CDATA, say) the caller
    falls back to record numbers rather than guess.
    """
    elements = list(root.iter("STMTTRN"))
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
    posted = _text(transaction, "DTPOSTED")
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
