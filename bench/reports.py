"""Time the report endpoints and the expense list for the heavy user, next to raw SQL.

    .venv/bin/python -m bench.reports [--rebuild] [--repeat N] [--json PATH]

Each endpoint goes through the whole Django stack (URL routing, middleware, JWT
authentication, DRF, serializers, JSON rendering) with `django.test.Client` and a
real access token from POST /api/v1/auth/token/. In the same run, the hand-written
SQL that returns the same figures runs on a plain psycopg connection. Both are timed
after one warm-up, as the median of N runs, and their figures are compared. An
endpoint that answers anything but 200 is reported as n/a with its status.

Targets (the heavy user, PostgreSQL; issue 19): every report under 20 ms and at least
10 × under the raw-SQL scan of the records that gives the same figures (reports read
the day totals the database keeps, ledger/totals.py); the expense list's first page
under 30 ms and no page slower than 100 ms. The benchmark records whether they are met; it never
fails because of them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import psycopg

from bench import dataset

DEFAULT_JSON = Path(__file__).resolve().parent / "results" / "reports.json"
DEFAULT_REPEAT = 15
PAGE_SIZE = 50
DEEP_PAGE = 1000
TOP_MERCHANTS = 10
MAX_ROLLOVER_MONTHS = 120
API = "/api/v1"

REPORT_TARGET = "< 20 ms, ≥ 10× under raw"
DASHBOARD_TARGET = REPORT_TARGET
FIRST_PAGE_TARGET = "< 30 ms"
PAGE_TARGET = "< 100 ms"

Figures = Any
RawQuery = Callable[[psycopg.Connection], Figures]


@dataclass
class User:
    """The heavy user as the raw SQL needs it, and the dates every query is about."""

    id: int
    start_day: int
    today: date
    year: int
    month: int
    food_id: int
    book_id: int  # the personal book holding the records (SPEC §14)

    @property
    def shift(self) -> int:
        """Days to move a date back so that its budget month is its calendar month."""
        return self.start_day - 1


@dataclass
class Case:
    label: str
    path: str
    target: str
    raw: RawQuery | None = None
    api_figures: Callable[[dict[str, Any]], Figures] | None = None


@dataclass
class Result:
    label: str
    path: str
    target: str
    status: int | None = None
    note: str = ""
    samples_ms: list[float] = field(default_factory=list)
    raw_samples_ms: list[float] = field(default_factory=list)
    figures: str = "—"

    @property
    def median_ms(self) -> float | None:
        return round(statistics.median(self.samples_ms), 2) if self.samples_ms else None

    @property
    def raw_median_ms(self) -> float | None:
        return round(statistics.median(self.raw_samples_ms), 2) if self.raw_samples_ms else None

    @property
    def ratio(self) -> float | None:
        if self.median_ms is None or not self.raw_median_ms:
            return None
        return round(self.median_ms / self.raw_median_ms, 2)

    @property
    def met(self) -> bool | None:
        api, raw = self.median_ms, self.raw_median_ms
        if api is None:
            return None
        if self.target == FIRST_PAGE_TARGET:
            return api < 30
        if self.target == PAGE_TARGET:
            return api < 100
        if raw is None:
            return None
        return api < 20 and api * 10 <= raw

    def as_dict(self) -> dict[str, Any]:
        return {
            "endpoint": self.label,
            "path": self.path,
            "status": self.status,
            "note": self.note,
            "median_ms": self.median_ms,
            "raw_sql_median_ms": self.raw_median_ms,
            "ratio": self.ratio,
            "target": self.target,
            "met": self.met,
            "figures": self.figures,
            "samples_ms": [round(s, 2) for s in self.samples_ms],
            "raw_sql_samples_ms": [round(s, 2) for s in self.raw_samples_ms],
        }


# --- small helpers ---


def add_months(year: int, month: int, delta: int) -> tuple[int, int]:
    index = year * 12 + month - 1 + delta
    return index // 12, index % 12 + 1


def month_range(year: int, month: int, start_day: int) -> tuple[date, date]:
    next_year, next_month = add_months(year, month, 1)
    return date(year, month, start_day), date(next_year, next_month, start_day) - timedelta(1)


def budget_month_of(day: date, start_day: int) -> tuple[int, int]:
    return (day.year, day.month) if day.day >= start_day else add_months(day.year, day.month, -1)


def label(year: int, month: int) -> str:
    return f"{year:04d}-{month:02d}"


def money(value: Any) -> Decimal | None:
    """A figure as an exact 2-place Decimal, whichever side (JSON string or numeric) it is from."""
    if value is None:
        return None
    return Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


# --- raw SQL: the hand-written queries that return each report's figures ---


def summary_queries(
    conn: psycopg.Connection, user: User, start: date, end: date
) -> tuple[dict[str, Any], list[tuple]]:
    """Totals and counts, by category, top merchants: three grouped queries. Also returns
    the by-category rows in the API's order (total descending), for the dashboard."""
    params = {"book": user.book_id, "start": start, "end": end}
    by_category = conn.execute(
        """
        SELECT e.category_id, c.name, sum(e.base_amount) AS total, count(*) AS n
        FROM expenses_expense e LEFT JOIN categories_category c ON c.id = e.category_id
        WHERE e.book_id = %(book)s AND e.date BETWEEN %(start)s AND %(end)s
        GROUP BY e.category_id, c.name
        ORDER BY total DESC, c.name
        """,
        params,
    ).fetchall()
    income = conn.execute(
        """
        SELECT coalesce(sum(base_amount), 0), count(*) FROM income_income
        WHERE book_id = %(book)s AND date BETWEEN %(start)s AND %(end)s
        """,
        params,
    ).fetchone()
    merchants = conn.execute(
        """
        SELECT max(merchant), sum(base_amount) AS total, count(*)
        FROM expenses_expense
        WHERE book_id = %(book)s AND date BETWEEN %(start)s AND %(end)s AND merchant <> ''
        GROUP BY lower(merchant)
        ORDER BY total DESC, lower(merchant)
        LIMIT %(limit)s
        """,
        {**params, "limit": TOP_MERCHANTS},
    ).fetchall()
    assert income is not None
    figures = {
        "total_expenses": money(sum((row[2] for row in by_category), Decimal(0))),
        "total_income": money(income[0]),
        "expense_count": sum(row[3] for row in by_category),
        "income_count": income[1],
        "by_category": sorted((row[0] or 0, money(row[2]), row[3]) for row in by_category),
        "top_merchants": [(row[0], money(row[1]), row[2]) for row in merchants],
    }
    return figures, by_category


