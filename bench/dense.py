"""Reports for a dense book: 500,000 expenses in one year, next to raw SQL (issue 19).

    .venv/bin/python -m bench.dense [--repeat N] [--rebuild-dense] [--skip-verify]
                                    [--explain] [--profile] [--json PATH]

Adds one user, `bench_dense`, to the bench database (`bench/dataset.py`, built first if
missing): their personal book gets 500,000 expenses dated over the last 365 days ending
today (the system categories with dataset.py's log-normal amounts, a few uncategorised,
20 % at one of 50 merchants), 5,000 income records, and an overall and two category
budgets (Food, Groceries) for the current month.

The rows go in the way production writes them: psycopg COPY in an ordinary session, so
the statement-level triggers of `ledger/totals.py` keep the day totals in the same
transaction (one trigger run for the whole COPY) and the foreign keys are checked at
commit. The load prints how long the COPY took, the totals trigger's share of it and the
commit, then runs `VACUUM ANALYZE` and `ledger.totals.verify(book_id=...)`, which must
find no difference. A second run finds the rows and skips the load; `--rebuild-dense`
first deletes the book's expenses and income, one DELETE statement each (timed: the
delete trigger takes the totals back down to nothing), then loads again.

Then every report endpoint is timed for `bench_dense` exactly as `bench.reports` times
them for the heavy user (its cases, raw SQL and figure comparison; the monthly income
series covers one year here): the whole Django stack in-process, one warm-up, the median
of N runs, next to the hand-written SQL that scans the records for the same figures.
Target (issue 19): every report under 20 ms and at least 10 × under the raw SQL.
A first row, `/auth/me/`, gives the framework's floor (no report). A second table says
where the time goes: Django's SQL time and queries per request, and the rest (Python).
`--explain` writes EXPLAIN (ANALYZE, BUFFERS) of every query each endpoint makes,
`--profile` a pyinstrument report per endpoint (both under bench/results/).
Writes bench/results/dense.json; never run by the test suite.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from bench import dataset, reports

RESULTS = Path(__file__).resolve().parent / "results"
DEFAULT_JSON = RESULTS / "dense.json"
EXPLAIN_TXT = RESULTS / "dense-explain.txt"
PROFILES = RESULTS / "dense-profiles"
# The framework's floor on this machine: the same middleware, JWT and DRF, no report.
FLOOR = reports.Case("/auth/me/ (floor, no report)", f"{reports.API}/auth/me/", "reference")
USERNAME = "bench_dense"
PASSWORD = "bench-Dense-passw0rd"
EXPENSES = 500_000
INCOME = 5_000
DAYS = 365
SEED = dataset.SEED + 19
# "A few merchants": the first 5 name prefixes × the 10 kinds of shop.
MERCHANT_PREFIXES = 5
# (category name, or "" for the overall budget; warn threshold)
BUDGETS = (("", "0.800"), ("Food", "0.800"), ("Groceries", "0.900"))
META_KEY = "dense"  # the load's record in dataset.META_TABLE
TRIGGER_FUNCTIONS = ("expenses_expense_totals_ins", "income_income_totals_ins")
COPY_CHUNK = 1 << 20  # bytes per write to COPY
VACUUM_TABLES = ("expenses_expense", "income_income", "ledger_daytotal", "ledger_daymerchanttotal")


# --- the rows ---


def _copy_value(value: Any) -> str:
    """One field of COPY's text format."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    text = str(value)
    if any(c in text for c in "\\\t\n\r"):
        text = (
            text.replace("\\", "\\\\")
            .replace("\t", "\\t")
            .replace("\n", "\\n")
            .replace("\r", "\\r")
        )
    return text


def _copy_columns(table: str) -> tuple[list[str], list[str]]:
    """COPY's columns (dataset's, minus `id`, which the identity fills, plus the NOT NULL
    columns dataset.py leaves out) and those extra columns' values, as COPY text."""
    columns = [c for c in dataset.COLUMNS[table] if c != "id"]
    defaults = dataset.unlisted_defaults(table)
    return columns + list(defaults), [_copy_value(v) for v in defaults.values()]


def _copy_text(rows: Any, extra: list[str]) -> bytes:
    tail = "\t".join(extra)
    lines = []
    for row in rows:
        line = "\t".join(_copy_value(v) for v in row)
        lines.append(f"{line}\t{tail}" if tail else line)
    return ("\n".join(lines) + "\n").encode()


