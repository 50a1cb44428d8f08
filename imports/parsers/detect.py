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

__all__ = ["detect_format"]

_SNIFF_BYTES = 64 * 1024
_CSV_SAMPLE_LINES = 20
_CSV_DELIMITERS = (",", ";", "\t", "|")

_OFX_START = re.compile(
    rb"\A\s*(?:OFXHEADER\s*:|<\?OFX\s|(?:<\?xml\b[^>]*\?>\s*)?(?:<\?OFX\s|<OFX>))",
    re.IGNORECASE,
)
_QIF_START = re.compile(rb"\A\s*!(?:Type:|Account|Option:|Clear:)", re.IGNORECASE)
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_ZIP_MAGIC = b"PK\x03\x04"


def detect_format(content: bytes, filename: str | None) -> str | None:
    """Return "ofx", "qfx", "qif", "csv" or "xlsx" for a statement file, else None."""
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
    if _OFX_START.match(head):
        if (filename or "").lower().endswith(".qfx") or b"<INTU.BID>" in head.upper():
            return "qfx"
        return "ofx"
    if _QIF_START.match(head):
        return "qif"
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