def raw_summary(conn: psycopg.Connection, user: User, start: date, end: date) -> dict[str, Any]:
    return summary_queries(conn, user, start, end)[0]


def api_summary(payload: dict[str, Any]) -> dict[str, Any]:
    return {
        "total_expenses": money(payload["total_expenses"]),
        "total_income": money(payload["total_income"]),
        "expense_count": payload["expense_count"],
        "income_count": payload["income_count"],
        "by_category": sorted(
            (row["category"] or 0, money(row["total"]), row["count"])
            for row in payload["by_category"]
        ),
        "top_merchants": [
            (row["merchant"], money(row["total"]), row["count"]) for row in payload["top_merchants"]
        ],
    }


def raw_budget_status(conn: psycopg.Connection, user: User) -> dict[str, Any]:
    """Each budget of the month with its rollover chain, from two queries: the budgets of the
    chain's months, and the spending per (budget month, category) over those months."""
    year, month = user.year, user.month
    this_month = date(year, month, 1)
    earliest = date(*add_months(year, month, -MAX_ROLLOVER_MONTHS), 1)
    budgets = conn.execute(
        """
        SELECT id, month, scope, category_id, amount, rollover, warn_threshold
        FROM budgets_budget WHERE book_id = %s AND month BETWEEN %s AND %s
        """,
        (user.book_id, earliest, this_month),
    ).fetchall()
    by_key = {(row[3], row[1]): row for row in budgets}
    current = [row for row in budgets if row[1] == this_month]
    if not current:
        return {"overall": None, "items": [], "unbudgeted_spent": None}
    chains = {}
    for budget in current:
        chain = [budget]
        while chain[-1][5]:  # rollover: the previous month's budget with the same key feeds it
            previous = date(*add_months(chain[-1][1].year, chain[-1][1].month, -1), 1)
            older = by_key.get((budget[3], previous))
            if older is None:
                break
            chain.append(older)
        chains[budget[3]] = chain
    first = min(chain[-1][1] for chain in chains.values())
    start, _ = month_range(first.year, first.month, user.start_day)
    _, end = month_range(year, month, user.start_day)
    spending = conn.execute(
        """
        SELECT date_trunc('month', (e.date - %(shift)s)::timestamp)::date AS label,
               e.category_id, c.parent_id, sum(e.base_amount)
        FROM expenses_expense e LEFT JOIN categories_category c ON c.id = e.category_id
        WHERE e.book_id = %(book)s AND e.date BETWEEN %(start)s AND %(end)s
        GROUP BY 1, 2, 3
        """,
        {"shift": user.shift, "book": user.book_id, "start": start, "end": end},
    ).fetchall()
    spent: dict[tuple[int | None, date], Decimal] = defaultdict(Decimal)
    budgeted = {key for key in chains if key is not None}
    unbudgeted = Decimal(0)
    for month_label, category_id, parent_id, total in spending:
        spent[(None, month_label)] += total
        for key in {category_id, parent_id} & budgeted:
            spent[(key, month_label)] += total
        if month_label == this_month and not ({category_id, parent_id} & budgeted):
            unbudgeted += total
    lines = {}
    for key, chain in chains.items():
        carried, available, used = Decimal(0), Decimal(0), Decimal(0)
        for position, budget in enumerate(reversed(chain)):
            rollover_in = carried if budget[5] and position else Decimal(0)
            available = budget[4] + rollover_in
            used = money(spent[(key, budget[1])]) or Decimal(0)
            carried = max(Decimal(0), available - used)
        budget = chain[0]
        status = (
            "exceeded" if used >= available else "warn" if used >= budget[6] * available else "ok"
        )
        lines[key] = (budget[0], money(used), money(available), status)
    return {
        "overall": lines.pop(None, None),
        "items": sorted(lines.values()),
        "unbudgeted_spent": money(unbudgeted),
    }


