"""The day totals (`ledger.models.DayTotal`, `DayMerchantTotal`): kept by database
triggers, rebuilt and verified from the records on demand.

Why triggers, and hand-written SQL for them: the totals must change in the same
transaction as every write of a record, whatever writes it — the API, imports and
their undo, restores, rule runs, a base-currency change, the admin, the cascade of a
deleted book or account, a raw `COPY`. A trigger is the one place nobody can go around;
Python hooks (signals, service calls) are skipped by `bulk_create`, `QuerySet.update`
and `delete()` cascades. No maintained Django package keeps grouped sums by trigger on
both PostgreSQL and SQLite (django-pgtrigger is PostgreSQL-only and writes no bodies),
so the SQL is here, generated once per tracked table.

- PostgreSQL: statement-level AFTER triggers with transition tables. One grouped upsert
  per statement, however many rows it wrote, so a 100,000-row import adds a few
  thousand upserts' worth of work, not 100,000. An UPDATE's old and new rows make one
  net change per key, upserted in key order (ORDER BY), so concurrent writers take the
  totals' rows in the same order and do not deadlock on them.
- SQLite: row-level triggers (it has no statement-level ones). SQLite has one writer at a
  time, so update-then-insert-if-missing is race-free there.

Both delete a total whose count reaches zero, so the tables hold only days with records.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import connection, transaction


@dataclass(frozen=True)
class Tracked:
    table: str
    kind: str
    merchant: str | None = None  # the column summed per merchant, if any


# The record tables and what they count as. Written out (not read from the models) so the
# migrations that install the triggers keep working whatever the models become.
TRACKED = (
    Tracked("expenses_expense", "expense", merchant="merchant"),
    Tracked("income_income", "income"),
)
DAY = "ledger_daytotal"
MERCHANT = "ledger_daymerchanttotal"
# The columns a record's totals depend on; an UPDATE changing none of them changes no total.
KEY_COLUMNS = ("book_id", "date", "category_id", "currency", "amount", "base_amount")


def _columns(spec: Tracked) -> tuple[str, ...]:
    return KEY_COLUMNS + ((spec.merchant,) if spec.merchant else ())


# --- PostgreSQL -----------------------------------------------------------------------------------


def _pg_signed(spec: Tracked, new: str | None, old: str | None) -> str:
    """The rows a statement added (sign 1) and took away (sign -1), as one relation."""
    columns = ", ".join(_columns(spec))
    parts = []
    if new:
        parts.append(f"SELECT {columns}, 1 AS sign FROM {new} AS n")
    if old:
        parts.append(f"SELECT {columns}, -1 AS sign FROM {old} AS o")
    return "(" + " UNION ALL ".join(parts) + ")"


def _pg_apply(spec: Tracked, signed: str) -> str:
    """One upsert of the net change per key, in key order, then the totals left at zero
    removed. A single ordered pass: every writer locks the rows it needs in the same
    order, whatever mix of inserts, updates and deletes it makes."""
    day_match = f"""t.book_id = d.book_id AND t.kind = '{spec.kind}' AND t.day = d.date
        AND t.category_id IS NOT DISTINCT FROM d.category_id AND t.currency = d.currency"""
    sql = f"""
    INSERT INTO {DAY} AS t (book_id, kind, day, category_id, currency,
                            record_count, amount_total, base_total)
    SELECT book_id, '{spec.kind}', date, category_id, currency,
           sum(sign), sum(sign * amount), sum(sign * base_amount)
    FROM {signed} AS r
    GROUP BY book_id, date, category_id, currency
    ORDER BY book_id, date, category_id, currency
    ON CONFLICT (book_id, kind, day, category_id, currency) DO UPDATE SET
        record_count = t.record_count + EXCLUDED.record_count,
        amount_total = t.amount_total + EXCLUDED.amount_total,
        base_total = t.base_total + EXCLUDED.base_total;
    DELETE FROM {DAY} AS t
    USING (SELECT DISTINCT book_id, date, category_id, currency FROM {signed} AS r) AS d
    WHERE {day_match} AND t.record_count <= 0;"""
    if spec.merchant:
        m = spec.merchant
        sql += f"""
    INSERT INTO {MERCHANT} AS t (book_id, day, merchant, record_count, base_total)
    SELECT book_id, date, {m}, sum(sign), sum(sign * base_amount)
    FROM {signed} AS r
    WHERE {m} <> ''
    GROUP BY book_id, date, {m}
    ORDER BY book_id, date, {m}
    ON CONFLICT (book_id, day, merchant) DO UPDATE SET
        record_count = t.record_count + EXCLUDED.record_count,
        base_total = t.base_total + EXCLUDED.base_total;
    DELETE FROM {MERCHANT} AS t
    USING (SELECT DISTINCT book_id, date, {m} FROM {signed} AS r WHERE {m} <> '') AS d
    WHERE t.book_id = d.book_id AND t.day = d.date AND t.merchant = d.{m}
        AND t.record_count <= 0;"""
    return sql


def _pg_changed(spec: Tracked, side: str) -> str:
    """The rows of an UPDATE statement whose totals' columns changed, as they were
    (`side` = "o") or as they are ("n")."""
    columns = _columns(spec)
    before = ", ".join(f"o.{c}" for c in columns)
    after = ", ".join(f"n.{c}" for c in columns)
    picked = ", ".join(f"{side}.{c}" for c in columns)
    return f"""(SELECT {picked} FROM old_rows AS o JOIN new_rows AS n ON o.id = n.id
        WHERE ({before}) IS DISTINCT FROM ({after}))"""


def _pg_function(name: str, body: str) -> str:
    return f"""CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $body$
