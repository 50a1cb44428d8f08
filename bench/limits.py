"""The heavy and hostile cases of issue 11, against a live gunicorn + PostgreSQL.

    .venv/bin/python -m bench.limits [--rows 60000] [--import-rows 100000] [--json PATH]

Starts the production profile under gunicorn (3 workers, 30 s worker timeout, Redis
cache for throttling) and a Celery worker on a Redis broker, on a fresh database,
then sends each case over real HTTP and prints, per case: the status(es) answered,
the longest single answer, the total time (queued work, answered 202, is followed to
its end), the peak resident memory of the gunicorn and Celery workers during the case
(VmHWM, reset before each case through /proc/PID/clear_refs: Linux, as root), and how
much the process that grew most grew. A case passes when no answer is a 5xx, no single
answer took the worker timeout, and no process grew by more than the memory ceiling.
Never run by the test suite; no timed assertions: it prints a table and writes JSON.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import random
import subprocess
import sys
import threading
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from http.client import HTTPConnection
from pathlib import Path
from typing import Any

import psutil
import psycopg
import redis

from tests.live_server import Reply, gunicorn, http, manage, production_env

RESULTS = Path(__file__).resolve().parent / "results" / "limits.json"
ADMIN_URL = os.environ.get("BENCH_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres")
DB_NAME = "budget_limits_bench"
WORKER_TIMEOUT_S = 30
# What one case may add to one process (a gunicorn or the Celery worker): the largest
# allowed statement (100 000 rows) is held as parsed rows while it is previewed,
# committed or undone, which takes a few hundred MB.
MEMORY_CEILING_MB = 768
PASSWORD = "limits-bench-Pass-1"
CACHE_URL = "redis://127.0.0.1:6379/7"
BROKER_URL = "redis://127.0.0.1:6379/8"


@dataclass
class Case:
    name: str
    expect: str
    statuses: list[int] = field(default_factory=list)
    seconds: float = 0.0  # until the case's outcome is known (polling included)
    answer_s: float | None = None  # the longest single answer, where it differs
    peak_mb: float = 0.0  # highest resident memory of any server process during the case
    growth_mb: float = 0.0  # the most any one process grew during the case
    note: str = ""

    @property
    def longest_answer(self) -> float:
        return self.seconds if self.answer_s is None else self.answer_s

    @property
    def ok(self) -> bool:
        return (
            bool(self.statuses)
            and all(s < 500 for s in self.statuses)
            and self.longest_answer < WORKER_TIMEOUT_S
            and self.growth_mb < MEMORY_CEILING_MB
        )


class Server:
    """The gunicorn workers (found by their bind address) and the Celery worker."""

    def __init__(self, base: str, celery_pid: int) -> None:
        self.base = base
        port = base.rsplit(":", 1)[1]
        self.workers = [
            p
            for p in psutil.process_iter(["cmdline"])
            if any(f"127.0.0.1:{port}" in part for part in (p.info["cmdline"] or []))
        ]
        self.workers.append(psutil.Process(celery_pid))

    @staticmethod
    def _status_mb(pid: int, key: str) -> float:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith(key):
                    return int(line.split()[1]) / 1024
        return 0.0

    def reset_peaks(self) -> None:
        """Reset each process's peak to its current size (Linux: clear_refs 5)."""
        self.baseline = {}
        for process in self.workers:
            with contextlib.suppress(OSError):
                Path(f"/proc/{process.pid}/clear_refs").write_text("5")
            self.baseline[process.pid] = self._status_mb(process.pid, "VmRSS:")

    def peaks(self) -> tuple[float, float]:
        """(highest peak of any process, largest growth of one process) since the reset."""
        peak = growth = 0.0
        for process in self.workers:
            high = self._status_mb(process.pid, "VmHWM:")
            peak = max(peak, high)
            growth = max(growth, high - self.baseline.get(process.pid, high))
        return peak, growth

    def call(self, method: str, path: str, **kwargs: Any) -> Reply:
        kwargs.setdefault("timeout", WORKER_TIMEOUT_S + 30)
        return http(method, f"{self.base}{path}", **kwargs)

    def raw(self, method: str, path: str, body: bytes, content_type: str, token: str) -> Reply:
        """A request with a prepared body. A server that refuses a body by its length may
        answer and close before reading it all, so a broken pipe while sending is
        followed by reading the answer it already sent."""
        host, port = self.base.removeprefix("http://").split(":")
        conn = HTTPConnection(host, int(port), timeout=WORKER_TIMEOUT_S + 30)
        try:
            conn.putrequest(method, path)
            conn.putheader("Content-Type", content_type)
            conn.putheader("Content-Length", str(len(body)))
            conn.putheader("Authorization", f"Bearer {token}")
            conn.endheaders()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                conn.send(body)
            response = conn.getresponse()
            return Reply(response.status, dict(response.getheaders()), response.read())
        finally:
            conn.close()


