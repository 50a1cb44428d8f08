"""The benchmark data set: a dedicated PostgreSQL database filled with COPY.

2,000 ordinary users with 1,000 expenses each over the last 2 years, and one heavy
user (`bench_heavy`) with 1,000,000 expenses and 100,000 income records over the last
10 years ending today, plus the categories, tags, budgets and goals a dashboard
needs. Expenses are stored in the order they were entered, every user's interleaved,
as in production. Every row comes from `random.Random` seeded from `SEED`, so two
builds on the same day are identical. The build is skipped when the database already
holds a complete data set of the same plan; `--rebuild` drops and recreates it.

    .venv/bin/python -m bench.dataset [--rebuild]

The database is `budget_bench` on 127.0.0.1:5432 unless BENCH_DATABASE_URL says
otherwise; Django's migrations create the schema, so it is the application's own.
"""

from __future__ import annotations

import argparse
import heapq
import json
import math
import os
import random
import sys
import time
import warnings
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from operator import itemgetter
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/budget_bench"
# Databases to connect to for CREATE/DROP DATABASE, tried in order.
MAINTENANCE_DATABASES = ("postgres", "test")
# Bump when the shape of the data changes, so an old data set is rebuilt.
DATASET_VERSION = 2
SEED = 20_260_101
META_TABLE = "bench_meta"

HEAVY_USERNAME = "bench_heavy"
HEAVY_PASSWORD = "bench-Heavy-passw0rd"
CURRENCY = "USD"
# Cap on one generated amount, in cents (a $250k expense is the long tail's end).
MAX_CENTS = 25_000_000

# Tables whose secondary indexes are dropped during the load and rebuilt after it.
BULK_TABLES = ("expenses_expense", "income_income", "expenses_expense_tags")
# Tables loaded with explicit ids, whose identity sequences are moved past them.
EXPLICIT_ID_TABLES = ("users_user", "expenses_expense", "income_income", "categories_tag")


@dataclass(frozen=True)
class Plan:
    """How much to build. `scaled` shrinks it for a quick trial run."""

    normal_users: int = 2_000
    expenses_per_user: int = 1_000
    normal_days: int = 730
    heavy_expenses: int = 1_000_000
    heavy_income: int = 100_000
    heavy_days: int = 3_652

    @classmethod
    def scaled(cls, scale: float) -> Plan:
        full = cls()
        if scale == 1:
            return full
        return cls(
            normal_users=max(1, round(full.normal_users * scale)),
            expenses_per_user=full.expenses_per_user,
            normal_days=full.normal_days,
            heavy_expenses=max(1_000, round(full.heavy_expenses * scale)),
            heavy_income=max(100, round(full.heavy_income * scale)),
            heavy_days=full.heavy_days,
        )


# --- what the rows look like ---


@dataclass(frozen=True)
class Spend:
    """An expense category's share of rows and its amounts (log-normal around `median`)."""

    name: str
    weight: float
    median: float
    sigma: float
    descriptions: tuple[str, ...]
    merchant_kind: str = ""
    parent: str = ""


SYSTEM_SPEND = (
    Spend("Food", 20, 14, 0.6, ("Lunch", "Dinner", "Breakfast", "Takeaway", "Snacks"), "food"),
    Spend("Groceries", 14, 55, 0.6, ("Weekly shop", "Groceries", "Fruit and veg"), "grocery"),
    Spend("Rent", 0.3, 1_450, 0.15, ("Rent", "Rent payment")),
    Spend("Transport", 10, 18, 0.8, ("Bus fare", "Taxi", "Train ticket", "Parking"), "auto"),
    Spend("Utilities", 2, 90, 0.5, ("Electricity", "Water bill", "Internet", "Phone bill")),
    Spend("Entertainment", 7, 30, 0.8, ("Cinema", "Concert", "Games", "Streaming"), "fun"),
    Spend("Healthcare", 3, 60, 1.0, ("Pharmacy", "Doctor visit", "Dentist"), "health"),
    Spend("Shopping", 9, 45, 0.9, ("Clothes", "Shoes", "Electronics", "Homeware"), "shop"),
    Spend("Education", 2, 80, 0.9, ("Books", "Course fee", "Stationery"), "books"),
    Spend("Travel", 2, 220, 0.9, ("Hotel", "Flight", "Car rental"), "travel"),
    Spend("Other", 4, 25, 1.0, ("Miscellaneous", "Cash withdrawal", "Fees")),
)
# The heavy user's own expense categories; two are subcategories of system ones.
OWN_SPEND = (
    Spend("Coffee", 8, 5, 0.4, ("Coffee", "Latte", "Espresso"), "food", parent="Food"),
    Spend("Fuel", 4, 45, 0.3, ("Fuel", "Petrol"), "auto", parent="Transport"),
    Spend("Pets", 2, 35, 0.7, ("Pet food", "Vet", "Grooming")),
    Spend("Gym", 1, 40, 0.3, ("Gym membership", "Yoga class")),
    Spend("Subscriptions", 2, 13, 0.5, ("Music subscription", "Cloud storage", "News")),
    Spend("Gifts & Donations", 2, 50, 0.8, ("Birthday gift", "Donation", "Wedding gift")),
    Spend("Childcare", 2, 70, 0.6, ("Babysitter", "Daycare", "School trip")),
    Spend("Home Improvement", 1.5, 120, 1.0, ("Paint", "Tools", "Plumber")),
)
HEAVY_UNCATEGORISED_WEIGHT = 4.0
NORMAL_UNCATEGORISED_WEIGHT = 3.0
UNCATEGORISED_DESCRIPTIONS = ("Card payment", "Online purchase", "Misc", "Unknown charge")


