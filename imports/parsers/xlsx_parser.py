"""XLSX bank statements → rows (SPEC §11): the first worksheet read as a table.

Cells come as openpyxl gives them (numbers, datetimes, text); `table.parse_table` does
the rest, exactly as for CSV. Line numbers are worksheet row numbers.

The work is bounded by what the file holds, never by what it claims: the archive's
unpacked size is checked before anything is inflated, the worksheet's `<dimension>` is
checked before its rows are read, and the rows are read as a stream of the cells
actually present (openpyxl's read-only `iter_rows` pads every row to the widest one, so
one cell in column XFD per row made a 12 KB file cost gigabytes). A cell with a value
beyond `MAX_COLUMNS`, or more rows than `max_table_lines()`, refuses the file.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from typing import IO, Any
from xml.etree.ElementTree import iterparse

from django.conf import settings
from openpyxl.reader.excel import ExcelReader
from openpyxl.styles.stylesheet import apply_stylesheet
from openpyxl.utils.cell import range_boundaries
from openpyxl.worksheet._reader import WorkSheetParser
from openpyxl.xml.constants import SHARED_STRINGS, SHEET_MAIN_NS

from .base import CsvOptions, ParseResult, StatementError, max_table_lines, too_many_lines
from .table import Record, parse_table

MAX_COLUMNS = 200  # columns a statement may use (XLSX allows 16 384)
MAX_CELLS_PER_ROW = 1000  # cells present in one row, values or not
MAX_PARTS = 1000  # files in the archive (a workbook has a few dozen)
# XML parts other than worksheets and shared strings (workbook, styles, relations) are
# parsed whole by openpyxl, so each is held to this.
MAX_METADATA_PART_BYTES = 8 * 1024 * 1024
STRINGS_PER_LINE = 5  # distinct shared strings allowed per allowed line
# XML elements allowed per part and allowed line: a 10-column row with values is 21.
ELEMENTS_PER_LINE = 25
# The worksheet and shared strings are streamed with the C ElementTree parser, as
# openpyxl itself does: defusedxml's pure-Python parser is ~5x slower per element.
# ElementTree never fetches external entities, and expat >= 2.4.1 (checked in the
# tests) refuses the billion-laughs and quadratic-blowup expansions.

_ROW = f"{{{SHEET_MAIN_NS}}}row"
_CELL = f"{{{SHEET_MAIN_NS}}}c"
_DIMENSION = f"{{{SHEET_MAIN_NS}}}dimension"
_STRING_ITEM = f"{{{SHEET_MAIN_NS}}}si"
_TEXT = f"{{{SHEET_MAIN_NS}}}t"
_RUN = f"{{{SHEET_MAIN_NS}}}r"


def parse_xlsx(content: bytes, options: CsvOptions) -> ParseResult:
    """Rows of the first worksheet; raises `StatementError` when it cannot be read."""
    if not content:
        raise StatementError("The file is empty.")
    return parse_table(read_sheet(content), options, format="xlsx")


def read_sheet(content: bytes) -> list[Record]:
    """`(row number, cell values)` for every row of the first worksheet that has a value;
    each row's list ends at its last value."""
    _check_archive(content)
    try:
        reader = ExcelReader(io.BytesIO(content), read_only=True, data_only=True)
        reader.read_manifest()
        reader.read_workbook()
        apply_stylesheet(reader.archive, reader.wb)
    except Exception as exc:  # openpyxl raises many kinds for a file that is not XLSX
        raise StatementError("This is not a readable XLSX workbook.") from exc
    try:
        sheet_path = _first_worksheet(reader)
        strings = _shared_strings(reader)
        workbook = reader.wb
        parser = WorkSheetParser(
            None,
            strings,
            data_only=True,
            epoch=workbook.epoch,
            date_formats=workbook._date_formats,
            timedelta_formats=workbook._timedelta_formats,
        )
        with reader.archive.open(sheet_path) as source:
            return list(_rows(source, parser))
    except StatementError:
        raise
    except Exception as exc:
        raise StatementError("The worksheet cannot be read.") from exc
    finally:
        reader.archive.close()


