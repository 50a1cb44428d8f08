"""Statement import benchmark: 100 000-row CSV preview + commit, and undo, on PostgreSQL.

    .venv/bin/python -m bench.imports [--rows 100000] [--no-busy] [--profile] [--json PATH]

Uses the bench database (bench/dataset.py; only migrations are needed, not the big
data set). A fresh user first imports statement A (100 000 rows into an empty account),
then statement B: 100 000 rows of which half overlap A, so duplicate detection runs
against the 100 000 rows already stored. Last, A's batch (100 000 records) is undone,
and B's records are checked to be still there. Everything goes through the full stack
(multipart upload, JWT, DRF); commits and undos over IMPORT_ASYNC_ROWS are queued, and
the bench's Celery runs tasks eagerly in-process, so each answer comes once the work
is done.

`--busy` (the default) keeps one core busy for the whole run, as issue 19 asks: a
separate Python process spinning `while True: pass`, pinned with
`os.sched_setaffinity` to the machine's last CPU, at normal priority. The bench and
PostgreSQL are not pinned: they compete with it on that core or use the other ones.
The spinner's own CPU seconds are recorded to show it really ran.

Where the time goes: the import's main steps are wrapped with timers (`PHASES`) and
each import's wall time is split into upload/parse, checks, duplicate detection,
suggestions, storing the preview, insert, post-commit hooks and the rest. `--profile`
also runs each step under pyinstrument and writes bench/profiles/imports-*.txt
(profiling slows the run: its timings are not the figures).

Targets (issue 19): each import's preview + commit < 15 s, the undo < 5 s, busy core
included. Prints a table and writes JSON (bench/results/imports.json); never run by the
test suite.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import json
import os
import platform
import random
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from bench import dataset

RESULTS = Path(__file__).resolve().parent / "results" / "imports.json"
PROFILES = Path(__file__).resolve().parent / "profiles"
USERNAME = "bench_importer"
PASSWORD = "bench-importer-pass-1"
IMPORT_TARGET_SECONDS = 15.0
UNDO_TARGET_SECONDS = 5.0
DESCRIPTIONS = ["Coffee", "Groceries", "Fuel", "Lunch", "Train", "Pharmacy", "Books", "Cinema"]

# The steps timed inside an import: (timer, module, attribute). Wrapped by replacing the
# module attribute, so they count wherever that module calls them by name.
PHASES: list[tuple[str, str, str]] = [
    ("preview", "imports.services", "import_preview"),
    ("parse", "imports.services", "parse_statement"),
    ("check_rows", "imports.services", "_check_rows"),
    ("exact_duplicates", "imports.services", "_mark_duplicates"),
    ("possible_duplicates", "imports.services", "_mark_possible_duplicates"),
    ("suggestions", "imports.services", "_suggest_categories"),
    ("commit", "imports.services", "_commit"),
    ("ledger_import", "imports.services", "expenses_bulk_import"),
    ("ledger_import", "imports.services", "incomes_bulk_import"),
    ("insert", "ledger.services", "transactions_bulk_import"),
    ("retrain", "imports.services", "retrain_after_import"),
    ("announce", "imports.services", "_announce"),
    ("delete", "imports.services", "_delete_records"),
    # Work queued once the commit is in (eager in this bench, on a worker in production).
    ("background", "ai.suggestions", "train_book"),
    ("background", "ai.anomalies", "anomalies_after_write"),
]

# Spins until its parent is gone (a killed bench leaves no spinner behind).
SPINNER = """
import os, sys
os.sched_setaffinity(0, {int(sys.argv[1])})
parent = os.getppid()
while os.getppid() == parent:
    for _ in range(1_000_000):
        pass