def api_budget_status(payload: dict[str, Any]) -> dict[str, Any]:
    def line(item: dict[str, Any] | None) -> tuple | None:
        if item is None:
            return None
        return (item["budget"], money(item["spent"]), money(item["available"]), item["status"])

    return {
        "overall": line(payload["overall"]),
        "items": sorted(line(item) for item in payload["items"]),  # type: ignore[type-var]
        "unbudgeted_spent": money(payload["unbudgeted_spent"]),
    }


def raw_month_summary(
    conn: psycopg.Connection, user: User, status: dict[str, Any] | None = None
) -> dict[str, Any]:
    start, end = month_range(user.year, user.month, user.start_day)
    figures, by_category = summary_queries(conn, user, start, end)
    if status is None:
        status = raw_budget_status(conn, user)
    overall = status["overall"]
    if overall is not None:
        total = overall[2]
        remaining = overall[2] - overall[1]
    elif status["items"]:
        total = sum(item[2] for item in status["items"])
        remaining = total - sum(item[1] for item in status["items"])
    else:
        total = remaining = None
    return {
        **figures,
        "budget_total": money(total),
        "budget_remaining": money(remaining),
        "top_categories": [(row[0] or 0, money(row[2])) for row in by_category[:5]],
    }


def api_month_summary(payload: dict[str, Any]) -> dict[str, Any]:
    return {
        **api_summary(payload),
        "budget_total": money(payload["budget_total"]),
        "budget_remaining": money(payload["budget_remaining"]),
        "top_categories": [
            (row["category"] or 0, money(row["total"])) for row in payload["by_category"][:5]
        ],
    }


def raw_month_series(
    conn: psycopg.Connection, user: User, first: tuple[int, int], count: int
) -> list[tuple[str, Decimal | None, Decimal | None]]:
    """Income and expenses of `count` budget months: one grouped query per table."""
    last = add_months(*first, count - 1)
    start, _ = month_range(*first, user.start_day)
    _, end = month_range(*last, user.start_day)
    totals: dict[str, dict[date, Decimal]] = {}
    for table in ("expenses_expense", "income_income"):
        totals[table] = dict(
            conn.execute(
                f"""
                SELECT date_trunc('month', (date - %(shift)s)::timestamp)::date,
                       sum(base_amount)
                FROM {table}
                WHERE book_id = %(book)s AND date BETWEEN %(start)s AND %(end)s
                GROUP BY 1
                """,
                {"shift": user.shift, "book": user.book_id, "start": start, "end": end},
            ).fetchall()
        )
    series = []
    for i in range(count):
        year, month = add_months(*first, i)
        key = date(year, month, 1)
        series.append(
            (
                label(year, month),
                money(totals["income_income"].get(key, 0)),
                money(totals["expenses_expense"].get(key, 0)),
            )
        )
    return series