def _system_categories() -> dict[tuple[str, str], int]:
    from categories.models import Category

    return {
        (name, kind): pk
        for pk, name, kind in Category.objects.filter(book__isnull=True).values_list(
            "pk", "name", "kind"
        )
    }


def generate(user_id: int, book_id: int, now: datetime) -> tuple[bytes, bytes, dict[str, Any]]:
    """The expenses and income as COPY text, in the order they were entered."""
    today = now.date()
    first = today - timedelta(days=DAYS - 1)
    seconds_today = now.hour * 3600 + now.minute * 60 + now.second + 1
    span = (DAYS - 1) * 86_400 + seconds_today  # nothing dated in the future
    calendar, _ = dataset._calendar(first, DAYS)
    categories = _system_categories()
    by_kind, _ = dataset._merchant_pools()
    prefixes = dataset.MERCHANT_PREFIXES[:MERCHANT_PREFIXES]
    by_kind = {
        kind: tuple(n for n in names if n.startswith(prefixes)) for kind, names in by_kind.items()
    }
    merchants = tuple(n for names in by_kind.values() for n in names)
    profiles, weights = [], []
    for spec in dataset.SYSTEM_SPEND:
        profiles.append(
            dataset.Profile(
                categories[(spec.name, "expense")],
                spec.median,
                spec.sigma,
                spec.descriptions,
                by_kind.get(spec.merchant_kind, ()),
            )
        )
        weights.append(spec.weight)
    profiles.append(dataset.Profile(None, 30, 1.0, dataset.UNCATEGORISED_DESCRIPTIONS))
    weights.append(dataset.NORMAL_UNCATEGORISED_WEIGHT)

    def with_book(row: tuple[Any, ...]) -> tuple[Any, ...]:
        return (*row[:-1], book_id)  # dataset.py's rows name the user's id as the book's

    expenses = (
        with_book(row)
        for _, row, _ in dataset.expense_rows(
            random.Random(SEED),
            user_id=user_id,
            count=EXPENSES,
            calendar=calendar,
            span_seconds=span,
            profiles=profiles,
            cum_weights=dataset._cumulative(weights),
            all_merchants=merchants,
            payment_methods=dataset._payment_method_pool(),
        )
    )
    _, expense_extra = _copy_columns("expenses_expense")
    earn = [
        dataset.Profile(categories[(e.name, "income")], e.median, e.sigma, e.descriptions)
        for e in dataset.SYSTEM_EARN
    ]
    income = (
        with_book(row[1:])  # without dataset.py's explicit id
        for row in dataset.income_rows(
            random.Random(-SEED),
            user_id=user_id,
            count=INCOME,
            calendar=calendar,
            span_seconds=span,
            profiles=earn,
            cum_weights=dataset._cumulative(e.weight for e in dataset.SYSTEM_EARN),
        )
    )
    _, income_extra = _copy_columns("income_income")
    facts = {
        "first_day": first.isoformat(),
        "last_day": today.isoformat(),
        "merchants": len(merchants),
    }
    return _copy_text(expenses, expense_extra), _copy_text(income, income_extra), facts


# --- the load ---


def _elapsed(started: float) -> float:
    return round(time.perf_counter() - started, 2)


def dense_account() -> tuple[Any, Any]:
    """The user and their personal book, created (with the `User` role) if missing."""
    from users.models import User
    from users.services import user_register

    user = User.objects.filter(username=USERNAME).first()
    if user is None:
        user = user_register(
            username=USERNAME,
            email=f"{USERNAME}@bench.example",
            password=PASSWORD,
            base_currency=dataset.CURRENCY,
        )
        print(f"  created {USERNAME} (id {user.pk})", flush=True)
    user.refresh_from_db()
    return user, user.personal_book


def _counts(conn: psycopg.Connection, book_id: int) -> dict[str, Any]:
    row = conn.execute(
        """
        SELECT (SELECT count(*) FROM expenses_expense WHERE book_id = %(b)s),
               (SELECT count(*) FROM income_income WHERE book_id = %(b)s),
               (SELECT max(date) FROM expenses_expense WHERE book_id = %(b)s),
               (SELECT count(*) FROM ledger_daytotal WHERE book_id = %(b)s),
               (SELECT count(*) FROM ledger_daymerchanttotal WHERE book_id = %(b)s)
        """,
        {"b": book_id},
    ).fetchone()
    assert row is not None
    return {
        "expenses": row[0],
        "income": row[1],
        "last_day": row[2].isoformat() if row[2] else None,
        "day_totals": row[3],
        "day_merchant_totals": row[4],
    }


