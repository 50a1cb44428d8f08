"""Which statement format a file is, from its bytes (SPEC §11, `format: auto`).

The content decides; the file name only tells QFX from OFX (they are the same
format, Quicken's being OFX with Intuit's sign-on fields). A file that is none of
the known formats gets None, which the caller answers with 415.
"""

from __future__ import annotations

import codecs
import csv
import re
import zipfile
from collections import Counter
from io import BytesIO

from .encodings import bom_codec, decode_sample
from .ofx_parser import looks_like_ofx

__all__ = ["detect_format"]

_SNIFF_BYTES = 64 * 1024
_CSV_SAMPLE_LINES = 20
_CSV_DELIMITERS = (",", ";", "\t", "|")

_OFX_START = re.compile(
    rb"\A\s*(?:OFXHEADER\s*:|<\?OFX\s|(?:<\?xml\b[^>]*\?>\s*)?(?:<\?OFX\s|<OFX>))",
    re.IGNORECASE,
)
_QIF_START = re.compile(rb"\A\s*!(?:Type:|Account|Option:|Clear:)", re.IGNORECASE)
# XML naming an ISO 20022 camt.052/053 namespace (any version). Searched, not parsed:
# the parser refuses a DTD or a wrong root with a 400 that says so.
_CAMT_NAMESPACE = re.compile(rb"urn:iso:std:iso:20022:tech:xsd:camt\.05[23]\.")
# MT940: `:20:` opens the first message (after an optional SWIFT envelope `{1:…}{4:`),
# and an account (`:25:`) and an opening balance (`:60F:`/`:60M:`) follow.
# Envelope lines end at a line break, so the repetition cannot backtrack.
_MT940_START = re.compile(rb"\A\s*(?:\{[1-5]:[^\r\n]*[\r\n]\s*)*:20:")
_MT940_ACCOUNT = re.compile(rb"^:25P?:", re.MULTILINE)
_MT940_OPENING = re.compile(rb"^:60[FM]:", re.MULTILINE)
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_ZIP_MAGIC = b"PK\x03\x04"


def detect_format(content: bytes, filename: str | None) -> str | None:
    """Return "ofx", "qfx", "qif", "camt", "mt940", "csv" or "xlsx" for a statement file,
    else None."""
    if not content:
        return None
    if content.startswith(_ZIP_MAGIC):
        return "xlsx" if _is_xlsx(content) else None

    head = content[:_SNIFF_BYTES].removeprefix(codecs.BOM_UTF8)
    codec = bom_codec(content)
    if codec in ("utf-16", "utf-32"):
        # Excel's "Unicode text" and other BOM-marked wide encodings: sniff the text.
        head = decode_sample(head, codec).removeprefix("\ufeff").encode("utf-8")
    truncated = len(content) > _SNIFF_BYTES
    # Blank lines, BOMs or a line of stray text before an OFX header still make an OFX
    # file; markup before it (an HTML page quoting <OFX>) does not.
    if _OFX_START.match(head) or (
        not head.lstrip(b"\xef\xbb\xbf\r\n\t ").startswith(b"<") and looks_like_ofx(head)
    ):
        if (filename or "").lower().endswith(".qfx") or b"<INTU.BID>" in head.upper():
            return "qfx"
        return "ofx"
    if _QIF_START.match(head):
        return "qif"
    if head.lstrip().startswith(b"<") and _CAMT_NAMESPACE.search(head):
        return "camt"
    if _MT940_START.match(head) and _MT940_ACCOUNT.search(head) and _MT940_OPENING.search(head):
        return "mt940"
    if _looks_like_csv(head, truncated=truncated):
        return "csv"
    return None


def _is_xlsx(content: bytes) -> bool:
    try:
        with zipfile.ZipFile(BytesIO(content)) as archive:
            return "xl/workbook.xml" in archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return False


def _looks_like_csv(head: bytes, *, truncated: bool) -> bool:
    """Text whose leading lines mostly (60 %) split on one delimiter, ≥ 2 of them alike.

    Metadata lines before a bank's header row are allowed (they are the minority);
    JSON, HTML/XML and binary files (PDF, images) are not text tables.
    """
    if b"\x00" in head:
        return False
    text = _as_text(head)
    if text is None:
        return False
    stripped = text.lstrip()
    if stripped[:1] in ("{", "[", "<") or stripped.startswith("%PDF"):
        return False
    if any(ord(char) < 32 and char not in "\t\r\n\f" for char in text):
        return False

    lines = [line for line in _LINE_BREAK.split(text) if line.strip()]
    # The last line of a 64 KiB sample may be cut short.
    if truncated and len(lines) > 1:
        lines.pop()
    lines = lines[:_CSV_SAMPLE_LINES]
    if not lines:
        return False
    for delimiter in _CSV_DELIMITERS:
        counts = Counter(_field_count(line, delimiter) for line in lines)
        split = {fields: n for fields, n in counts.items() if fields >= 2}
        if split and max(split.values()) >= 2 and sum(split.values()) * 5 >= len(lines) * 3:
            return True
    return False


def _as_text(head: bytes) -> str | None:
    for encoding in ("utf-8", "cp1252"):
        try:
            return head.decode(encoding)
        except UnicodeDecodeError as err:
            # A multi-byte character cut by the sample boundary is still UTF-8.
            if encoding == "utf-8" and err.start >= len(head) - 3:
                return head[: err.start].decode("utf-8")
    return None


def _field_count(line: str, delimiter: str) -> int:
    try:
        return len(next(csv.reader([line], delimiter=delimiter), []))
    except csv.Error:
        return line.count(delimiter) + 1
