"""Stream the heavy user's exports through the full stack; measure rows/s and memory.

    .venv/bin/python -m bench.exports [--rebuild] [--repeat N] [--json PATH] [--no-tracemalloc]
                                      [--sizes 10000,50000,200000] [--writers ROWS]

Each export is a GET through `django.test.Client` (URL routing, middleware, JWT
authentication, DRF, the filter backends) carrying a real access token from
POST /api/v1/auth/token/, and its body is consumed chunk by chunk from
`response.streaming_content`, as a WSGI server would send it; nothing is joined.

Besides the full and filtered CSV exports, a ladder of sizes (`--sizes`, default about
10,000, 50,000 and 200,000 rows: the newest records, cut by `start_date`) is exported
as CSV (expenses) and as XLSX (expenses + income), so the table shows whether speed
holds and memory stays flat as the rows grow.

Memory is measured three ways:
- **peak RSS growth** (the headline figure): the process's resident set (VmRSS in
  /proc/self/status) sampled every 5 ms by a thread and after every chunk, minus its
  value just before the request; it covers an XLSX workbook's build, which happens
  before its response starts;
- **ru_maxrss growth**: how far the request pushed the process's high-water mark
  (`resource.getrusage`); it only moves when a request goes past every earlier peak,
  which is why the first export in the table is the full one;
- **Python heap peak** (`tracemalloc`), over one extra run of each targeted export,
  whose speed is not reported because tracing slows every allocation.

Speed is given as wall-clock rows/s and as rows per CPU second of this process (the
database server's work is not in it): on a shared machine the second is the steadier
figure. The load average before and after the run is printed and saved.

Targets: the full CSV export of 1,000,000 expenses at more than 100,000 rows/s, every
XLSX size at more than 50,000 rows/s, each with less than 100 MB peak memory growth.
The benchmark records whether they are met; it never fails because of them.

`--writers ROWS` (default 20,000; 0 skips it) also times the XLSX writers the export
could use on the same rows, already fetched, writing only: openpyxl's write-only mode,
xlsxwriter's `constant_memory` mode (when installed: requirements-dev.txt) and
`exports.xlsx_writer` — the measurement behind choosing the last.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import statistics
import sys
import tempfile
import threading
import time
import tracemalloc
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from bench import dataset

DEFAULT_JSON = Path(__file__).resolve().parent / "results" / "exports.json"
DEFAULT_REPEAT = 3
DEFAULT_SIZES = (10_000, 50_000, 200_000)
DEFAULT_WRITER_ROWS = 20_000
API = "/api/v1"
CSV_ROWS_TARGET = 100_000  # rows per second, the full CSV export
XLSX_ROWS_TARGET = 50_000  # rows per second, every XLSX size
MEMORY_TARGET_MB = 100.0
MB = 1024 * 1024
RSS_SAMPLE_SECONDS = 0.005


@dataclass
class Case:
    label: str
    path: str
    kind: str  # csv | xlsx
    expected_rows: int | None  # records the database holds for the same filters
    rows_target: int | None = None  # rows/s, for a targeted case


@dataclass
class Run:
    rows: int
    seconds: float
    cpu_seconds: float
    first_rows_ms: float
    bytes: int
    chunks: int
    peak_rss_growth_mb: float
    maxrss_growth_mb: float

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0

    @property
    def rows_per_cpu_second(self) -> float:
        return self.rows / self.cpu_seconds if self.cpu_seconds else 0.0


@dataclass
class Result:
    case: Case
    status: int = 200
    note: str = ""
    runs: list[Run] = field(default_factory=list)
    tracemalloc_peak_mb: float | None = None

    @property
    def rows(self) -> int | None:
        return self.runs[0].rows if self.runs else None

    @property
    def rows_per_second(self) -> float | None:
        if not self.runs:
            return None
        return statistics.median(run.rows_per_second for run in self.runs)

    @property
    def rows_per_cpu_second(self) -> float | None:
        if not self.runs:
            return None
        return statistics.median(run.rows_per_cpu_second for run in self.runs)

    @property
    def seconds(self) -> float | None:
        return statistics.median(run.seconds for run in self.runs) if self.runs else None

    @property
    def peak_rss_growth_mb(self) -> float | None:
        return max(run.peak_rss_growth_mb for run in self.runs) if self.runs else None

    @property
    def maxrss_growth_mb(self) -> float | None:
        return max(run.maxrss_growth_mb for run in self.runs) if self.runs else None

    @property
    def met(self) -> bool | None:
        if self.case.rows_target is None or not self.runs:
            return None
        memory = self.peak_rss_growth_mb or 0.0
        return (self.rows_per_second or 0) > self.case.rows_target and memory < MEMORY_TARGET_MB

    def as_dict(self) -> dict[str, Any]:
        target = self.case.rows_target
        return {
            "label": self.case.label,
            "path": self.case.path,
            "kind": self.case.kind,
            "status": self.status,
            "note": self.note,
            "rows": self.rows,
            "expected_rows": self.case.expected_rows,
            "median_seconds": self.seconds,
            "median_rows_per_second": self.rows_per_second,
            "median_rows_per_cpu_second": self.rows_per_cpu_second,
            "peak_rss_growth_mb": self.peak_rss_growth_mb,
            "maxrss_growth_mb": self.maxrss_growth_mb,
            "tracemalloc_peak_mb": self.tracemalloc_peak_mb,
            "targets": (
                {"rows_per_second": f"> {target}", "memory_mb": f"< {MEMORY_TARGET_MB}"}
                if target
                else None
            ),
            "met": self.met,
            "runs": [
                asdict(run)
                | {
                    "rows_per_second": run.rows_per_second,
                    "rows_per_cpu_second": run.rows_per_cpu_second,
                }
                for run in self.runs
            ],
        }


# --- measuring ---


def rss_bytes() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def maxrss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


class RssSampler(threading.Thread):
    """Samples VmRSS every few milliseconds until stopped; `peak` is the highest seen.
    It also sees an XLSX workbook being built, before the response exists."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak = rss_bytes()
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(RSS_SAMPLE_SECONDS):
            self.peak = max(self.peak, rss_bytes())

    def stop(self) -> int:
        self.done.set()
        self.join()
        return max(self.peak, rss_bytes())