def delete_rows(conn: psycopg.Connection, book_id: int) -> dict[str, Any]:
    """The book's records, one DELETE statement per table (the totals' delete triggers run
    once each), then commit (the deferred foreign-key checks)."""
    timings: dict[str, Any] = {}
    with conn.transaction():
        for table in ("expenses_expense", "income_income"):
            started = time.perf_counter()
            cur = conn.execute(
                sql.SQL("DELETE FROM {} WHERE book_id = %s").format(sql.Identifier(table)),
                (book_id,),
            )
            timings[f"{table}_rows"] = cur.rowcount
            timings[f"{table}_delete_s"] = _elapsed(started)
            print(f"  DELETE {cur.rowcount:,} rows of {table}: {timings[f'{table}_delete_s']} s")
        conn.execute("DELETE FROM budgets_budget WHERE book_id = %s", (book_id,))
        started = time.perf_counter()
    timings["commit_s"] = _elapsed(started)
    left = conn.execute(
        "SELECT (SELECT count(*) FROM ledger_daytotal WHERE book_id = %(b)s)"
        " + (SELECT count(*) FROM ledger_daymerchanttotal WHERE book_id = %(b)s)",
        {"b": book_id},
    ).fetchone()
    timings["totals_left"] = left[0] if left else None
    print(
        f"  commit: {timings['commit_s']} s; "
        f"totals rows left for the book: {timings['totals_left']}"
    )
    return timings


def _trigger_ms(conn: psycopg.Connection) -> dict[str, float]:
    """Time spent in the totals' insert trigger functions in this transaction so far (needs
    track_functions = 'pl'; empty when it could not be set)."""
    rows = conn.execute(
        "SELECT funcname, total_time FROM pg_stat_xact_user_functions WHERE funcname = ANY(%s)",
        (list(TRIGGER_FUNCTIONS),),
    ).fetchall()
    return {name: round(ms, 1) for name, ms in rows}


def load_rows(conn: psycopg.Connection, expenses: bytes, income: bytes) -> dict[str, Any]:
    """COPY both tables in one transaction with every trigger on, as production writes."""
    timings: dict[str, Any] = {}
    with conn.transaction():
        # A savepoint: without the privilege the load goes on, untimed by function.
        with contextlib.suppress(psycopg.errors.InsufficientPrivilege), conn.transaction():
            conn.execute("SET LOCAL track_functions = 'pl'")
        for table, payload in (("expenses_expense", expenses), ("income_income", income)):
            columns, _ = _copy_columns(table)
            statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
                sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
            )
            before = _trigger_ms(conn)
            started = time.perf_counter()
            with conn.cursor() as cur, cur.copy(statement) as copy:
                for offset in range(0, len(payload), COPY_CHUNK):
                    copy.write(payload[offset : offset + COPY_CHUNK])
            timings[f"{table}_copy_s"] = _elapsed(started)
            after = _trigger_ms(conn)
            function = f"{table}_totals_ins"
            if function in after:
                trigger = (after[function] - before.get(function, 0)) / 1000
                timings[f"{table}_totals_trigger_s"] = round(trigger, 2)
            print(
                f"  COPY {table}: {timings[f'{table}_copy_s']} s, of which the totals trigger "
                f"{timings.get(f'{table}_totals_trigger_s', '?')} s",
                flush=True,
            )
        started = time.perf_counter()
    timings["commit_s"] = _elapsed(started)
    print(f"  commit (deferred foreign-key checks): {timings['commit_s']} s", flush=True)
    return timings


def create_budgets(book: Any, user: Any, today: date) -> list[dict[str, Any]]:
    """An overall budget and two category ones for the current budget month, each about what
    the previous month spent on it (so the statuses differ), from the day totals."""
    from budgets.models import Budget, Scope
    from core.dates import add_months, budget_month_of, month_range
    from ledger.selectors import day_totals

    year, month = budget_month_of(today, book.month_start_day)
    start, end = month_range(*add_months(year, month, -1), book.month_start_day)
    rng = random.Random(SEED + 1)
    system = _system_categories()
    created = []
    Budget.objects.filter(book=book, month=date(year, month, 1)).delete()
    for name, threshold in BUDGETS:
        category_id = system[(name, "expense")] if name else None
        rows = day_totals(book=book, kind="expense", start=start, end=end)
        if category_id is not None:
            rows = rows.filter(category_id=category_id)
        spent = sum((row.base_total for row in rows), Decimal(0))
        factor = Decimal(str(round(rng.uniform(0.9, 1.15), 3)))
        amount = (spent * factor).quantize(Decimal("1"), rounding=ROUND_HALF_UP)
        budget = Budget.objects.create(
            book=book,
            user=user,
            month=date(year, month, 1),
            scope=Scope.CATEGORY if category_id else Scope.OVERALL,
            category_id=category_id,
            amount=amount,
            amount_original=amount,
            currency_original=book.base_currency,
            warn_threshold=Decimal(threshold),
        )
        created.append({"category": name or None, "amount": str(budget.amount)})
    return created


