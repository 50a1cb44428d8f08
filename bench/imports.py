"""Statement import benchmark: a 100 000-row CSV, preview + commit, on PostgreSQL.

    .venv/bin/python -m bench.imports [--rows 100000] [--json PATH]

Uses the bench database (bench/dataset.py; only migrations are needed, not the big
data set). A fresh user first imports statement A (100 000 rows, nothing to compare
with), then statement B: 100 000 rows of which half overlap A, so duplicate
detection runs against the 100 000 rows already stored. Both go through the full
stack (multipart upload, JWT). Target (issue 6): B's preview + commit < 15 s.
Prints a table and writes JSON; never run by the test suite.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from bench import dataset

RESULTS = Path(__file__).resolve().parent / "results" / "imports.json"
USERNAME = "bench_importer"
PASSWORD = "bench-importer-pass-1"
TARGET_SECONDS = 15.0
DESCRIPTIONS = ["Coffee", "Groceries", "Fuel", "Lunch", "Train", "Pharmacy", "Books", "Cinema"]


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


def timed_import(client: Any, content: bytes, name: str) -> dict[str, Any]:
    from django.core.files.uploadedfile import SimpleUploadedFile

    started = time.perf_counter()
    response = client.post(
        "/api/v1/imports/", {"file": SimpleUploadedFile(name, content)}, format="multipart"
    )
    preview_s = time.perf_counter() - started
    if response.status_code != 201:
        raise SystemExit(f"preview failed: {response.status_code} {response.content[:300]!r}")
    batch = response.json()
    started = time.perf_counter()
    committed = client.post(f"/api/v1/imports/{batch['id']}/commit/", {}, format="json")
    queued = committed.status_code == 202
    if queued:  # over IMPORT_ASYNC_ROWS: the task queue stores it
        while committed.json()["status"] == "committing":
            time.sleep(0.2)
            committed = client.get(f"/api/v1/imports/{batch['id']}/")
        if committed.json()["status"] != "committed":
            raise SystemExit(f"commit failed: {committed.content[:300]!r}")
    elif committed.status_code != 200:
        raise SystemExit(f"commit failed: {committed.status_code} {committed.content[:300]!r}")
    commit_s = time.perf_counter() - started
    from expenses.models import Expense
    from income.models import Income

    stored = sum(
        model.objects.filter(import_batch_id=batch["id"]).count() for model in (Expense, Income)
    )
    return {
        "rows": batch["total_rows"],
        "new_rows": batch["new_rows"],
        "duplicate_rows": batch["duplicate_rows"],
        "stored": stored,
        "queued": queued,
        "preview_s": round(preview_s, 2),
        "commit_s": round(commit_s, 2),
        "total_s": round(preview_s + commit_s, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--json", type=Path, default=RESULTS)
    args = parser.parse_args()

    url = dataset.database_url()
    dataset.configure_django(url)
    dataset.migrate()
    from rest_framework.test import APIClient
    from rest_framework_simplejwt.tokens import RefreshToken

    from users.models import User
    from users.services import user_delete, user_register

    existing = User.objects.filter(username=USERNAME).first()
    if existing:
        user_delete(user=existing)
    user = user_register(username=USERNAME, email="importer@bench.invalid", password=PASSWORD)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")

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
    runs = {
        "A (into an empty account)": timed_import(client, a, "a.csv"),
        "B (dedupe against A)": timed_import(client, b.encode(), "b.csv"),
    }
    print()
    print(f"{'import':28} | rows    | new     | dup     | preview s | commit s | total s | target")
    print("-" * 98)
    for label, run in runs.items():
        met = "—"
        if label.startswith("B"):
            met = "met" if run["total_s"] < TARGET_SECONDS else "MISSED"
        print(
            f"{label:28} | {run['rows']:7} | {run['new_rows']:7} | {run['duplicate_rows']:7} | "
            f"{run['preview_s']:9.2f} | {run['commit_s']:8.2f} | {run['total_s']:7.2f} | "
            f"< {TARGET_SECONDS:.0f} s {met}"
        )
    import django

    with dataset.connect(url) as conn:
        postgres = conn.execute("SHOW server_version").fetchone()[0]
    report = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpu": platform.processor() or platform.machine(),
            "python": platform.python_version(),
            "django": django.get_version(),
            "postgresql": postgres,
        },
        "target_seconds": TARGET_SECONDS,
        "runs": runs,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2))
    print(f"\nWrote {args.json}")
    user_delete(user=User.objects.get(pk=user.pk))


if __name__ == "__main__":
    main()