@dataclass(frozen=True)
class Earn:
    name: str
    weight: float
    median: float
    sigma: float
    descriptions: tuple[str, ...]


SYSTEM_EARN = (
    Earn("Salary", 8, 6_000, 0.1, ("Salary", "Monthly salary")),
    Earn("Freelance", 25, 400, 0.8, ("Invoice paid", "Consulting", "Design job")),
    Earn("Investments", 30, 50, 1.2, ("Dividend", "Interest", "Fund distribution")),
    Earn("Gifts", 10, 60, 0.8, ("Gift", "Birthday money")),
    Earn("Other", 10, 30, 1.0, ("Refund", "Cashback", "Sold item")),
)
OWN_EARN = (
    Earn("Side Projects", 15, 150, 0.9, ("App sales", "Workshop", "Sponsorship")),
    Earn("Rental Income", 5, 1_200, 0.1, ("Rent received",)),
)
PAYERS = (
    "Acme Corp",
    "Globex",
    "Initech",
    "Umbrella Ltd",
    "Stark Industries",
    "Wayne Enterprises",
    "Hooli",
    "Vandelay Imports",
    "Soylent Co",
    "Tyrell Corp",
    "Brokerage Inc",
    "First Savings Bank",
    "Index Fund",
    "Mom",
    "Dad",
    "Tenant A",
    "Tenant B",
    "Upwork",
    "Fiverr",
    "Etsy",
    "Patreon",
    "Gumroad",
    "Client North",
    "Client South",
    "Client East",
    "Client West",
    "City Council",
    "Tax Office",
)

MERCHANT_PREFIXES = (
    "Blue Door",
    "Corner",
    "Greenleaf",
    "Harbor",
    "Maple",
    "Northside",
    "Oak & Pine",
    "Riverside",
    "Sunrise",
    "Union",
    "Golden Gate",
    "Old Town",
    "Cedar",
    "Summit",
    "Lakeside",
    "Metro",
    "Silver",
    "Red Barn",
    "Parkview",
    "Westend",
)
MERCHANT_SUFFIXES = {
    "Cafe": "food",
    "Bistro": "food",
    "Market": "grocery",
    "Grocers": "grocery",
    "Pharmacy": "health",
    "Cinema": "fun",
    "Outfitters": "shop",
    "Books": "books",
    "Auto": "auto",
    "Travel": "travel",
}
MERCHANT_RATE = 0.2
NOTES = ("split with friends", "reimbursable", "paid in advance", "discounted", "for the kids")
NOTE_RATE = 0.02
PAYMENT_METHODS = (
    ("card", 50),
    ("cash", 15),
    ("upi", 10),
    ("mobile_wallet", 10),
    ("bank_transfer", 10),
    ("other", 5),
)
TAGS = (
    "work",
    "reimbursable",
    "family",
    "vacation",
    "gift",
    "tax-deductible",
    "subscription",
    "weekend",
)
TAG_RATE = 0.1
# (category or "" for overall, rollover, warn threshold)
BUDGETS = (
    ("", True, "0.800"),
    ("Food", True, "0.800"),
    ("Groceries", False, "0.900"),
    ("Transport", False, "0.800"),
    ("Entertainment", True, "0.800"),
    ("Coffee", False, "0.750"),
)
BUDGET_MONTHS = 13  # the current budget month and the 12 before it
# (name, target, days to target date or None, months of contributions, low, high)
GOALS = (
    ("Emergency fund", 60_000, 540, 36, 800, 1_500),
    ("New car", 35_000, 900, 18, 600, 1_200),
    ("Vacation", 6_000, None, 12, 450, 700),
)