def vacuum(url: str, tables: tuple[str, ...] = VACUUM_TABLES) -> float:
    started = time.perf_counter()
    with dataset.connect(url, autocommit=True) as conn:
        for table in tables:
            conn.execute(sql.SQL("VACUUM (ANALYZE) {}").format(sql.Identifier(table)))
    return _elapsed(started)


def _save_record(conn: psycopg.Connection, record: dict[str, Any]) -> None:
    conn.execute(
        sql.SQL(
            "INSERT INTO {} (key, value) VALUES (%s, %s) "
            "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value"
        ).format(sql.Identifier(dataset.META_TABLE)),
        (META_KEY, json.dumps(record)),
    )


def _load_record(conn: psycopg.Connection) -> dict[str, Any] | None:
    row = conn.execute(
        sql.SQL("SELECT value FROM {} WHERE key = %s").format(sql.Identifier(dataset.META_TABLE)),
        (META_KEY,),
    ).fetchone()
    return row[0] if row else None


def verify_totals(book_id: int) -> dict[str, Any]:
    from ledger import totals

    started = time.perf_counter()
    mismatches = totals.verify(book_id=book_id)
    seconds = _elapsed(started)
    verdict = "match" if not mismatches else f"{len(mismatches)} MISMATCHES"
    print(f"  ledger.totals.verify(book_id={book_id}): {verdict} ({seconds} s)", flush=True)
    for mismatch in mismatches[:10]:
        print(f"    {mismatch}")
    return {
        "mismatches": len(mismatches),
        "sample": [str(m) for m in mismatches[:10]],
        "seconds": seconds,
    }


def ensure_dense(url: str, *, rebuild: bool) -> dict[str, Any]:
    """The dense book in the bench database, loaded if missing (or `rebuild`)."""
    user, book = dense_account()
    with dataset.connect(url, autocommit=True) as conn:
        counts = _counts(conn, book.pk)
        complete = (counts["expenses"], counts["income"]) == (EXPENSES, INCOME)
        record = _load_record(conn)
        if complete and not rebuild and record is not None:
            print(
                f"Using {USERNAME}'s {EXPENSES:,} expenses and {INCOME:,} income records "
                f"(loaded {record['loaded_at']}; --rebuild-dense to delete and load again).",
                flush=True,
            )
            if counts["last_day"] != datetime.now(UTC).date().isoformat():
                print(
                    f"  note: the newest expense is dated {counts['last_day']}: "
                    "--rebuild-dense for a year ending today"
                )
            return {**record, "loaded_now": False, "counts": counts}
        record = {}
        now = datetime.now(UTC)
        if counts["expenses"] or counts["income"]:
            print(f"Deleting {USERNAME}'s records ...", flush=True)
            record["delete"] = delete_rows(conn, book.pk)
        print(f"Loading {USERNAME} (book {book.pk}) ...", flush=True)
        started = time.perf_counter()
        expenses, income, facts = generate(user.pk, book.pk, now)
        record["generate_s"] = _elapsed(started)
        print(
            f"  generated {EXPENSES:,} expenses and {INCOME:,} income records as COPY text "
            f"({(len(expenses) + len(income)) / 1e6:.0f} MB) in {record['generate_s']} s",
            flush=True,
        )
        record["load"] = load_rows(conn, expenses, income)
        del expenses, income
        record["budgets"] = create_budgets(book, user, now.date())
        record["vacuum_analyze_s"] = vacuum(url)
        print(f"  VACUUM (ANALYZE) {', '.join(VACUUM_TABLES)}: {record['vacuum_analyze_s']} s")
        record["verify"] = verify_totals(book.pk)
        record.update(facts)
        record["loaded_at"] = datetime.now(UTC).isoformat(timespec="seconds")
        record["user_id"], record["book_id"] = user.pk, book.pk
        _save_record(conn, record)
        return {**record, "loaded_now": True, "counts": _counts(conn, book.pk)}


# --- where the time goes ---