def csv_lines(chunk: bytes) -> int:
    # CSV rows end with CRLF (csv.writer's terminator); the bench data has no line breaks
    # inside cells, and a cell's own newline would be a bare LF anyway.
    return chunk.count(b"\r\n")


def xlsx_rows(workbook: IO[bytes]) -> int:
    """Data rows of every sheet but Summary, counted in the sheets' XML (`<row ` tags,
    less each sheet's header): openpyxl took minutes to read a million rows."""
    import posixpath
    import zipfile

    from defusedxml import ElementTree

    main = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    rel_id = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
    with zipfile.ZipFile(workbook) as package:
        rels = ElementTree.fromstring(package.read("xl/_rels/workbook.xml.rels"))
        targets = {rel.get("Id"): rel.get("Target") for rel in rels}
        sheets = ElementTree.fromstring(package.read("xl/workbook.xml")).iter(f"{main}sheet")
        rows = 0
        for sheet in sheets:
            if sheet.get("name") == "Summary":
                continue
            target = targets[sheet.get(rel_id)]
            part = target.lstrip("/") if target.startswith("/") else posixpath.join("xl", target)
            tail = b""
            with package.open(part) as xml:
                while block := xml.read(1 << 20):
                    rows += (tail + block).count(b"<row ")
                    tail = block[-4:]  # a tag cut between two blocks is counted once
            rows -= 1  # the header
    return rows