COLUMNS = {
    "users_user": (
        "id",
        "password",
        "last_login",
        "is_superuser",
        "username",
        "first_name",
        "last_name",
        "is_staff",
        "is_active",
        "date_joined",
        "email",
        "base_currency",
        "timezone",
        "month_start_day",
    ),
    "users_user_groups": ("user_id", "group_id"),
    "books_book": (
        "id",
        "name",
        "kind",
        "personal_owner_id",
        "base_currency",
        "month_start_day",
        "created_at",
        "updated_at",
    ),
    "books_membership": ("book_id", "user_id", "role", "created_at"),
    "categories_tag": ("id", "created_at", "updated_at", "name", "user_id", "book_id"),
    "expenses_expense": (
        "id",
        "created_at",
        "updated_at",
        "amount",
        "currency",
        "base_amount",
        "exchange_rate",
        "date",
        "description",
        "notes",
        "receipt",
        "payment_method",
        "merchant",
        "category_id",
        "user_id",
        "book_id",
    ),
    "expenses_expense_tags": ("expense_id", "tag_id"),
    "income_income": (
        "id",
        "created_at",
        "updated_at",
        "amount",
        "currency",
        "base_amount",
        "exchange_rate",
        "date",
        "description",
        "notes",
        "receipt",
        "source",
        "category_id",
        "user_id",
        "book_id",
    ),
}
COUNTED_TABLES = (
    "users_user",
    "users_user_groups",
    "books_book",
    "categories_category",
    "categories_tag",
    "expenses_expense",
    "expenses_expense_tags",
    "income_income",
    "budgets_budget",
    "goals_goal",
    "goals_contribution",
)

# "HH:MM:SS+00" for every second of a day, so a timestamp is one string concatenation.
TIMES_OF_DAY = tuple(
    f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}+00" for s in range(24 * 3600)
)


class Profile:
    """A category as the row generator needs it: id, log-normal parameters, text pools."""

    __slots__ = ("category_id", "descriptions", "merchants", "mu", "sigma")

    def __init__(
        self,
        category_id: int | None,
        median: float,
        sigma: float,
        descriptions: tuple[str, ...],
        merchants: tuple[str, ...] = (),
    ) -> None:
        self.category_id = category_id
        self.mu = math.log(median)
        self.sigma = sigma
        self.descriptions = descriptions
        self.merchants = merchants


# --- connections and Django ---


def database_url() -> str:
    return os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)


def database_name(url: str) -> str:
    name = conninfo_to_dict(url).get("dbname")
    if not name:
        raise SystemExit(f"BENCH_DATABASE_URL has no database name: {url}")
    return str(name)


def connect(url: str, **kwargs: Any) -> psycopg.Connection:
    # Django's URL scheme "postgres://" is also libpq's; "postgresql+psycopg://" is not.
    return psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), **kwargs)


def maintenance_connection(url: str) -> psycopg.Connection:
    errors = []
    for name in MAINTENANCE_DATABASES:
        try:
            return psycopg.connect(make_conninfo(url, dbname=name), autocommit=True)
        except psycopg.OperationalError as exc:
            errors.append(f"{name}: {exc}")
    raise SystemExit("Cannot reach PostgreSQL:\n" + "\n".join(errors))


def configure_django(url: str) -> None:
    """Point Django at the bench database with production-like settings, then set it up.

    Throttles are lifted and the access token outlives a run. Variables already in the
    environment win, except DATABASE_URL, which must be the bench database.
    """
    os.environ["DATABASE_URL"] = url
    defaults = {
        "DJANGO_SETTINGS_MODULE": "budget_tracker.settings",
        "DEBUG": "false",
        "SECRET_KEY": "bench-only-secret-key-0f3c9a7e5d1b4c2a8e6f0d9b7a5c3e1f",
        "ALLOWED_HOSTS": "testserver,localhost,127.0.0.1",
        "THROTTLE_LOGIN_RATE": "1000000/min",
        "THROTTLE_REGISTER_RATE": "1000000/min",
        "THROTTLE_PASSWORD_RESET_RATE": "1000000/min",
        "JWT_ACCESS_MINUTES": "720",
        "CONN_MAX_AGE": "600",
        "LOG_LEVEL": "WARNING",
    }
    for key, value in defaults.items():
        os.environ.setdefault(key, value)
    # Static files are not collected for a benchmark; whitenoise would warn on every request.
    warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)
    if str(PROJECT_ROOT) not in sys.path:
        sys.path.insert(0, str(PROJECT_ROOT))
    import django

    django.setup()


@contextmanager
def step(label: str) -> Iterator[None]:
    started = time.perf_counter()
    print(f"  {label} ...", flush=True)
    yield
    print(f"  {label}: {time.perf_counter() - started:.1f} s", flush=True)


# --- the marker ---


def read_meta(url: str) -> dict[str, Any] | None:
    """The build record of a complete data set, or None when there is none."""
    try:
        with connect(url, autocommit=True) as conn:
            found = conn.execute("SELECT to_regclass(%s)", (META_TABLE,)).fetchone()
            if not found or found[0] is None:
                return None
            row = conn.execute(
                sql.SQL("SELECT value FROM {} WHERE key = 'dataset'").format(
                    sql.Identifier(META_TABLE)
                )
            ).fetchone()
            return row[0] if row else None
    except psycopg.OperationalError:
        return None


