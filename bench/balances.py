"""Shared-book balances benchmark: balances, settle-up, settlements and "my share" reports.

    .venv/bin/python -m bench.balances [--expenses 200000] [--members 4] [--repeat 15]
                                       [--explain] [--reuse] [--json PATH]

Uses its own PostgreSQL database (`bt_balances_bench` on 127.0.0.1:5432, or
BALANCES_BENCH_DATABASE_URL), recreated on each run (`--reuse` times the data set the
last run built instead); Django's migrations make the schema.
It builds one shared book ("Bench flat") with `--members` members (4: 800,000 parts for
200,000 expenses) and, interleaved with it row by row as in production, a second shared
book of the same size among four other people, so every query has to pick its book's rows
out of twice as many. Each book's expenses span 3 years in the base currency (USD), all
split, in the four modes (about 70 % equal, 15 % shares, 10 % exact, 5 % percent), paid by
members in turn; their parts come from `expenses.splits.split_compute` (the rule every
write uses) and are loaded with COPY; each book also gets `--settlements` settlements
(default 2,000). The build ends with VACUUM (ANALYZE).

Then, as the first member of the bench book, through the whole Django stack (JWT, DRF,
`django.test.Client`, `DEBUG` off, as `bench.reports` does), each endpoint gets one
warm-up request and `--repeat` timed ones:

- `GET /books/{id}/balances/`, `GET /books/{id}/settle-up/`;
- `GET /books/{id}/settlements/` (the first page);
- `GET /books/{id}/reports/summary/?period=last_365_days&view=mine` (your parts), and
  the same with `view=book` for comparison.

Prints a table (p50 / p95 ms, SQL queries per request), checks the balances sum to zero
and that the settle-up transfers square them, and writes JSON (default
bench/results/balances.json) with the samples and the machine. `--explain` prints
EXPLAIN (ANALYZE, BUFFERS) of every query of the balances request. Never run by the test
suite.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from bench import dataset

RESULTS = Path(__file__).resolve().parent / "results" / "balances.json"
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/bt_balances_bench"
API = "/api/v1"
CURRENCY = "USD"
YEARS = 3
PASSWORD = "bench-Balances-passw0rd"
# Split modes and how often each is used.
MODES = (("equal", 70), ("shares", 15), ("exact", 10), ("percent", 5))
COPY_CHUNK = 20_000


@dataclass
class Result:
    label: str
    path: str
    status: int = 0
    queries: int | None = None
    samples_ms: list[float] = field(default_factory=list)

    @property
    def p50(self) -> float | None:
        return statistics.median(self.samples_ms) if self.samples_ms else None

    @property
    def p95(self) -> float | None:
        if not self.samples_ms:
            return None
        ordered = sorted(self.samples_ms)
        return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]

    def as_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "path": self.path,
            "status": self.status,
            "queries": self.queries,
            "p50_ms": self.p50,
            "p95_ms": self.p95,
            "samples_ms": [round(s, 2) for s in self.samples_ms],
        }


# --- building ---


def _people(prefix: str, count: int) -> list[Any]:
    from users.services import user_register

    return [
        user_register(
            username=f"{prefix}_{n}",
            email=f"{prefix}_{n}@bench.invalid",
            password=PASSWORD,
            base_currency=CURRENCY,
        )
        for n in range(1, count + 1)
    ]


def _shared_book(name: str, people: list[Any]) -> Any:
    from books.models import Membership, Role
    from books.services import book_create

    book = book_create(user=people[0], name=name, base_currency=CURRENCY)
    # Members join through an emailed invitation token; a bench adds them directly.
    Membership.objects.bulk_create(
        Membership(book=book, user=person, role=Role.EDITOR) for person in people[1:]
    )
    return book


def _split(rng: random.Random, amount: Decimal, members: list[int]) -> tuple[str, list[dict]]:
    mode = rng.choices([m for m, _ in MODES], weights=[w for _, w in MODES])[0]
    if mode == "equal":
        chosen = members if rng.random() < 0.8 else sorted(rng.sample(members, 2))
        return mode, [{"user": user_id} for user_id in chosen]
    if mode == "shares":
        return mode, [{"user": u, "value": Decimal(rng.randint(1, 3))} for u in members]
    if mode == "percent":
        cuts = sorted(rng.sample(range(1, 100), len(members) - 1))
        values = [b - a for a, b in zip([0, *cuts], [*cuts, 100], strict=True)]
        return mode, [
            {"user": u, "value": Decimal(v)} for u, v in zip(members, values, strict=True)
        ]
    cents = int(amount * 100)
    cuts = sorted(rng.randint(0, cents) for _ in members[1:])
    values = [b - a for a, b in zip([0, *cuts], [*cuts, cents], strict=True)]
    return mode, [
        {"user": u, "value": Decimal(v).scaleb(-2)} for u, v in zip(members, values, strict=True)
    ]


def _copy(cursor: Any, model: Any, rows: list[dict[str, Any]]) -> None:
    """COPY `rows` (field name → value; other columns get their model default)."""
    from django.db import connection

    fields = model._meta.concrete_fields
    defaults = {f.name: f.get_default() for f in fields}
    table = connection.ops.quote_name(model._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([row[f.name] if f.name in row else defaults[f.name] for f in fields])


def load(books: list[tuple[Any, list[Any]]], expenses: int, settlements: int) -> dict[str, int]:
    """`expenses` split expenses in each book, interleaved, then `settlements` each."""
    from django.db import connection

    from categories.models import Category, Kind
    from expenses.models import Expense, ExpenseShare
    from expenses.splits import split_compute
    from splits.models import Settlement

    rng = random.Random(15)
    categories = list(
        Category.objects.filter(book__isnull=True, kind=Kind.EXPENSE).values_list("pk", flat=True)
    )
    today = date.today()
    first_day = today - timedelta(days=365 * YEARS)
    days = (today - first_day).days
    now = datetime.now(UTC)
    counts = {"expenses": 0, "shares": 0, "settlements": 0}
    expense_rows: list[dict[str, Any]] = []
    share_rows: list[dict[str, Any]] = []
    share_id = 0

    def flush(cursor: Any) -> None:
        _copy(cursor, Expense, expense_rows)
        _copy(cursor, ExpenseShare, share_rows)
        expense_rows.clear()
        share_rows.clear()

    with connection.cursor() as cursor:
        for n in range(expenses * len(books)):
            book, people = books[n % len(books)]
            members = [person.pk for person in people]
            expense_id = n + 1
            amount = Decimal(rng.randint(200, 40_000)).scaleb(-2)
            mode, asked = _split(rng, amount, members)
            parts = split_compute(
                mode=mode,
                parts=asked,
                amount=amount,
                currency=CURRENCY,
                base_amount=amount,
                base_currency=CURRENCY,
                member_ids=members,
                rotation=expense_id,
            )
            payer = members[(n // len(books)) % len(members)]
            expense_rows.append(
                {
                    "id": expense_id,
                    "book": book.pk,
                    "user": payer,
                    "created_at": now,
                    "updated_at": now,
                    "amount": amount,
                    "currency": CURRENCY,
                    "base_amount": amount,
                    "exchange_rate": Decimal(1),
                    "date": first_day + timedelta(days=rng.randrange(days + 1)),
                    "description": f"bench {expense_id}",
                    "category": rng.choice(categories),
                    "paid_by": payer,
                    "split_mode": mode,
                }
            )
            for part in parts:
                share_id += 1
                share_rows.append(
                    {
                        "id": share_id,
                        "expense": expense_id,
                        "book": book.pk,
                        "user": part.user_id,
                        "value": part.value,
                        "amount": part.amount,
                        "base_amount": part.base_amount,
                    }
                )
            if len(expense_rows) >= COPY_CHUNK:
                flush(cursor)
        flush(cursor)
        counts["expenses"], counts["shares"] = expenses * len(books), share_id
        for table in (Expense._meta.db_table, ExpenseShare._meta.db_table):
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
            )
    for book, people in books:
        rows = []
        for _ in range(settlements):
            payer, payee = rng.sample(people, 2)
            amount = Decimal(rng.randint(1_000, 50_000)).scaleb(-2)
            rows.append(
                Settlement(
                    book=book,
                    user=payer,
                    from_user=payer,
                    to_user=payee,
                    amount=amount,
                    currency=CURRENCY,
                    base_amount=amount,
                    date=first_day + timedelta(days=rng.randrange(days + 1)),
                )
            )
        Settlement.objects.bulk_create(rows, batch_size=2000)
        counts["settlements"] += len(rows)
    return counts


# --- timing ---


def time_endpoint(client: Any, label: str, path: str, repeat: int) -> Result:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    result = Result(label, path)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)  # the warm-up, counted
    result.status, result.queries = response.status_code, len(queries)
    if response.status_code != 200:
        print(f"  {label}: {response.status_code} {response.content[:300]!r}")
        return result
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(path)
        result.samples_ms.append((time.perf_counter() - started) * 1000)
    return result


def explain(client: Any, path: str) -> list[dict[str, Any]]:
    """EXPLAIN (ANALYZE, BUFFERS) of each query `path` runs (params already inlined)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        client.get(path)
    plans = []
    with connection.cursor() as cursor:
        for query in queries.captured_queries:
            statement = query["sql"]
            if not statement.lstrip().upper().startswith("SELECT"):
                continue
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement)
            plan = "\n".join(row[0] for row in cursor.fetchall())
            plans.append({"sql": statement, "ms": float(query["time"]) * 1000, "plan": plan})
    return plans


