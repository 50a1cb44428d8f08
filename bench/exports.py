"""Stream the heavy user's exports through the full stack; measure rows/s and memory.

    .venv/bin/python -m bench.exports [--rebuild] [--repeat N] [--json PATH] [--no-tracemalloc]

Each export is a GET through `django.test.Client` (URL routing, middleware, JWT
authentication, DRF, the filter backends) carrying a real access token from
POST /api/v1/auth/token/, and its body is consumed chunk by chunk from
`response.streaming_content`, as a WSGI server would send it; nothing is joined.

Memory is measured three ways:
- **peak RSS growth** (the headline figure): the process's resident set (VmRSS in
  /proc/self/status) sampled when the response returns and after every chunk, minus
  its value just before the request;
- **ru_maxrss growth**: how far the request pushed the process's high-water mark
  (`resource.getrusage`); it only moves when a request goes past every earlier peak,
  which is why the first export in the table is the full one, and it also catches an
  XLSX workbook's build, which happens before its response starts;
- **Python heap peak** (`tracemalloc`), over one extra run of the full CSV export,
  whose speed is not reported because tracing slows every allocation.

Targets for the full CSV export of 1,000,000 expenses: more than 100,000 rows/s and
less than 100 MB peak memory growth. The benchmark records whether they are met; it
never fails because of them.
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from bench import dataset

DEFAULT_JSON = Path(__file__).resolve().parent / "results" / "exports.json"
DEFAULT_REPEAT = 3
API = "/api/v1"
ROWS_TARGET = 100_000  # rows per second
MEMORY_TARGET_MB = 100.0
MB = 1024 * 1024


@dataclass
class Case:
    label: str
    path: str
    kind: str  # csv | xlsx
    expected_rows: int | None  # records the database holds for the same filters
    targeted: bool = False


@dataclass
class Run:
    rows: int
    seconds: float
    first_rows_ms: float
    bytes: int
    chunks: int
    peak_rss_growth_mb: float
    maxrss_growth_mb: float

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


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
        if not self.case.targeted or not self.runs:
            return None
        memory = self.peak_rss_growth_mb or 0.0
        return (self.rows_per_second or 0) > ROWS_TARGET and memory < MEMORY_TARGET_MB

    def as_dict(self) -> dict[str, Any]:
        return {
            "label": self.case.label,
            "path": self.case.path,
            "status": self.status,
            "note": self.note,
            "rows": self.rows,
            "expected_rows": self.case.expected_rows,
            "median_seconds": self.seconds,
            "median_rows_per_second": self.rows_per_second,
            "peak_rss_growth_mb": self.peak_rss_growth_mb,
            "maxrss_growth_mb": self.maxrss_growth_mb,
            "tracemalloc_peak_mb": self.tracemalloc_peak_mb,
            "targets": (
                {"rows_per_second": f"> {ROWS_TARGET}", "memory_mb": f"< {MEMORY_TARGET_MB}"}
                if self.case.targeted
                else None
            ),
            "met": self.met,
            "runs": [asdict(run) | {"rows_per_second": run.rows_per_second} for run in self.runs],
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


def csv_lines(chunk: bytes) -> int:
    # CSV rows end with CRLF (csv.writer's terminator); the bench data has no line breaks
    # inside cells, and a cell's own newline would be a bare LF anyway.
    return chunk.count(b"\r\n")


def xlsx_rows(workbook: IO[bytes]) -> int:
    from openpyxl import load_workbook

    book = load_workbook(workbook, read_only=True)
    try:
        return sum(
            sum(1 for _ in book[name].iter_rows(min_row=2, max_col=1, values_only=True))
            for name in book.sheetnames
            if name != "Summary"
        )
    finally:
        book.close()


def stream_once(client: Any, case: Case) -> tuple[int, Run | str]:
    """One request, its body consumed chunk by chunk (an XLSX body is written to a
    temporary file and its rows counted afterwards); returns the status and the run, or
    an error note."""
    gc.collect()
    baseline_rss, baseline_max = rss_bytes(), maxrss_bytes()
    started = time.perf_counter()
    response = client.get(case.path)
    # An XLSX workbook is built before its response starts: sample once here too.
    peak_rss = max(baseline_rss, rss_bytes())
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
                peak_rss = max(peak_rss, rss_bytes())
        finally:
            response.close()
        elapsed = time.perf_counter() - started
        if case.kind == "csv":
            rows -= 1  # the header
        else:
            sink.seek(0)
            rows = xlsx_rows(sink)
    return 200, Run(
        rows=rows,
        seconds=elapsed,
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


def cases(user_id: int, today: Any) -> list[Case]:
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
        "year": (
            "SELECT (SELECT count(*) FROM expenses_expense WHERE user_id = %s AND date >= %s)"
            " + (SELECT count(*) FROM income_income WHERE user_id = %s AND date >= %s)",
            [user_id, year_ago, user_id, year_ago],
        ),
    }
    counts = {}
    with dataset.connect(dataset.database_url(), autocommit=True) as conn:
        for name, (sql, params) in queries.items():
            row = conn.execute(sql, params).fetchone()
            counts[name] = row[0] if row else None
    return [
        Case(
            "expenses.csv, all",
            f"{API}/export/expenses.csv",
            "csv",
            counts["all_expenses"],
            targeted=True,
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
        Case(
            "transactions.xlsx, last year",
            f"{API}/export/transactions.xlsx?start_date={year_ago}",
            "xlsx",
            counts["year"],
        ),
    ]


# --- output ---


def fmt(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}"


def print_table(results: list[Result]) -> None:
    headers = (
        "export",
        "rows",
        "median s",
        "rows/s",
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
        target = f"> {ROWS_TARGET:,} rows/s, < {MEMORY_TARGET_MB:.0f} MB" if r.case.targeted else ""
        met = "" if r.met is None else ("yes" if r.met else "NO")
        lines.append(
            (
                r.case.label if not r.note else f"{r.case.label} [{r.status} {r.note}]",
                rows,
                fmt(r.seconds, 2),
                fmt(r.rows_per_second, 0),
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
    left = {0, 9, 10}

    def line(cells: tuple) -> str:
        return " | ".join(
            str(c).ljust(w) if i in left else str(c).rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    print(line(headers))
    print("-+-".join("-" * w for w in widths))
    for row in lines:
        print(line(row))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rebuild", action="store_true", help="drop and rebuild the data set")
    parser.add_argument(
        "--repeat", type=int, default=DEFAULT_REPEAT, help=f"runs per export ({DEFAULT_REPEAT})"
    )
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help="where to write results")
    parser.add_argument(
        "--no-tracemalloc", action="store_true", help="skip the traced run of the full export"
    )
    parser.add_argument("--scale", type=float, default=1.0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")

    started = time.perf_counter()
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

    results = []
    for case in cases(user.id, user.today):
        trace = case.targeted and not args.no_tracemalloc
        results.append(run_case(client, case, args.repeat, trace))
    with dataset.connect(dataset.database_url(), autocommit=True) as conn:
        info = machine_info(conn)

    print()
    print_table(results)
    print(
        "\npeak RSS +MB: resident memory sampled after every chunk, minus its value before "
        "the request (max over runs); maxrss +MB: growth of the process's ru_maxrss; heap "
        "peak MB: tracemalloc's peak over one extra run."
    )
    report = {
        "benchmark": "exports",
        "repeat": args.repeat,
        "memory_method": {
            "peak_rss_growth_mb": "max VmRSS sampled after each streamed chunk minus VmRSS "
            "before the request",
            "maxrss_growth_mb": "resource.getrusage(RUSAGE_SELF).ru_maxrss after minus before",
            "tracemalloc_peak_mb": "tracemalloc peak minus start over one extra traced run",
        },
        "targets": {"rows_per_second": ROWS_TARGET, "memory_mb": MEMORY_TARGET_MB},
        "machine": info,
        "dataset": {
            **{
                key: meta[key]
                for key in ("database", "database_size", "built_on", "build_seconds", "plan")
            },
            "counts": dataset.ordered_counts(meta),
        },
        "heavy_user": {"username": dataset.HEAVY_USERNAME, "id": user.id},
        "results": [r.as_dict() for r in results],
        "run_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2, default=str, ensure_ascii=False) + "\n")
    print(f"\nWrote {args.json} ({time.perf_counter() - started:.0f} s in all)")


if __name__ == "__main__":
    sys.exit(main())
