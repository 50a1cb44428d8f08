"""Base-currency change benchmark: PATCH-equivalent `user_update` over many expenses.

    .venv/bin/python -m bench.base_currency [--sizes 10000,100000,1000000] [--json PATH]

Uses its own PostgreSQL database (`bt_currency_bench` on 127.0.0.1:5432, or
BASE_CURRENCY_BENCH_DATABASE_URL), recreated on each run; only migrations are needed.
For each size a fresh user gets that many expenses in 7 currencies (EUR, USD, GBP,
JPY, CHF, SEK, KWD) spread over 5 years, loaded with COPY, plus a few budgets and
goals; rates are daily EUR rates for the 6 others over those years. Then the user's
base currency changes USD → GBP and GBP → JPY through `users.services.user_update`
(always inline), each timed with its query count, and a sample of rows is checked
against the Python rule (`currencies.selectors.base_amount`). Then JPY → GBP goes the
way PATCH /auth/me/ goes (`users.services.user_settings_update`): above
BASE_CURRENCY_SYNC_MAX_ROWS (default 50 000) it only queues the change, and the
request's answer time is what a client waits; the queued task
(`base_currency_change_run`) is then run here, in this process, and timed as the
background work a Celery worker would do (no worker is started). Target (issue 11):
every request under gunicorn's 30 s timeout; the background work has no such bound.
Prints a table and writes JSON; never run by the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from bench import dataset

RESULTS = Path(__file__).resolve().parent / "results" / "base_currency.json"
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/bt_currency_bench"
QUOTES = {
    "USD": 1.08,
    "GBP": 0.86,
    "JPY": 160.0,
    "CHF": 0.95,
    "SEK": 11.3,
    "KWD": 0.33,
}
CURRENCIES = ["EUR", *QUOTES]
YEARS = 5
TARGET_SECONDS = 30.0
SAMPLE = 500


def load_rates(first_day: date, days: int) -> int:
    from currencies.models import ExchangeRate

    rng = random.Random(7)
    rows = []
    level = dict(QUOTES)
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        if day.weekday() >= 5:
            continue
        for quote in QUOTES:
            level[quote] *= 1 + rng.uniform(-0.004, 0.004)
            rows.append(
                ExchangeRate(
                    base="EUR",
                    quote=quote,
                    date=day,
                    rate=Decimal(f"{level[quote]:.6f}"),
                    source="bench",
                )
            )
    ExchangeRate.objects.bulk_create(rows, batch_size=5000)
    return len(rows)


def load_expenses(user: Any, rows: int, first_day: date, days: int) -> None:
    """COPY `rows` expenses; base_amount is a placeholder the first change rewrites."""
    from django.db import connection

    from expenses.models import Expense

    rng = random.Random(rows)
    fields = [f for f in Expense._meta.concrete_fields if not f.primary_key]
    now = datetime.now(UTC)
    given = {
        "created_at": now,
        "updated_at": now,
        "user": user.pk,
        "category": None,
        "import_batch": None,
    }
    table = connection.ops.quote_name(Expense._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
    ):
        for i in range(rows):
            currency = CURRENCIES[i % len(CURRENCIES)]
            places = {"JPY": 0, "KWD": 3}.get(currency, 2)
            amount = Decimal(rng.randint(1, 2_000_000)).scaleb(-places)
            values = {
                **given,
                "amount": amount,
                "currency": currency,
                "base_amount": amount,
                "exchange_rate": Decimal(1),
                "date": first_day + timedelta(days=rng.randrange(days)),
                "description": f"bench {i}",
            }
            copy.write_row(
                [values[f.name] if f.name in values else f.get_default() for f in fields]
            )


def add_budgets_and_goals(user: Any) -> None:
    from budgets.models import Budget
    from goals.models import Contribution, Goal

    for month in range(1, 13):
        Budget.objects.create(
            user=user, month=date(2025, month, 1), scope="overall", amount=Decimal("2500")
        )
    for g in range(3):
        goal = Goal.objects.create(user=user, name=f"Goal {g}", target_amount=Decimal("5000"))
        for month in range(1, 13):
            Contribution.objects.create(
                goal=goal, amount=Decimal("123.45"), date=date(2025, month, 1)
            )
        Contribution.objects.create(goal=goal, amount=Decimal("-100"), date=date(2025, 12, 2))


def timed_change(user: Any, currency: str) -> dict[str, Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from users.services import user_update

    started = time.perf_counter()
    with CaptureQueriesContext(connection) as queries:
        user_update(user=user, data={"base_currency": currency})
    return {"seconds": round(time.perf_counter() - started, 2), "queries": len(queries)}


def queued_change(user: Any, currency: str) -> dict[str, Any]:
    """The PATCH path: the request's time, then the queued task's, run here as a worker
    would run it (the bench commits in autocommit, so the hand-over happens at once)."""
    from users.models import BaseCurrencyChange
    from users.services import base_currency_change_run, user_settings_update

    handed: list[int] = []
    started = time.perf_counter()
    change = user_settings_update(
        user=user, data={"base_currency": currency}, enqueue=handed.append
    )
    answered = time.perf_counter() - started
    if change is None:
        return {"mode": "inline", "answer_seconds": round(answered, 2), "background_seconds": 0}
    started = time.perf_counter()
    for change_id in handed:
        base_currency_change_run(change_id=change_id)
    background = time.perf_counter() - started
    change = BaseCurrencyChange.objects.get(pk=change.pk)
    user.refresh_from_db()
    return {
        "mode": "queued",
        "answer_seconds": round(answered, 2),
        "background_seconds": round(background, 2),
        "status": change.status,
        "error": change.error,
    }


def check_sample(user: Any) -> int:
    """Rows whose base_amount differs from the Python rule (0 expected)."""
    from currencies.selectors import base_amount, get_rate
    from expenses.models import Expense

    wrong = 0
    for row in Expense.objects.filter(user=user).order_by("?")[:SAMPLE]:
        rate = get_rate(from_currency=row.currency, to_currency=user.base_currency, on=row.date)
        expected = base_amount(
            amount=row.amount,
            rate=rate.rate,
            from_currency=row.currency,
            to_currency=user.base_currency,
        )
        wrong += expected != row.base_amount or rate.rate != row.exchange_rate
    return wrong


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--json", type=Path, default=RESULTS)
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]

    url = os.environ.get("BASE_CURRENCY_BENCH_DATABASE_URL", DEFAULT_URL)
    dataset.recreate_database(url)
    dataset.configure_django(url)
    dataset.migrate()
    from django.db import connection

    from users.services import user_register

    today = date.today()
    first_day = today - timedelta(days=365 * YEARS)
    days = (today - first_day).days + 1
    with dataset.step("rates"):
        rates = load_rates(first_day - timedelta(days=7), days + 7)
    runs = []
    for size in sizes:
        user = user_register(
            username=f"bench_currency_{size}",
            email=f"currency{size}@bench.invalid",
            password="bench-currency-pass-1",
            base_currency="USD",
        )
        with dataset.step(f"{size} expenses"):
            load_expenses(user, size, first_day, days)
            add_budgets_and_goals(user)
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE expenses_expense")
        first = timed_change(user, "GBP")
        second = timed_change(user, "JPY")
        wrong = check_sample(user)
        third = queued_change(user, "GBP")
        runs.append(
            {
                "rows": size,
                "usd_to_gbp": first,
                "gbp_to_jpy": second,
                "wrong_in_sample": wrong,
                "jpy_to_gbp_patch": third,
                "wrong_in_sample_after_patch": check_sample(user),
            }
        )
        print(f"  {size}: {runs[-1]}", flush=True)

    print()
    print(
        f"Rates: {rates} (6 pairs, daily, {YEARS} years); expenses in {len(CURRENCIES)} currencies"
    )
    print(f"{'rows':>9} | USD→GBP s | queries | GBP→JPY s | queries | sample wrong | inline")
    print("-" * 82)
    for run in runs:
        worst = max(run["usd_to_gbp"]["seconds"], run["gbp_to_jpy"]["seconds"])
        met = "< 30 s" if worst < TARGET_SECONDS else "OVER 30 s"
        print(
            f"{run['rows']:9} | {run['usd_to_gbp']['seconds']:9.2f} | "
            f"{run['usd_to_gbp']['queries']:7} | {run['gbp_to_jpy']['seconds']:9.2f} | "
            f"{run['gbp_to_jpy']['queries']:7} | {run['wrong_in_sample']:12} | {met}"
        )
    print()
    print("PATCH /auth/me/ JPY→GBP (user_settings_update), queued above the sync limit:")
    print(f"{'rows':>9} | mode   | answer s | background s | status | sample wrong | request")
    print("-" * 82)
    for run in runs:
        patch = run["jpy_to_gbp_patch"]
        met = "met" if patch["answer_seconds"] < TARGET_SECONDS else "MISSED"
        print(
            f"{run['rows']:9} | {patch['mode']:6} | {patch['answer_seconds']:8.2f} | "
            f"{patch['background_seconds']:12.2f} | {patch.get('status', '-'):6} | "
            f"{run['wrong_in_sample_after_patch']:12} | < {TARGET_SECONDS:.0f} s {met}"
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
        "rates": rates,
        "runs": runs,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2))
    print(f"\nWrote {args.json}")


if __name__ == "__main__":
    main()