def check(book: Any) -> dict[str, Any]:
    """The balances sum to zero, and applying the settle-up zeroes every balance."""
    from splits.selectors import book_balances, book_settle_up

    balances = {row["user"]: row["balance"] for row in book_balances(book=book)}
    after = dict(balances)
    transfers = book_settle_up(book=book)
    for transfer in transfers:
        after[transfer.from_user] += transfer.amount
        after[transfer.to_user] -= transfer.amount
    return {
        "balances": {str(k): str(v) for k, v in balances.items()},
        "sum": str(sum(balances.values())),
        "transfers": len(transfers),
        "squared": all(value == 0 for value in after.values()),
    }


def build(args: argparse.Namespace, started: float) -> tuple[Any, ...]:
    from django.db import connection

    dataset.migrate()
    with dataset.step("books and people"):
        people = _people("bench_member", args.members)
        others = _people("bench_other", 4)
        book = _shared_book("Bench flat", people)
        books = [(book, people), (_shared_book("Other flat", others), others)]
    with dataset.step(f"{args.expenses} split expenses per book, COPY"):
        counts = load(books, args.expenses, args.settlements)
    with dataset.step("VACUUM (ANALYZE)"), connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)")
    build_seconds = time.perf_counter() - started
    print(f"  built in {build_seconds:.0f} s: {counts}")
    return counts, build_seconds, people, book, books


