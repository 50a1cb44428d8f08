"""A small streaming XLSX (SpreadsheetML) writer: each worksheet's rows are deflated into
the zip as they are written, so memory holds one chunk of rows whatever the sheet's size.

Why not a library (issue 19 asks for 50,000 rows/s): on the export's own rows, already
fetched (`python -m bench.exports --writers`, 20,000 expenses), openpyxl's write-only
mode wrote 1,854 rows per CPU second and xlsxwriter's `constant_memory` mode 4,342,
against 81,670 for this writer: both build and dispatch a Python object per cell, and
xlsxwriter also spools every sheet to a temporary file before zipping it. Here a
caller renders a whole row as one string with the cell fragments below (`text`,
`number`, the `*_serial` rules), and text goes inline (`t="inlineStr"`, as both
libraries do in those modes), so no shared-strings table grows with the number of
distinct texts.

It writes only what the exports need: numbers, inline text, dates and date-times as
serial numbers with a number format, bold, column widths and frozen header rows. The
package parts follow what Excel itself writes (the minimal styles Excel requires: two
fills, one border, the `Normal` cell style); `[Content_Types].xml` and the workbook part
come last, once every sheet is known, as openpyxl does. Files were checked with
openpyxl (the tests) and LibreOffice Calc 7.4 (by hand), not with Microsoft Excel.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Mapping, Sequence
from contextlib import suppress
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import IO, Any

# Rows per worksheet in Excel, the header included.
MAX_ROWS = 1_048_576
# Characters (UTF-16 code units) a cell holds in Excel; longer text is cut.
MAX_TEXT = 32_767
# A worksheet part stays under the size past which it would need ZIP64 (which zipfile
# must be told before streaming a part, and which makes Excel offer to repair the
# file); the caller continues on another sheet (`Sheet.fits`).
MAX_PART_BYTES = zipfile.ZIP64_LIMIT - 1024 * 1024
# Level 1 deflates the worksheet XML about 3.5× faster than zlib's default (6), for a
# file about a third larger (docs/benchmarks.md, Exports).
COMPRESSLEVEL = 1

# Excel's serial day numbers count from 1899-12-30 (day 0), and Excel also counts
# 1900-02-29, which never was: dates from 1900-03-01 on are `days since 1970-01-01 +
# UNIX_EPOCH_SERIAL`, earlier ones (down to 1900-01-01 = 1) one less. The record sheets
# get the same numbers from the database (`selectors.SerialDay`, `SerialTime`).
UNIX_EPOCH_SERIAL = 25_569
FIRST_TRUE_SERIAL = 61  # 1900-03-01
SECONDS_PER_DAY = 86_400
_ORDINAL_1970 = date(1970, 1, 1).toordinal()

# Excel's built-in number formats (ECMA-376 §18.8.30) that the exports use; any other
# format code is declared in styles.xml from id 164 on.
BUILTIN_FORMATS = {"General": 0, "0": 1, "0.00": 2, "#,##0": 3, "#,##0.00": 4}
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd h:mm:ss"

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
SHEET_TITLE_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
# Characters XML 1.0 cannot carry, even escaped; tab, LF and CR can.
_ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
# Column names by 0-based index, A … ZZ.
COLUMN_LETTERS: tuple[str, ...] = (*_LETTERS, *(a + b for a in _LETTERS for b in _LETTERS))


def day_serial(days: int) -> int:
    """The serial number of the day `days` after 1970-01-01 (1900-01-01 or later)."""
    serial = days + UNIX_EPOCH_SERIAL
    return serial if serial >= FIRST_TRUE_SERIAL else serial - 1


def date_serial(day: date) -> int:
    return day_serial(day.toordinal() - _ORDINAL_1970)


def datetime_serial(moment: datetime) -> float:
    """The serial number of `moment` as a naive time (an aware one is taken in UTC)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    delta = moment - datetime(1970, 1, 1)
    days = delta.days
    return day_serial(days) + (delta.seconds + delta.microseconds / 1e6) / SECONDS_PER_DAY


