"""XLSX bank statements → rows (SPEC §11): the first worksheet read as a table.

Cells come as openpyxl gives them (numbers, datetimes, text); `table.parse_table` does
the rest, exactly as for CSV. Line numbers are worksheet row numbers.
"""

from __future__ import annotations

import io
from typing import Any

from openpyxl import load_workbook

from .base import CsvOptions, ParseResult, StatementError
from .table import Record, parse_table


def parse_xlsx(content: bytes, options: CsvOptions) -> ParseResult:
    """Rows of the first worksheet; raises `StatementError` when it cannot be read."""
    if not content:
        raise StatementError("The file is empty.")
    return parse_table(read_sheet(content), options, format="xlsx")


def read_sheet(content: bytes) -> list[Record]:
    """`(row number, cell values)` for every row of the first worksheet."""
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a file that is not XLSX
        raise StatementError("This is not a readable XLSX workbook.") from exc
    try:
        if not workbook.worksheets:
            raise StatementError("The workbook has no worksheet.")
        sheet: Any = workbook.worksheets[0]
        # Some writers store wrong dimensions; without this, read-only mode trusts them.
        if hasattr(sheet, "reset_dimensions"):
            sheet.reset_dimensions()
        return [
            (number, list(values))
            for number, values in enumerate(sheet.iter_rows(values_only=True), start=1)
        ]
    except StatementError:
        raise
    except Exception as exc:
        raise StatementError("The worksheet cannot be read.") from exc
    finally:
        workbook.close()