def reused() -> tuple[Any, ...]:
    """The books and people of the data set already in the database (`--reuse`)."""
    from books.models import Book
    from expenses.models import Expense, ExpenseShare
    from splits.models import Settlement
    from users.models import User

    books = []
    for name, prefix in (("Bench flat", "bench_member"), ("Other flat", "bench_other")):
        book = Book.objects.filter(name=name).first()
        if book is None:
            raise SystemExit("No data set to reuse: run without --reuse first.")
        books.append((book, list(User.objects.filter(username__startswith=prefix).order_by("pk"))))
    counts = {
        "expenses": Expense.objects.count(),
        "shares": ExpenseShare.objects.count(),
        "settlements": Settlement.objects.count(),
    }
    print(f"  reusing the data set in the database: {counts}")
    return counts, None, books[0][1], books[0][0], books


def fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}"


def print_table(results: list[Result]) -> None:
    headers = ("endpoint", "p50 ms", "p95 ms", "queries", "status")
    rows = [(r.label, fmt(r.p50), fmt(r.p95), str(r.queries), str(r.status)) for r in results]
    widths = [max(len(row[i]) for row in (headers, *rows)) for i in range(len(headers))]

    def line(cells: tuple[str, ...]) -> str:
        return " | ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    print(line(headers))
    print("-+-".join("-" * w for w in widths))
    for row in rows:
        print(line(row))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--expenses", type=int, default=200_000, help="per book")
    parser.add_argument("--members", type=int, default=4)
    parser.add_argument("--settlements", type=int, default=2_000, help="per book")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--explain", action="store_true", help="print the balances plans")
    parser.add_argument(
        "--reuse", action="store_true", help="time the data set the last run built, as it is"
    )
    parser.add_argument("--json", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.members < 2 or args.repeat < 1 or args.expenses < 1:
        parser.error("--members must be at least 2, --repeat and --expenses at least 1")

    started = time.perf_counter()
    url = os.environ.get("BALANCES_BENCH_DATABASE_URL", DEFAULT_URL)
    if not args.reuse:
        dataset.recreate_database(url)
    dataset.configure_django(url)
    if args.reuse:
        counts, build_seconds, people, book, books = reused()
    else:
        counts, build_seconds, people, book, books = build(args, started)
    from django.test import Client

    from bench.reports import machine_info
    from users.services import issue_tokens

    client = Client(
        raise_request_exception=False,
        headers={"authorization": f"Bearer {issue_tokens(user=people[0])['access']}"},
    )
    base = f"{API}/books/{book.pk}"
    summary = f"{base}/reports/summary/?period=last_365_days"
    cases = [
        ("GET balances/", f"{base}/balances/"),
        ("GET settle-up/", f"{base}/settle-up/"),
        ("GET settlements/ (first page)", f"{base}/settlements/"),
        ("GET reports/summary/ view=mine, 365 days", f"{summary}&view=mine"),
        ("GET reports/summary/ view=book, 365 days", f"{summary}&view=book"),
    ]
    print(f"Timing as {people[0].username}, {args.repeat} runs each after one warm-up:")
    results = [time_endpoint(client, label, path, args.repeat) for label, path in cases]
    checked = check(book)
    plans = explain(client, f"{base}/balances/") if args.explain else []
    with dataset.connect(url, autocommit=True) as conn:
        info = machine_info(conn)
    info["load_average"] = os.getloadavg()

    print()
    print_table(results)
    print(
        f"\nBalances sum to {checked['sum']}; {checked['transfers']} transfers square them: "
        f"{'yes' if checked['squared'] else 'NO'}"
    )
    for plan in plans:
        print(f"\n-- {plan['ms']:.1f} ms: {plan['sql']}\n{plan['plan']}")
    report = {
        "benchmark": "balances",
        "repeat": args.repeat,
        "machine": info,
        "dataset": {
            "members": len(people),
            "expenses_per_book": counts["expenses"] // len(books),
            "books": len(books),
            "counts": counts,
            "build_seconds": None if build_seconds is None else round(build_seconds, 1),
            "database_size": dataset.database_size(url),
        },
        "check": checked,
        "results": [r.as_dict() for r in results],
        "plans": plans,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2, default=str, ensure_ascii=False) + "\n")
    print(f"\nWrote {args.json} ({time.perf_counter() - started:.0f} s in all)")


if __name__ == "__main__":
    sys.exit(main())