"""


def statement(rows: int, *, first_day: date, seed: int) -> bytes:
    """A CSV statement: date, description, amount; about 10% income rows."""
    rng = random.Random(seed)
    lines = ["Date,Description,Amount"]
    for i in range(rows):
        day = first_day + timedelta(days=i // 200)
        if rng.random() < 0.1:
            lines.append(f"{day.isoformat()},Salary {i},{rng.randint(1000, 5000)}.00")
        else:
            cents = rng.randint(100, 20000)
            text = f"{rng.choice(DESCRIPTIONS)} {i}"
            lines.append(f"{day.isoformat()},{text},-{cents // 100}.{cents % 100:02d}")
    return ("\n".join(lines) + "\n").encode()


CPU = "@cpu"  # the key suffix of a timer's CPU seconds (this process)


class PhaseClock:
    """Inclusive wall time and CPU time (`<timer>@cpu`) per timer, over the calls since
    the last `take()`."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    def install(self) -> None:
        for timer, module_name, attribute in PHASES:
            module = importlib.import_module(module_name)
            setattr(module, attribute, self._timed(timer, getattr(module, attribute)))

    def _timed(self, timer: str, func: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(func)
        def timed(*args: Any, **kwargs: Any) -> Any:
            started, cpu_started = time.perf_counter(), time.process_time()
            try:
                return func(*args, **kwargs)
            finally:
                self.seconds[timer] += time.perf_counter() - started
                self.seconds[timer + CPU] += time.process_time() - cpu_started

        return timed

    def take(self) -> dict[str, float]:
        taken, self.seconds = dict(self.seconds), defaultdict(float)
        return taken


def import_phases(
    preview: dict[str, float], commit: dict[str, float], total: float, *, cpu: bool = False
) -> dict[str, float]:
    """An import's wall time (or with `cpu`, this process's CPU time) split into what it
    was spent on (seconds; exclusive)."""
    suffix = CPU if cpu else ""
    preview = {k.removesuffix(suffix): v for k, v in preview.items() if k.endswith(suffix)}
    commit = {k.removesuffix(suffix): v for k, v in commit.items() if k.endswith(suffix)}
    dup_preview = preview.get("exact_duplicates", 0) + preview.get("possible_duplicates", 0)
    dup_commit = commit.get("exact_duplicates", 0) + commit.get("possible_duplicates", 0)
    suggestions = preview.get("suggestions", 0)
    hooks = (
        commit.get("ledger_import", 0)
        - commit.get("insert", 0)
        + commit.get("retrain", 0)
        + commit.get("announce", 0)
    )
    phases = {
        "upload + parse": preview.get("parse", 0),
        "checks (validate, rules, keys)": preview.get("check_rows", 0) - dup_preview - suggestions,
        "duplicate detection (preview)": dup_preview,
        "suggestions (model)": suggestions,
        "store preview batch": preview.get("preview", 0)
        - preview.get("parse", 0)
        - preview.get("check_rows", 0),
        "duplicate detection (commit)": dup_commit,
        "insert (ledger)": commit.get("insert", 0),
        "post-commit hooks": hooks,
        "background tasks (eager here)": commit.get("background", 0),
    }
    phases["rest (HTTP, JSON, locks, load batch)"] = total - sum(phases.values())
    return {name: round(seconds, 3) for name, seconds in phases.items()}


@contextmanager
def cpu_used(into: dict[str, Any], key: str) -> Iterator[None]:
    """CPU seconds the block cost this process and its PostgreSQL backend, in
    `into[key]`: on a machine shared with other work, what wall time cannot show."""
    pid, ticks = _backend_ticks()
    started = time.process_time()
    yield
    python = time.process_time() - started
    pid_after, ticks_after = _backend_ticks()
    postgres = None
    if pid == pid_after and ticks is not None and ticks_after is not None:
        postgres = round((ticks_after - ticks) / os.sysconf("SC_CLK_TCK"), 2)
    into[key] = {"python": round(python, 2), "postgres": postgres}


def _backend_ticks() -> tuple[int, int | None]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    return pid, _cpu_ticks(pid)


@contextmanager
def profiled(label: str, enabled: bool) -> Iterator[None]:
    """Run the block under pyinstrument and save its text report as imports-<label>.txt."""
    if not enabled:
        yield
        return
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.005)
    profiler.start()
    try:
        yield
    finally:
        profiler.stop()
        PROFILES.mkdir(exist_ok=True)
        path = PROFILES / f"imports-{label}.txt"
        path.write_text(profiler.output_text(unicode=True, color=False, short_mode=False))
        print(f"  profile: {path}")