def is_complete(url: str, meta: dict[str, Any] | None, plan: Plan) -> bool:
    """The marker matches this plan and the heavy user really has its rows."""
    if not meta or meta.get("version") != DATASET_VERSION or meta.get("plan") != asdict(plan):
        return False
    with connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT id FROM users_user WHERE username = %s", (HEAVY_USERNAME,)
        ).fetchone()
        if row is None:
            return False
        expenses = conn.execute(
            "SELECT count(*) FROM expenses_expense WHERE user_id = %s", (row[0],)
        ).fetchone()
        income = conn.execute(
            "SELECT count(*) FROM income_income WHERE user_id = %s", (row[0],)
        ).fetchone()
    return (expenses, income) == ((plan.heavy_expenses,), (plan.heavy_income,))


# --- building ---


def recreate_database(url: str) -> None:
    name = database_name(url)
    with maintenance_connection(url) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def migrate() -> None:
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0, interactive=False)
    connection.close()


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def _add_months(year: int, month: int, delta: int) -> tuple[int, int]:
    index = year * 12 + month - 1 + delta
    return index // 12, index % 12 + 1


def _merchant_pools() -> tuple[dict[str, tuple[str, ...]], tuple[str, ...]]:
    """About 200 merchants ("Harbor Cafe", ...), grouped by the kind of shop."""
    by_kind: dict[str, list[str]] = defaultdict(list)
    everyone = []
    for suffix, kind in MERCHANT_SUFFIXES.items():
        for prefix in MERCHANT_PREFIXES:
            name = f"{prefix} {suffix}"
            by_kind[kind].append(name)
            everyone.append(name)
    return {kind: tuple(names) for kind, names in by_kind.items()}, tuple(everyone)


def _payment_method_pool() -> tuple[str, ...]:
    return tuple(method for method, weight in PAYMENT_METHODS for _ in range(weight))


def _calendar(first_day: date, days: int) -> tuple[list[str], list[tuple[int, int]]]:
    dates = [first_day + timedelta(days=i) for i in range(days)]
    return [d.isoformat() for d in dates], [(d.year, d.month) for d in dates]


def expense_rows(
    rng: random.Random,
    *,
    user_id: int,
    count: int,
    calendar: list[str],
    span_seconds: int,
    profiles: list[Profile],
    cum_weights: list[float],
    all_merchants: tuple[str, ...],
    payment_methods: tuple[str, ...],
    n_tags: int = 0,
    months: list[tuple[int, int]] | None = None,
    spend: dict[tuple[tuple[int, int], int | None], int] | None = None,
) -> Iterator[tuple[str, tuple[Any, ...], tuple[int, ...]]]:
    """One user's `count` expenses in the order they were entered, as (created_at, the row
    without its id, indexes of its tags), spread over `span_seconds` from `calendar[0]`.

    When `spend` is given, cents are added up per (calendar month, category) so budgets
    can be sized to the spending.
    """
    r = rng.random
    gauss = rng.gauss
    stamps = sorted(int(r() * span_seconds) for _ in range(count))
    chosen = rng.choices(profiles, cum_weights=cum_weights, k=count)
    n_methods = len(payment_methods)
    n_all = len(all_merchants)
    no_tags: tuple[int, ...] = ()
    for i in range(count):
        profile = chosen[i]
        offset, second = divmod(stamps[i], 86_400)
        day = calendar[offset]
        created = f"{day} {TIMES_OF_DAY[second]}"
        cents = int(math.exp(profile.mu + profile.sigma * gauss()) * 100)
        cents = 1 if cents < 1 else min(cents, MAX_CENTS)
        amount = _money(cents)
        descriptions = profile.descriptions
        description = descriptions[int(r() * len(descriptions))]
        merchant = ""
        if r() < MERCHANT_RATE:
            pool = profile.merchants
            skew = r() * r()  # a few merchants are visited far more often than the rest
            merchant = pool[int(skew * len(pool))] if pool else all_merchants[int(skew * n_all)]
        notes = NOTES[int(r() * len(NOTES))] if r() < NOTE_RATE else ""
        tags = no_tags
        if n_tags and r() < TAG_RATE:
            first_tag = int(r() * n_tags)
            tags = (first_tag,)
            if r() < 0.3:
                tags = (first_tag, (first_tag + 1 + int(r() * (n_tags - 1))) % n_tags)
        if spend is not None and months is not None:
            spend[(months[offset], profile.category_id)] += cents
        row = (
            created,
            created,
            amount,
            CURRENCY,
            amount,
            "1",
            day,
            description,
            notes,
            "",
            payment_methods[int(r() * n_methods)],
            merchant,
            profile.category_id,
            user_id,
            user_id,  # the personal book's id is the user's (see `load`)
        )
        yield created, row, tags


