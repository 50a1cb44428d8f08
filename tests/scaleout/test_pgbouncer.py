"""PgBouncer in transaction mode (DATABASE_POOLER=pgbouncer, docs/scaling.md).

In transaction mode PgBouncer gives each transaction whichever server connection is free,
so the app must keep nothing on a connection past a transaction: no server-side cursors,
no prepared statements, no startup `options` (PgBouncer refuses them), only
transaction-level advisory locks and SET LOCAL. The first test reads what the settings
make of DATABASE_POOLER in a fresh interpreter, as an app server does (both databases).

The second (PostgreSQL pass, marked `postgres`) runs PgBouncer with a pool of 2 server
connections in front of a throwaway PostgreSQL, gunicorn (2 workers × 4 threads, so up to
8 app connections) through it, and a concurrent mix of several users: expenses created,
statement imports committed, lists paged, reports, dashboards and CSV exports read. Every
request must succeed and every figure come out right, with the app's connections sharing
the two server connections.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from django.conf import settings

from tests.live_server import (
    PROJECT,
    PostgresCluster,
    Reply,
    gunicorn,
    http,
    migrated_dump,
    pgbouncer,
    pgbouncer_unavailable_reason,
    production_env,
)

POOL_SIZE = 2
USERS = 3
EXPENSES_EACH = 12
STATEMENT = (
    b"Date,Description,Amount\n"
    b"2025-06-20,Rent,-900\n2025-06-21,Coffee,-3.50\n2025-06-22,Salary,2500\n"
)
SUMMARY = "/reports/summary/?start=2025-06-01&end=2025-06-30"


def test_the_pooler_setting_keeps_nothing_on_a_server_connection_past_a_transaction():
    # The settings module alone (no django.setup()): what an app server would connect with.
    probe = (
        "import json; import budget_tracker.settings as s; "
        "print(json.dumps({a: {'cursors': d.get('DISABLE_SERVER_SIDE_CURSORS', False), "
        "'options': d['OPTIONS']} for a, d in s.DATABASES.items()}))"
    )

    def databases(**variables: str) -> dict[str, Any]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DATABASE_")}
        done = subprocess.run(
            [sys.executable, "-c", probe],
            cwd=PROJECT,
            env={**env, **variables},
            capture_output=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr.decode()[-2000:]
        return json.loads(done.stdout.decode().strip().splitlines()[-1])

    primary = "postgres://app@db.internal:6432/budget"
    pooled = databases(
        DATABASE_URL=primary,
        DATABASE_REPLICA_URL="postgres://app@replica.internal:6432/budget",
        DATABASE_POOLER="pgbouncer",
    )
    assert set(pooled) == {"default", "replica"}
    for database in pooled.values():
        assert database["cursors"] is True
        assert database["options"]["prepare_threshold"] is None
        assert "options" not in database["options"]  # PgBouncer refuses startup options
    direct = databases(DATABASE_URL=primary)["default"]
    assert direct["cursors"] is False
    assert direct["options"]["options"] == "-c lock_timeout=10000"

    refused = subprocess.run(
        [sys.executable, "-c", "import budget_tracker.settings"],
        cwd=PROJECT,
        env={**os.environ, "DATABASE_POOLER": "pgpool"},
        capture_output=True,
        timeout=120,
    )
    assert refused.returncode != 0
    assert b"DATABASE_POOLER must be empty or 'pgbouncer', not 'pgpool'" in refused.stderr


# --- the app under gunicorn through PgBouncer (PostgreSQL pass) -------------------------------


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true: the PgBouncer test must run, but {reason}")
    pytest.skip(reason)


@pytest.fixture
def pooled_database():
    """The URL, through PgBouncer, of a migrated database `bt` on a throwaway cluster."""
    if not settings.DATABASES["default"]["ENGINE"].startswith("django.db.backends.postgresql"):
        pytest.skip("runs on the PostgreSQL pass (.ci/run), where PostgreSQL tooling is present")
    reason = PostgresCluster.replication_unavailable_reason() or pgbouncer_unavailable_reason()
    if reason:
        _unavailable(f"cannot run PostgreSQL behind PgBouncer: {reason}")
    dump = migrated_dump()
    cluster = PostgresCluster()
    try:
        cluster.init()
        cluster.start()
        cluster.create_database("bt", dump=dump)
        # Through a pooler, lock_timeout is the role's or database's setting (docs/scaling.md).
        cluster.execute("ALTER DATABASE bt SET lock_timeout = '10s'")
        with pgbouncer(cluster, "bt", pool_mode="transaction", pool_size=POOL_SIZE) as url:
            yield url
    finally:
        cluster.destroy()


def upload(url: str, token: str, name: str, content: bytes) -> Reply:
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            f"Content-Type: text/csv\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    request = urllib.request.Request(url, data=body, method="POST")
    request.add_header("Content-Type", f"multipart/form-data; boundary={boundary}")
    request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return Reply(response.status, dict(response.headers), response.read())
    except urllib.error.HTTPError as error:
        return Reply(error.code, dict(error.headers), error.read())


def admin_rows(pooler_url: str, command: str) -> list[dict[str, Any]]:
    admin = pooler_url.rsplit("/", 1)[0] + "/pgbouncer"
    with psycopg.connect(admin, autocommit=True) as conn:
        cursor = conn.execute(command)
        names = [column.name for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


@pytest.mark.postgres
def test_the_app_through_pgbouncer_in_transaction_mode(pooled_database, tmp_path):
    pooler_url = pooled_database
    # The app's direct-connection settings would not even connect through it.
    with pytest.raises(psycopg.OperationalError, match="unsupported startup parameter: options"):
        psycopg.connect(pooler_url, options="-c lock_timeout=10000", connect_timeout=5)
    # The database's own setting reaches every pooled connection instead.
    with psycopg.connect(pooler_url, autocommit=True, connect_timeout=5) as conn:
        assert conn.execute("SHOW lock_timeout").fetchone() == ("10s",)

    env = production_env(
        DATABASE_URL=pooler_url,
        DATABASE_POOLER="pgbouncer",
        CONN_MAX_AGE="60",
        RATES_BUNDLED_AUTOLOAD="false",
        CACHE_URL=f"filecache://{tmp_path / 'cache'}",
        STATIC_ROOT=str(tmp_path / "static"),
        MEDIA_ROOT=str(tmp_path / "media"),
        GUNICORN_CMD_ARGS="--worker-class gthread --threads 4",
    )
    with gunicorn(env, workers=2) as base:
        api = f"{base}/api/v1"
        failures: list[str] = []

        def call(method: str, path: str, token: str, body: Any = None) -> Reply:
            reply = http(method, f"{api}{path}", token=token, body=body, timeout=60)
            if reply.status >= 400:
                failures.append(f"{method} {path}: {reply.status} {reply.body[:300]!r}")
            return reply

        tokens = []
        for number in range(USERS):
            credentials = {"username": f"pooled{number}", "password": "Pooled-pass-123"}
            body = {**credentials, "email": f"p{number}@example.com", "base_currency": "USD"}
            assert http("POST", f"{api}/auth/register/", body=body).status == 201
            tokens.append(http("POST", f"{api}/auth/token/", body=credentials).json()["access"])

        def create(token: str, day: int) -> None:
            expense = {
                "amount": f"{day}.00",
                "currency": "USD",
                "date": f"2025-06-{day:02d}",
                "description": f"Expense {day}",
            }
            call("POST", "/expenses/", token, expense)

        def import_statement(token: str) -> None:
            batch = upload(f"{api}/imports/", token, "statement.csv", STATEMENT)
            if batch.status != 201:
                failures.append(f"upload: {batch.status} {batch.body[:300]!r}")
                return
            call("POST", f"/imports/{batch.json()['id']}/commit/", token, {})

        def pages(token: str) -> list[dict[str, Any]]:
            rows, path = [], "/expenses/?page_size=5"
            while path:
                reply = call("GET", path, token)
                if reply.status != 200:
                    return rows
                page = reply.json()
                rows += page["results"]
                path = page["next"].split("/api/v1", 1)[1] if page["next"] else None
            return rows

        def export(token: str) -> list[dict[str, str]]:
            reply = call("GET", "/export/expenses.csv", token)
            return list(csv.DictReader(io.StringIO(reply.body.decode("utf-8-sig"))))

        # Writes and reads of every user at once: more requests in flight than server
        # connections, so transactions of different app connections share them.
        jobs = []
        for token in tokens:
            mine = [lambda t=token, d=day: create(t, d) for day in range(1, EXPENSES_EACH + 1)]
            mine[3:3] = [lambda t=token: import_statement(t), lambda t=token: pages(t)]
            mine[8:8] = [lambda t=token: call("GET", SUMMARY, t), lambda t=token: export(t)]
            mine += [
                lambda t=token: call("GET", "/reports/dashboard/", t),
                lambda t=token: call("GET", "/budgets/status/", t),
            ]
            jobs.append(mine)
        work = [job for turn in zip(*jobs, strict=True) for job in turn]  # users interleaved
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(lambda job: job(), work))
        assert not failures, failures

        # Then every figure, read concurrently too.
        def figures(token: str) -> tuple[list, dict[str, Any], list]:
            return pages(token), call("GET", SUMMARY, token).json(), export(token)

        with ThreadPoolExecutor(max_workers=USERS) as pool:
            results = list(pool.map(figures, tokens))
        assert not failures, failures
        created = {f"Expense {day}" for day in range(1, EXPENSES_EACH + 1)}
        spent = sum(Decimal(day) for day in range(1, EXPENSES_EACH + 1)) + Decimal("903.50")
        for listed, summary, exported in results:
            assert len(listed) == EXPENSES_EACH + 2
            assert {row["description"] for row in listed} == created | {"Rent", "Coffee"}
            assert Decimal(summary["total_expenses"]) == spent
            assert Decimal(summary["total_income"]) == Decimal("2500.00")
            assert sorted(Decimal(row["amount"]) for row in exported) == sorted(
                Decimal(row["amount"]) for row in listed
            )

        # The app's connections really were pooled: more clients than server connections.
        clients = [row for row in admin_rows(pooler_url, "SHOW CLIENTS") if row["database"] == "bt"]
        servers = [row for row in admin_rows(pooler_url, "SHOW SERVERS") if row["database"] == "bt"]
        assert len(servers) <= POOL_SIZE
        assert len(clients) > POOL_SIZE, clients