def stream_once(client: Any, case: Case) -> tuple[int, Run | str]:
    """One request, its body consumed chunk by chunk (an XLSX body is written to a
    temporary file and its rows counted afterwards); returns the status and the run, or
    an error note."""
    gc.collect()
    baseline_rss, baseline_max = rss_bytes(), maxrss_bytes()
    sampler = RssSampler()
    sampler.start()
    started, cpu_started = time.perf_counter(), time.process_time()
    try:
        response = client.get(case.path)
        if response.status_code != 200:
            return response.status_code, error_note(response)
        rows = size = chunks = 0
        first_rows: float | None = None
        with tempfile.TemporaryFile() as sink:
            try:
                for chunk in response.streaming_content:
                    chunks += 1
                    # The CSV header goes out before the query runs; time the first records.
                    if first_rows is None and (chunks > 1 or case.kind != "csv"):
                        first_rows = time.perf_counter()
                    size += len(chunk)
                    if case.kind == "csv":
                        rows += csv_lines(chunk)
                    else:
                        sink.write(chunk)
            finally:
                response.close()
            elapsed = time.perf_counter() - started
            cpu = time.process_time() - cpu_started
            peak_rss = sampler.stop()
            if case.kind == "csv":
                rows -= 1  # the header
            else:
                sink.seek(0)
                rows = xlsx_rows(sink)
    finally:
        sampler.stop()
    return 200, Run(
        rows=rows,
        seconds=elapsed,
        cpu_seconds=cpu,
        first_rows_ms=((first_rows or time.perf_counter()) - started) * 1000,
        bytes=size,
        chunks=chunks,
        peak_rss_growth_mb=(peak_rss - baseline_rss) / MB,
        maxrss_growth_mb=(maxrss_bytes() - baseline_max) / MB,
    )


def traced_peak_mb(client: Any, case: Case) -> float | None:
    """The Python heap's peak above its starting size while the export is consumed."""
    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        start, _ = tracemalloc.get_traced_memory()
        response = client.get(case.path)
        if response.status_code != 200:
            return None
        for _chunk in response.streaming_content:
            pass
        response.close()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return (peak - start) / MB


def error_note(response: Any) -> str:
    try:
        return json.dumps(response.json())[:100]
    except (ValueError, AttributeError):
        return ""


def run_case(client: Any, case: Case, repeat: int, trace: bool) -> Result:
    result = Result(case)
    print(f"  {case.label} ...", end="", flush=True)
    for _ in range(repeat):
        status, run = stream_once(client, case)
        result.status = status
        if isinstance(run, str):
            result.note = run
            print(f" status {status} {run}", flush=True)
            return result
        result.runs.append(run)
        print(f" {run.seconds:.1f} s", end="", flush=True)
    if trace:
        result.tracemalloc_peak_mb = traced_peak_mb(client, case)
        print(f", traced peak {result.tracemalloc_peak_mb:.1f} MB", end="", flush=True)
    print(flush=True)
    return result


# --- the cases ---


def newest_start(conn: Any, user_id: int, rows: int, *, with_income: bool) -> date | None:
    """The `start_date` from which the user's newest records number about `rows` (the
    whole of that day included); None when the user has fewer."""
    records = "SELECT date FROM expenses_expense WHERE user_id = %(user)s"
    if with_income:
        records += " UNION ALL SELECT date FROM income_income WHERE user_id = %(user)s"
    row = conn.execute(
        f"SELECT date FROM ({records}) r ORDER BY date DESC OFFSET %(skip)s LIMIT 1",
        {"user": user_id, "skip": rows - 1},
    ).fetchone()
    return row[0] if row else None


def count_since(conn: Any, user_id: int, start: date, *, with_income: bool) -> int:
    sql = "SELECT count(*) FROM expenses_expense WHERE user_id = %(user)s AND date >= %(start)s"
    if with_income:
        sql = (
            f"SELECT ({sql}) + (SELECT count(*) FROM income_income "
            "WHERE user_id = %(user)s AND date >= %(start)s)"
        )
    row = conn.execute(sql, {"user": user_id, "start": start}).fetchone()
    return int(row[0]) if row else 0