def timed_import(
    client: Any, clock: PhaseClock, content: bytes, name: str, *, profile: str | None
) -> dict[str, Any]:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from expenses.models import Expense
    from income.models import Income

    clock.take()
    cpu: dict[str, Any] = {}
    with profiled(f"{profile}-preview", profile is not None), cpu_used(cpu, "preview"):
        started = time.perf_counter()
        response = client.post(
            "/api/v1/imports/", {"file": SimpleUploadedFile(name, content)}, format="multipart"
        )
        preview_s = time.perf_counter() - started
    if response.status_code != 201:
        raise SystemExit(f"preview failed: {response.status_code} {response.content[:300]!r}")
    preview_clock = clock.take()
    batch = response.json()
    with profiled(f"{profile}-commit", profile is not None), cpu_used(cpu, "commit"):
        started = time.perf_counter()
        committed = client.post(f"/api/v1/imports/{batch['id']}/commit/", {}, format="json")
        queued = committed.status_code == 202
        if queued:  # over IMPORT_ASYNC_ROWS: the (eager) task queue stored it
            while committed.json()["status"] == "committing":
                time.sleep(0.2)
                committed = client.get(f"/api/v1/imports/{batch['id']}/")
            if committed.json()["status"] != "committed":
                raise SystemExit(f"commit failed: {committed.content[:300]!r}")
        elif committed.status_code != 200:
            raise SystemExit(f"commit failed: {committed.status_code} {committed.content[:300]!r}")
        commit_s = time.perf_counter() - started
    commit_clock = clock.take()
    stored = sum(
        model.objects.filter(import_batch_id=batch["id"]).count() for model in (Expense, Income)
    )
    return {
        "batch": batch["id"],
        "rows": batch["total_rows"],
        "new_rows": batch["new_rows"],
        "duplicate_rows": batch["duplicate_rows"],
        "stored": stored,
        "queued": queued,
        "preview_s": round(preview_s, 2),
        "commit_s": round(commit_s, 2),
        "total_s": round(preview_s + commit_s, 2),
        "committed_s": round(commit_s - commit_clock.get("background", 0), 2),
        "cpu_s": cpu,
        "phases_s": import_phases(preview_clock, commit_clock, preview_s + commit_s),
        "phases_cpu_s": import_phases(
            preview_clock,
            commit_clock,
            cpu["preview"]["python"] + cpu["commit"]["python"],
            cpu=True,
        ),
    }


def timed_undo(client: Any, clock: PhaseClock, batch_id: int, *, profile: bool) -> dict[str, Any]:
    from expenses.models import Expense
    from income.models import Income

    before = sum(
        model.objects.filter(import_batch_id=batch_id).count() for model in (Expense, Income)
    )
    clock.take()
    cpu: dict[str, Any] = {}
    with profiled("undo", profile), cpu_used(cpu, "undo"):
        started = time.perf_counter()
        response = client.delete(f"/api/v1/imports/{batch_id}/")
        if response.status_code == 202:
            while response.json()["status"] == "undoing":
                time.sleep(0.2)
                response = client.get(f"/api/v1/imports/{batch_id}/")
            if response.json()["status"] != "undone":
                raise SystemExit(f"undo failed: {response.content[:300]!r}")
        elif response.status_code != 200:
            raise SystemExit(f"undo failed: {response.status_code} {response.content[:300]!r}")
        undo_s = time.perf_counter() - started
    taken = clock.take()
    left = sum(
        model.objects.filter(import_batch_id=batch_id).count() for model in (Expense, Income)
    )
    delete_s = taken.get("delete", 0)
    delete_cpu_s = taken.get("delete" + CPU, 0)
    return {
        "records": before,
        "left": left,
        "undo_s": round(undo_s, 2),
        "cpu_s": cpu["undo"],
        "phases_s": {
            "delete (ledger)": round(delete_s, 3),
            "rest (HTTP, locks, batch)": round(undo_s - delete_s, 3),
        },
        "phases_cpu_s": {
            "delete (ledger)": round(delete_cpu_s, 3),
            "rest (HTTP, locks, batch)": round(cpu["undo"]["python"] - delete_cpu_s, 3),
        },
    }


