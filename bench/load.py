"""Load the API through gunicorn on 127.0.0.1 with locust, each endpoint beside /health/.

    .venv/bin/python -m bench.load [--users 10] [--duration 20]
    .venv/bin/python -m bench.load --profile after        # py-spy flame graphs per phase
    .venv/bin/python -m bench.load --sweep sync:3,gthread:3x4 --endpoints expense_list

Uses the bench data set (`bench.dataset`, built if missing). Starts gunicorn on a free
127.0.0.1 port in the production profile (`DJANGO_ENV=production`: DEBUG off, persistent
database connections with health checks, JSON logs) with `bench.settings_load`, whose
URLconf adds `/bench/ping/`, Redis as cache and Celery broker (tasks are queued, as in
production, not run in the request), and the worker class and count of gunicorn.conf.py
unless given. Then, with N concurrent closed-loop clients and no think time, one phase
after the other:

1. `/health/` (no authentication, `SELECT 1`): the yardstick every endpoint is divided by;
2. `/bench/ping/`: a DRF view with no database at all, the framework's own ceiling;
3. each endpoint alone (`--endpoints`), for the heavy user (`bench_heavy`, 1,000,000
   expenses, all clients on one account) and for ordinary users (`--who`; 1,000 expenses
   each, one account per client); the access tokens are obtained before the phases, so
   no phase pays for a login's password hash;
4. the mixed scenario of ordinary users (list 5 : create 2 : budget status 2 : dashboard 1);
5. `/health/` again: the machine's drift over the run (other work on the same cores).

Per phase: steady req/s (from the 3rd second on), p50/p95/p99/max latency, failures,
new database sessions opened on the server (0 once every worker holds its persistent
connection) and req/s ÷ /health/'s (the mean of both /health/ phases). Expenses and
notifications the run created, and the tasks it queued, are removed at the end.
Results: a table on stdout and bench/results/load.json (with `--sweep`, one run per
gunicorn configuration, then a comparison table).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import runpy
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench import dataset

HOST = "127.0.0.1"
BENCH_DIR = Path(__file__).resolve().parent
DEFAULT_JSON = BENCH_DIR / "results" / "load.json"
PROFILES_DIR = BENCH_DIR / "profiles"
LOCUSTFILE = BENCH_DIR / "locustfile.py"
VENV_BIN = Path(sys.executable).parent
STARTUP_TIMEOUT = 60.0
# Extra seconds a locust run may take past --run-time (spawning, shutdown).
LOCUST_GRACE = 60.0
# Seconds at the start of a phase left out of its req/s (spawning, first requests).
WARMUP_SECONDS = 3.0
ENDPOINTS = {
    "expense_list": "GET /api/v1/expenses/",
    "expense_create": "POST /api/v1/expenses/",
    "budget_status": "GET /api/v1/budgets/status/",
    "dashboard": "GET /api/v1/reports/dashboard/",
}
HEALTH = "GET /health/"
PING = "GET /bench/ping/"
SCENARIO = "scenario"
CACHE_URL = os.environ.get("BENCH_CACHE_URL", "redis://127.0.0.1:6379/12")
BROKER_URL = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/13")
CREATED_DESCRIPTION = "Load test coffee"  # bench/locustfile.py writes it


@dataclass
class Gunicorn:
    """A gunicorn configuration; None leaves the setting to gunicorn.conf.py."""

    workers: int | None = None
    worker_class: str | None = None
    threads: int | None = None
    timeout: int = 30
    port: int = 0

    @classmethod
    def parse(cls, text: str) -> Gunicorn:
        """`sync:3` (3 sync workers) or `gthread:3x4` (3 workers of 4 threads)."""
        kind, _, size = text.partition(":")
        workers, _, threads = size.partition("x")
        if kind not in ("sync", "gthread") or not workers.isdigit():
            raise argparse.ArgumentTypeError(f"{text!r}: use sync:N or gthread:NxT")
        return cls(int(workers), kind, int(threads) if threads.isdigit() else 1)

    def argv(self) -> list[str]:
        argv = [
            str(VENV_BIN / "gunicorn"),
            "budget_tracker.wsgi:application",
            "--bind",
            f"{HOST}:{self.port}",
            "--timeout",
            str(self.timeout),
            "--graceful-timeout",
            "10",
            "--backlog",
            "2048",
            "--log-level",
            "warning",
        ]
        if self.workers is not None:
            argv += ["--workers", str(self.workers)]
        if self.worker_class is not None:
            argv += ["--worker-class", self.worker_class]
        if self.threads is not None:
            argv += ["--threads", str(self.threads)]
        return argv

    def effective(self, env: dict[str, str]) -> dict[str, Any]:
        """What gunicorn will run: these flags, else gunicorn.conf.py read with `env`."""
        saved = dict(os.environ)
        try:
            os.environ.clear()
            os.environ.update(env)
            conf = runpy.run_path(str(dataset.PROJECT_ROOT / "gunicorn.conf.py"))
        finally:
            os.environ.clear()
            os.environ.update(saved)
        workers = self.workers if self.workers is not None else conf.get("workers", 1)
        worker_class = self.worker_class or conf.get("worker_class", "sync")
        threads = self.threads if self.threads is not None else conf.get("threads", 1)
        if worker_class == "sync" and threads > 1:
            worker_class = "gthread"  # what gunicorn itself does with --threads > 1
        return {"workers": workers, "worker_class": worker_class, "threads": threads}

    def label(self, env: dict[str, str]) -> str:
        eff = self.effective(env)
        if eff["worker_class"] == "gthread":
            return f"gthread:{eff['workers']}x{eff['threads']}"
        return f"{eff['worker_class']}:{eff['workers']}"


@dataclass
class Row:
    name: str
    requests: int
    failures: int
    rps: float
    steady_rps: float
    p50: float
    p95: float
    p99: float
    max: float
    failure_samples: list[str] = field(default_factory=list)


@dataclass
class Phase:
    label: str
    who: str  # "" (no account), "heavy" or "ordinary"
    user_class: str
    only: str = ""  # one ApiUser task run alone
    rows: list[Row] = field(default_factory=list)
    locust_exit_code: int | None = None
    run_seconds: float = 0.0
    new_db_sessions: int | None = None
    # CPU seconds over the phase: gunicorn (master and workers), every PostgreSQL process,
    # and the whole machine (all cores, any process: other work on it shows here).
    cpu: dict[str, float] = field(default_factory=dict)
    profile: str | None = None
    profile_summary: list[dict[str, Any]] = field(default_factory=list)

    def main_row(self) -> Row | None:
        if self.label == SCENARIO:
            return next((r for r in self.rows if r.name == "Aggregated"), None)
        return next((r for r in self.rows if r.name != "Aggregated"), None)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def server_env(url: str) -> dict[str, str]:
    """The production profile on 127.0.0.1 over plain HTTP, with Redis for the cache and
    the task queue; CONN_MAX_AGE is production's default (60 s)."""
    from tests.live_server import production_env

    return production_env(
        DJANGO_SETTINGS_MODULE="bench.settings_load",
        DATABASE_URL=url,
        CACHE_URL=CACHE_URL,
        CELERY_BROKER_URL=BROKER_URL,
        CELERY_TASK_ALWAYS_EAGER="false",
        # Every token is obtained from 127.0.0.1 within a second or two.
        THROTTLE_LOGIN_RATE="1000000/min",
        JWT_ACCESS_MINUTES="720",
        LOG_LEVEL="WARNING",
        # Static files are not collected for an API benchmark.
        PYTHONWARNINGS="ignore:No directory at:UserWarning",
        PYTHONPATH=str(dataset.PROJECT_ROOT),
    )


