"""CSV bank statements → rows (SPEC §11): encoding, line ends, delimiter, quoting.

Everything after splitting lines into cells is `table.parse_table`, shared with XLSX.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from .base import CsvOptions, ParseResult, StatementError, max_table_lines, too_many_lines
from .columns import explicit_columns
from .encodings import bom_codec, decode_guess, text_codec
from .table import Record, find_header, parse_table

DELIMITERS = (",", ";", "\t", "|")
_DELIMITER_NAMES = {"\\t": "\t", "tab": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}
_SAMPLE_LINES = 100
_MAGIC = (
    (b"\x89PNG", "a PNG image"),
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive or XLSX workbook"),
    (b"\xd0\xcf\x11\xe0", "an old Excel/Office document"),
    (b"GIF8", "a GIF image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"\x1f\x8b", "a gzip archive"),
)
_CONTROL_LIMIT = 0.01  # share of control characters above which the bytes are not text


def parse_csv(content: bytes, options: CsvOptions) -> ParseResult:
    """Rows of a CSV statement; raises `StatementError` when it cannot be read as one."""
    # Blank lines count too (twice the allowance): each costs a record to read.
    lines = split_lines(decode(content, options.encoding), max_lines=2 * max_table_lines())
    filled = sum(1 for line in lines if not line.isspace())
    if filled > max_table_lines():
        raise too_many_lines(filled)
    delimiter = _delimiter_option(options.delimiter) or detect_delimiter(lines, options)
    return parse_table(
        read_records(lines, delimiter),
        options,
        format="csv",
        decimal_hint="," if delimiter == ";" else ".",
    )


def decode(content: bytes, encoding: str | None = None) -> str:
    """The file's text: the given encoding, else the one a byte-order mark names (UTF-8,
    UTF-16 as in Excel's "Unicode text", UTF-32; LE or BE), else UTF-8, else
    Windows-1252, else Latin-1."""
    if not content.strip():
        raise StatementError("The file is empty.")
    for magic, kind in _MAGIC:
        if content.startswith(magic):
            raise StatementError(f"This is not a CSV statement: it looks like {kind}.")
    bom = bom_codec(content)
    if encoding:
        try:
            text = content.decode(text_codec(encoding))
        except ValueError as exc:  # UnicodeDecodeError included
            if isinstance(exc, UnicodeError):
                raise StatementError(f"The file is not valid {encoding} text.") from None
            raise StatementError(f"encoding: {exc}") from None
    elif bom is not None:
        try:
            text = content.decode(bom)
        except UnicodeError:
            raise StatementError(f"The file is not valid {bom.upper()} text.") from None
    else:
        text = decode_guess(content)
    text = text.removeprefix("\ufeff")
    _check_is_text(text)
    return text


def _check_is_text(text: str) -> None:
    sample = text[:65536]
    controls = sum(1 for ch in sample if ch < " " and ch not in "\t\n\r\f")
    if "\x00" in sample or controls > _CONTROL_LIMIT * len(sample):
        raise StatementError("This is not a CSV statement: the file is not text.")
    start = sample.lstrip()[:1]
    if start in ("{", "["):
        try:
            json.loads(text)
        except ValueError:
            pass
        else:
            raise StatementError("This is not a CSV statement: the file is JSON.")
    if start == "<":
        raise StatementError("This is not a CSV statement: the file is XML or HTML.")


def split_lines(text: str, *, max_lines: int | None = None) -> list[str]:
    """Physical lines, each ending in "\\n"; CR CR LF, CR LF and lone CR all end a line,
    so line numbers are the ones an editor shows. More than `max_lines` lines raise
    `StatementError` before the text is split."""
    text = text.replace("\r\r\n", "\n").replace("\r\n", "\n").replace("\r", "\n")
    if max_lines is not None and text.count("\n") > max_lines:
        raise too_many_lines(text.count("\n"))
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line + "\n" for line in lines]


def _delimiter_option(delimiter: str | None) -> str | None:
    if not delimiter:
        return None
    delimiter = _DELIMITER_NAMES.get(delimiter.strip().lower(), delimiter)
    if len(delimiter) != 1 or delimiter in '"\r\n':
        raise StatementError("delimiter must be a single character such as , ; | or a tab.")
    return delimiter


def detect_delimiter(lines: Sequence[str], options: CsvOptions) -> str:
    """The delimiter among , ; tab | with which a statement header can be found in the
    first lines (and that has the columns the client numbered); among several (or none),
    the one splitting most lines into the same number (> 1) of cells, then the most
    cells. `csv.Sniffer` is not used: metadata lines above the header and decimal commas
    mislead it."""
    sample = [line for line in lines[: _SAMPLE_LINES * 2] if line.strip()][:_SAMPLE_LINES]
    explicit = explicit_columns(options.columns)
    needed = max(
        (ref + 1 for refs in explicit.values() for ref in refs if isinstance(ref, int)), default=0
    )
    best: tuple[bool, int, int, int] | None = None
    chosen = ","
    for order, delimiter in enumerate(DELIMITERS):
        records = _read_all(sample, delimiter)
        widths = Counter(len(cells) for _, cells in records if len(cells) > 1)
        width, consistency = widths.most_common(1)[0] if widths else (0, 0)
        has_header = False
        if consistency and width >= needed:
            header, _ = find_header(records, options, explicit)
            has_header = header is not None
        score = (has_header, consistency, width, -order)
        if best is None or score > best:
            best, chosen = score, delimiter
    return chosen


def _reader(lines: Iterable[str], delimiter: str) -> Any:
    """The csv module's reader (its type is private); `line_num` counts lines read."""
    return csv.reader(lines, delimiter=delimiter, quotechar='"', skipinitialspace=True)