def printable(value: str) -> str:
    """`value` without the characters XML 1.0 cannot carry (tab, LF and CR stay)."""
    return _ILLEGAL_XML.sub("", value)


def text(value: str) -> str:
    """`value` as the content of an inline string cell: `<is><t>…</t></is>`, escaped,
    without the characters XML cannot hold, cut at Excel's 32,767 characters, and with
    `xml:space="preserve"` when leading or trailing white space would otherwise go."""
    if not value.isprintable():
        value = _ILLEGAL_XML.sub("", value)
    if len(value) > MAX_TEXT // 2:
        value = _cut(value)
    if "&" in value or "<" in value or ">" in value:
        value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if value.strip() != value:
        return f'<is><t xml:space="preserve">{value}</t></is>'
    return f"<is><t>{value}</t></is>"


def _cut(value: str) -> str:
    """`value` cut to MAX_TEXT UTF-16 code units (a character past U+FFFF is two)."""
    units = 0
    for index, char in enumerate(value):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > MAX_TEXT:
            return value[:index]
    return value


def number(value: int | float | Decimal) -> str:
    """A number as a cell value (`<v>` content); Decimals keep their digits."""
    if isinstance(value, Decimal):
        return format(value, "f")
    return repr(value) if isinstance(value, float) else str(int(value))