def numbered(
    entries: Iterable[tuple[str, tuple[Any, ...], tuple[int, ...]]],
    tag_ids: tuple[int, ...],
    tag_rows: list[tuple[int, int]],
) -> Iterator[tuple[Any, ...]]:
    """Ids in the order the rows come (so ids rise with created_at), tags collected aside."""
    for expense_id, (_, row, tags) in enumerate(entries, start=1):
        for index in tags:
            tag_rows.append((expense_id, tag_ids[index]))
        yield (expense_id, *row)


def income_rows(
    rng: random.Random,
    *,
    user_id: int,
    count: int,
    calendar: list[str],
    span_seconds: int,
    profiles: list[Profile],
    cum_weights: list[float],
) -> Iterator[tuple[Any, ...]]:
    r = rng.random
    gauss = rng.gauss
    stamps = sorted(int(r() * span_seconds) for _ in range(count))
    chosen = rng.choices(profiles, cum_weights=cum_weights, k=count)
    for i in range(count):
        profile = chosen[i]
        offset, second = divmod(stamps[i], 86_400)
        day = calendar[offset]
        created = f"{day} {TIMES_OF_DAY[second]}"
        cents = int(math.exp(profile.mu + profile.sigma * gauss()) * 100)
        cents = 1 if cents < 1 else min(cents, MAX_CENTS)
        amount = _money(cents)
        descriptions = profile.descriptions
        source = PAYERS[int(r() * len(PAYERS))] if r() < 0.8 else ""
        yield (
            i + 1,
            created,
            created,
            amount,
            CURRENCY,
            amount,
            "1",
            day,
            descriptions[int(r() * len(descriptions))],
            "",
            "",
            source,
            profile.category_id,
            user_id,
            user_id,  # the personal book's id is the user's (see `load`)
        )


def unlisted_defaults(table: str) -> dict[str, Any]:
    """Django-side defaults of the NOT NULL columns that COLUMNS leaves out.

    Django keeps field defaults out of the schema, so a field added after COLUMNS was
    written would make COPY fail; the load gives those columns their model default.
    """
    from django.apps import apps

    for model in apps.get_models(include_auto_created=True):
        if model._meta.db_table == table:
            return {
                field.column: field.get_default()
                for field in model._meta.concrete_fields
                if field.column not in COLUMNS[table] and not field.null and field.has_default()
            }
    return {}


def copy_rows(cur: psycopg.Cursor, table: str, rows: Iterable[tuple[Any, ...]]) -> int:
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, COLUMNS[table]))
    )
    defaults = unlisted_defaults(table)
    alter = sql.SQL("ALTER TABLE {} ALTER COLUMN {} ").format
    for column, value in defaults.items():
        cur.execute(
            alter(sql.Identifier(table), sql.Identifier(column))
            + sql.SQL("SET DEFAULT {}").format(sql.Literal(value))
        )
    written = 0
    with cur.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)
            written += 1
    for column in defaults:
        cur.execute(alter(sql.Identifier(table), sql.Identifier(column)) + sql.SQL("DROP DEFAULT"))
    return written


def _cumulative(weights: Iterable[float]) -> list[float]:
    total, out = 0.0, []
    for weight in weights:
        total += weight
        out.append(total)
    return out


def _insert_returning_id(cur: psycopg.Cursor, table: str, values: dict[str, Any]) -> int:
    statement = sql.SQL("INSERT INTO {} ({}) VALUES ({}) RETURNING id").format(
        sql.Identifier(table),
        sql.SQL(", ").join(map(sql.Identifier, values)),
        sql.SQL(", ").join(sql.Placeholder() * len(values)),
    )
    row = cur.execute(statement, list(values.values())).fetchone()
    assert row is not None
    return int(row[0])