def api_month_series(months: list[dict[str, Any]]) -> list[tuple]:
    return [(m["month"], money(m["income"]), money(m["expenses"])) for m in months]


def raw_monthly(conn: psycopg.Connection, user: User, year: int) -> dict[str, Any]:
    months = raw_month_series(conn, user, (year, 1), 12)
    income = sum((m[1] or Decimal(0) for m in months), Decimal(0))
    expenses = sum((m[2] or Decimal(0) for m in months), Decimal(0))
    return {"months": months, "totals": (money(income), money(expenses))}


def api_monthly(payload: dict[str, Any]) -> dict[str, Any]:
    totals = payload["totals"]
    return {
        "months": api_month_series(payload["months"]),
        "totals": (money(totals["income"]), money(totals["expenses"])),
    }


def raw_trends(conn: psycopg.Connection, user: User) -> dict[str, Any]:
    """Two budget months per category in one grouped query; the totals add its rows."""
    previous = add_months(user.year, user.month, -1)
    start, _ = month_range(*previous, user.start_day)
    current_start, end = month_range(user.year, user.month, user.start_day)
    rows = conn.execute(
        """
        SELECT category_id,
               coalesce(sum(base_amount) FILTER (WHERE date >= %(current)s), 0),
               coalesce(sum(base_amount) FILTER (WHERE date < %(current)s), 0)
        FROM expenses_expense
        WHERE book_id = %(book)s AND date BETWEEN %(start)s AND %(end)s
        GROUP BY category_id
        """,
        {"current": current_start, "book": user.book_id, "start": start, "end": end},
    ).fetchall()
    return {
        "current_total": money(sum((row[1] for row in rows), Decimal(0))),
        "previous_total": money(sum((row[2] for row in rows), Decimal(0))),
        "by_category": sorted((row[0] or 0, money(row[1]), money(row[2])) for row in rows),
    }


def api_trends(payload: dict[str, Any]) -> dict[str, Any]:
    return {
        "current_total": money(payload["current_total"]),
        "previous_total": money(payload["previous_total"]),
        "by_category": sorted(
            (row["category"] or 0, money(row["current"]), money(row["previous"]))
            for row in payload["by_category"]
        ),
    }


TIMESERIES_SOURCES = {
    "expense": "SELECT date, base_amount AS amount FROM expenses_expense "
    "WHERE book_id = %(book)s AND date BETWEEN %(start)s AND %(end)s",
    "income": "SELECT date, base_amount AS amount FROM income_income "
    "WHERE book_id = %(book)s AND date BETWEEN %(start)s AND %(end)s",
    "net": "SELECT date, base_amount AS amount FROM income_income "
    "WHERE book_id = %(book)s AND date BETWEEN %(start)s AND %(end)s "
    "UNION ALL SELECT date, -base_amount FROM expenses_expense "
    "WHERE book_id = %(book)s AND date BETWEEN %(start)s AND %(end)s",
}
TIMESERIES_BUCKETS = {
    "day": ("date", "1 day"),
    "week": ("date_trunc('week', date::timestamp)::date", "1 week"),
    "month": (
        "(date_trunc('month', (date - %(shift)s)::timestamp)::date + %(shift)s)",
        "1 month",
    ),
}


def raw_timeseries(
    conn: psycopg.Connection, user: User, start: date, end: date, bucket: str, kind: str
) -> list[tuple[str, Decimal | None, int]]:
    """Zero-filled buckets: generate_series left-joined to one grouped query."""
    if bucket == "day":
        first = start
    elif bucket == "week":
        first = start - timedelta(days=start.weekday())
    else:
        first, _ = month_range(*budget_month_of(start, user.start_day), user.start_day)
    expression, step = TIMESERIES_BUCKETS[bucket]
    rows = conn.execute(
        f"""
        SELECT g.period_start::date, coalesce(t.total, 0), coalesce(t.n, 0)
        FROM generate_series(%(first)s::date, %(end)s::date, %(step)s::interval) AS g(period_start)
        LEFT JOIN (
            SELECT {expression} AS period_start, sum(amount) AS total, count(*) AS n
            FROM ({TIMESERIES_SOURCES[kind]}) AS records
            GROUP BY 1
        ) t ON t.period_start = g.period_start::date
        ORDER BY 1
        """,
        {
            "first": first,
            "end": end,
            "step": step,
            "shift": user.shift,
            "book": user.book_id,
            "start": start,
        },
    ).fetchall()
    return [(row[0].isoformat(), money(row[1]), row[2]) for row in rows]


