"""Hand-built XLSX packages for hostile-shape tests (openpyxl cannot write most of them)."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable

NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
CT = "http://schemas.openxmlformats.org/package/2006/content-types"
SHEET_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
SST_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
RELS_CT = "application/vnd.openxmlformats-package.relationships+xml"
BOOK_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"


def xlsx(
    rows_xml: str | Iterable[str],
    *,
    dimension: str | None = None,
    shared_strings: Iterable[str] | None = None,
    extra_parts: dict[str, bytes] | None = None,
) -> bytes:
    """A workbook whose first sheet's <sheetData> holds `rows_xml`."""
    body = rows_xml if isinstance(rows_xml, str) else "".join(rows_xml)
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    sheet = (
        f'<?xml version="1.0"?><worksheet xmlns="{NS}">{dim}'
        f"<sheetData>{body}</sheetData></worksheet>"
    )
    overrides = (
        f'<Override PartName="/xl/workbook.xml" ContentType="{BOOK_CT}"/>'
        f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{SHEET_CT}"/>'
    )
    if shared_strings is not None:
        overrides += f'<Override PartName="/xl/sharedStrings.xml" ContentType="{SST_CT}"/>'
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "[Content_Types].xml",
            f'<?xml version="1.0"?><Types xmlns="{CT}">'
            f'<Default Extension="rels" ContentType="{RELS_CT}"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f"{overrides}</Types>",
        )
        archive.writestr(
            "_rels/.rels",
            f'<?xml version="1.0"?><Relationships xmlns="{PKG_REL}">'
            f'<Relationship Id="rId1" Type="{REL}/officeDocument" Target="xl/workbook.xml"/>'
            "</Relationships>",
        )
        archive.writestr(
            "xl/workbook.xml",
            f'<?xml version="1.0"?><workbook xmlns="{NS}" xmlns:r="{REL}"><sheets>'
            '<sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>',
        )
        archive.writestr(
            "xl/_rels/workbook.xml.rels",
            f'<?xml version="1.0"?><Relationships xmlns="{PKG_REL}">'
            f'<Relationship Id="rId1" Type="{REL}/worksheet" Target="worksheets/sheet1.xml"/>'
            "</Relationships>",
        )
        archive.writestr("xl/worksheets/sheet1.xml", sheet)
        if shared_strings is not None:
            items = "".join(f"<si><t>{text}</t></si>" for text in shared_strings)
            archive.writestr(
                "xl/sharedStrings.xml", f'<?xml version="1.0"?><sst xmlns="{NS}">{items}</sst>'
            )
        for name, data in (extra_parts or {}).items():
            archive.writestr(name, data)
    return buffer.getvalue()


def text_cell(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


def number_cell(ref: str, number: str) -> str:
    return f'<c r="{ref}"><v>{number}</v></c>'


def statement_rows(count: int, *, start: int = 2) -> str:
    """A header row and `count` transactions (date, description, amount)."""
    rows = [
        '<row r="1">'
        + text_cell("A1", "Date")
        + text_cell("B1", "Description")
        + text_cell("C1", "Amount")
        + "</row>"
    ]
    for i in range(count):
        r = start + i
        rows.append(
            f'<row r="{r}">'
            + text_cell(f"A{r}", f"2024-01-{i % 28 + 1:02d}")
            + text_cell(f"B{r}", f"Shop {i}")
            + number_cell(f"C{r}", f"-{i % 90 + 1}.25")
            + "</row>"
        )
    return "".join(rows)