def cases(user_id: int, today: Any, sizes: tuple[int, ...]) -> list[Case]:
    from categories.models import Category

    food = Category.objects.get(user__isnull=True, kind="expense", name="Food").pk
    year_ago = today - timedelta(days=365)
    queries = {
        "all_expenses": ("SELECT count(*) FROM expenses_expense WHERE user_id = %s", [user_id]),
        "all_income": ("SELECT count(*) FROM income_income WHERE user_id = %s", [user_id]),
        "filtered": (
            "SELECT count(*) FROM expenses_expense e "
            "LEFT JOIN categories_category c ON c.id = e.category_id "
            "WHERE e.user_id = %s AND (e.category_id = %s OR c.parent_id = %s) "
            "AND e.amount >= 20 AND e.date >= %s",
            [user_id, food, food, year_ago],
        ),
    }
    counts = {}
    ladder: list[Case] = []
    with dataset.connect(dataset.database_url(), autocommit=True) as conn:
        for name, (sql, params) in queries.items():
            row = conn.execute(sql, params).fetchone()
            counts[name] = row[0] if row else None
        for kind, with_income, what in (
            ("csv", False, "expenses.csv"),
            ("xlsx", True, "transactions.xlsx"),
        ):
            for size in sizes:
                start = newest_start(conn, user_id, size, with_income=with_income)
                if start is None:
                    continue
                ladder.append(
                    Case(
                        f"{what}, ~{size:,} rows",
                        f"{API}/export/{what}?start_date={start}",
                        kind,
                        count_since(conn, user_id, start, with_income=with_income),
                        rows_target=XLSX_ROWS_TARGET if kind == "xlsx" else None,
                    )
                )
    return [
        Case(
            "expenses.csv, all",
            f"{API}/export/expenses.csv",
            "csv",
            counts["all_expenses"],
            rows_target=CSV_ROWS_TARGET,
        ),
        Case(
            "expenses.csv, ordering=-amount",
            f"{API}/export/expenses.csv?ordering=-amount",
            "csv",
            counts["all_expenses"],
        ),
        Case(
            "expenses.csv, Food ≥ 20, last year",
            f"{API}/export/expenses.csv?category={food}&min_amount=20&start_date={year_ago}",
            "csv",
            counts["filtered"],
        ),
        Case("incomes.csv, all", f"{API}/export/incomes.csv", "csv", counts["all_income"]),
        *ladder,
    ]


# --- the XLSX writers compared ---


def compare_writers(book: Any, rows: int) -> list[dict[str, Any]]:
    """Writes the newest `rows` expenses (already fetched) with each XLSX writer to a
    temporary file, one run each; the CPU time of this process is the figure."""
    from expenses.models import Expense
    from exports import xlsx_export
    from exports.selectors import EXPENSE, record_chunks, sheet_chunks
    from exports.xlsx_writer import Workbook

    records = Expense.objects.filter(book=book).order_by("-date", "-id")[:rows]
    typed = list(record_chunks(records, kind=EXPENSE))
    ready = list(sheet_chunks(records, kind=EXPENSE, base_currency="USD"))
    count = sum(len(chunk_rows) for chunk_rows, _ in typed)
    writers = {"openpyxl write-only": _openpyxl_writer}
    try:
        import xlsxwriter  # noqa: F401

        writers["xlsxwriter constant_memory"] = _xlsxwriter_writer
    except ImportError:
        print("  (xlsxwriter is not installed: pip install -r requirements-dev.txt)")

    def own(target: IO[bytes], _typed: list) -> None:
        with Workbook(target) as workbook:
            sheets = xlsx_export._RecordSheets(workbook, "Expenses", EXPENSE, "USD")
            for chunk_rows, tags in ready:
                sheets.write(chunk_rows, tags)

    writers["exports.xlsx_writer"] = own
    results = []
    for name, write in writers.items():
        gc.collect()
        with tempfile.TemporaryFile() as target:
            started, cpu_started = time.perf_counter(), time.process_time()
            write(target, typed)
            cpu = time.process_time() - cpu_started
            elapsed = time.perf_counter() - started
            size = target.seek(0, os.SEEK_END)
        results.append(
            {
                "writer": name,
                "rows": count,
                "seconds": elapsed,
                "cpu_seconds": cpu,
                "rows_per_cpu_second": count / cpu if cpu else None,
                "mb": size / MB,
            }
        )
        print(f"  {name}: {count / cpu:,.0f} rows per CPU second, {size / MB:.1f} MB", flush=True)
    return results


def _typed_cells(rows: list[tuple], tags: dict[int, list[str]]) -> Any:
    """The cells of the Expenses sheet from `record_chunks` rows, as Python values."""
    for (
        pk,
        day,
        description,
        amount,
        currency,
        base_amount,
        rate,
        category,
        party,
        notes,
        *rest,
    ) in rows:
        created, *extra = rest
        yield (
            pk,
            day,
            description,
            amount,
            currency,
            base_amount,
            "USD",
            rate.normalize(),
            category,
            party or None,
            *extra,
            ";".join(tags[pk]) if pk in tags else None,
            notes or None,
            created.astimezone(UTC).replace(tzinfo=None, microsecond=0),
        )