def api_timeseries(payload: dict[str, Any]) -> list[tuple]:
    return [(p["period_start"], money(p["total"]), p["count"]) for p in payload["points"]]


def raw_goals(conn: psycopg.Connection, user: User) -> list[tuple[int, Decimal | None]]:
    """Saved and recent (last 3 budget months) sums of the goals, in one grouped query."""
    first = add_months(*budget_month_of(user.today, user.start_day), -2)
    recent_start, _ = month_range(*first, user.start_day)
    rows = conn.execute(
        """
        SELECT g.id, g.target_amount, g.target_date, g.status,
               coalesce(sum(c.amount), 0),
               coalesce(sum(c.amount) FILTER (WHERE c.date BETWEEN %s AND %s), 0)
        FROM goals_goal g LEFT JOIN goals_contribution c ON c.goal_id = g.id
        WHERE g.book_id = %s AND g.status <> 'archived'
        GROUP BY g.id
        ORDER BY g.target_date NULLS LAST, g.id
        LIMIT 10
        """,
        (recent_start, user.today, user.book_id),
    ).fetchall()
    return sorted((row[0], money(row[4])) for row in rows)


def raw_recent(conn: psycopg.Connection, user: User) -> list[tuple[str, int]]:
    rows = conn.execute(
        """
        (SELECT 'expense' AS type, id, date, created_at FROM expenses_expense
         WHERE book_id = %(book)s ORDER BY date DESC, created_at DESC, id DESC LIMIT 5)
        UNION ALL
        (SELECT 'income', id, date, created_at FROM income_income
         WHERE book_id = %(book)s ORDER BY date DESC, created_at DESC, id DESC LIMIT 5)
        ORDER BY date DESC, created_at DESC, id DESC
        LIMIT 5
        """,
        {"book": user.book_id},
    ).fetchall()
    return [(row[0], row[1]) for row in rows]


def raw_dashboard(conn: psycopg.Connection, user: User) -> dict[str, Any]:
    """The union of its parts' queries: budget status, this month's summary (which also
    gives the top categories), the last 6 months, goals' sums and the 5 newest records."""
    status = raw_budget_status(conn, user)
    summary = raw_month_summary(conn, user, status)
    return {
        "total_expenses": summary["total_expenses"],
        "total_income": summary["total_income"],
        "budget_total": summary["budget_total"],
        "budgets": (status["overall"], status["items"]),
        "last_6_months": raw_month_series(conn, user, add_months(user.year, user.month, -5), 6),
        "top_categories": summary["top_categories"],
        "goals": raw_goals(conn, user),
        "recent": raw_recent(conn, user),
    }


def api_dashboard(payload: dict[str, Any]) -> dict[str, Any]:
    budgets = payload["budgets"]
    status = api_budget_status({**budgets, "unbudgeted_spent": None})
    return {
        "total_expenses": money(payload["summary"]["total_expenses"]),
        "total_income": money(payload["summary"]["total_income"]),
        "budget_total": money(payload["summary"]["budget_total"]),
        "budgets": (status["overall"], status["items"]),
        "last_6_months": api_month_series(payload["last_6_months"]),
        "top_categories": [
            (row["category"] or 0, money(row["total"])) for row in payload["top_categories"]
        ],
        "goals": sorted((g["id"], money(g["saved_amount"])) for g in payload["goals"]),
        "recent": [(row["type"], row["id"]) for row in payload["recent_transactions"]],
    }


# --- raw SQL for the list pages: the same 50 rows by keyset, with their tags ---

LIST_COLUMNS = """
    e.id, e.amount, e.currency, e.base_amount, e.exchange_rate, e.date, e.description,
    e.category_id, c.name, e.payment_method, e.merchant, e.notes, e.receipt,
    e.created_at, e.updated_at
"""