def multipart(fields: dict[str, str], files: dict[str, tuple[str, bytes]]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    out = io.BytesIO()
    for name, value in fields.items():
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode())
        out.write(value.encode() + b"\r\n")
    for name, (filename, content) in files.items():
        out.write(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
            f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'.encode()
        )
        out.write(content + b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


def xlsx_far_right(rows: int) -> bytes:
    """A valid workbook whose every row has one cell in column XFD (the last one)."""
    sheet_rows = "".join(
        f'<row r="{i}"><c r="XFD{i}" t="inlineStr"><is><t>x</t></is></c></row>'
        for i in range(1, rows + 1)
    )
    files = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
            'package/2006/content-types"><Default Extension="rels" ContentType="application/'
            'vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" '
            'ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType='
            '"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'
        ),
        "_rels/.rels": (
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
            'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type='
            '"http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
            'officeDocument" Target="xl/workbook.xml"/></Relationships>'
        ),
        "xl/workbook.xml": (
            '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.'
            'openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.'
            'openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="S" '
            'sheetId="1" r:id="rId1"/></sheets></workbook>'
        ),
        "xl/_rels/workbook.xml.rels": (
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
            'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type='
            '"http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
            'Target="worksheets/sheet1.xml"/></Relationships>'
        ),
        "xl/worksheets/sheet1.xml": (
            '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.'
            f'openxmlformats.org/spreadsheetml/2006/main"><sheetData>{sheet_rows}</sheetData>'
            "</worksheet>"
        ),
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return out.getvalue()