def heap_fetches(book_id: int, start: date, end: date) -> int:
    """Heap fetches of the index-only scans a year's report makes on the two totals tables:
    0 once VACUUM has marked their pages all-visible (a transaction open elsewhere during
    the load's VACUUM can leave the newest pages unmarked)."""
    from django.db import connection

    fetched = 0
    with connection.cursor() as cursor:
        for query in (
            "SELECT sum(base_total) FROM ledger_daytotal WHERE book_id = %s AND kind = 'expense'"
            " AND day BETWEEN %s AND %s",
            "SELECT sum(base_total) FROM ledger_daymerchanttotal WHERE book_id = %s"
            " AND day BETWEEN %s AND %s",
        ):
            cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {query}", [book_id, start, end])
            plan = cursor.fetchone()[0]
            plan = json.loads(plan) if isinstance(plan, str) else plan
            stack = [plan[0]["Plan"]]
            while stack:
                node = stack.pop()
                fetched += node.get("Heap Fetches", 0)
                stack.extend(node.get("Plans", []))
    return fetched


def timed_case(client: Any, conn: psycopg.Connection, case: reports.Case, repeat: int) -> Any:
    """`reports.run_case`, also timing Django's SQL (execute and fetch, client side) and
    counting its queries, per request."""
    from django.db import connection

    spent: list[float] = []

    def timer(execute: Any, sql_text: str, params: Any, many: bool, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql_text, params, many, context)
        finally:
            spent.append((time.perf_counter() - started) * 1000)

    with connection.execute_wrapper(timer):
        result = reports.run_case(client, conn, case, repeat)
    requests = repeat + 1 if result.samples_ms else 1
    per_request, left = divmod(len(spent), requests)
    if per_request and not left:  # the median of the timed requests (the warm-up left out)
        sums = [sum(spent[i : i + per_request]) for i in range(0, len(spent), per_request)]
        sql_ms = statistics.median(sums[1:] or sums)
    else:  # requests made different queries: the mean
        sql_ms = sum(spent) / requests
    result.sql_ms = round(sql_ms, 2)  # type: ignore[attr-defined]
    result.queries = round(len(spent) / requests, 1)  # type: ignore[attr-defined]
    return result


def breakdown(result: Any) -> dict[str, Any]:
    samples = result.samples_ms
    return {
        "endpoint": result.label,
        "min_ms": round(min(samples), 2) if samples else None,
        "median_ms": result.median_ms,
        "sql_ms_per_request": getattr(result, "sql_ms", None),
        "queries_per_request": getattr(result, "queries", None),
    }


def print_breakdown(rows: list[dict[str, Any]]) -> None:
    print("\nWhere the time goes (min = least disturbed by other load; SQL = Django's own")
    print("queries, client side, median per request; the rest is Python: auth, ORM, DRF):")
    headers = ("endpoint", "min ms", "median ms", "SQL ms/req", "queries/req", "rest ms")
    lines = []
    for row in rows:
        rest = (
            None
            if row["median_ms"] is None or row["sql_ms_per_request"] is None
            else row["median_ms"] - row["sql_ms_per_request"]
        )
        lines.append(
            (
                row["endpoint"],
                reports.fmt(row["min_ms"]),
                reports.fmt(row["median_ms"]),
                reports.fmt(row["sql_ms_per_request"]),
                str(row["queries_per_request"]),
                reports.fmt(rest),
            )
        )
    widths = [max(len(str(r[i])) for r in (headers, *lines)) for i in range(len(headers))]
    for i, line in enumerate((headers, *lines)):
        print(
            " | ".join(
                c.ljust(w) if j == 0 else c.rjust(w)
                for j, (c, w) in enumerate(zip(line, widths, strict=True))
            )
        )
        if i == 0:
            print("-+-".join("-" * w for w in widths))