def load(url: str, plan: Plan, now: datetime) -> dict[str, Any]:
    """Fill the freshly migrated database; returns facts the benchmark reports."""
    from django.contrib.auth.hashers import make_password

    today = now.date()
    seconds_today = now.hour * 3600 + now.minute * 60 + now.second + 1

    def span(days: int) -> int:
        """Seconds from the first day's midnight until now: nothing is dated in the future."""
        return (days - 1) * 86_400 + seconds_today

    rng = random.Random(SEED)
    password_hash = make_password(HEAVY_PASSWORD)
    merchants_by_kind, all_merchants = _merchant_pools()
    payment_methods = _payment_method_pool()
    heavy_id = plan.normal_users + 1

    with connect(url) as conn, conn.cursor() as cur:
        # Foreign keys are ours to keep right: replica mode skips their per-row triggers.
        cur.execute("SET session_replication_role = replica")
        cur.execute("SET maintenance_work_mem = '1GB'")
        cur.execute("SET synchronous_commit = off")

        indexes = cur.execute(
            """
            SELECT i.indexname, i.indexdef FROM pg_indexes i
            WHERE i.schemaname = current_schema() AND i.tablename = ANY(%s)
              AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)
            """,
            (list(BULK_TABLES),),
        ).fetchall()
        for name, _ in indexes:
            cur.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))

        group = cur.execute("SELECT id FROM auth_group WHERE name = 'User'").fetchone()
        if group is None:
            raise SystemExit('The "User" group is missing: did the migrations run?')
        system = {
            (name, kind): cid
            for cid, name, kind in cur.execute(
                "SELECT id, name, kind FROM categories_category WHERE book_id IS NULL"
            )
        }

        with step("users"):
            normal_first = today - timedelta(days=plan.normal_days - 1)
            heavy_first = today - timedelta(days=plan.heavy_days - 1)
            users = [
                (
                    i,
                    password_hash,
                    None,
                    False,
                    f"bench_user_{i:04d}",
                    "Bench",
                    f"User {i}",
                    False,
                    True,
                    f"{normal_first.isoformat()} 08:00:00+00",
                    f"bench_user_{i:04d}@bench.example",
                    CURRENCY,
                    "UTC",
                    1,
                )
                for i in range(1, plan.normal_users + 1)
            ]
            users.append(
                (
                    heavy_id,
                    password_hash,
                    None,
                    False,
                    HEAVY_USERNAME,
                    "Heavy",
                    "Spender",
                    False,
                    True,
                    f"{heavy_first.isoformat()} 08:00:00+00",
                    "bench_heavy@bench.example",
                    CURRENCY,
                    "UTC",
                    1,
                )
            )
            copy_rows(cur, "users_user", users)
            copy_rows(cur, "users_user_groups", ((u[0], group[0]) for u in users))
            # Each user's personal book (SPEC §14) gets the user's id, so every record row
            # names its book without a lookup.
            copy_rows(
                cur,
                "books_book",
                ((u[0], "Personal", "personal", u[0], CURRENCY, 1, u[9], u[9]) for u in users),
            )
            copy_rows(cur, "books_membership", ((u[0], u[0], "owner", u[9]) for u in users))
            cur.execute(
                "SELECT setval(pg_get_serial_sequence('books_book', 'id'), %s)", (len(users),)
            )

        created = f"{heavy_first.isoformat()} 09:00:00+00"
        own: dict[tuple[str, str], int] = {}
        for spec in OWN_SPEND:
            own[(spec.name, "expense")] = _insert_returning_id(
                cur,
                "categories_category",
                {
                    "created_at": created,
                    "updated_at": created,
                    "name": spec.name,
                    "kind": "expense",
                    "icon": "",
                    "color": "",
                    "parent_id": system[(spec.parent, "expense")] if spec.parent else None,
                    "user_id": heavy_id,
                    "book_id": heavy_id,
                },
            )
        for spec_earn in OWN_EARN:
            own[(spec_earn.name, "income")] = _insert_returning_id(
                cur,
                "categories_category",
                {
                    "created_at": created,
                    "updated_at": created,
                    "name": spec_earn.name,
                    "kind": "income",
                    "icon": "",
                    "color": "",
                    "parent_id": None,
                    "user_id": heavy_id,
                    "book_id": heavy_id,
                },
            )
        category_ids = {**system, **own}
        tag_ids = tuple(range(1, len(TAGS) + 1))
        copy_rows(
            cur,
            "categories_tag",
            (
                (tid, created, created, name, heavy_id, heavy_id)
                for tid, name in zip(tag_ids, TAGS, strict=True)
            ),
        )

        def spend_profiles(specs: Iterable[Spend], uncategorised: float) -> tuple[list, list]:
            profiles, weights = [], []
            for spec in specs:
                pool = merchants_by_kind.get(spec.merchant_kind, ())
                profiles.append(
                    Profile(
                        category_ids[(spec.name, "expense")],
                        spec.median,
                        spec.sigma,
                        spec.descriptions,
                        pool,
                    )
                )
                weights.append(spec.weight)
            profiles.append(Profile(None, 30, 1.0, UNCATEGORISED_DESCRIPTIONS))
            weights.append(uncategorised)
            return profiles, _cumulative(weights)

        spend: dict[tuple[tuple[int, int], int | None], int] = defaultdict(int)
        tag_rows: list[tuple[int, int]] = []
        normal_calendar, _ = _calendar(normal_first, plan.normal_days)
        heavy_calendar, heavy_months = _calendar(heavy_first, plan.heavy_days)
        total = plan.normal_users * plan.expenses_per_user + plan.heavy_expenses
        with step(f"{total:,} expenses, all users interleaved in the order entered"):
            # Rows land in the heap as they would in production: by creation time, every
            # user's mixed together, so one user's rows are not physically clustered.
            profiles, cum = spend_profiles(SYSTEM_SPEND, NORMAL_UNCATEGORISED_WEIGHT)
            streams = [
                expense_rows(
                    random.Random(SEED * 10_000 + user_id),
                    user_id=user_id,
                    count=plan.expenses_per_user,
                    calendar=normal_calendar,
                    span_seconds=span(plan.normal_days),
                    profiles=profiles,
                    cum_weights=cum,
                    all_merchants=all_merchants,
                    payment_methods=payment_methods,
                )
                for user_id in range(1, plan.normal_users + 1)
            ]
            profiles, cum = spend_profiles(SYSTEM_SPEND + OWN_SPEND, HEAVY_UNCATEGORISED_WEIGHT)
            streams.append(
                expense_rows(
                    random.Random(SEED * 10_000 + heavy_id),
                    user_id=heavy_id,
                    count=plan.heavy_expenses,
                    calendar=heavy_calendar,
                    span_seconds=span(plan.heavy_days),
                    profiles=profiles,
                    cum_weights=cum,
                    all_merchants=all_merchants,
                    payment_methods=payment_methods,
                    n_tags=len(tag_ids),
                    months=heavy_months,
                    spend=spend,
                )
            )
            merged = heapq.merge(*streams, key=itemgetter(0))
            copy_rows(cur, "expenses_expense", numbered(merged, tag_ids, tag_rows))
            copy_rows(cur, "expenses_expense_tags", tag_rows)

        with step(f"{plan.heavy_income:,} income records of {HEAVY_USERNAME}"):
            earn = [
                Profile(category_ids[(e.name, "income")], e.median, e.sigma, e.descriptions)
                for e in SYSTEM_EARN + OWN_EARN
            ]
            copy_rows(
                cur,
                "income_income",
                income_rows(
                    random.Random(SEED * 10_000 - heavy_id),
                    user_id=heavy_id,
                    count=plan.heavy_income,
                    calendar=heavy_calendar,
                    span_seconds=span(plan.heavy_days),
                    profiles=earn,
                    cum_weights=_cumulative(e.weight for e in SYSTEM_EARN + OWN_EARN),
                ),
            )

        _budgets(cur, rng, heavy_id=heavy_id, today=today, spend=spend, category_ids=category_ids)
        _goals(cur, rng, heavy_id=heavy_id, today=today)

        for table in EXPLICIT_ID_TABLES:
            cur.execute(
                sql.SQL(
                    "SELECT setval(pg_get_serial_sequence(%s, 'id'), "
                    "(SELECT coalesce(max(id), 0) + 1 FROM {}), false)"
                ).format(sql.Identifier(table)),
                (table,),
            )
        with step(f"rebuild {len(indexes)} indexes"):
            for _, definition in indexes:
                cur.execute(definition)
        cur.execute("RESET session_replication_role")
    return {"heavy_user_id": heavy_id}