BEGIN{body}
    RETURN NULL;
END
$body$;"""


def _pg_install(spec: Tracked) -> list[str]:
    table = spec.table
    statements = [
        _pg_function(f"{table}_totals_ins", _pg_apply(spec, _pg_signed(spec, "new_rows", None))),
        _pg_function(f"{table}_totals_del", _pg_apply(spec, _pg_signed(spec, None, "old_rows"))),
        _pg_function(
            f"{table}_totals_upd",
            _pg_apply(spec, _pg_signed(spec, _pg_changed(spec, "n"), _pg_changed(spec, "o"))),
        ),
    ]
    for suffix, event, referencing in (
        ("ins", "INSERT", "NEW TABLE AS new_rows"),
        ("del", "DELETE", "OLD TABLE AS old_rows"),
        ("upd", "UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
    ):
        statements.append(
            f"CREATE TRIGGER {table}_totals_{suffix} AFTER {event} ON {table} "
            f"REFERENCING {referencing} FOR EACH STATEMENT "
            f"EXECUTE FUNCTION {table}_totals_{suffix}()"
        )
    return statements


def _pg_drop(spec: Tracked) -> list[str]:
    return [
        f"DROP FUNCTION IF EXISTS {spec.table}_totals_{suffix}() CASCADE"
        for suffix in ("ins", "del", "upd")
    ]


# --- SQLite ---------------------------------------------------------------------------------


def _sqlite_change(spec: Tracked, row: str, sign: str) -> str:
    """Statements adding (sign "+") or taking away ("-") one record, `row` = NEW or OLD."""
    day_match = f"""book_id = {row}.book_id AND kind = '{spec.kind}' AND day = {row}.date
        AND category_id IS {row}.category_id AND currency = {row}.currency"""
    sql = f"""
    UPDATE {DAY} SET record_count = record_count {sign} 1,
        amount_total = amount_total {sign} {row}.amount,
        base_total = base_total {sign} {row}.base_amount
    WHERE {day_match};"""
    if sign == "+":
        sql += f"""
    INSERT INTO {DAY} (book_id, kind, day, category_id, currency,
                       record_count, amount_total, base_total)
    SELECT {row}.book_id, '{spec.kind}', {row}.date, {row}.category_id, {row}.currency,
           1, {row}.amount, {row}.base_amount
    WHERE NOT EXISTS (SELECT 1 FROM {DAY} WHERE {day_match});"""
    else:
        sql += f"""
    DELETE FROM {DAY} WHERE {day_match} AND record_count <= 0;"""
    if spec.merchant:
        m = f"{row}.{spec.merchant}"
        merchant_match = f"book_id = {row}.book_id AND day = {row}.date AND merchant = {m}"
        sql += f"""
    UPDATE {MERCHANT} SET record_count = record_count {sign} 1,
        base_total = base_total {sign} {row}.base_amount
    WHERE {m} <> '' AND {merchant_match};"""
        if sign == "+":
            sql += f"""
    INSERT INTO {MERCHANT} (book_id, day, merchant, record_count, base_total)
    SELECT {row}.book_id, {row}.date, {m}, 1, {row}.base_amount
    WHERE {m} <> '' AND NOT EXISTS (SELECT 1 FROM {MERCHANT} WHERE {merchant_match});"""
        else:
            sql += f"""
    DELETE FROM {MERCHANT} WHERE {merchant_match} AND record_count <= 0;"""
    return sql


def _sqlite_install(spec: Tracked) -> list[str]:
    table = spec.table
    columns = _columns(spec)
    changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in columns)
    return [
        # The key SQLite cannot declare (no NULLS NOT DISTINCT, models.W047): the triggers
        # find a day's row through it (`IS` uses the index).
        f"CREATE INDEX IF NOT EXISTS {DAY}_key_sqlite "
        f"ON {DAY} (book_id, kind, day, category_id, currency)",
        f"CREATE TRIGGER {table}_totals_ins AFTER INSERT ON {table} BEGIN"
        f"{_sqlite_change(spec, 'NEW', '+')}\nEND",
        f"CREATE TRIGGER {table}_totals_del AFTER DELETE ON {table} BEGIN"
        f"{_sqlite_change(spec, 'OLD', '-')}\nEND",
        f"CREATE TRIGGER {table}_totals_upd AFTER UPDATE OF {', '.join(columns)} ON {table} "
        f"WHEN {changed} BEGIN"
        f"{_sqlite_change(spec, 'OLD', '-')}{_sqlite_change(spec, 'NEW', '+')}\nEND",
    ]


def _sqlite_drop(spec: Tracked) -> list[str]:
    return [
        f"DROP TRIGGER IF EXISTS {spec.table}_totals_{suffix}" for suffix in ("ins", "del", "upd")
    ]


# --- install, rebuild, verify --------------------------------------------------------------


def _spec(table: str) -> Tracked:
    return next(spec for spec in TRACKED if spec.table == table)


def trigger_statements(table: str, vendor: str) -> list[str]:
    spec = _spec(table)
    if vendor == "postgresql":
        return _pg_install(spec)
    if vendor == "sqlite":
        return _sqlite_install(spec)
    raise NotImplementedError(f"No totals triggers for the {vendor} database.")


def drop_statements(table: str, vendor: str) -> list[str]:
    spec = _spec(table)
    return _pg_drop(spec) if vendor == "postgresql" else _sqlite_drop(spec)


def _book_filter(book_id: int | None, column: str = "book_id") -> tuple[str, list[Any]]:
    if book_id is None:
        return "", []
    return f" WHERE {column} = %s", [book_id]


def _fill(cursor: Any, spec: Tracked, book_id: int | None) -> None:
    where, params = _book_filter(book_id)
    cursor.execute(
        f"""INSERT INTO {DAY} (book_id, kind, day, category_id, currency,
                               record_count, amount_total, base_total)
            SELECT book_id, '{spec.kind}', date, category_id, currency,
                   count(*), sum(amount), sum(base_amount)
            FROM {spec.table}{where}
            GROUP BY book_id, date, category_id, currency
            ORDER BY book_id, date, category_id, currency""",
        params,
    )
    if spec.merchant:
        merchant_where = f"{where} AND" if where else " WHERE"
        cursor.execute(
            f"""INSERT INTO {MERCHANT} (book_id, day, merchant, record_count, base_total)
                SELECT book_id, date, {spec.merchant}, count(*), sum(base_amount)
                FROM {spec.table}{merchant_where} {spec.merchant} <> ''
                GROUP BY book_id, date, {spec.merchant}
                ORDER BY book_id, date, {spec.merchant}""",
            params,
        )


def fill_for_table(cursor: Any, table: str) -> None:
    """Totals of every record already in `table` (the migration that adds its triggers)."""
    _fill(cursor, _spec(table), None)


def rebuild(*, book_id: int | None = None) -> None:
    """Recompute the totals of one book (or all) from the records.

    On PostgreSQL the record tables are locked against writes (SHARE mode: reads go on)
    for the length of the rebuild, so no write lands between the delete and the fill."""
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            tables = ", ".join(spec.table for spec in TRACKED)
            cursor.execute(f"LOCK TABLE {tables} IN SHARE MODE")
        where, params = _book_filter(book_id)
        cursor.execute(f"DELETE FROM {DAY}{where}", params)
        cursor.execute(f"DELETE FROM {MERCHANT}{where}", params)
        for spec in TRACKED:
            _fill(cursor, spec, book_id)


@dataclass(frozen=True)
class Mismatch:
    table: str
    key: tuple[Any, ...]
    stored: tuple[Any, ...] | None
    expected: tuple[Any, ...] | None


def _normal(value: Any) -> Any:
    """Sums compare to the minor unit the records carry (SQLite keeps them as floats)."""
    if isinstance(value, float | Decimal):
        return Decimal(str(value)).quantize(Decimal("0.0001"))
    if isinstance(value, str) and len(value) == 10 and value[4] == "-":  # SQLite dates
        return date.fromisoformat(value)
    return value


def _grouped(cursor: Any, sql: str, params: list[Any], width: int) -> dict[tuple, tuple]:
    cursor.execute(sql, params)
    return {
        tuple(_normal(v) for v in row[:width]): tuple(_normal(v) for v in row[width:])
        for row in cursor.fetchall()
    }


def verify(*, book_id: int | None = None) -> list[Mismatch]:
    """Every difference between the stored totals and the records' (empty = all correct).
    Reads in one transaction, so a concurrent write is seen in both or in neither on
    PostgreSQL (REPEATABLE READ snapshot)."""
    mismatches: list[Mismatch] = []
    snapshot = connection.vendor == "postgresql" and not connection.in_atomic_block
    with transaction.atomic(), connection.cursor() as cursor:
        if snapshot:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        where, params = _book_filter(book_id)
        stored = _grouped(
            cursor,
            f"""SELECT book_id, kind, day, category_id, currency,
                       record_count, amount_total, base_total FROM {DAY}{where}""",
            params,
            5,
        )
        expected: dict[tuple, tuple] = {}
        for spec in TRACKED:
            expected.update(
                _grouped(
                    cursor,
                    f"""SELECT book_id, '{spec.kind}', date, category_id, currency,
                               count(*), sum(amount), sum(base_amount)
                        FROM {spec.table}{where}
                        GROUP BY book_id, date, category_id, currency""",
                    params,
                    5,
                )
            )
        mismatches += _differences(DAY, stored, expected)
        stored = _grouped(
            cursor,
            f"SELECT book_id, day, merchant, record_count, base_total FROM {MERCHANT}{where}",
            params,
            3,
        )
        expected = {}
        for spec in TRACKED:
            if spec.merchant:
                merchant_where = f"{where} AND" if where else " WHERE"
                expected.update(
                    _grouped(
                        cursor,
                        f"""SELECT book_id, date, {spec.merchant}, count(*), sum(base_amount)
                            FROM {spec.table}{merchant_where} {spec.merchant} <> ''
                            GROUP BY book_id, date, {spec.merchant}""",
                        params,
                        3,
                    )
                )
        mismatches += _differences(MERCHANT, stored, expected)
    return mismatches


def _differences(table: str, stored: dict, expected: dict) -> list[Mismatch]:
    return [
        Mismatch(table, key, stored.get(key), expected.get(key))
        for key in sorted(set(stored) | set(expected), key=repr)
        if stored.get(key) != expected.get(key)
    ]
