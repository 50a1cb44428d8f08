"""How an import batch keeps its parsed rows (`ImportBatch.rows`).

A preview row is a dict (`services._check_rows` builds it; `ImportRowSerializer` shows
it). Stored as one JSON object per row, a 100 000-row statement was ~35 MB, 60 % of it
the same keys 100 000 times: writing it (preview) and reading it back (commit) cost
seconds of Python and PostgreSQL. So it is stored by column names once:

    {"columns": ["line", "date", ...], "data": [[2, "2024-01-05", ...], ...]}

about 14 MB for the same rows. A missing key is stored as null, which every reader
treats alike (`row.get(...)`). Batches stored before (a JSON list of row objects, or
`[]`) are read as they are, so a preview made before an upgrade still commits.
"""

from __future__ import annotations

from typing import Any

# Every key a preview row has, in the order rows are built.
COLUMNS = (
    "line",
    "date",
    "description",
    "amount",
    "kind",
    "currency",
    "merchant",
    "fitid",
    "key",
    "suggested_category",
    "suggested_category_name",
    "suggested_confidence",
    "suggestion_source",
    "duplicate",
    "possible_duplicate",
)


def pack_rows(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """`rows` in the stored (columnar) form."""
    columns = COLUMNS
    return {"columns": list(columns), "data": [[row.get(c) for c in columns] for row in rows]}


def unpack_rows(stored: Any) -> list[dict[str, Any]]:
    """The row dicts of a stored `rows` value, in either form."""
    if isinstance(stored, list):
        return stored
    columns = stored["columns"]
    return [dict(zip(columns, values, strict=True)) for values in stored["data"]]


def row_count(stored: Any) -> int:
    return len(stored) if isinstance(stored, list) else len(stored["data"])


def row_lines(stored: Any) -> list[int]:
    """The file lines of the stored rows, without building the rows."""
    if isinstance(stored, list):
        return [row["line"] for row in stored]
    index = stored["columns"].index("line")
    return [values[index] for values in stored["data"]]


def head_rows(stored: Any, count: int) -> list[dict[str, Any]]:
    """The first `count` rows."""
    if isinstance(stored, list):
        return stored[:count]
    columns = stored["columns"]
    return [dict(zip(columns, values, strict=True)) for values in stored["data"][:count]]
