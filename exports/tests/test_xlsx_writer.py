"""The streaming XLSX writer on its own: a valid package that spreadsheet readers open."""

from __future__ import annotations

import zipfile
from datetime import date, datetime
from decimal import Decimal
from io import BytesIO

import pytest
from defusedxml import ElementTree
from openpyxl import load_workbook

from exports import xlsx_writer
from exports.xlsx_writer import Workbook, date_serial, datetime_serial, text


def build(write) -> bytes:
    target = BytesIO()
    with Workbook(target) as workbook:
        write(workbook)
    return target.getvalue()


def test_package_parts_are_well_formed_and_typed():
    def write(workbook):
        workbook.add_sheet("One", widths={1: 12.5}, frozen_rows=1).append(["a", 1])
        workbook.add_sheet("Two & <more>").append([Decimal("2.50")])

    package = zipfile.ZipFile(BytesIO(build(write)))

    names = set(package.namelist())
    assert {
        "[Content_Types].xml",
        "_rels/.rels",
        "xl/workbook.xml",
        "xl/_rels/workbook.xml.rels",
        "xl/styles.xml",
        "xl/worksheets/sheet1.xml",
        "xl/worksheets/sheet2.xml",
    } <= names
    for name in names:
        ElementTree.fromstring(package.read(name))  # every part parses as XML
    types = package.read("[Content_Types].xml").decode()
    for part in ("/xl/workbook.xml", "/xl/worksheets/sheet1.xml", "/xl/worksheets/sheet2.xml"):
        assert f'PartName="{part}"' in types
    book = load_workbook(BytesIO(build(write)))
    assert book.sheetnames == ["One", "Two & <more>"]
    assert book["One"].freeze_panes == "A2" and book["One"].column_dimensions["B"].width == 12.5
    assert [c.value for c in book["One"][1]] == ["a", 1]
    assert book["Two & <more>"]["A1"].value == 2.5


def test_cells_round_trip_with_their_types_and_styles():
    def write(workbook):
        bold = workbook.style(bold=True)
        money = workbook.style(number_format="#,##0.000")
        sheet = workbook.add_sheet("S")
        sheet.append(["label", Decimal("1234.567"), 7, 0.25], [bold, money, 0, 0])
        sheet.append([date(2026, 3, 5), datetime(2026, 3, 5, 9, 30, 15), None, ""])
        sheet.append([])
        sheet.append([None, "after a blank row"])

    sheet = load_workbook(BytesIO(build(write)))["S"]

    assert sheet["A1"].value == "label" and sheet["A1"].font.b
    assert sheet["B1"].value == 1234.567 and sheet["B1"].number_format == "#,##0.000"
    assert sheet["C1"].value == 7 and sheet["D1"].value == 0.25
    assert sheet["A2"].value == datetime(2026, 3, 5) and sheet["A2"].number_format == "yyyy-mm-dd"
    assert sheet["B2"].value == datetime(2026, 3, 5, 9, 30, 15)
    assert sheet["B2"].number_format == "yyyy-mm-dd h:mm:ss"
    assert sheet["C2"].value is None and sheet["D2"].value is None
    assert sheet["B4"].value == "after a blank row" and sheet["A3"].value is None


@pytest.mark.parametrize(
    ("day", "serial"),
    [
        (date(1900, 1, 1), 1),
        (date(1900, 2, 28), 59),
        (date(1900, 3, 1), 61),  # Excel's day 60 is a 1900-02-29 that never was
        (date(1970, 1, 1), 25569),
        (date(2026, 3, 5), 46086),
    ],
)
def test_serial_days_follow_excel(day, serial):
    assert date_serial(day) == serial
    assert datetime_serial(datetime(day.year, day.month, day.day, 12)) == serial + 0.5


def test_text_is_escaped_stripped_cut_and_keeps_its_spaces():
    assert text("a & b <c>") == "<is><t>a &amp; b &lt;c&gt;</t></is>"
    assert text("bell\x07 and \x00nul") == "<is><t>bell and nul</t></is>"
    assert text("  padded ") == '<is><t xml:space="preserve">  padded </t></is>'
    long = "é" * (xlsx_writer.MAX_TEXT + 10)
    assert text(long) == f"<is><t>{'é' * xlsx_writer.MAX_TEXT}</t></is>"
    # A character outside the BMP is two UTF-16 units in Excel's count.
    astral = "😀" * 20_000
    assert text(astral) == f"<is><t>{'😀' * (xlsx_writer.MAX_TEXT // 2)}</t></is>"


@pytest.mark.parametrize("title", ["", "x" * 32, "a/b", "what?", "[x]"])
def test_a_title_excel_refuses_is_an_error(title):
    with pytest.raises(ValueError, match="title"):
        build(lambda workbook: workbook.add_sheet(title))


def test_two_sheets_with_one_name_are_an_error():
    with pytest.raises(ValueError, match="Two worksheets"):
        build(lambda workbook: (workbook.add_sheet("Data"), workbook.add_sheet("data")))


def test_an_empty_workbook_still_opens():
    assert load_workbook(BytesIO(build(lambda workbook: None))).sheetnames == ["Sheet1"]


def test_rows_past_excels_limit_are_refused():
    def write(workbook):
        sheet = workbook.add_sheet("S")
        sheet.rows = xlsx_writer.MAX_ROWS - 1
        sheet.append(["last"])
        sheet.append(["one too many"])

    with pytest.raises(ValueError, match="1,048,576 rows"):
        build(write)


class FailingFile(BytesIO):
    """A target that breaks (a full disk) once `limit` bytes are written."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def write(self, data) -> int:
        if self.tell() + len(data) > self.limit:
            raise OSError(28, "No space left on device")
        return super().write(data)


def test_a_failing_target_raises_its_own_error():
    rows = [f"row {n} " + "x" * 200 for n in range(5_000)]

    with (
        pytest.raises(OSError, match="No space left"),
        Workbook(FailingFile(limit=20_000)) as workbook,
    ):
        sheet = workbook.add_sheet("S")
        for row in rows:
            sheet.append([row])