def _read_all(lines: Sequence[str], delimiter: str) -> list[Record]:
    """Records of `lines` with the line each starts on."""
    return [(start, cells) for start, _, cells in _spans(lines, delimiter)]


def _spans(lines: Sequence[str], delimiter: str) -> list[tuple[int, int, list[str]]]:
    reader = _reader(lines, delimiter)
    spans: list[tuple[int, int, list[str]]] = []
    previous_end = 0
    try:
        for cells in reader:
            spans.append((previous_end + 1, reader.line_num, cells))
            previous_end = reader.line_num
    except csv.Error:
        # A field over the csv module's size limit or a NUL: read the rest line by line.
        spans.extend(
            (number, number, _read_line(lines[number - 1], delimiter))
            for number in range(previous_end + 1, len(lines) + 1)
        )
    return spans


def _read_line(line: str, delimiter: str) -> list[str]:
    try:
        return next(_reader([line.rstrip("\n")], delimiter), [])
    except csv.Error:
        return line.rstrip("\n").split(delimiter)


def read_records(lines: Sequence[str], delimiter: str) -> list[Record]:
    """`(line, cells)` for every record, recovering from malformed quoting.

    A record the csv module stretched over several lines (a quoted field with line
    breaks) is kept when it has the table's usual number of cells; otherwise an opening
    quote was unbalanced and each of those lines is read on its own. Stray quotes left
    at the edge of a cell (a line missing its opening quote) are dropped.
    """
    spans = _spans(lines, delimiter)
    widths = Counter(len(cells) for start, end, cells in spans if start == end and len(cells) > 1)
    usual = widths.most_common(1)[0][0] if widths else None
    records: list[Record] = []
    for start, end, cells in spans:
        if start != end and usual is not None and len(cells) != usual:
            for number in range(start, end + 1):
                records.append((number, _clean(_read_line(lines[number - 1], delimiter))))
        else:
            records.append((start, _clean(cells)))
    return records


def _clean(cells: list[str]) -> list[str]:
    for index, cell in enumerate(cells):
        if '"' in cell and cell.count('"') % 2:
            cells[index] = cell.strip().strip('"')
    return cells