class Workbook:
    """Writes an XLSX package to `target` (a binary file; it need not be seekable).

    Sheets are written one after the other: `add_sheet` closes the previous one. Cell
    styles are registered with `style` (before or while writing) and referred to by the
    index it returns; `close` writes the remaining parts (or use it as a context
    manager).
    """

    def __init__(self, target: IO[bytes], *, compresslevel: int = COMPRESSLEVEL) -> None:
        self.zip = zipfile.ZipFile(
            target, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=compresslevel
        )
        self.sheets: list[Sheet] = []
        self.formats: dict[str, int] = {}  # custom format code -> id
        self.styles: dict[tuple[int, bool], int] = {(0, False): 0}  # (format id, bold) -> xf
        self.closed = False

    def __enter__(self) -> Workbook:
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is None:
            self.close()
            return
        # Failed half way: release the file without hiding the error.
        self.closed = True
        with suppress(Exception):  # the target may be what failed
            if self.sheets and not self.sheets[-1].finished:
                self.sheets[-1].stream.close()
            self.zip.close()

    def style(self, *, number_format: str = "General", bold: bool = False) -> int:
        """The index of the cell style with this number format and weight."""
        format_id = BUILTIN_FORMATS.get(number_format)
        if format_id is None:
            format_id = self.formats.setdefault(number_format, 164 + len(self.formats))
        return self.styles.setdefault((format_id, bold), len(self.styles))

    def add_sheet(
        self, title: str, *, widths: Mapping[int, float] | None = None, frozen_rows: int = 0
    ) -> Sheet:
        """A new last sheet (`widths`: characters by 0-based column index); the sheet
        before it is finished."""
        if not 0 < len(title) <= 31 or SHEET_TITLE_FORBIDDEN.search(title):
            raise ValueError(f"Not a worksheet title: {title!r}")
        if any(sheet.title.lower() == title.lower() for sheet in self.sheets):
            raise ValueError(f"Two worksheets named {title!r}")
        if self.sheets:
            self.sheets[-1].finish()
        sheet = Sheet(self, title, len(self.sheets) + 1, widths or {}, frozen_rows)
        self.sheets.append(sheet)
        return sheet

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if not self.sheets:
            self.add_sheet("Sheet1")
        self.sheets[-1].finish()
        self._write("xl/styles.xml", self._styles_xml())
        self._write("xl/workbook.xml", self._workbook_xml())
        self._write("xl/_rels/workbook.xml.rels", self._workbook_rels_xml())
        self._write("_rels/.rels", ROOT_RELS)
        self._write("docProps/app.xml", APP_XML)
        self._write("[Content_Types].xml", self._content_types_xml())
        self.zip.close()

    def _write(self, name: str, xml: str) -> None:
        self.zip.writestr(name, XML_DECLARATION + xml)

    def _styles_xml(self) -> str:
        formats = "".join(
            f'<numFmt numFmtId="{format_id}" formatCode="{_attribute(code)}"/>'
            for code, format_id in self.formats.items()
        )
        xfs = "".join(
            f'<xf numFmtId="{format_id}" fontId="{int(bold)}" fillId="0" borderId="0" xfId="0"'
            + (' applyNumberFormat="1"' if format_id else "")
            + (' applyFont="1"' if bold else "")
            + "/>"
            for (format_id, bold) in self.styles
        )
        return (
            f'<styleSheet xmlns="{MAIN_NS}">'
            + (f'<numFmts count="{len(self.formats)}">{formats}</numFmts>' if formats else "")
            + '<fonts count="2">'
            '<font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
            '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
            '<fills count="2"><fill><patternFill patternType="none"/></fill>'
            '<fill><patternFill patternType="gray125"/></fill></fills>'
            '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border>'
            "</borders>"
            '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'
            "</cellStyleXfs>"
            f'<cellXfs count="{len(self.styles)}">{xfs}</cellXfs>'
            '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/>'
            "</cellStyles></styleSheet>"
        )

    def _workbook_xml(self) -> str:
        sheets = "".join(
            f'<sheet name="{_attribute(sheet.title)}" sheetId="{sheet.number}" '
            f'r:id="rId{sheet.number}"/>'
            for sheet in self.sheets
        )
        return (
            f'<workbook xmlns="{MAIN_NS}" xmlns:r="{REL_NS}">'
            '<bookViews><workbookView activeTab="0"/></bookViews>'
            f"<sheets>{sheets}</sheets></workbook>"
        )

    def _workbook_rels_xml(self) -> str:
        worksheet = f"{REL_NS}/worksheet"
        rels = "".join(
            f'<Relationship Id="rId{sheet.number}" Type="{worksheet}" '
            f'Target="worksheets/sheet{sheet.number}.xml"/>'
            for sheet in self.sheets
        )
        styles = len(self.sheets) + 1
        rels += f'<Relationship Id="rId{styles}" Type="{REL_NS}/styles" Target="styles.xml"/>'
        return f'<Relationships xmlns="{PKG_REL_NS}">{rels}</Relationships>'

    def _content_types_xml(self) -> str:
        prefix = "application/vnd.openxmlformats-officedocument"
        overrides = [
            ("/xl/workbook.xml", f"{prefix}.spreadsheetml.sheet.main+xml"),
            ("/xl/styles.xml", f"{prefix}.spreadsheetml.styles+xml"),
            ("/docProps/app.xml", f"{prefix}.extended-properties+xml"),
        ] + [
            (f"/xl/worksheets/sheet{sheet.number}.xml", f"{prefix}.spreadsheetml.worksheet+xml")
            for sheet in self.sheets
        ]
        return (
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" '
            'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            + "".join(
                f'<Override PartName="{name}" ContentType="{kind}"/>' for name, kind in overrides
            )
            + "</Types>"
        )


ROOT_RELS = (
    f'<Relationships xmlns="{PKG_REL_NS}">'
    f'<Relationship Id="rId1" Type="{REL_NS}/officeDocument" Target="xl/workbook.xml"/>'
    f'<Relationship Id="rId2" Type="{REL_NS}/extended-properties" Target="docProps/app.xml"/>'
    "</Relationships>"
)
APP_XML = (
    '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/'
    'extended-properties"><Application>Budget Tracker</Application></Properties>'
)


