"""Load the API through gunicorn on 127.0.0.1 with locust, next to a bare DRF endpoint.

    .venv/bin/python -m bench.load [--users 30] [--duration 60] [--isolated 45]

Uses the bench data set (`bench.dataset`, built if missing). Starts gunicorn on a free
127.0.0.1 port with production-like settings and `bench.settings_load`, whose URLconf
adds `/bench/ping/`. Then runs locust headless, without think time:

1. the scenario (`ApiUser` in bench/locustfile.py): every simulated user logs in once
   as a random `bench_user_NNNN`, then loops over the expense list, creating an
   expense, the budget status and the dashboard;
2. the ceiling: `/bench/ping/` alone (`PingUser`), with the same number of users;
3. unless `--isolated 0`: each scenario endpoint alone, so its own ceiling can be put
   beside ping's.

Throughput is measured once every user has logged in (the logins' password hashing
would otherwise be counted against the endpoints); latency percentiles and failures
cover the whole phase. Expenses the run created are deleted at the end. Every phase
is bounded by `--duration` and gunicorn is always stopped. Results: a table on stdout
and bench/results/load.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
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

from bench import dataset

HOST = "127.0.0.1"
BENCH_DIR = Path(__file__).resolve().parent
DEFAULT_JSON = BENCH_DIR / "results" / "load.json"
LOCUSTFILE = BENCH_DIR / "locustfile.py"
VENV_BIN = Path(sys.executable).parent
STARTUP_TIMEOUT = 60.0
# Extra seconds a locust run may take past --run-time (spawning, logins, shutdown).
LOCUST_GRACE = 90.0
SCENARIO_ENDPOINTS = {
    "expense_list": "GET /api/v1/expenses/",
    "expense_create": "POST /api/v1/expenses/",
    "budget_status": "GET /api/v1/budgets/status/",
    "dashboard": "GET /api/v1/reports/dashboard/",
}
LOGIN = "POST /api/v1/auth/token/"
PING = "GET /bench/ping/"


@dataclass
class Gunicorn:
    workers: int
    worker_class: str
    threads: int
    timeout: int
    port: int = 0

    def argv(self) -> list[str]:
        return [
            str(VENV_BIN / "gunicorn"),
            "budget_tracker.wsgi:application",
            "--bind",
            f"{HOST}:{self.port}",
            "--workers",
            str(self.workers),
            "--worker-class",
            self.worker_class,
            "--threads",
            str(self.threads),
            "--timeout",
            str(self.timeout),
            "--graceful-timeout",
            "10",
            "--backlog",
            "2048",
            "--log-level",
            "warning",
        ]


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
    user_class: str
    only: str = ""  # one ApiUser task run alone
    rows: list[Row] = field(default_factory=list)
    locust_exit_code: int | None = None
    run_seconds: float = 0.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def server_env(url: str) -> dict[str, str]:
    """Production-like settings: DEBUG off, Redis cache, persistent connections."""
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "bench.settings_load",
            "DATABASE_URL": url,
            "DEBUG": "false",
            "SECRET_KEY": os.environ.get(
                "SECRET_KEY", "bench-only-secret-key-0f3c9a7e5d1b4c2a8e6f0d9b7a5c3e1f"
            ),
            "ALLOWED_HOSTS": HOST,
            "CACHE_URL": os.environ.get("BENCH_CACHE_URL", "redis://127.0.0.1:6379/12"),
            "CONN_MAX_AGE": "60",
            # Every simulated user logs in from 127.0.0.1 within a second.
            "THROTTLE_LOGIN_RATE": "1000000/min",
            "THROTTLE_REGISTER_RATE": "1000000/min",
            "THROTTLE_PASSWORD_RESET_RATE": "1000000/min",
            "JWT_ACCESS_MINUTES": "720",
            "LOG_LEVEL": "WARNING",
            # Static files are not collected for a benchmark.
            "PYTHONWARNINGS": "ignore:No directory at:UserWarning",
            "PYTHONPATH": str(dataset.PROJECT_ROOT),
        }
    )
    return env


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


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def _float(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        return 0.0


def steady_rates(history_csv: Path, users: int) -> dict[str, float]:
    """Requests per second per endpoint from the moment every user had logged in."""
    if not history_csv.exists():
        return {}
    samples: dict[str, list[tuple[float, int]]] = {}
    with history_csv.open() as f:
        for record in csv.DictReader(f):
            name = record["Name"]  # the locustfile's names already carry the method
            stamp = float(record["Timestamp"])
            samples.setdefault(name, []).append((stamp, int(record["Total Request Count"])))
    logins = samples.get(LOGIN, [])
    start = next((t for t, count in logins if count >= users), None)
    rates = {}
    for name, points in samples.items():
        if name == LOGIN:
            continue
        window = [(t, count) for t, count in points if start is None or t >= start]
        if len(window) >= 2 and window[-1][0] > window[0][0]:
            (t0, c0), (t1, c1) = window[0], window[-1]
            rates[name] = (c1 - c0) / (t1 - t0)
    return rates


def read_rows(prefix: Path, users: int) -> list[Row]:
    failures: dict[str, list[str]] = {}
    failures_csv = Path(f"{prefix}_failures.csv")
    if failures_csv.exists():
        with failures_csv.open() as f:
            for record in csv.DictReader(f):
                name = record["Name"]
                failures.setdefault(name, []).append(
                    f"{record['Occurrences']}× {record['Error']}"[:300]
                )
    rates = steady_rates(Path(f"{prefix}_stats_history.csv"), users)
    rows = []
    with Path(f"{prefix}_stats.csv").open() as f:
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


def run_locust(
    phase: Phase, *, port: int, users: int, duration: int, out_dir: Path, env: dict[str, str]
) -> None:
    prefix = out_dir / phase.label
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
    ]
    argv.append(phase.user_class)
    print(f"Phase {phase.label}: {users} users, {duration} s ...", flush=True)
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
    phase.rows = read_rows(prefix, users if phase.user_class == "ApiUser" else 0)


def max_expense_id(url: str) -> int:
    with dataset.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT coalesce(max(id), 0) FROM expenses_expense").fetchone()
    return int(row[0]) if row else 0


def delete_created_expenses(after_id: int) -> int:
    """Keep the data set as built: remove what the run's POSTs added (through the ORM,
    so anything that cascades from an expense goes too)."""
    from expenses.models import Expense

    deleted, _ = Expense.objects.filter(
        id__gt=after_id, user__username__startswith="bench_user_"
    ).delete()
    return deleted


def gunicorn_version() -> str:
    import gunicorn

    return gunicorn.__version__


def locust_version() -> str:
    from importlib.metadata import version

    return version("locust")


def print_table(phases: list[Phase], ping_rps: float) -> None:
    headers = (
        "phase",
        "endpoint",
        "requests",
        "req/s",
        "steady req/s",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "max ms",
        "failures",
        "× ping",
    )
    lines = []
    for phase in phases:
        for row in phase.rows:
            if row.name == "Aggregated" and len(phase.rows) <= 2:
                continue
            ratio = f"{row.steady_rps / ping_rps:.2f}" if ping_rps and row.name != LOGIN else ""
            lines.append(
                (
                    phase.label,
                    row.name,
                    str(row.requests),
                    f"{row.rps:.1f}",
                    f"{row.steady_rps:.1f}" if row.name != LOGIN else "",
                    f"{row.p50:.0f}",
                    f"{row.p95:.0f}",
                    f"{row.p99:.0f}",
                    f"{row.max:.0f}",
                    str(row.failures),
                    ratio,
                )
            )
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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=30, help="concurrent users (default 30)")
    parser.add_argument(
        "--duration", type=int, default=60, help="seconds per main phase (default 60)"
    )
    parser.add_argument(
        "--isolated",
        type=int,
        default=45,
        help="seconds for each endpoint alone; 0 skips these phases (default 45)",
    )
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers (default 3)")
    parser.add_argument(
        "--worker-class", default="sync", help="gunicorn worker class (default sync)"
    )
    parser.add_argument("--threads", type=int, default=1, help="threads per worker (gthread)")
    parser.add_argument("--timeout", type=int, default=30, help="gunicorn worker timeout (s)")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help="where to write results")
    args = parser.parse_args(argv)
    if not 1 <= args.users <= 500 or not 5 <= args.duration <= 600:
        raise SystemExit("--users must be 1..500 and --duration 5..600")

    meta = dataset.ensure()
    url = dataset.database_url()
    from bench.reports import machine_info

    config = Gunicorn(args.workers, args.worker_class, args.threads, args.timeout, free_port())
    env = server_env(url)
    locust_env = dict(
        os.environ,
        LOAD_PASSWORD=dataset.HEAVY_PASSWORD,
        LOAD_USER_COUNT=str(meta["plan"]["normal_users"]),
    )
    phases = [Phase("scenario", "ApiUser"), Phase("ping", "PingUser")]
    if args.isolated:
        phases += [Phase(f"only_{task}", "ApiUser", only=task) for task in SCENARIO_ENDPOINTS]

    first_new_id = max_expense_id(url)
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        out_dir = Path(tmp)
        log_path = out_dir / "gunicorn.log"
        with log_path.open("wb") as log:
            print(f"Starting gunicorn: {' '.join(config.argv()[1:])}", flush=True)
            server = subprocess.Popen(
                config.argv(), env=env, cwd=dataset.PROJECT_ROOT, stdout=log, stderr=log
            )
            try:
                wait_until_up(server, config.port)
                for phase in phases:
                    duration = (
                        args.duration if phase.label in ("scenario", "ping") else (args.isolated)
                    )
                    run_locust(
                        phase,
                        port=config.port,
                        users=args.users,
                        duration=duration,
                        out_dir=out_dir,
                        env=locust_env,
                    )
            finally:
                stop(server)
        server_log = log_path.read_text(errors="replace").splitlines()

    deleted = delete_created_expenses(first_new_id)
    from django.db import connection

    connection.close()

    ping_row = next((r for r in phases[1].rows if r.name == PING), None)
    ping_rps = ping_row.steady_rps if ping_row else 0.0
    print()
    print_table(phases, ping_rps)
    failures = sum(r.failures for p in phases for r in p.rows if r.name != "Aggregated")
    print(f"\nFailures: {failures}. Expenses created and then deleted: {deleted}.")
    for phase in phases:
        for row in phase.rows:
            for sample in row.failure_samples:
                print(f"  {phase.label} {row.name}: {sample}")
    worker_noise = [line for line in server_log if line.strip()]
    if worker_noise:
        print(f"gunicorn log ({len(worker_noise)} lines, last 20):")
        print("\n".join(worker_noise[-20:]))

    with dataset.connect(url, autocommit=True) as conn:
        machine = machine_info(conn)
    machine["settings"] = {
        "DJANGO_SETTINGS_MODULE": env["DJANGO_SETTINGS_MODULE"],
        "DEBUG": False,
        "CONN_MAX_AGE": int(env["CONN_MAX_AGE"]),
        "CACHE_URL": env["CACHE_URL"],
        "THROTTLE_LOGIN_RATE": env["THROTTLE_LOGIN_RATE"],
    }
    report = {
        "machine": machine,
        "gunicorn": {**asdict(config), "version": gunicorn_version()},
        "locust": {
            "version": locust_version(),
            "users": args.users,
            "spawn_rate": args.users,
            "wait_time": 0,
            "duration_s": args.duration,
            "isolated_duration_s": args.isolated,
            "user_class": "FastHttpUser",
        },
        "dataset": {"database": meta["database"], "built_on": meta["built_on"]},
        "ping_steady_rps": ping_rps,
        "failures": failures,
        "expenses_deleted_after": deleted,
        "gunicorn_log_tail": worker_noise[-50:],
        "phases": [
            {
                **{k: v for k, v in asdict(p).items() if k != "rows"},
                "rows": [
                    {
                        **asdict(r),
                        "ratio_to_ping": (
                            round(r.steady_rps / ping_rps, 3)
                            if ping_rps and r.name != LOGIN
                            else None
                        ),
                    }
                    for r in p.rows
                ],
            }
            for p in phases
        ],
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    print(f"Wrote {args.json}")


if __name__ == "__main__":
    main()