def _openpyxl_writer(target: IO[bytes], typed: list) -> None:
    """What the export did before: write-only cells, a number format per amount."""
    from openpyxl import Workbook as OpenpyxlWorkbook
    from openpyxl.cell import WriteOnlyCell

    workbook = OpenpyxlWorkbook(write_only=True)
    sheet = workbook.create_sheet("Expenses")
    for rows, tags in typed:
        for cells in _typed_cells(rows, tags):
            row = list(cells)
            for index in (3, 5):
                cell = WriteOnlyCell(sheet, value=row[index])
                cell.number_format = "#,##0.00"
                row[index] = cell
            sheet.append(row)
    workbook.save(target)


def _xlsxwriter_writer(target: IO[bytes], typed: list) -> None:
    import xlsxwriter

    workbook = xlsxwriter.Workbook(target, {"constant_memory": True, "in_memory": False})
    sheet = workbook.add_worksheet("Expenses")
    money = workbook.add_format({"num_format": "#,##0.00"})
    day = workbook.add_format({"num_format": "yyyy-mm-dd"})
    moment = workbook.add_format({"num_format": "yyyy-mm-dd h:mm:ss"})
    formats = {1: day, 3: money, 5: money, 13: moment}
    n = 0
    for rows, tags in typed:
        for cells in _typed_cells(rows, tags):
            n += 1
            for column, value in enumerate(cells):
                if value is None:
                    continue
                if column in (1, 13):
                    sheet.write_datetime(n, column, value, formats[column])
                elif column in (0, 3, 5, 7):
                    sheet.write_number(n, column, value, formats.get(column))
                else:
                    sheet.write_string(n, column, value)
    workbook.close()


# --- output ---


def fmt(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}"