def _attribute(value: str) -> str:
    return (
        value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


class Sheet:
    """One worksheet being written: rows go to the zip in the order they are given.

    `append` writes one row of typed values (for headers and small tables); the record
    sheets render their rows themselves (cell markup as here, text through `text`) and
    hand them over with `write_rows`, numbered from `next_row`.
    """

    def __init__(
        self,
        workbook: Workbook,
        title: str,
        number: int,
        widths: Mapping[int, float],
        frozen_rows: int,
    ) -> None:
        self.workbook, self.title, self.number = workbook, title, number
        self.rows = 0  # rows written (the next one is `rows + 1`)
        self.bytes = 0
        self.finished = False
        self.stream = workbook.zip.open(f"xl/worksheets/sheet{number}.xml", "w")
        self._put(XML_DECLARATION + f'<worksheet xmlns="{MAIN_NS}" xmlns:r="{REL_NS}">')
        self._put(_sheet_view(number == 1, frozen_rows))
        self._put('<sheetFormatPr defaultRowHeight="15"/>')
        if widths:
            cols = "".join(
                f'<col min="{index + 1}" max="{index + 1}" width="{width:g}" customWidth="1"/>'
                for index, width in sorted(widths.items())
            )
            self._put(f"<cols>{cols}</cols>")
        self._put("<sheetData>")

    @property
    def next_row(self) -> int:
        return self.rows + 1

    @property
    def rows_left(self) -> int:
        return MAX_ROWS - self.rows

    def fits(self, size: int) -> bool:
        """Whether `size` more bytes of rows keep the part under `MAX_PART_BYTES`."""
        return self.bytes + size <= MAX_PART_BYTES

    def write_rows(self, xml: bytes, count: int) -> None:
        """Writes `count` rendered `<row>` elements (UTF-8), numbered from `next_row`."""
        if count > self.rows_left:
            raise ValueError(f"A worksheet holds {MAX_ROWS:,} rows")
        self.stream.write(xml)
        self.bytes += len(xml)
        self.rows += count

    def append(self, values: Sequence[Any], styles: Sequence[int] | int = 0) -> None:
        """One row of `values` (str, int, float, Decimal, date, datetime; None is an empty
        cell) with the style indices `styles` (one per value, or one for all); a date
        without a style gets `yyyy-mm-dd`, a datetime `yyyy-mm-dd h:mm:ss`."""
        n = self.next_row
        cells = []
        for column, value in enumerate(values):
            if value is None or value == "":
                continue
            style = styles if isinstance(styles, int) else styles[column]
            ref = f"{COLUMN_LETTERS[column]}{n}"
            if isinstance(value, str):
                cells.append(f'<c r="{ref}"{_s(style)} t="inlineStr">{text(value)}</c>')
                continue
            if isinstance(value, datetime):
                style = style or self.workbook.style(number_format=DATETIME_FORMAT)
                value = datetime_serial(value)
            elif isinstance(value, date):
                style = style or self.workbook.style(number_format=DATE_FORMAT)
                value = date_serial(value)
            elif isinstance(value, bool) or not isinstance(value, int | float | Decimal):
                raise TypeError(f"No cell type for {type(value).__name__}")
            cells.append(f'<c r="{ref}"{_s(style)}><v>{number(value)}</v></c>')
        row = f'<row r="{n}">{"".join(cells)}</row>' if cells else ""
        self.write_rows(row.encode(), 1)

    def finish(self) -> None:
        if not self.finished:
            self.finished = True
            self._put("</sheetData></worksheet>")
            self.stream.close()

    def _put(self, xml: str) -> None:
        data = xml.encode()
        self.stream.write(data)
        self.bytes += len(data)


def _s(style: int) -> str:
    return f' s="{style}"' if style else ""


def _sheet_view(selected: bool, frozen_rows: int) -> str:
    tab = ' tabSelected="1"' if selected else ""
    if not frozen_rows:
        return f'<sheetViews><sheetView workbookViewId="0"{tab}/></sheetViews>'
    first = f"A{frozen_rows + 1}"
    return (
        f'<sheetViews><sheetView workbookViewId="0"{tab}>'
        f'<pane ySplit="{frozen_rows}" topLeftCell="{first}" activePane="bottomLeft" '
        'state="frozen"/>'
        f'<selection pane="bottomLeft" activeCell="{first}" sqref="{first}"/>'
        "</sheetView></sheetViews>"
    )
