"""Hostile XLSX shapes: work is bounded by the cells present, never by what a file claims."""

from __future__ import annotations

import io
import pyexpat
import tracemalloc
import zipfile

import pytest

from imports.parsers.base import StatementError
from imports.parsers.xlsx_parser import MAX_COLUMNS, read_sheet

from .xlsx_builder import number_cell, statement_rows, text_cell, xlsx

PEAK_BYTES = 50 * 1024 * 1024  # generous: the unbounded reader needed gigabytes


def peak_memory(work):
    """(result or raised StatementError, peak traced bytes) of `work()`."""
    tracemalloc.start()
    try:
        try:
            outcome = work()
        except StatementError as exc:
            outcome = exc
        return outcome, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_expat_refuses_entity_expansion_bombs():
    major, minor, micro = pyexpat.version_info
    assert (major, minor, micro) >= (2, 4, 1)


def test_one_value_in_column_xfd_per_row_is_refused_without_padding():
    content = xlsx(
        "".join(f'<row r="{r}">{number_cell(f"XFD{r}", "1")}</row>' for r in range(1, 20_000))
    )
    outcome, peak = peak_memory(lambda: read_sheet(content))
    assert isinstance(outcome, StatementError)
    assert f"at most {MAX_COLUMNS} columns" in str(outcome)
    assert peak < PEAK_BYTES


def test_empty_styled_cells_far_right_cost_nothing():
    rows = statement_rows(3) + "".join(
        f'<row r="{r}"><c r="XFD{r}" s="1"/></row>' for r in range(10, 20_000)
    )
    outcome, peak = peak_memory(lambda: read_sheet(xlsx(rows)))
    assert [len(cells) for _, cells in outcome] == [3, 3, 3, 3]
    assert peak < PEAK_BYTES


def test_rows_far_below_are_not_padded_with_empty_rows():
    rows = statement_rows(2) + f'<row r="1048576">{text_cell("A1048576", "note")}</row>'
    outcome, peak = peak_memory(lambda: read_sheet(xlsx(rows)))
    assert [number for number, _ in outcome] == [1, 2, 3, 1048576]
    assert peak < PEAK_BYTES


def test_a_dimension_wider_than_a_statement_is_refused_before_reading_rows():
    with pytest.raises(StatementError, match="16384 columns wide"):
        read_sheet(xlsx(statement_rows(2), dimension="A1:XFD3"))


def test_a_dimension_longer_than_allowed_is_refused(settings):
    settings.IMPORT_MAX_ROWS = 10
    with pytest.raises(StatementError, match="IMPORT_MAX_ROWS"):
        read_sheet(xlsx(statement_rows(2), dimension="A1:C1048576"))


def test_a_lying_dimension_does_not_hide_rows(settings):
    settings.IMPORT_MAX_ROWS = 10
    with pytest.raises(StatementError, match="IMPORT_MAX_ROWS"):
        read_sheet(xlsx(statement_rows(1100), dimension="A1:C3"))


def test_a_row_with_too_many_cells_is_refused():
    row = '<row r="1">' + '<c r="A1"/>' * 100_000 + "</row>"
    outcome, peak = peak_memory(lambda: read_sheet(xlsx(row)))
    assert isinstance(outcome, StatementError)
    assert peak < PEAK_BYTES


def test_a_flood_of_shared_strings_is_refused(settings):
    settings.IMPORT_MAX_ROWS = 100
    content = xlsx(statement_rows(2), shared_strings=("x" for _ in range(20_000)))
    outcome, peak = peak_memory(lambda: read_sheet(content))
    assert isinstance(outcome, StatementError)
    assert "distinct texts" in str(outcome)
    assert peak < PEAK_BYTES


def test_a_zip_bomb_is_refused_from_declared_sizes(settings):
    settings.IMPORT_XLSX_MAX_UNPACKED_BYTES = 1024 * 1024
    padding = b" " * (2 * 1024 * 1024)  # deflates to a few KB
    content = xlsx(statement_rows(2), extra_parts={"xl/media/pad.bin": padding})
    assert len(content) < 64 * 1024
    with pytest.raises(StatementError, match="IMPORT_XLSX_MAX_UNPACKED_BYTES"):
        read_sheet(content)


def test_a_huge_styles_part_is_refused():
    content = xlsx(statement_rows(2), extra_parts={"xl/styles.xml": b" " * (9 * 1024 * 1024)})
    with pytest.raises(StatementError, match="larger than"):
        read_sheet(content)


def test_shared_strings_and_values_are_read():
    rows = (
        '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c>'
        '<c r="C1" t="s"><v>2</v></c></row>'
        '<row r="2"><c r="A2" t="s"><v>3</v></c><c r="B2" t="s"><v>4</v></c>'
        '<c r="C2"><v>-12.5</v></c></row>'
    )
    content = xlsx(rows, shared_strings=["Date", "Description", "Amount", "2024-01-05", "Café"])
    assert read_sheet(content) == [
        (1, ["Date", "Description", "Amount"]),
        (2, ["2024-01-05", "Café", -12.5]),
    ]


def test_not_a_workbook_is_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "hi")
    with pytest.raises(StatementError):
        read_sheet(buffer.getvalue())
