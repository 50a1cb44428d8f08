"""CI smoke test: the production profile under gunicorn, over real HTTP, on PostgreSQL.

Creates a throwaway database, migrates, collects static files, starts gunicorn with
two workers on 127.0.0.1, walks register → token → create → report → export → docs →
static file, stops gunicorn and drops the database. Exits non-zero on any failure.

    .venv/bin/python .ci/smoke.py   # PGHOST/PGPORT/PGUSER as for .ci/run
"""

from __future__ import annotations

import csv
import io
import os
import sys
import tempfile
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.live_server import gunicorn, http, manage, production_env

PGHOST = os.environ.get("PGHOST", "127.0.0.1")
PGPORT = os.environ.get("PGPORT", "5432")
PGUSER = os.environ.get("PGUSER", "postgres")
SERVER = f"postgres://{PGUSER}@{PGHOST}:{PGPORT}"


def check(condition: bool, what: str, detail: object = "") -> None:
    if not condition:
        raise AssertionError(f"{what}: {detail!r}"[:2000])
    print(f"  ok  {what}")


def admin(sql: str) -> None:
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql)


def walk(base: str) -> None:
    api = f"{base}/api/v1"
    health = http("GET", f"{base}/health/")
    check(health.status == 200 and health.json()["database"] == "ok", "GET /health/", health.body)

    user = {"username": "smoke", "email": "smoke@example.com", "password": "Smoke-pass-123"}
    registered = http("POST", f"{api}/auth/register/", body={**user, "base_currency": "USD"})
    check(registered.status == 201, "register", registered.body)
    tokens = http(
        "POST", f"{api}/auth/token/", body={"username": "smoke", "password": user["password"]}
    )
    check(tokens.status == 200 and "access" in tokens.json(), "token", tokens.body)
    token = tokens.json()["access"]

    today = date.today().isoformat()
    category = http(
        "POST", f"{api}/categories/", token=token, body={"name": "Smoke lunches", "kind": "expense"}
    )
    check(category.status == 201, "create category", category.body)
    expense = http(
        "POST",
        f"{api}/expenses/",
        token=token,
        body={
            "amount": "12.50",
            "currency": "USD",
            "date": today,
            "description": "Smoke lunch",
            "category": category.json()["id"],
        },
    )
    check(expense.status == 201, "create expense", expense.body)
    income = http(
        "POST",
        f"{api}/incomes/",
        token=token,
        body={"amount": "1000.00", "currency": "USD", "date": today, "description": "Salary"},
    )
    check(income.status == 201, "create income", income.body)

    summary = http("GET", f"{api}/reports/summary/?start={today}&end={today}", token=token)
    figures = summary.json() if summary.status == 200 else {}
    check(
        summary.status == 200
        and Decimal(figures["total_expenses"]) == Decimal("12.50")
        and Decimal(figures["total_income"]) == Decimal("1000.00")
        and Decimal(figures["net"]) == Decimal("987.50"),
        "report summary figures",
        summary.body,
    )
    dashboard = http("GET", f"{api}/reports/dashboard/", token=token)
    month = dashboard.json()["summary"] if dashboard.status == 200 else {}
    check(
        dashboard.status == 200
        and Decimal(month["total_expenses"]) == Decimal("12.50")
        and Decimal(month["total_income"]) == Decimal("1000.00"),
        "report dashboard figures",
        dashboard.body,
    )

    export = http("GET", f"{api}/export/expenses.csv", token=token)
    rows = list(csv.DictReader(io.StringIO(export.body.decode("utf-8-sig"))))
    check(
        export.status == 200
        and len(rows) == 1
        and rows[0]["description"] == "Smoke lunch"
        and rows[0]["amount"] == "12.50"
        and rows[0]["category"] == "Smoke lunches",
        "export expenses.csv",
        export.body,
    )

    docs = http("GET", f"{api}/docs/")
    check(docs.status == 200 and b"swagger-ui" in docs.body, "GET /api/v1/docs/", docs.status)
    static = http("GET", f"{base}/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui.css")
    check(
        static.status == 200
        and static.headers.get("Content-Type", "").startswith("text/css")
        and len(static.body) > 1000,
        "static file via whitenoise",
        static.status,
    )
    missing = http("GET", f"{api}/no-such-thing/")
    check(
        missing.status == 404 and missing.json()["code"] == "not_found",
        "JSON 404 under /api/",
        missing.body,
    )
    # Django answers a Host outside ALLOWED_HOSTS through handler400, before any view.
    bad_host = http("GET", f"{api}/expenses/", headers={"Host": "evil.example"})
    check(
        bad_host.status == 400
        and bad_host.headers.get("Content-Type", "").startswith("application/json")
        and bad_host.json()["code"] == "disallowed_host",
        "JSON 400 for a bad Host under /api/",
        bad_host.body,
    )
    nested: list = []
    for _ in range(200):
        nested = [nested]
    deep = http("POST", f"{api}/auth/token/", body=nested)
    check(
        deep.status == 400 and deep.json()["code"] == "parse_error",
        "JSON 400 for a login body nested 200 deep",
        deep.body,
    )


def main() -> int:
    started = time.monotonic()
    db = f"bt_smoke_{int(time.time())}_{os.getpid()}"
    print(f"== smoke: gunicorn (2 workers, DJANGO_ENV=production) on PostgreSQL database {db} ==")
    admin(f"CREATE DATABASE {db}")
    try:
        with tempfile.TemporaryDirectory(prefix="bt-smoke-") as tmp:
            env = production_env(
                DATABASE_URL=f"{SERVER}/{db}",
                CACHE_URL="redis://127.0.0.1:6379/13",
                STATIC_ROOT=str(Path(tmp) / "static"),
                MEDIA_ROOT=str(Path(tmp) / "media"),
            )
            manage("migrate", "--noinput", env=env)
            manage("collectstatic", "--noinput", env=env)
            print("  ok  migrate + collectstatic")
            with gunicorn(env, workers=2) as base:
                print(f"  ok  gunicorn up at {base}")
                walk(base)
            print("  ok  gunicorn stopped (SIGTERM)")
    except Exception as error:  # report and fail, whatever broke
        print(f"!!! smoke test FAILED: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    finally:
        admin(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
    print(f"== smoke test passed in {time.monotonic() - started:.1f}s ==")
    return 0


if __name__ == "__main__":
    sys.exit(main())