def print_table(results: list[Result]) -> None:
    headers = (
        "export",
        "rows",
        "median s",
        "rows/s",
        "rows/CPU s",
        "first rows ms",
        "MB sent",
        "peak RSS +MB",
        "maxrss +MB",
        "heap peak MB",
        "target",
        "met?",
    )
    lines = []
    for r in results:
        run = r.runs[0] if r.runs else None
        rows = "n/a" if r.rows is None else f"{r.rows:,}"
        if r.rows is not None and r.case.expected_rows is not None:
            rows += "" if r.rows == r.case.expected_rows else f" (DB {r.case.expected_rows:,}!)"
        target = (
            f"> {r.case.rows_target:,} rows/s, < {MEMORY_TARGET_MB:.0f} MB"
            if r.case.rows_target
            else ""
        )
        met = "" if r.met is None else ("yes" if r.met else "NO")
        lines.append(
            (
                r.case.label if not r.note else f"{r.case.label} [{r.status} {r.note}]",
                rows,
                fmt(r.seconds, 2),
                fmt(r.rows_per_second, 0),
                fmt(r.rows_per_cpu_second, 0),
                fmt(statistics.median(x.first_rows_ms for x in r.runs) if r.runs else None, 0),
                fmt(run.bytes / MB if run else None),
                fmt(r.peak_rss_growth_mb),
                fmt(r.maxrss_growth_mb),
                fmt(r.tracemalloc_peak_mb),
                target,
                met,
            )
        )
    widths = [max(len(str(row[i])) for row in (headers, *lines)) for i in range(len(headers))]
    left = {0, 10, 11}

    def line(cells: tuple) -> str:
        return " | ".join(
            str(c).ljust(w) if i in left else str(c).rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    print(line(headers))
    print("-+-".join("-" * w for w in widths))
    for row in lines:
        print(line(row))


def load_average() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rebuild", action="store_true", help="drop and rebuild the data set")
    parser.add_argument(
        "--repeat", type=int, default=DEFAULT_REPEAT, help=f"runs per export ({DEFAULT_REPEAT})"
    )
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help="where to write results")
    parser.add_argument(
        "--no-tracemalloc", action="store_true", help="skip the traced runs of targeted exports"
    )
    parser.add_argument(
        "--sizes",
        default=",".join(str(size) for size in DEFAULT_SIZES),
        help="rows of the CSV and XLSX size ladder, comma-separated ('' for none)",
    )
    parser.add_argument(
        "--writers",
        type=int,
        default=DEFAULT_WRITER_ROWS,
        help=f"rows for the XLSX writer comparison ({DEFAULT_WRITER_ROWS:,}; 0 skips it)",
    )
    parser.add_argument("--scale", type=float, default=1.0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    try:
        sizes = tuple(int(size) for size in args.sizes.split(",") if size.strip())
    except ValueError:
        parser.error("--sizes takes whole numbers separated by commas")
    if any(size < 1 for size in sizes):
        parser.error("--sizes must be positive")

    started = time.perf_counter()
    load_before = load_average()
    meta = dataset.ensure(rebuild=args.rebuild, scale=args.scale)
    dataset.print_counts(meta)

    from django.test import Client

    from bench.reports import heavy_user, machine_info, obtain_token

    client = Client(raise_request_exception=False)
    token = obtain_token(client)
    client = Client(raise_request_exception=False, headers={"authorization": f"Bearer {token}"})
    user = heavy_user()
    print(f"Exporting for {dataset.HEAVY_USERNAME} (id {user.id}), {args.repeat} runs each:")
    # Warm-up: imports, the connection, the first query plans.
    client.get(f"{API}/export/expenses.csv?month={user.today:%Y-%m}").close()
    client.get(f"{API}/export/transactions.xlsx?month={user.today:%Y-%m}").close()

    results = []
    for case in cases(user.id, user.today, sizes):
        trace = case.rows_target is not None and not args.no_tracemalloc
        results.append(run_case(client, case, args.repeat, trace))
    writers = []
    if args.writers:
        from books.models import Book

        print(f"XLSX writers on the newest {args.writers:,} expenses (fetched first):")
        writers = compare_writers(Book.objects.get(pk=user.book_id), args.writers)
    with dataset.connect(dataset.database_url(), autocommit=True) as conn:
        info = machine_info(conn)
    load_after = load_average()

    print()
    print_table(results)
    print(
        "\nrows/CPU s: rows per CPU second of this process (the database server not "
        "counted); peak RSS +MB: resident memory sampled every 5 ms and after every "
        "chunk, minus its value before the request (max over runs); maxrss +MB: growth "
        "of the process's ru_maxrss; heap peak MB: tracemalloc's peak over one extra run."
    )
    if writers:
        print()
        for writer in writers:
            print(
                f"{writer['writer']:<28} {writer['rows']:>8,} rows  "
                f"{writer['rows_per_cpu_second']:>10,.0f} rows/CPU s  {writer['mb']:>6.1f} MB"
            )
    print(f"\nLoad average (1, 5, 15 min) before: {load_before}, after: {load_after}")
    report = {
        "benchmark": "exports",
        "repeat": args.repeat,
        "memory_method": {
            "peak_rss_growth_mb": "max VmRSS sampled every 5 ms by a thread and after each "
            "streamed chunk, minus VmRSS before the request",
            "maxrss_growth_mb": "resource.getrusage(RUSAGE_SELF).ru_maxrss after minus before",
            "tracemalloc_peak_mb": "tracemalloc peak minus start over one extra traced run",
        },
        "targets": {
            "csv_rows_per_second": CSV_ROWS_TARGET,
            "xlsx_rows_per_second": XLSX_ROWS_TARGET,
            "memory_mb": MEMORY_TARGET_MB,
        },
        "machine": info,
        "load_average": {"before": load_before, "after": load_after},
        "dataset": {
            **{
                key: meta[key]
                for key in ("database", "database_size", "built_on", "build_seconds", "plan")
            },
            "counts": dataset.ordered_counts(meta),
        },
        "heavy_user": {"username": dataset.HEAVY_USERNAME, "id": user.id},
        "results": [r.as_dict() for r in results],
        "xlsx_writers": writers,
        "run_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2, default=str, ensure_ascii=False) + "\n")
    print(f"\nWrote {args.json} ({time.perf_counter() - started:.0f} s in all)")


if __name__ == "__main__":
    sys.exit(main())