def raw_list_page(conn: psycopg.Connection, where: str, params: dict[str, Any]) -> list[int]:
    rows = conn.execute(
        f"""
        SELECT {LIST_COLUMNS}
        FROM expenses_expense e LEFT JOIN categories_category c ON c.id = e.category_id
        WHERE e.book_id = %(book)s {where}
        ORDER BY e.date DESC, e.id DESC
        LIMIT {PAGE_SIZE}
        """,
        params,
    ).fetchall()
    ids = [row[0] for row in rows]
    conn.execute(
        "SELECT et.expense_id, t.id, t.name FROM expenses_expense_tags et "
        "JOIN categories_tag t ON t.id = et.tag_id WHERE et.expense_id = ANY(%s)",
        (ids,),
    ).fetchall()
    return ids


def api_list_ids(payload: dict[str, Any]) -> list[int]:
    return [row["id"] for row in payload["results"]]


# --- timing ---


def elapsed_ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def time_endpoint(client: Any, path: str, repeat: int) -> tuple[int, Any, list[float]]:
    """Warm up once, then `repeat` timed GETs; stops at the first non-200 answer."""
    response = client.get(path)
    if response.status_code != 200:
        return response.status_code, response, []
    payload = response.json()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(path)
        samples.append(elapsed_ms(started))
        if response.status_code != 200:
            return response.status_code, response, []
    return 200, payload, samples


def time_raw(conn: psycopg.Connection, query: RawQuery, repeat: int) -> tuple[Any, list[float]]:
    figures = query(conn)
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        query(conn)
        samples.append(elapsed_ms(started))
    return figures, samples


def compare(api_figures: Figures, raw_figures: Figures) -> str:
    if api_figures == raw_figures:
        return "same"
    if isinstance(api_figures, dict) and isinstance(raw_figures, dict):
        differing = [k for k in raw_figures if api_figures.get(k) != raw_figures.get(k)]
        return "DIFFER: " + ", ".join(differing)
    return "DIFFER"


def error_note(response: Any) -> str:
    try:
        body = response.json()
    except (ValueError, AttributeError):
        return ""
    if isinstance(body, dict):
        text = body.get("detail") or json.dumps(body)
        return str(text)[:80]
    return str(body)[:80]


def run_case(client: Any, conn: psycopg.Connection, case: Case, repeat: int) -> Result:
    result = Result(case.label, case.path, case.target)
    print(f"  {case.label} ...", end="", flush=True)
    status, payload, samples = time_endpoint(client, case.path, repeat)
    result.status = status
    if status != 200:
        result.note = error_note(payload)
    else:
        result.samples_ms = samples
    if case.raw is not None:
        raw_figures, result.raw_samples_ms = time_raw(conn, case.raw, repeat)
        if status == 200 and case.api_figures is not None:
            try:
                result.figures = compare(case.api_figures(payload), raw_figures)
            except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
                result.figures = f"? payload shape ({type(exc).__name__}: {exc})"[:80]
    print(f" {fmt(result.median_ms)} ms / raw {fmt(result.raw_median_ms)} ms", flush=True)
    return result


def deep_page(client: Any, conn: psycopg.Connection, user: User, repeat: int) -> Result:
    """Page 1000 reached as a client would: following `next` 999 times; only its own
    request is timed (N times, re-requesting the same URL)."""
    result = Result(
        f"/expenses/ page {DEEP_PAGE}", f"{API}/expenses/ (next × {DEEP_PAGE - 1})", PAGE_TARGET
    )
    print(f"  following next to page {DEEP_PAGE} ...", end="", flush=True)
    url = f"{API}/expenses/"
    previous_payload: dict[str, Any] | None = None
    started = time.perf_counter()
    for page in range(1, DEEP_PAGE):
        response = client.get(url)
        if response.status_code != 200:
            result.status = response.status_code
            result.note = f"page {page}: {error_note(response)}"
            print(" failed", flush=True)
            return result
        previous_payload = response.json()
        url = previous_payload.get("next")
        if not url:
            result.note = f"no next link after page {page}"
            print(f" {result.note}", flush=True)
            return result
    print(f" {time.perf_counter() - started:.0f} s", flush=True)
    result.path = url
    assert previous_payload is not None
    last = previous_payload["results"][-1]
    boundary = {"book": user.book_id, "date": last["date"], "id": last["id"]}
    case = Case(
        result.label,
        url,
        PAGE_TARGET,
        raw=lambda c: raw_list_page(c, "AND (e.date, e.id) < (%(date)s, %(id)s)", boundary),
        api_figures=api_list_ids,
    )
    timed = run_case(client, conn, case, repeat)
    timed.path = url
    return timed


def fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}"


# --- the run ---


def heavy_user() -> User:
    return report_user(dataset.HEAVY_USERNAME)


def report_user(username: str) -> User:
    """A bench user, their personal book and the dates the raw SQL needs."""
    from categories.models import Category
    from core.dates import budget_month_of as user_budget_month
    from core.dates import user_today
    from users.models import User as UserModel

    account = UserModel.objects.get(username=username)
    today = user_today(account)
    year, month = user_budget_month(today, account.month_start_day)
    food = Category.objects.get(user__isnull=True, kind="expense", name="Food")
    return User(
        account.pk, account.month_start_day, today, year, month, food.pk, account.personal_book.pk
    )


def report_cases(user: User, income_start: date | None = None) -> list[Case]:
    """The report endpoints; the monthly income series starts at `income_start`
    (default: 10 years back, the heavy user's whole history)."""
    today = user.today
    month = label(user.year, user.month)
    year_ago = today - timedelta(days=365)
    ten_years = years_before(today, 10)
    this_month = month_range(user.year, user.month, user.start_day)
    last_365 = (today - timedelta(days=364), today)

    def series(start: date, bucket: str, kind: str) -> Case:
        return Case(
            f"/reports/timeseries/ {bucket} {kind}",
            f"{API}/reports/timeseries/?start={start}&end={today}&bucket={bucket}&kind={kind}",
            REPORT_TARGET,
            raw=lambda c: raw_timeseries(c, user, start, today, bucket, kind),
            api_figures=api_timeseries,
        )

    return [
        Case(
            "/reports/summary/ this_month",
            f"{API}/reports/summary/?period=this_month",
            REPORT_TARGET,
            raw=lambda c: raw_summary(c, user, *this_month),
            api_figures=api_summary,
        ),
        Case(
            "/reports/summary/ last_365_days",
            f"{API}/reports/summary/?period=last_365_days",
            REPORT_TARGET,
            raw=lambda c: raw_summary(c, user, *last_365),
            api_figures=api_summary,
        ),
        Case(
            "/summary/ month",
            f"{API}/summary/?month={month}",
            REPORT_TARGET,
            raw=lambda c: raw_month_summary(c, user),
            api_figures=api_month_summary,
        ),
        Case(
            "/reports/monthly/ year",
            f"{API}/reports/monthly/?year={today.year}",
            REPORT_TARGET,
            raw=lambda c: raw_monthly(c, user, today.year),
            api_figures=api_monthly,
        ),
        Case(
            "/reports/trends/ month",
            f"{API}/reports/trends/?month={month}",
            REPORT_TARGET,
            raw=lambda c: raw_trends(c, user),
            api_figures=api_trends,
        ),
        series(year_ago, "day", "expense"),
        series(year_ago, "week", "net"),
        series(income_start or ten_years, "month", "income"),
        Case(
            "/reports/dashboard/",
            f"{API}/reports/dashboard/",
            DASHBOARD_TARGET,
            raw=lambda c: raw_dashboard(c, user),
            api_figures=api_dashboard,
        ),
        Case(
            "/budgets/status/ month",
            f"{API}/budgets/status/?month={month}",
            REPORT_TARGET,
            raw=lambda c: raw_budget_status(c, user),
            api_figures=api_budget_status,
        ),
    ]


def list_cases(user: User) -> list[Case]:
    since = user.today - timedelta(days=365)
    filtered = {"book": user.book_id, "category": user.food_id, "min": 20, "since": since}
    return [
        Case(
            "/expenses/ first page",
            f"{API}/expenses/",
            FIRST_PAGE_TARGET,
            raw=lambda c: raw_list_page(c, "", {"book": user.book_id}),
            api_figures=api_list_ids,
        ),
        Case(
            "/expenses/ filtered page",
            f"{API}/expenses/?category={user.food_id}&min_amount=20&start_date={since}",
            PAGE_TARGET,
            raw=lambda c: raw_list_page(
                c,
                "AND (e.category_id = %(category)s OR c.parent_id = %(category)s) "
                "AND e.amount >= %(min)s AND e.date >= %(since)s",
                filtered,
            ),
            api_figures=api_list_ids,
        ),
    ]