def _budgets(
    cur: psycopg.Cursor,
    rng: random.Random,
    *,
    heavy_id: int,
    today: date,
    spend: dict[tuple[tuple[int, int], int | None], int],
    category_ids: dict[tuple[str, str], int],
) -> None:
    """An overall and five category budgets for the last 13 months, each sized near what was
    really spent (so statuses vary); the current month's from last month's spending."""
    children: dict[int, list[int]] = defaultdict(list)
    for spec in OWN_SPEND:
        if spec.parent:
            children[category_ids[(spec.parent, "expense")]].append(
                category_ids[(spec.name, "expense")]
            )
    current = (today.year, today.month)
    rows = []
    for back in range(BUDGET_MONTHS - 1, -1, -1):
        year, month = _add_months(*current, -back)
        basis = (year, month) if back else _add_months(*current, -1)
        for name, rollover, threshold in BUDGETS:
            if name:
                category_id: int | None = category_ids[(name, "expense")]
                covered = [category_id, *children.get(category_id, [])]  # type: ignore[arg-type]
                spent = sum(spend.get((basis, cid), 0) for cid in covered)
            else:
                category_id = None
                spent = sum(cents for (ym, _), cents in spend.items() if ym == basis)
            dollars = max(100, round(spent * rng.uniform(0.85, 1.2) / 100))
            stamp = f"{date(year, month, 1).isoformat()} 07:00:00+00"
            rows.append(
                (
                    stamp,
                    stamp,
                    date(year, month, 1),
                    "category" if category_id else "overall",
                    f"{dollars}.00",
                    rollover,
                    threshold,
                    category_id,
                    heavy_id,
                )
            )
    cur.executemany(
        "INSERT INTO budgets_budget (created_at, updated_at, month, scope, amount, rollover, "
        "warn_threshold, category_id, user_id, amount_original, currency_original, book_id) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        [(*row, row[4], CURRENCY, row[-1]) for row in rows],
    )