def _check_archive(content: bytes) -> None:
    """Refuse a zip bomb from the sizes the archive declares, before inflating anything
    (`zipfile` never inflates a member past its declared size)."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise StatementError("This is not a readable XLSX workbook.") from exc
    if len(members) > MAX_PARTS:
        raise StatementError(f"The workbook has more than {MAX_PARTS} parts.")
    limit = settings.IMPORT_XLSX_MAX_UNPACKED_BYTES
    unpacked = sum(member.file_size for member in members)
    if unpacked > limit:
        raise StatementError(
            f"The workbook unpacks to {unpacked} bytes, over the limit of {limit} bytes "
            "(IMPORT_XLSX_MAX_UNPACKED_BYTES)."
        )
    for member in members:
        name = member.filename.lower()
        data_part = "/worksheets/" in name or name.endswith("sharedstrings.xml")
        is_xml = name.endswith((".xml", ".rels"))
        if is_xml and not data_part and member.file_size > MAX_METADATA_PART_BYTES:
            raise StatementError(
                f"The workbook part {member.filename[:100]!r} is larger than "
                f"{MAX_METADATA_PART_BYTES} bytes."
            )


def _first_worksheet(reader: ExcelReader) -> str:
    for _sheet, rel in reader.parser.find_sheets():
        if rel.target in reader.valid_files and "chartsheet" not in rel.Type:
            return str(rel.target)
    raise StatementError("The workbook has no worksheet.")


def _shared_strings(reader: ExcelReader) -> list[str]:
    """The shared string table, streamed; at most `STRINGS_PER_LINE` per allowed line."""
    part = reader.package.find(SHARED_STRINGS)
    if part is None:
        return []
    limit = STRINGS_PER_LINE * max_table_lines()
    strings: list[str] = []
    with reader.archive.open(part.PartName[1:]) as source:
        for element in _stream(source, frozenset({_STRING_ITEM})):
            if len(strings) >= limit:
                raise StatementError(f"The workbook has more than {limit} distinct texts.")
            pieces = []
            for child in element:
                node = child if child.tag == _TEXT else child.find(_TEXT)
                if child.tag in (_TEXT, _RUN) and node is not None:
                    pieces.append(node.text or "")
            strings.append("".join(pieces).replace("x005F_", ""))
    return strings


def _stream(source: IO[bytes], tags: frozenset[str], on_start: Any = None) -> Iterator[Any]:
    """Each complete element of `tags` in an XML stream, in document order.

    Every element is dropped from the tree once handed over (or once complete, outside
    those tags), so memory does not grow with the file; more than
    `ELEMENTS_PER_LINE * max_table_lines()` elements refuse the part, so time does not
    grow past what the largest allowed statement needs.
    """
    limit = ELEMENTS_PER_LINE * max_table_lines()
    stack: list[Any] = []
    within = 0  # how many elements of `tags` are open
    seen = 0
    for event, element in iterparse(source, events=("start", "end")):  # noqa: S314
        if event == "start":
            seen += 1
            if seen > limit:
                raise StatementError(
                    f"The workbook has more than {limit} XML elements in one part; "
                    "that is more than a statement of the allowed size needs."
                )
            if on_start is not None:
                on_start(element)
            stack.append(element)
            within += element.tag in tags
            continue
        stack.pop()
        wanted = element.tag in tags
        if wanted:
            within -= 1
            yield element
        if stack and (wanted or not within):
            stack[-1].remove(element)


def _check_dimension(element: Any) -> None:
    try:
        _min_col, min_row, max_col, max_row = range_boundaries(element.get("ref", ""))
    except (TypeError, ValueError):
        return  # a wrong dimension is common; the rows themselves are bounded below
    if max_col is not None and max_col > MAX_COLUMNS:
        raise StatementError(
            f"The worksheet is {max_col} columns wide; a statement may have at most "
            f"{MAX_COLUMNS} columns."
        )
    if max_row is not None and min_row is not None and max_row - min_row + 1 > max_table_lines():
        raise too_many_lines(max_row - min_row + 1)


def _rows(source: IO[bytes], parser: WorkSheetParser) -> Iterator[Record]:
    """The worksheet's rows that hold a value, from the cells present in the XML."""
    limit = max_table_lines()
    count = 0
    values: dict[int, Any] = {}
    cells_in_row = [0]

    def on_start(element: Any) -> None:
        if element.tag == _CELL:
            cells_in_row[0] += 1
            if cells_in_row[0] > MAX_CELLS_PER_ROW:
                raise StatementError(
                    f"Row {parser.row_counter} has more than {MAX_CELLS_PER_ROW} cells."
                )
        elif element.tag == _DIMENSION:
            _check_dimension(element)
        elif element.tag == _ROW:
            number = element.get("r")
            parser.row_counter = int(number) if number else parser.row_counter + 1
            parser.col_counter = 0
            cells_in_row[0] = 0
            values.clear()

    for element in _stream(source, frozenset({_ROW, _CELL}), on_start):
        if element.tag == _CELL:
            cell = parser.parse_cell(element)
            if cell["value"] is None:
                continue
            if cell["column"] > MAX_COLUMNS:
                raise StatementError(
                    f"Row {parser.row_counter} has a value in column {cell['column']}; a "
                    f"statement may have at most {MAX_COLUMNS} columns."
                )
            values[cell["column"]] = cell["value"]
        elif values:
            count += 1
            if count > limit:
                raise too_many_lines(count)
            row = [None] * max(values)
            for column, value in values.items():
                row[column - 1] = value
            yield parser.row_counter, row
            values.clear()