def explain_all(client: Any, cases: list[reports.Case], path: Path) -> None:
    """EXPLAIN (ANALYZE, BUFFERS) of every query one request of each endpoint makes."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    out = []
    for case in cases:
        with CaptureQueriesContext(connection) as captured:
            client.get(case.path)
        out.append(f"=== {case.label}  ({case.path})\n")
        with connection.cursor() as cursor:
            for query in captured.captured_queries:
                text = query["sql"]
                if not text.lstrip().upper().startswith("SELECT"):
                    continue
                cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {text}")
                plan = "\n".join(row[0] for row in cursor.fetchall())
                out.append(f"--- {float(query['time']) * 1000:.1f} ms in Django\n{text}\n{plan}\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(out))
    print(f"Wrote the plans to {path}")


def profile_all(client: Any, cases: list[reports.Case], folder: Path, runs: int = 20) -> None:
    """pyinstrument's text report of `runs` requests per endpoint (profiling slows them
    down: the shares matter, not the times)."""
    from pyinstrument import Profiler

    folder.mkdir(parents=True, exist_ok=True)
    for case in cases:
        client.get(case.path)
        profiler = Profiler(interval=0.0005)
        profiler.start()
        for _ in range(runs):
            client.get(case.path)
        profiler.stop()
        slug = "".join(c if c.isalnum() else "_" for c in case.label).strip("_")
        (folder / f"dense-{slug}.txt").write_text(
            profiler.output_text(unicode=True, color=False, show_all=False)
        )
    print(f"Wrote pyinstrument reports to {folder}/dense-*.txt")


# --- the run ---


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rebuild-dense", action="store_true", help="delete the dense book's records and reload"
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=reports.DEFAULT_REPEAT,
        help=f"timed runs (default {reports.DEFAULT_REPEAT})",
    )
    parser.add_argument(
        "--skip-verify",
        action="store_true",
        help="do not re-run ledger.totals.verify when the rows were already loaded",
    )
    parser.add_argument(
        "--explain", action="store_true", help=f"EXPLAIN ANALYZE every query → {EXPLAIN_TXT}"
    )
    parser.add_argument(
        "--profile", action="store_true", help=f"pyinstrument per endpoint → {PROFILES}/"
    )
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help="where to write results")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")

    started = time.perf_counter()
    load_before = load_average()
    meta = dataset.ensure()
    url = dataset.database_url()
    dense = ensure_dense(url, rebuild=args.rebuild_dense)
    if not dense["loaded_now"] and not args.skip_verify:
        dense["verify_now"] = verify_totals(dense["book_id"])
    counts = dense["counts"]
    print(
        f"Book {dense['book_id']}: {counts['expenses']:,} expenses, {counts['income']:,} income, "
        f"{counts['day_totals']:,} day totals, "
        f"{counts['day_merchant_totals']:,} day-merchant totals"
    )

    from django.test import Client

    client = Client(raise_request_exception=False)
    token = reports.obtain_token(client, USERNAME, PASSWORD)
    client = Client(raise_request_exception=False, headers={"authorization": f"Bearer {token}"})
    user = reports.report_user(USERNAME)
    year_ago = user.today - timedelta(days=365)
    fetches = heap_fetches(user.book_id, year_ago, user.today)
    if fetches:
        print(f"  {fetches:,} heap fetches in the totals' index-only scans: VACUUM first ...")
        vacuum(url, VACUUM_TABLES[2:])
        fetches = heap_fetches(user.book_id, year_ago, user.today)
    print(f"  heap fetches in the totals' index-only scans of a year: {fetches}")
    cases = [FLOOR, *reports.report_cases(user, income_start=year_ago)]
    print(f"Timing {USERNAME} (id {user.id}), median of {args.repeat} runs:")
    results = []
    with dataset.connect(url, autocommit=True, prepare_threshold=None) as conn:
        for case in cases:
            results.append(timed_case(client, conn, case, args.repeat))
        info = reports.machine_info(conn)
    load_after = load_average()
    if args.explain:
        explain_all(client, cases[1:], EXPLAIN_TXT)
    if args.profile:
        profile_all(client, cases[1:], PROFILES)

    print()
    reports.print_table(results)
    rows = [breakdown(r) for r in results]
    print_breakdown(rows)
    print(f"\nLoad average (1, 5, 15 min): {load_before} before, {load_after} after")
    missed = [r.label for r in results[1:] if r.met is False]
    print("Every report met its target." if not missed else f"Missed: {', '.join(missed)}")
    report = {
        "benchmark": "dense",
        "repeat": args.repeat,
        "machine": {**info, "load_average_before": load_before, "load_average_after": load_after},
        "dataset": {key: meta[key] for key in ("database", "built_on", "build_seconds")},
        "dense": {
            "username": USERNAME,
            "expenses": EXPENSES,
            "income": INCOME,
            "days": DAYS,
            **dense,
        },
        "heap_fetches": fetches,
        "results": [{**r.as_dict(), **breakdown(r)} for r in results],
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2, default=str, ensure_ascii=False) + "\n")
    print(f"\nWrote {args.json} ({time.perf_counter() - started:.0f} s in all)")


if __name__ == "__main__":
    sys.exit(main())