@contextmanager
def busy_core(enabled: bool) -> Iterator[dict[str, Any]]:
    """A process spinning on the last CPU for the duration (see the module docstring)."""
    info: dict[str, Any] = {"busy": enabled}
    if not enabled:
        yield info
        return
    core = max(os.sched_getaffinity(0))
    spinner = subprocess.Popen([sys.executable, "-c", SPINNER, str(core)])
    started = time.perf_counter()
    info.update(core=core, pid=spinner.pid, method="python `while True: pass` pinned to the core")
    try:
        yield info
    finally:
        ticks = _cpu_ticks(spinner.pid)
        wall = time.perf_counter() - started
        spinner.kill()
        spinner.wait()
        if ticks is not None:
            cpu = ticks / os.sysconf("SC_CLK_TCK")
            info.update(spinner_cpu_s=round(cpu, 1), wall_s=round(wall, 1))
            info["spinner_share_of_core"] = round(cpu / wall, 2) if wall else None


def _cpu_ticks(pid: int) -> int | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[11]) + int(fields[12])  # utime + stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--busy", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--profile", action="store_true", help="pyinstrument → bench/profiles/")
    parser.add_argument("--json", type=Path, default=RESULTS)
    args = parser.parse_args()

    url = dataset.database_url()
    dataset.configure_django(url)
    dataset.migrate()
    from rest_framework.test import APIClient
    from rest_framework_simplejwt.tokens import RefreshToken

    from expenses.models import Expense
    from income.models import Income
    from users.models import User
    from users.services import user_delete, user_register

    existing = User.objects.filter(username=USERNAME).first()
    if existing:
        user_delete(user=existing)
    user = user_register(username=USERNAME, email="importer@bench.invalid", password=PASSWORD)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    clock = PhaseClock()
    clock.install()
    # The first request imports every URLconf module (charts, exports …): not import work.
    client.get("/api/v1/imports/")

    first_day = date(2020, 1, 1)
    half = args.rows // 2
    a = statement(args.rows, first_day=first_day, seed=1)
    # B: the second half of A's lines again, then as many new ones.
    a_lines = a.decode().splitlines()
    new_lines = statement(half, first_day=first_day + timedelta(days=args.rows // 200 + 1), seed=2)
    b = "\n".join([a_lines[0], *a_lines[1 + half :], *new_lines.decode().splitlines()[1:]]) + "\n"

    print(
        f"Statement A: {args.rows} rows ({len(a) / 1e6:.1f} MB); "
        f"B: {args.rows} rows, half of them in A"
    )
    load_before = os.getloadavg()
    with busy_core(args.busy) as busy:
        if args.busy:
            print(f"One core kept busy: pid {busy['pid']} spinning on CPU {busy['core']}")
        time.sleep(1.0 if args.busy else 0)  # let the spinner settle on its core
        cpu_started = time.process_time()
        profile = args.profile
        runs = {
            "A (into an empty account)": timed_import(
                client, clock, a, "a.csv", profile="A" if profile else None
            ),
            "B (100k stored, half overlap)": timed_import(
                client, clock, b.encode(), "b.csv", profile="B" if profile else None
            ),
        }
        a_batch = runs["A (into an empty account)"]["batch"]
        b_batch = runs["B (100k stored, half overlap)"]["batch"]
        undo = timed_undo(client, clock, a_batch, profile=profile)
        undo["others_left"] = sum(
            model.objects.filter(import_batch_id=b_batch).count() for model in (Expense, Income)
        )
        bench_cpu_s = time.process_time() - cpu_started
    load_after = os.getloadavg()

    print()
    header = f"{'step':31} | rows    | new     | dup     | preview s | commit s | total s | target"
    print(header)
    print("-" * len(header))
    for label, run in runs.items():
        met = "met" if run["total_s"] < IMPORT_TARGET_SECONDS else "MISSED"
        print(
            f"{label:31} | {run['rows']:7} | {run['new_rows']:7} | {run['duplicate_rows']:7} | "
            f"{run['preview_s']:9.2f} | {run['commit_s']:8.2f} | {run['total_s']:7.2f} | "
            f"< {IMPORT_TARGET_SECONDS:.0f} s {met}"
        )
    met = "met" if undo["undo_s"] < UNDO_TARGET_SECONDS else "MISSED"
    print(
        f"{'undo A (' + str(undo['records']) + ' records)':31} | {'':7} | {'':7} | {'':7} | "
        f"{'':9} | {'':8} | {undo['undo_s']:7.2f} | < {UNDO_TARGET_SECONDS:.0f} s {met}"
    )
    print()
    print("Where the time goes (s): wall, and CPU of this process")
    names = list(next(iter(runs.values()))["phases_s"])
    print(
        f"  {'phase':38} | "
        + " | ".join(f"{label[:1] + ' wall':>6} | {label[:1] + ' cpu':>6}" for label in runs)
    )
    for name in names:
        cells = " | ".join(
            f"{run['phases_s'][name]:6.2f} | {run['phases_cpu_s'][name]:6.2f}"
            for run in runs.values()
        )
        print(f"  {name:38} | {cells}")
    for name, seconds in undo["phases_s"].items():
        print(f"  undo: {name:32} | {seconds:6.2f} | {undo['phases_cpu_s'][name]:6.2f}")
    print()
    print("CPU used (s): this process (Python) and its PostgreSQL backend")
    steps = [
        *(
            (f"{label[:1]} {part}", run["cpu_s"][part])
            for label, run in runs.items()
            for part in ("preview", "commit")
        ),
        ("undo", undo["cpu_s"]),
    ]
    for step_name, used in steps:
        print(f"  {step_name:12} | python {used['python']:6.2f} | postgres {used['postgres']}")
    checks = {
        "A stored every row": runs["A (into an empty account)"]["stored"] == args.rows,
        "B stored only the new half": runs["B (100k stored, half overlap)"]["stored"]
        == args.rows - half,
        "undo left none of A": undo["left"] == 0,
        "undo kept B's records": undo["others_left"] == args.rows - half,
    }
    print()
    for check, ok in checks.items():
        print(f"  {'ok  ' if ok else 'FAIL'} {check}")
    print(
        f"\nLoad average before {load_before[0]:.2f} / after {load_after[0]:.2f} "
        f"(1 min); bench process CPU {bench_cpu_s:.1f} s"
        + (
            f"; spinner {busy.get('spinner_cpu_s')} s CPU over {busy.get('wall_s')} s"
            if args.busy
            else ""
        )
    )
    import django

    with dataset.connect(url) as conn:
        postgres = conn.execute("SHOW server_version").fetchone()[0]
    report = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpu": platform.processor() or platform.machine(),
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "django": django.get_version(),
            "postgresql": postgres,
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in load_after],
        },
        "busy": busy,
        "profiled": profile,
        "bench_process_cpu_s": round(bench_cpu_s, 1),
        "targets_seconds": {"import": IMPORT_TARGET_SECONDS, "undo": UNDO_TARGET_SECONDS},
        "runs": runs,
        "undo": undo,
        "checks": checks,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2))
    print(f"\nWrote {args.json}")
    user_delete(user=User.objects.get(pk=user.pk))
    if not all(checks.values()):
        raise SystemExit("A check failed: see above.")


if __name__ == "__main__":
    main()
