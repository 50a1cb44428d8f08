"""Reads of statement imports."""

from __future__ import annotations

from django.db import connection
from django.db.models import F, Func, IntegerField, JSONField, QuerySet

from .models import PREVIEW_ROWS_SHOWN

# `rows` is a list of row objects in batches stored before the columnar form
# (`imports.rowstore`), an object {"columns", "data"} since.
_LEGACY = "jsonb_typeof(%(expressions)s) = 'array'"


def _rows_sql(template: str, output_field: JSONField | IntegerField) -> Func:
    return Func(F("rows"), template=template, output_field=output_field)


def batches_with_rows_head(queryset: QuerySet) -> QuerySet:
    """`queryset` of batches with `rows` deferred and, for showing a batch, its first
    PREVIEW_ROWS_SHOWN rows (`rows_head`, with `rows_columns` their column names in the
    columnar form, else null) and how many rows it has (`rows_count`), cut in the
    database: a 100 000-row batch is megabytes of JSON that only a commit needs whole
    (and clients poll a queued commit). PostgreSQL only; elsewhere (SQLite: tests,
    development) `rows` is read whole and the serializer cuts it."""
    if connection.vendor != "postgresql":
        return queryset
    last = PREVIEW_ROWS_SHOWN - 1
    return queryset.defer("rows").annotate(
        rows_head=_rows_sql(
            f"CASE WHEN {_LEGACY} "
            f"THEN jsonb_path_query_array(%(expressions)s, '$[0 to {last}]') "
            f"ELSE jsonb_path_query_array(%(expressions)s, '$.data[0 to {last}]') END",
            JSONField(),
        ),
        rows_columns=_rows_sql("(%(expressions)s -> 'columns')", JSONField()),
        rows_count=_rows_sql(
            f"CASE WHEN {_LEGACY} THEN jsonb_array_length(%(expressions)s) "
            "ELSE jsonb_array_length(%(expressions)s -> 'data') END",
            IntegerField(),
        ),
    )