def wait_until_up(proc: subprocess.Popen[bytes], port: int) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"gunicorn exited with {proc.returncode} before answering")
        try:
            with urllib.request.urlopen(f"http://{HOST}:{port}/bench/ping/", timeout=2) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.3)
    raise SystemExit(f"gunicorn did not answer within {STARTUP_TIMEOUT:.0f} s")


def stop(proc: subprocess.Popen[Any]) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def obtain_token(port: int, username: str, password: str) -> str:
    request = urllib.request.Request(
        f"http://{HOST}:{port}/api/v1/auth/token/",
        data=json.dumps({"username": username, "password": password}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return str(json.load(response)["access"])


def ordinary_usernames(count: int, available: int) -> list[str]:
    """`count` distinct bench users spread over the `available` ones."""
    step = max(available // max(count, 1), 1)
    return [f"bench_user_{1 + i * step:04d}" for i in range(min(count, available))]


def _float(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        return 0.0


def steady_rates(history_csv: Path) -> dict[str, float]:
    """Requests per second per endpoint after the first WARMUP_SECONDS of the phase."""
    if not history_csv.exists():
        return {}
    samples: dict[str, list[tuple[float, int]]] = {}
    with history_csv.open() as f:
        for record in csv.DictReader(f):
            samples.setdefault(record["Name"], []).append(
                (float(record["Timestamp"]), int(record["Total Request Count"]))
            )
    rates = {}
    for name, points in samples.items():
        first = points[0][0] if points else 0.0
        window = [(t, count) for t, count in points if t >= first + WARMUP_SECONDS]
        if len(window) >= 2 and window[-1][0] > window[0][0]:
            (t0, c0), (t1, c1) = window[0], window[-1]
            rates[name] = (c1 - c0) / (t1 - t0)
    return rates


def read_rows(prefix: Path) -> list[Row]:
    failures: dict[str, list[str]] = {}
    failures_csv = Path(f"{prefix}_failures.csv")
    if failures_csv.exists():
        with failures_csv.open() as f:
            for record in csv.DictReader(f):
                failures.setdefault(record["Name"], []).append(
                    f"{record['Occurrences']}× {record['Error']}"[:300]
                )
    rates = steady_rates(Path(f"{prefix}_stats_history.csv"))
    rows = []
    stats_csv = Path(f"{prefix}_stats.csv")
    if not stats_csv.exists():
        return rows
    with stats_csv.open() as f:
        for record in csv.DictReader(f):
            name = record["Name"]
            rows.append(
                Row(
                    name=name,
                    requests=int(record["Request Count"]),
                    failures=int(record["Failure Count"]),
                    rps=_float(record["Requests/s"]),
                    steady_rps=rates.get(name, _float(record["Requests/s"])),
                    p50=_float(record["50%"]),
                    p95=_float(record["95%"]),
                    p99=_float(record["99%"]),
                    max=_float(record["Max Response Time"]),
                    failure_samples=failures.get(name, []),
                )
            )
    return rows


def db_sessions(url: str) -> int:
    """Sessions ever opened on the bench database (PostgreSQL ≥ 14 counts them)."""
    with dataset.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT sessions FROM pg_stat_database WHERE datname = current_database()"
        ).fetchone()
    return int(row[0]) if row else 0


CORES = os.cpu_count() or 1
CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _process_cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _postgres_pids() -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres":
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def cpu_snapshot(server_pid: int) -> dict[str, Any]:
    """CPU seconds so far of the app server, of PostgreSQL (per process, so one that
    exits meanwhile is left out rather than counted negative) and of the machine."""
    busy = 0.0
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
        busy = (sum(values) - values[3] - values[4]) / CLOCK_TICKS  # all but idle, iowait
    except (OSError, ValueError, IndexError):
        pass
    app = sum(_process_cpu(pid) for pid in [server_pid, *_children(server_pid)])
    return {
        "app": app,
        "db": {pid: _process_cpu(pid) for pid in _postgres_pids()},
        "machine": busy,
    }


def cpu_used(before: dict[str, Any], after: dict[str, Any]) -> dict[str, float]:
    db = sum(t - before["db"].get(pid, 0.0) for pid, t in after["db"].items())
    return {
        "app_s": round(after["app"] - before["app"], 2),
        "db_s": round(db, 2),
        "machine_s": round(after["machine"] - before["machine"], 2),
    }


def start_profiler(server: subprocess.Popen[bytes], path: Path, seconds: float) -> Any:
    """py-spy sampling every gunicorn worker (not the idle ones) into collapsed stacks
    (`bench.flamegraph` draws them)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [
            str(VENV_BIN / "py-spy"),
            "record",
            "--pid",
            str(server.pid),
            "--subprocesses",
            "--nonblocking",
            "--rate",
            "50",
            "--duration",
            str(max(int(seconds), 1)),
            "--function",
            "--format",
            "raw",
            "--output",
            str(path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def save_profile(phase: Phase, stacks: Path, name: str) -> None:
    from bench import flamegraph

    svg = PROFILES_DIR / f"{name}.svg"
    root = flamegraph.write(stacks, svg, title=f"{name}: {phase.label}")
    phase.profile = str(svg.relative_to(dataset.PROJECT_ROOT))
    top = flamegraph.summary(root, top=40)
    phase.profile_summary = [
        {"function": fn, "inclusive_percent": round(inc, 1), "self_percent": round(own, 1)}
        for fn, inc, own in top
    ]
    lines = [f"{inc:5.1f}% {own:5.1f}%  {fn}\n" for fn, inc, own in top]
    (PROFILES_DIR / f"{name}.txt").write_text(
        f"{name}: {phase.label}, {root.count} samples (inclusive %, self %)\n" + "".join(lines)
    )


def run_locust(
    phase: Phase,
    *,
    port: int,
    users: int,
    duration: int,
    out_dir: Path,
    env: dict[str, str],
) -> None:
    prefix = out_dir / phase.label.replace(":", "-")
    argv = [
        str(VENV_BIN / "locust"),
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "--only-summary",
        "-u",
        str(users),
        "-r",
        str(users),
        "--run-time",
        f"{duration}s",
        "--stop-timeout",
        "10",
        "--host",
        f"http://{HOST}:{port}",
        "--csv",
        str(prefix),
        "--csv-full-history",
        "--loglevel",
        "WARNING",
        phase.user_class,
    ]
    started = time.monotonic()
    result = subprocess.run(
        argv,
        env={**env, "LOAD_ONLY": phase.only},
        cwd=dataset.PROJECT_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        timeout=duration + LOCUST_GRACE,
        check=False,
    )
    phase.run_seconds = round(time.monotonic() - started, 1)
    phase.locust_exit_code = result.returncode
    if result.returncode not in (0, 1):  # 1 means "some requests failed", shown below
        print(result.stderr.decode(errors="replace")[-3000:], file=sys.stderr)
    phase.rows = read_rows(prefix)


def plan_phases(endpoints: list[str], who: list[str], scenario: bool) -> list[Phase]:
    phases = [Phase("health", "", "HealthUser"), Phase("ping", "", "PingUser")]
    for kind in who:
        phases += [Phase(f"{kind}:{task}", kind, "ApiUser", only=task) for task in endpoints]
    if scenario:
        phases.append(Phase(SCENARIO, "ordinary", "ApiUser"))
    phases.append(Phase("health_again", "", "HealthUser"))
    return phases


def max_id(url: str, table: str) -> int:
    with dataset.connect(url, autocommit=True) as conn:
        row = conn.execute(f"SELECT coalesce(max(id), 0) FROM {table}").fetchone()
    return int(row[0]) if row else 0


def clean_up(url: str, first_expense: int, first_notification: int) -> dict[str, int]:
    """Keep the data set as built: delete what the run's POSTs added (through the ORM, so
    whatever cascades from an expense goes too), the notifications their budget alerts
    sent, and the background tasks they queued."""
    import redis

    from expenses.models import Expense
    from notifications.models import Notification

    deleted, _ = Expense.objects.filter(
        id__gt=first_expense, description=CREATED_DESCRIPTION, user__username__startswith="bench_"
    ).delete()
    notified, _ = Notification.objects.filter(
        id__gt=first_notification, user__username__startswith="bench_"
    ).delete()
    broker = redis.Redis.from_url(BROKER_URL)
    queued = int(broker.llen("celery"))
    broker.flushdb()
    return {"expenses_deleted": deleted, "notifications_deleted": notified, "tasks_queued": queued}


def health_rps(phases: list[Phase]) -> float:
    rates = [
        row.steady_rps
        for p in phases
        if p.label in ("health", "health_again")
        for row in [p.main_row()]
        if row is not None and row.steady_rps
    ]
    return sum(rates) / len(rates) if rates else 0.0


def print_table(phases: list[Phase], health: float) -> None:
    headers = (
        "phase",
        "endpoint",
        "requests",
        "req/s",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "max ms",
        "failures",
        "new db sessions",
        "app CPU ms/req",
        "db CPU ms/req",
        "machine busy %",
        "× /health/",
    )
    lines = []
    for phase in phases:
        total = sum(r.requests for r in phase.rows if r.name != "Aggregated") or 1
        seconds = phase.run_seconds or 1
        for row in phase.rows:
            if row.name == "Aggregated" and phase.label != SCENARIO:
                continue
            ratio = f"{row.steady_rps / health:.2f}" if health else ""
            whole = row.name == "Aggregated" or phase.label != SCENARIO
            cpu = phase.cpu if whole and phase.cpu else {}
            lines.append(
                (
                    phase.label,
                    row.name if row.name != "Aggregated" else "(all)",
                    str(row.requests),
                    f"{row.steady_rps:.1f}",
                    f"{row.p50:.0f}",
                    f"{row.p95:.0f}",
                    f"{row.p99:.0f}",
                    f"{row.max:.0f}",
                    str(row.failures),
                    "" if phase.new_db_sessions is None else str(phase.new_db_sessions),
                    f"{1000 * cpu['app_s'] / total:.1f}" if cpu else "",
                    f"{1000 * cpu['db_s'] / total:.1f}" if cpu else "",
                    f"{100 * cpu['machine_s'] / seconds / CORES:.0f}" if cpu else "",
                    ratio,
                )
            )
    print_lines(headers, lines)


def print_lines(headers: tuple[str, ...], lines: list[tuple[str, ...]]) -> None:
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(headers)]
    print(" | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    print("-+-".join("-" * w for w in widths))
    for line in lines:
        print(
            " | ".join(
                cell.ljust(w) if i < 2 else cell.rjust(w)
                for i, (cell, w) in enumerate(zip(line, widths, strict=True))
            )
        )


def run_config(
    config: Gunicorn,
    args: argparse.Namespace,
    *,
    url: str,
    meta: dict[str, Any],
    env: dict[str, str],
) -> dict[str, Any]:
    config.port = free_port()
    effective = config.effective(env)
    label = config.label(env)
    phases = plan_phases(args.endpoints, args.who, args.scenario)
    first_expense = max_id(url, "expenses_expense")
    first_notification = max_id(url, "notifications_notification")
    tag = args.profile
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        out_dir = Path(tmp)
        log_path = out_dir / "gunicorn.log"
        with log_path.open("wb") as log:
            print(f"\n[{label}] gunicorn {' '.join(config.argv()[2:])}", flush=True)
            server = subprocess.Popen(
                config.argv(), env=env, cwd=dataset.PROJECT_ROOT, stdout=log, stderr=log
            )
            try:
                wait_until_up(server, config.port)
                heavy = obtain_token(config.port, dataset.HEAVY_USERNAME, dataset.HEAVY_PASSWORD)
                names = ordinary_usernames(args.users, int(meta["plan"]["normal_users"]))
                ordinary = [
                    obtain_token(config.port, name, dataset.HEAVY_PASSWORD) for name in names
                ]
                tokens = {"": "", "heavy": heavy, "ordinary": ",".join(ordinary)}
                for phase in phases:
                    print(f"  {phase.label}: {args.users} clients, {args.duration} s", flush=True)
                    sessions_before = db_sessions(url)
                    cpu_before = cpu_snapshot(server.pid)
                    profiler = None
                    stacks = out_dir / f"{phase.label.replace(':', '-')}.stacks"
                    if tag and phase.label not in ("ping", "health_again"):
                        profiler = start_profiler(server, stacks, args.duration - 1)
                    run_locust(
                        phase,
                        port=config.port,
                        users=args.users,
                        duration=args.duration,
                        out_dir=out_dir,
                        env={
                            **os.environ,
                            "LOAD_TOKENS": tokens[phase.who],
                            "LOAD_PASSWORD": dataset.HEAVY_PASSWORD,
                            "LOAD_USER_COUNT": str(meta["plan"]["normal_users"]),
                        },
                    )
                    if profiler is not None:
                        try:
                            profiler.wait(timeout=30)
                        except subprocess.TimeoutExpired:
                            stop(profiler)
                        if stacks.exists():
                            save_profile(phase, stacks, f"{tag}-{phase.label.replace(':', '-')}")
                    # Less the one this count itself opened.
                    phase.cpu = cpu_used(cpu_before, cpu_snapshot(server.pid))
                    phase.new_db_sessions = db_sessions(url) - sessions_before - 1
            finally:
                stop(server)
        server_log = [line for line in log_path.read_text(errors="replace").splitlines() if line]

    cleaned = clean_up(url, first_expense, first_notification)
    health = health_rps(phases)
    print(f"\n[{label}] {args.users} concurrent clients, {args.duration} s per phase")
    print_table(phases, health)
    failures = sum(r.failures for p in phases for r in p.rows if r.name != "Aggregated")
    print(
        f"Failures: {failures}. Cleaned up: {cleaned['expenses_deleted']} expenses, "
        f"{cleaned['notifications_deleted']} notifications, {cleaned['tasks_queued']} "
        "queued tasks (anomaly checks of the created expenses)."
    )
    for phase in phases:
        for row in phase.rows:
            for sample in row.failure_samples:
                print(f"  {phase.label} {row.name}: {sample}")
    if server_log:
        print(f"gunicorn log ({len(server_log)} lines, last 20):")
        print("\n".join(server_log[-20:]))
    return {
        "gunicorn": {**asdict(config), **effective, "label": label},
        "health_rps": health,
        "failures": failures,
        "cleanup": cleaned,
        "gunicorn_log_tail": server_log[-50:],
        "phases": [
            {
                **{k: v for k, v in asdict(p).items() if k != "rows"},
                "rows": [
                    {
                        **asdict(r),
                        "ratio_to_health": round(r.steady_rps / health, 3) if health else None,
                    }
                    for r in p.rows
                ],
            }
            for p in phases
        ],
    }


def print_sweep(runs: list[dict[str, Any]]) -> None:
    """One line per configuration: each phase's req/s and p95."""
    labels = [p["label"] for p in runs[0]["phases"] if p["label"] != "health_again"]
    headers = ("gunicorn", *(f"{label} req/s (p95 ms)" for label in labels))
    lines = []
    for run in runs:
        cells = [run["gunicorn"]["label"]]
        for label in labels:
            phase = next(p for p in run["phases"] if p["label"] == label)
            wanted = "Aggregated" if label == SCENARIO else None
            row = next(
                (r for r in phase["rows"] if (r["name"] == wanted or wanted is None)),
                None,
            )
            if label == SCENARIO and row is None:
                row = phase["rows"][-1] if phase["rows"] else None
            cells.append(f"{row['steady_rps']:.0f} ({row['p95']:.0f})" if row else "n/a")
        lines.append(tuple(cells))
    print("\nSweep (steady req/s, p95 ms in brackets):")
    print_lines(headers, lines)


def gunicorn_version() -> str:
    import gunicorn

    return gunicorn.__version__


def locust_version() -> str:
    from importlib.metadata import version

    return version("locust")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10, help="concurrent clients (default 10)")
    parser.add_argument("--duration", type=int, default=20, help="seconds per phase (default 20)")
    parser.add_argument(
        "--endpoints",
        type=lambda s: [e for e in s.split(",") if e],
        default=list(ENDPOINTS),
        help=f"endpoints measured alone, comma-separated (default: {','.join(ENDPOINTS)})",
    )
    parser.add_argument(
        "--who",
        type=lambda s: [w for w in s.split(",") if w],
        default=["heavy", "ordinary"],
        help="accounts: heavy, ordinary or both (default heavy,ordinary)",
    )
    parser.add_argument(
        "--no-scenario", dest="scenario", action="store_false", help="skip the mixed scenario"
    )
    parser.add_argument("--workers", type=int, help="gunicorn workers (default: gunicorn.conf.py)")
    parser.add_argument("--worker-class", help="sync or gthread (default: gunicorn.conf.py)")
    parser.add_argument("--threads", type=int, help="threads per gthread worker")
    parser.add_argument("--timeout", type=int, default=30, help="gunicorn worker timeout (s)")
    parser.add_argument(
        "--sweep",
        type=lambda s: [Gunicorn.parse(item) for item in s.split(",") if item],
        help="run once per gunicorn configuration, e.g. sync:2,sync:3,gthread:3x4",
    )
    parser.add_argument(
        "--profile",
        metavar="TAG",
        help="record a py-spy flame graph of the workers per phase: bench/profiles/TAG-*.svg",
    )
    parser.add_argument(
        "--no-migrate",
        action="store_true",
        help="use the data set as it is, without applying new migrations",
    )
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help="where to write results")
    args = parser.parse_args(argv)
    if not 1 <= args.users <= 500 or not 5 <= args.duration <= 600:
        raise SystemExit("--users must be 1..500 and --duration 5..600")
    unknown = set(args.endpoints) - set(ENDPOINTS) | set(args.who) - {"heavy", "ordinary"}
    if unknown:
        raise SystemExit(f"unknown endpoint or account kind: {', '.join(sorted(unknown))}")

    url = dataset.database_url()
    if args.no_migrate:
        dataset.configure_django(url)
        meta = dataset.read_meta(url)
        if meta is None:
            raise SystemExit(f"No data set in {dataset.database_name(url)}: run bench.dataset")
        meta["database"] = dataset.database_name(url)
    else:
        meta = dataset.ensure()
    from bench.reports import machine_info

    env = server_env(url)
    configs = args.sweep or [Gunicorn(args.workers, args.worker_class, args.threads, args.timeout)]
    runs = [run_config(config, args, url=url, meta=meta, env=env) for config in configs]
    if len(runs) > 1:
        print_sweep(runs)
    from django.db import connection

    connection.close()

    with dataset.connect(url, autocommit=True) as conn:
        machine = machine_info(conn)
    machine["settings"] = {
        "DJANGO_ENV": env["DJANGO_ENV"],
        "DJANGO_SETTINGS_MODULE": env["DJANGO_SETTINGS_MODULE"],
        "CONN_MAX_AGE": "production default (60)",
        "CACHE_URL": env["CACHE_URL"],
        "CELERY_BROKER_URL": env["CELERY_BROKER_URL"],
    }
    machine["load_average"] = os.getloadavg()
    report = {
        "machine": machine,
        "gunicorn_version": gunicorn_version(),
        "locust": {
            "version": locust_version(),
            "users": args.users,
            "spawn_rate": args.users,
            "wait_time": 0,
            "duration_s": args.duration,
            "warmup_s": WARMUP_SECONDS,
            "user_class": "FastHttpUser",
        },
        "dataset": {"database": meta["database"], "built_on": meta.get("built_on")},
        "runs": runs,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    print(f"Wrote {args.json}")


if __name__ == "__main__":
    main()