def obtain_token(
    client: Any,
    username: str = dataset.HEAVY_USERNAME,
    password: str = dataset.HEAVY_PASSWORD,
) -> str:
    response = client.post(
        f"{API}/auth/token/",
        {"username": username, "password": password},
        content_type="application/json",
    )
    if response.status_code != 200:
        raise SystemExit(f"Login failed: {response.status_code} {response.content[:200]!r}")
    return str(response.json()["access"])


def expense_pagination() -> str | None:
    from expenses.views import ExpenseViewSet

    paginator = ExpenseViewSet.pagination_class
    return f"{paginator.__module__}.{paginator.__qualname__}" if paginator else None


def machine_info(conn: psycopg.Connection) -> dict[str, Any]:
    import django
    import rest_framework
    from django.conf import settings

    cpu = "unknown"
    memory_gb = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
                break
    except OSError:
        pass
    version = conn.execute("SHOW server_version").fetchone()
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gb": memory_gb,
        "postgresql": version[0] if version else None,
        "python": platform.python_version(),
        "django": django.get_version(),
        "djangorestframework": rest_framework.VERSION,
        "psycopg": psycopg.__version__,
        "settings": {
            "DEBUG": settings.DEBUG,
            "CONN_MAX_AGE": settings.DATABASES["default"].get("CONN_MAX_AGE"),
            "DEFAULT_PAGINATION_CLASS": settings.REST_FRAMEWORK.get("DEFAULT_PAGINATION_CLASS"),
            "expense_list_pagination": expense_pagination(),
        },
    }


def print_table(results: list[Result]) -> None:
    headers = ("endpoint", "median ms", "raw-SQL median ms", "ratio", "target", "met?", "figures")
    rows = []
    for r in results:
        api = fmt(r.median_ms) if r.samples_ms else f"n/a ({r.status or r.note})"
        met = "n/a" if r.met is None else ("yes" if r.met else "NO")
        ratio = "n/a" if r.ratio is None else f"{r.ratio:.2f}×"
        rows.append((r.label, api, fmt(r.raw_median_ms), ratio, r.target, met, r.figures))
    widths = [max(len(str(row[i])) for row in (headers, *rows)) for i in range(len(headers))]
    right = {1, 2, 3}

    def line(cells: tuple) -> str:
        return " | ".join(
            str(c).rjust(w) if i in right else str(c).ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    print(line(headers))
    print("-+-".join("-" * w for w in widths))
    for row in rows:
        print(line(row))
    notes = [r for r in results if r.note]
    for r in notes:
        print(f"  {r.label}: status {r.status}, {r.note}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rebuild", action="store_true", help="drop and rebuild the data set")
    parser.add_argument(
        "--repeat", type=int, default=DEFAULT_REPEAT, help=f"timed runs (default {DEFAULT_REPEAT})"
    )
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help="where to write results")
    parser.add_argument("--scale", type=float, default=1.0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")

    started = time.perf_counter()
    meta = dataset.ensure(rebuild=args.rebuild, scale=args.scale)
    print(f"Data set build time: {meta['build_seconds']:.1f} s (built {meta['built_at']})")
    if meta["built_on"] != datetime.now(UTC).date().isoformat():
        print(
            f"  note: built on {meta['built_on']}; the most recent days hold no records "
            "(--rebuild for a data set ending today)"
        )
    dataset.print_counts(meta)

    from django.test import Client

    client = Client(raise_request_exception=False)
    token = obtain_token(client)
    client = Client(raise_request_exception=False, headers={"authorization": f"Bearer {token}"})
    user = heavy_user()
    print(f"Timing {dataset.HEAVY_USERNAME} (id {user.id}), median of {args.repeat} runs:")

    results = []
    with dataset.connect(dataset.database_url(), autocommit=True, prepare_threshold=None) as conn:
        for case in report_cases(user) + list_cases(user):
            results.append(run_case(client, conn, case, args.repeat))
        results.append(deep_page(client, conn, user, args.repeat))
        info = machine_info(conn)

    print()
    print_table(results)
    report = {
        "benchmark": "reports",
        "repeat": args.repeat,
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
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2, default=str, ensure_ascii=False) + "\n")
    print(f"\nWrote {args.json} ({time.perf_counter() - started:.0f} s in all)")


if __name__ == "__main__":
    sys.exit(main())