def _goals(cur: psycopg.Cursor, rng: random.Random, *, heavy_id: int, today: date) -> None:
    """Three goals with monthly contributions (one withdrawal); status from their sum."""
    for name, target, days_left, months, low, high in GOALS:
        contributions = []
        for back in range(months - 1, -1, -1):
            year, month = _add_months(today.year, today.month, -back)
            day = date(year, month, min(rng.randint(1, 28), today.day if back == 0 else 28))
            contributions.append([day, rng.randint(low, high)])
        if months > 20:
            contributions[months // 2][1] = -2 * low  # a withdrawal, after enough was saved
        saved = sum(amount for _, amount in contributions)
        first = f"{contributions[0][0].isoformat()} 10:00:00+00"
        goal_id = _insert_returning_id(
            cur,
            "goals_goal",
            {
                "created_at": first,
                "updated_at": first,
                "name": name,
                "target_amount": f"{target}.00",
                "target_amount_original": f"{target}.00",
                "currency_original": CURRENCY,
                "target_date": today + timedelta(days=days_left) if days_left else None,
                "notes": "",
                "status": "achieved" if saved >= target else "active",
                "user_id": heavy_id,
                "book_id": heavy_id,
            },
        )
        cur.executemany(
            "INSERT INTO goals_contribution (created_at, updated_at, amount, date, note, goal_id, "
            "amount_original, currency_original) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            [
                (
                    f"{day.isoformat()} 10:00:00+00",
                    f"{day.isoformat()} 10:00:00+00",
                    f"{amount}.00",
                    day,
                    "withdrawal" if amount < 0 else "",
                    goal_id,
                    f"{amount}.00",
                    CURRENCY,
                )
                for day, amount in contributions
            ],
        )


def count_rows(url: str) -> dict[str, int]:
    with connect(url, autocommit=True) as conn:
        return {
            table: conn.execute(
                sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
            ).fetchone()[0]  # type: ignore[index]
            for table in COUNTED_TABLES
        }


def database_size(url: str) -> str:
    with connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT pg_size_pretty(pg_database_size(current_database()))").fetchone()
    return str(row[0]) if row else "?"


def build(url: str, plan: Plan) -> dict[str, Any]:
    started = time.perf_counter()
    now = datetime.now(UTC)
    today = now.date()
    print(f"Building the bench data set in {database_name(url)} (ending {today}) ...", flush=True)
    with step("create database and migrate"):
        recreate_database(url)
        migrate()
    facts = load(url, plan, now)
    # The load runs with triggers off (session_replication_role = replica), so the day
    # totals that reports read (ledger/totals.py) are computed once, afterwards.
    with step("day totals"):
        from ledger import totals

        totals.rebuild()
    with step("VACUUM ANALYZE"), connect(url, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")
    counts = count_rows(url)
    meta = {
        "version": DATASET_VERSION,
        "seed": SEED,
        "plan": asdict(plan),
        "built_on": today.isoformat(),
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "build_seconds": round(time.perf_counter() - started, 1),
        "counts": counts,
        "heavy_username": HEAVY_USERNAME,
        **facts,
    }
    with connect(url) as conn:
        conn.execute(
            sql.SQL("CREATE TABLE {} (key text PRIMARY KEY, value jsonb NOT NULL)").format(
                sql.Identifier(META_TABLE)
            )
        )
        conn.execute(
            sql.SQL("INSERT INTO {} (key, value) VALUES ('dataset', %s)").format(
                sql.Identifier(META_TABLE)
            ),
            (json.dumps(meta),),
        )
    print(f"Built in {meta['build_seconds']:.0f} s.", flush=True)
    return meta


def ensure(*, rebuild: bool = False, scale: float = 1.0) -> dict[str, Any]:
    """Configure Django for the bench database and make sure the data set is there.

    Returns the build record (with `built_now`); an existing data set only gets any
    new migrations applied.
    """
    url = database_url()
    plan = Plan.scaled(scale)
    configure_django(url)
    meta = None if rebuild else read_meta(url)
    if meta is not None and is_complete(url, meta, plan):
        print(
            f"Using the data set in {database_name(url)} built on {meta['built_on']} "
            f"in {meta['build_seconds']:.0f} s (--rebuild to build it again).",
            flush=True,
        )
        migrate()
        meta["built_now"] = False
    else:
        meta = build(url, plan)
        meta["built_now"] = True
    meta["database"] = database_name(url)
    meta["database_size"] = database_size(url)
    return meta


def ordered_counts(meta: dict[str, Any]) -> dict[str, int]:
    """Row counts in a fixed table order (the stored JSON does not keep one)."""
    counts = meta["counts"]
    known = [table for table in COUNTED_TABLES if table in counts]
    return {table: counts[table] for table in known + sorted(set(counts) - set(known))}


def print_counts(meta: dict[str, Any]) -> None:
    print("Rows:")
    for table, count in ordered_counts(meta).items():
        print(f"  {table:<24} {count:>12,}")
    print(f"Database {meta['database']}: {meta['database_size']}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rebuild", action="store_true", help="drop and rebuild the database")
    parser.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="fraction of the full data set, for a quick trial (default 1)",
    )
    args = parser.parse_args(argv)
    meta = ensure(rebuild=args.rebuild, scale=args.scale)
    print(f"Build time: {meta['build_seconds']:.1f} s (built {meta['built_at']})")
    print_counts(meta)


if __name__ == "__main__":
    main()