def statement_csv(rows: int, seed: int) -> bytes:
    rng = random.Random(seed)
    lines = ["Date,Description,Amount"]
    first = date(2024, 1, 1)
    for i in range(rows):
        day = first + timedelta(days=i // 300)
        lines.append(f"{day.isoformat()},Shop {i},-{rng.randint(1, 500)}.{rng.randint(0, 99):02d}")
    return ("\n".join(lines) + "\n").encode()


def seed_rows(user_id: int, rows: int) -> None:
    """Bulk-load `rows` expenses in 5 currencies (and their EUR rates) with psycopg COPY."""
    url = os.environ["DATABASE_URL"]
    currencies = ["USD", "EUR", "GBP", "JPY", "CHF"]
    rng = random.Random(7)
    start = date(2021, 1, 1)
    with psycopg.connect(url, autocommit=True) as conn:
        with conn.cursor().copy(
            "COPY currencies_exchangerate (base, quote, date, rate, source, created_at, "
            "updated_at) FROM STDIN"
        ) as copy:
            day = start
            while day <= date(2026, 1, 1):
                for quote, rate in (("USD", 1.1), ("GBP", 0.85), ("JPY", 150), ("CHF", 0.95)):
                    copy.write_row(
                        [
                            "EUR",
                            quote,
                            day,
                            Decimal(str(rate)),
                            "bench",
                            "2026-01-01T00:00:00Z",
                            "2026-01-01T00:00:00Z",
                        ]
                    )
                day += timedelta(days=7)
        with conn.cursor().copy(
            "COPY expenses_expense (user_id, amount, currency, base_amount, exchange_rate, "
            "date, description, notes, receipt, import_fitid, import_key, payment_method, "
            "merchant, created_at, updated_at) FROM STDIN"
        ) as copy:
            for i in range(rows):
                amount = Decimal(rng.randint(100, 50000)) / 100
                currency = rng.choice(currencies)
                if currency == "JPY":
                    amount = Decimal(int(amount) + 1)
                day = start + timedelta(days=rng.randint(0, 1800))
                copy.write_row(
                    [
                        user_id,
                        amount,
                        currency,
                        amount,
                        1,
                        day,
                        f"Shop {i}",
                        "",
                        "",
                        "",
                        "",
                        "card",
                        "",
                        "2026-01-01T00:00:00Z",
                        "2026-01-01T00:00:00Z",
                    ]
                )


def run_cases(server: Server, *, rows: int, import_rows: int) -> list[Case]:
    cases: list[Case] = []

    def case(name: str, expect: str) -> Callable[[Callable[[Case], None]], None]:
        def wrap(fn: Callable[[Case], None]) -> None:
            item = Case(name, expect)
            server.reset_peaks()
            started = time.perf_counter()
            try:
                fn(item)
            except Exception as exc:  # a case that crashes the client is reported, not hidden
                item.note = f"client error: {exc!r}"[:120]
            item.seconds = round(time.perf_counter() - started, 2)
            peak, growth = server.peaks()
            item.peak_mb, item.growth_mb = round(peak, 1), round(growth, 1)
            cases.append(item)
            print(f"  {name}: {item.statuses[:6]} {item.seconds}s {item.peak_mb}MB {item.note}")

        return wrap

    suffix = uuid.uuid4().hex[:6]
    username = f"limits_{suffix}"
    reply = server.call(
        "POST",
        "/api/v1/auth/register/",
        body={"username": username, "email": f"{username}@example.com", "password": PASSWORD},
    )
    assert reply.status == 201, reply.body[:300]
    user_id = reply.json()["id"]
    token = server.call(
        "POST", "/api/v1/auth/token/", body={"username": username, "password": PASSWORD}
    ).json()
    access, refresh = token["access"], token["refresh"]

    def answered(c: Case, reply: Reply, started: float) -> Reply:
        c.statuses.append(reply.status)
        c.answer_s = round(time.perf_counter() - started, 2)
        return reply

    def poll(c: Case, path: str, state: Callable[[dict[str, Any]], str | None], done: set[str]):
        """Follow a queued job until it ends (10 min at most); its end goes in the note."""
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            reply = server.call("GET", path, token=access)
            status = state(reply.json()) if reply.status == 200 else f"HTTP {reply.status}"
            if status in done or reply.status != 200:
                c.note = f"queued, ended {status}"
                return
            time.sleep(0.5)
        c.note = "queued, still running after 10 min"

    @case("regex rule x{99999999}", "400")
    def _(c: Case) -> None:
        body = {
            "name": "bomb",
            "field": "description",
            "operator": "regex",
            "value": "x{99999999}",
            "category": None,
        }
        c.statuses.append(server.call("POST", "/api/v1/rules/", body=body, token=access).status)

    @case("regex rule (a{1000}){1000}", "400")
    def _(c: Case) -> None:
        body = {"name": "bomb2", "field": "any", "operator": "regex", "value": "(a{1000}){1000}"}
        c.statuses.append(server.call("POST", "/api/v1/rules/", body=body, token=access).status)

    @case("30 logins, new X-Forwarded-For each", "429 after the limit")
    def _(c: Case) -> None:
        for i in range(30):
            reply = server.call(
                "POST",
                "/api/v1/auth/token/",
                body={"username": username, "password": "wrong"},
                headers={"X-Forwarded-For": f"10.0.{i}.{i}"},
            )
            c.statuses.append(reply.status)
        c.note = f"{c.statuses.count(429)} × 429"
        # The throttle did its job; later cases that log in need a fresh count.
        redis.Redis.from_url(CACHE_URL).flushdb()

    for xlsx_rows in (400, 4000):
        content = xlsx_far_right(xlsx_rows)

        @case(f"XLSX, {xlsx_rows} rows at column XFD ({len(content) // 1024} KB)", "400 fast")
        def _(c: Case, content: bytes = content) -> None:
            body, ctype = multipart({"format": "xlsx"}, {"file": ("far.xlsx", content)})
            c.statuses.append(server.raw("POST", "/api/v1/imports/", body, ctype, access).status)

    @case("JSON nested 1,000 deep (login)", "400")
    def _(c: Case) -> None:
        body = ("[" * 1000 + "]" * 1000).encode()
        c.statuses.append(
            server.raw("POST", "/api/v1/auth/token/", body, "application/json", access).status
        )

    @case("JSON body of 12 MB (expense)", "413")
    def _(c: Case) -> None:
        body = json.dumps({"amount": "1", "date": "2026-01-01", "description": "x" * 12_000_000})
        c.statuses.append(
            server.raw(
                "POST", "/api/v1/expenses/", body.encode(), "application/json", access
            ).status
        )

    @case("form with 5,000 fields (login)", "400")
    def _(c: Case) -> None:
        body = "&".join(f"f{i}=1" for i in range(5000)).encode()
        c.statuses.append(
            server.raw(
                "POST", "/api/v1/auth/token/", body, "application/x-www-form-urlencoded", access
            ).status
        )

    @case("amount 1e1000000 / 1_000 / non-ASCII digits", "400 ×3")
    def _(c: Case) -> None:
        for amount in ("1e1000000", "1_000", "\u0661\u0662"):
            body = {"amount": amount, "date": "2026-01-01", "description": "x"}
            c.statuses.append(
                server.call("POST", "/api/v1/expenses/", body=body, token=access).status
            )

    @case("dates 9999-12-31 and 1899-12-31", "400 ×2")
    def _(c: Case) -> None:
        for day in ("9999-12-31", "1899-12-31"):
            body = {"amount": "1", "date": day, "description": "x"}
            c.statuses.append(
                server.call("POST", "/api/v1/expenses/", body=body, token=access).status
            )

    @case("expense with 20,000 tags", "400")
    def _(c: Case) -> None:
        body = {
            "amount": "1",
            "date": "2026-01-01",
            "description": "x",
            "tags": [f"t{i}" for i in range(20_000)],
        }
        c.statuses.append(server.call("POST", "/api/v1/expenses/", body=body, token=access).status)

    @case("10 simultaneous refreshes of one token", "exactly one 200")
    def _(c: Case) -> None:
        replies: list[int] = []
        barrier = threading.Barrier(10)

        def go() -> None:
            barrier.wait()
            replies.append(
                server.call("POST", "/api/v1/auth/token/refresh/", body={"refresh": refresh}).status
            )

        threads = [threading.Thread(target=go) for _ in range(10)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        c.statuses.extend(sorted(replies))
        c.note = f"{replies.count(200)} × 200"

    seed_rows(user_id, rows)

    @case(f"rules/apply over {rows:,} records", "200 or 202 + poll")
    def _(c: Case) -> None:
        categories = server.call("GET", "/api/v1/categories/?kind=expense", token=access).json()
        body = {
            "name": "shops",
            "field": "description",
            "operator": "regex",
            "value": r"^Shop \d*[13579]$",
            "category": categories["results"][0]["id"],
        }
        server.call("POST", "/api/v1/rules/", body=body, token=access)
        started = time.perf_counter()
        reply = answered(
            c,
            server.call(
                "POST", "/api/v1/rules/apply/", body={"only_uncategorized": True}, token=access
            ),
            started,
        )
        if reply.status == 202:
            run = reply.json()["id"]
            poll(c, f"/api/v1/rules/apply/{run}/", lambda r: r["status"], {"done", "failed"})

    def change_status(me: dict[str, Any]) -> str | None:
        return (me.get("base_currency_change") or {}).get("status")

    @case(f"base currency USD→GBP over {rows:,} records", "200, or 202 + poll")
    def _(c: Case) -> None:
        started = time.perf_counter()
        reply = answered(
            c,
            server.call("PATCH", "/api/v1/auth/me/", body={"base_currency": "GBP"}, token=access),
            started,
        )
        if reply.status == 202:
            poll(c, "/api/v1/auth/me/", change_status, {"done", "failed"})

    @case("two simultaneous base currency changes", "no 5xx (202/409)")
    def _(c: Case) -> None:
        replies: list[int] = []
        durations: list[float] = []
        barrier = threading.Barrier(2)

        def go(code: str) -> None:
            barrier.wait()
            started = time.perf_counter()
            reply = server.call(
                "PATCH", "/api/v1/auth/me/", body={"base_currency": code}, token=access
            )
            durations.append(time.perf_counter() - started)
            replies.append(reply.status)

        threads = [threading.Thread(target=go, args=(code,)) for code in ("EUR", "CHF")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        c.statuses.extend(replies)
        c.answer_s = round(max(durations), 2)
        if 202 in replies:
            poll(c, "/api/v1/auth/me/", change_status, {"done", "failed"})

    content = statement_csv(import_rows, seed=1)
    batch: dict[str, Any] = {}

    @case(f"import preview, {import_rows:,} rows ({len(content) // 1024} KB)", "201")
    def _(c: Case) -> None:
        body, ctype = multipart({}, {"file": ("big.csv", content)})
        reply = server.raw("POST", "/api/v1/imports/", body, ctype, access)
        c.statuses.append(reply.status)
        if reply.status == 201:
            batch.update(reply.json())

    def batch_status(b: dict[str, Any]) -> str | None:
        return b.get("status")

    @case(f"import commit, {import_rows:,} rows", "200, or 202 + poll")
    def _(c: Case) -> None:
        started = time.perf_counter()
        path = f"/api/v1/imports/{batch['id']}/"
        reply = answered(c, server.call("POST", f"{path}commit/", body={}, token=access), started)
        if reply.status == 202:
            poll(c, path, batch_status, {"committed", "failed"})

    @case(f"import undo, {import_rows:,} rows", "2xx, or 202 + poll")
    def _(c: Case) -> None:
        started = time.perf_counter()
        path = f"/api/v1/imports/{batch['id']}/"
        reply = answered(c, server.call("DELETE", path, token=access), started)
        if reply.status == 202:
            poll(c, path, batch_status, {"undone", "failed"})

    big = statement_csv(230_000, seed=2)

    @case(f"import preview, 230,000 rows ({len(big) // 1024} KB)", "400 (row limit)")
    def _(c: Case) -> None:
        body, ctype = multipart({}, {"file": ("huge.csv", big)})
        c.statuses.append(server.raw("POST", "/api/v1/imports/", body, ctype, access).status)

    return cases


@contextlib.contextmanager
def celery_worker(env: dict[str, str]) -> Iterator[int]:
    """A real Celery worker (solo pool) on the Redis broker, as in production."""
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "budget_tracker", "worker", "--pool=solo",
         "--without-heartbeat", "--without-mingle", "--without-gossip", "--loglevel=WARNING"],
        cwd=Path(__file__).resolve().parents[1],
        env=env,
    )  # fmt: skip
    try:
        time.sleep(3)
        if worker.poll() is not None:
            raise SystemExit(f"celery worker exited with {worker.returncode}")
        yield worker.pid
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=60_000)
    parser.add_argument("--import-rows", type=int, default=100_000)
    parser.add_argument("--json", type=Path, default=RESULTS)
    args = parser.parse_args()

    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB_NAME}")
    base_url = ADMIN_URL.rsplit("/", 1)[0]
    os.environ["DATABASE_URL"] = f"{base_url}/{DB_NAME}"
    env = production_env(
        DATABASE_URL=os.environ["DATABASE_URL"],
        CACHE_URL=CACHE_URL,
        CELERY_BROKER_URL=BROKER_URL,
        CELERY_TASK_ALWAYS_EAGER="false",
        CONN_MAX_AGE="0",
    )
    manage("migrate", "--noinput", env=env)
    for url in (CACHE_URL, BROKER_URL):  # throttle counts and tasks of an earlier run
        redis.Redis.from_url(url).flushdb()
    print(
        f"gunicorn: 3 workers, {WORKER_TIMEOUT_S} s timeout, memory ceiling {MEMORY_CEILING_MB} MB"
    )
    with (
        celery_worker(env) as celery_pid,
        gunicorn(env, workers=3, timeout=WORKER_TIMEOUT_S) as base,
    ):
        cases = run_cases(Server(base, celery_pid), rows=args.rows, import_rows=args.import_rows)

    header = (
        f"{'case':52} {'expected':20} {'statuses':12} {'answer s':>8} {'total s':>8} "
        f"{'peak MB':>8} {'grew MB':>8}  ok  note"
    )
    print("\n" + header + "\n" + "-" * len(header))
    for c in cases:
        statuses = ",".join(str(s) for s in sorted(set(c.statuses)))
        print(
            f"{c.name[:52]:52} {c.expect[:20]:20} {statuses[:12]:12} {c.longest_answer:8.2f} "
            f"{c.seconds:8.2f} {c.peak_mb:8.1f} {c.growth_mb:8.1f}  {'yes' if c.ok else 'NO '} "
            f"{c.note[:40]}"
        )
    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps(
            {
                "machine": machine,
                "python": sys.version.split()[0],
                "cases": [c.__dict__ | {"ok": c.ok} for c in cases],
            },
            indent=2,
        )
    )
    print(f"\nsaved {args.json}")
    sys.exit(0 if all(c.ok for c in cases) else 1)


if __name__ == "__main__":
    main()
