"""Insights quality and speed (issue 16): measured, not assumed.

    .venv/bin/python -m bench.insights [--rebuild] [--json bench/results/insights.json]

Prints four tables:

1. Categorisation: top-1 accuracy of the learned categoriser (`ai.classifier`, fitted
   exactly as `ai.training.train_book` fits it) on held-out records — the same rows
   `train_book` reads (the book's most recent `AI_TRAIN_MAX_RECORDS` categorised
   expenses), oldest 80 % to train, newest 20 % to test — against baselines on the same
   test rows: the book's rules alone (`categories.services.rules_for`), the cold-start
   answer (rules, then `ai.categorize`'s built-in keywords), and the most frequent
   training category of the record's merchant (the merchant field, else the
   description, normalised; an unseen merchant gets the most frequent category overall).
   On (a) the bench heavy user (`bench/dataset.py`) and (b) a generated book of bank-style
   descriptions (`AMZN MKTP US*2K3L1`, `SQ *COFFEE 1234`, `POS 4411 SHELL 0023`).
2. Anomalies: precision and recall of `ai.anomalies.month_anomalies` on a generated
   household history with known anomalies injected into its last 6 complete months.
3. Forecast: `ai.forecast.backtest` (MAPE of the month-end total on day 10 and day 20,
   last 24 complete months) against its naive baselines (last month; run-rate).
4. Latency: `POST /ai/categorize/` (warm, p50/p95), `GET /ai/forecast/`, `/ai/anomalies/`,
   `/ai/cashflow/`, `/ai/insights/` for the heavy user through the whole Django stack
   (real JWT, `django.test.Client`), and `train_book` on the heavy user's book.

The data set is `bench.dataset`'s, built into this benchmark's own database
(`INSIGHTS_BENCH_DATABASE_URL`, default postgres://postgres@127.0.0.1:5432/bt_insights_bench)
when missing; the two generated books are recreated in it on every run. Every generated
row comes from `random.Random` with a fixed seed, chosen before any figure was seen.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from bench import dataset

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/bt_insights_bench"
DEFAULT_JSON = Path(__file__).resolve().parent / "results" / "insights.json"
API = "/api/v1"
SEED = 16_016
HOLDOUT_SHARE = 0.2
NOISY_USERNAME = "insights_noisy"
ANOMALY_USERNAME = "insights_anomalies"
PASSWORD = "bench-Insights-passw0rd"
LABEL_NOISE = 0.03
EVALUATED_MONTHS = 6


# --- set-up ---------------------------------------------------------------------------------


def ensure_dataset(*, rebuild: bool, scale: float) -> dict[str, Any]:
    url = os.environ.get("INSIGHTS_BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
    os.environ["BENCH_DATABASE_URL"] = url  # bench.dataset reads it
    return dataset.ensure(rebuild=rebuild, scale=scale)


def elapsed_ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def percentile(values: list[float], percent: float) -> float:
    ordered = sorted(values)
    position = (len(ordered) - 1) * percent / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def print_table(title: str, headers: tuple[str, ...], rows: list[tuple]) -> None:
    cells = [tuple(str(c) for c in row) for row in rows]
    widths = [max(len(r[i]) for r in (headers, *cells)) for i in range(len(headers))]
    print(f"\n{title}")
    print(" | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    print("-+-".join("-" * w for w in widths))
    for row in cells:
        print(
            " | ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )


def fresh_book(username: str) -> Any:
    """A new user with a personal book, replacing any left by an earlier run."""
    from django.contrib.auth import get_user_model

    from ai.models import Anomaly, CategoryModel
    from books.models import Book, Membership
    from books.services import personal_book_ensure
    from categories.models import Category, Rule
    from expenses.models import Expense

    User = get_user_model()
    old = User.objects.filter(username=username).first()
    if old is not None:
        for book in Book.objects.filter(personal_owner=old):
            Anomaly.objects.filter(book=book).delete()
            CategoryModel.objects.filter(book=book).delete()
            Expense.objects.filter(book=book)._raw_delete(Expense.objects.db)
            Rule.objects.filter(book=book).delete()
            Category.objects.filter(book=book).delete()
            Membership.objects.filter(book=book).delete()
            book.delete()
        old.delete()
    user = User.objects.create_user(
        username=username,
        email=f"{username}@bench.invalid",
        password=PASSWORD,
        base_currency="USD",
        month_start_day=1,
    )
    return personal_book_ensure(user=user)


def system_categories() -> dict[str, Any]:
    from categories.models import Category

    return {c.name: c for c in Category.objects.filter(book__isnull=True, kind="expense")}


def own_category(book: Any, name: str, parent: Any = None) -> Any:
    from categories.models import Category

    return Category.objects.create(
        book=book, user=book.personal_owner, name=name, kind="expense", parent=parent
    )


def add_rules(book: Any, rules: list[tuple[str, str, Any]]) -> None:
    """(field, contains-value, category) rules, tried in this order, named `bench: …`."""
    from categories.models import Rule

    Rule.objects.bulk_create(
        Rule(
            book=book,
            user=book.personal_owner,
            name=f"bench: {value} → {category.name}"[:100],
            field=field,
            operator="contains",
            value=value,
            category=category,
            priority=10 + i,
        )
        for i, (field, value, category) in enumerate(rules)
    )


@dataclass
class Row:
    day: date
    description: str
    amount: Decimal
    category: Any
    merchant: str = ""


def store_expenses(book: Any, rows: list[Row]) -> list[int]:
    """Bulk-inserts the rows (USD, base amount = amount) in date order; returns their ids."""
    from expenses.models import Expense

    rows = sorted(rows, key=lambda r: r.day)
    objects = [
        Expense(
            book=book,
            user=book.personal_owner,
            amount=r.amount,
            currency="USD",
            base_amount=r.amount,
            exchange_rate=1,
            date=r.day,
            description=r.description[:255],
            merchant=r.merchant,
            category=r.category,
        )
        for r in rows
    ]
    created = Expense.objects.bulk_create(objects, batch_size=5_000)
    return [e.pk for e in created]


def money(value: float) -> Decimal:
    return Decimal(f"{max(value, 0.01):.2f}")


# --- (b) the noisy-merchant book --------------------------------------------------------------

CITIES = ("SAN FRANCISCO CA", "OAKLAND CA", "SEATTLE WA", "PORTLAND OR", "DENVER CO")
ALNUM = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"


def _fill(template: str, rng: random.Random, day: date) -> str:
    """Replaces {code} (alphanumeric reference), {nK} (K digits), {city}, {mmdd}."""
    out = template
    while "{code}" in out:
        out = out.replace("{code}", "".join(rng.choice(ALNUM) for _ in range(5)), 1)
    for k in range(2, 14):
        token = f"{{n{k}}}"
        while token in out:
            out = out.replace(token, "".join(rng.choice("0123456789") for _ in range(k)), 1)
    out = out.replace("{city}", rng.choice(CITIES))
    return out.replace("{mmdd}", day.strftime("%m/%d"))


# (description template, category, median USD, log sigma, weight, first share of the timeline)
# Words shared across categories on purpose: AMZN (shopping, groceries, video), UBER (rides,
# food), SHELL (fuel, the station's shop), APPLE (subscriptions, hardware), ZELLE (rent,
# friends), PAYPAL (shopping, games), TARGET (groceries and shopping, same text).
NOISY_MERCHANTS: tuple[tuple[str, str, float, float, float, float], ...] = (
    ("AMZN MKTP US*{code}", "Shopping", 35, 0.9, 8, 0),
    ("AMAZON.COM*{code} AMZN.COM/BILL WA", "Shopping", 40, 0.9, 4, 0),
    ("AMZN FRESH*{code}", "Groceries", 70, 0.5, 2, 0),
    ("AMZN PRIME VIDEO*{code}", "Entertainment", 6, 0.3, 1.5, 0),
    ("SQ *BLUE BOTTLE COFFEE {n4}", "Coffee", 5.5, 0.3, 6, 0),
    ("SQ *SUNRISE COFFEE {n4}", "Coffee", 5, 0.3, 4, 0),
    ("STARBUCKS STORE {n5}", "Coffee", 6, 0.3, 5, 0),
    ("SQ *CORNER BAKERY {n4}", "Food", 12, 0.5, 3, 0),
    ("SQ *FARMERS MARKET {n4}", "Groceries", 25, 0.6, 2, 0),
    ("TST* JOES PIZZA {n4}", "Food", 24, 0.5, 3, 0),
    ("DOORDASH*{code}", "Food", 32, 0.4, 3, 0),
    ("UBER *EATS {code}", "Food", 28, 0.5, 4, 0),
    ("UBER *TRIP {code}", "Transport", 18, 0.6, 4, 0),
    ("LYFT *RIDE {mmdd} {code}", "Transport", 16, 0.6, 2, 0),
    ("CLIPPER TRANSIT {n6}", "Transport", 20, 0.3, 2, 0),
    ("POS {n4} SHELL {n4}", "Fuel", 45, 0.3, 4, 0),
    ("SHELL OIL {n8} {city}", "Fuel", 48, 0.3, 2, 0),
    ("POS {n4} SHELL SELECT {n4}", "Food", 8, 0.5, 1.5, 0),
    ("CHEVRON {n7}", "Fuel", 50, 0.3, 2, 0),
    ("WHOLEFDS {code} {n5}", "Groceries", 60, 0.5, 4, 0),
    ("TRADER JOE S #{n3}", "Groceries", 45, 0.4, 4, 0),
    ("TARGET {n8}", "Groceries", 40, 0.6, 2, 0),
    ("TARGET {n8}", "Shopping", 55, 0.7, 1.5, 0),
    ("COSTCO WHSE #{n4}", "Groceries", 150, 0.5, 1.5, 0),
    ("CVS/PHARMACY #{n5}", "Healthcare", 20, 0.7, 2, 0),
    ("WALGREENS #{n5}", "Healthcare", 18, 0.7, 1.5, 0),
    ("KAISER PERM COPAY {n6}", "Healthcare", 40, 0.2, 0.4, 0),
    ("NETFLIX.COM {n3}", "Entertainment", 15.49, 0.01, 0.35, 0),
    ("SPOTIFY P{code}", "Subscriptions", 10.99, 0.01, 0.35, 0),
    ("APPLE.COM/BILL {n3}", "Subscriptions", 3, 0.8, 1, 0),
    ("APPLE STORE R{n3}", "Shopping", 300, 0.8, 0.3, 0),
    ("AMC {n4} ONLINE", "Entertainment", 25, 0.4, 1, 0),
    ("STEAMGAMES.COM {n10}", "Entertainment", 20, 0.6, 1, 0),
    ("PAYPAL *STEAM GAMES", "Entertainment", 15, 0.6, 0.5, 0),
    ("PAYPAL *EBAY {code}", "Shopping", 45, 0.9, 1, 0),
    ("COMCAST CABLE COMM {n4}", "Utilities", 90, 0.05, 0.35, 0),
    ("PGANDE WEB ONLINE {n6}", "Utilities", 120, 0.3, 0.35, 0),
    ("VERIZON WRLS {n5}", "Utilities", 80, 0.05, 0.35, 0),
    ("DELTA AIR {n13}", "Travel", 350, 0.5, 0.3, 0),
    ("MARRIOTT {city} {n5}", "Travel", 220, 0.5, 0.3, 0),
    ("AIRBNB * {code}", "Travel", 400, 0.6, 0.3, 0),
    ("ZELLE TO PARKSIDE PROPERTIES {mmdd}", "Rent", 2100, 0.01, 0.35, 0),
    ("ZELLE TO {code} ON {mmdd}", "Other", 40, 0.8, 1, 0),
    ("ATM WITHDRAWAL {n6} {city}", "Other", 80, 0.5, 1, 0),
    ("CHECKCARD {mmdd} PLANET FITNESS {n5}", "Gym", 25, 0.05, 0.35, 0),
    # Shops that only open in the newest part of the history (no training rows).
    ("SQ *HARBOR COFFEE {n4}", "Coffee", 5, 0.3, 3, 0.85),
    ("POS {n4} EXXONMOBIL {n4}", "Fuel", 47, 0.3, 2, 0.85),
    ("TST* SUSHI ZEN {n4}", "Food", 35, 0.4, 1.5, 0.85),
)
NOISY_OWN = {"Coffee": "Food", "Fuel": "Transport", "Subscriptions": "", "Gym": ""}
# Rules such a user would have written, fixed before any figure was measured.
NOISY_RULES = (
    ("any", "NETFLIX", "Entertainment"),
    ("any", "SPOTIFY", "Subscriptions"),
    ("any", "SHELL", "Fuel"),
    ("any", "CHEVRON", "Fuel"),
    ("any", "UBER", "Transport"),
    ("any", "AMZN", "Shopping"),
    ("any", "STARBUCKS", "Coffee"),
    ("any", "COMCAST", "Utilities"),
    ("any", "VERIZON", "Utilities"),
    ("any", "CVS", "Healthcare"),
    ("any", "ZELLE TO PARKSIDE", "Rent"),
    ("any", "COSTCO", "Groceries"),
)


def build_noisy_book(records: int, today: date) -> Any:
    rng = random.Random(SEED)
    book = fresh_book(NOISY_USERNAME)
    system = system_categories()
    categories = dict(system)
    for name, parent in NOISY_OWN.items():
        categories[name] = own_category(book, name, system[parent] if parent else None)
    add_rules(book, [(f, v, categories[c]) for f, v, c in NOISY_RULES])
    days = 3 * 365
    first = today - timedelta(days=days - 1)
    names = sorted(categories)
    rows = []
    for i in range(records):
        offset = int(days * (i + rng.random()) / records)
        day = first + timedelta(days=min(offset, days - 1))
        share = offset / days
        candidates = [m for m in NOISY_MERCHANTS if m[5] <= share]
        template, category, median, sigma, _, _ = rng.choices(
            candidates, weights=[m[4] for m in candidates]
        )[0]
        label = category
        if rng.random() < LABEL_NOISE:  # the user picked the wrong category
            label = rng.choice([n for n in names if n != category])
        amount = money(math.exp(math.log(median) + sigma * rng.gauss(0, 1)))
        rows.append(Row(day, _fill(template, rng, day), amount, categories[label]))
    store_expenses(book, rows)
    return book


# --- the categorisation table ---------------------------------------------------------------


def categorisation(book: Any, label: str) -> dict[str, Any]:
    """Accuracy of the model and the baselines on the newest 20 % of the rows train_book reads."""
    from django.conf import settings
    from django.db.models import F, Q

    from ai import classifier
    from ai.categorize import _keyword_suggestions, suggestable_categories
    from ai.classifier import Sample, normalise_text
    from categories.services import rules_for
    from expenses.models import Expense

    rows = list(
        Expense.objects.filter(book=book, category__isnull=False, category__kind="expense")
        .filter(Q(category__book=F("book")) | Q(category__book__isnull=True))
        .order_by("-date", "-id")
        .values_list("description", "merchant", "base_amount", "category_id")[
            : settings.AI_TRAIN_MAX_RECORDS
        ]
    )
    rows.reverse()
    cut = len(rows) - max(1, int(len(rows) * HOLDOUT_SHARE))
    train, test = rows[:cut], rows[cut:]
    truth = [r[3] for r in test]

    def samples(part: list[tuple]) -> list[Sample]:
        return [Sample(description=d, merchant=m, amount=a) for d, m, a, _ in part]

    started = time.perf_counter()
    model = classifier.fit(samples(train), [r[3] for r in train])
    fit_s = time.perf_counter() - started
    started = time.perf_counter()
    predicted = model.predict(samples(test))
    predict_ms_per_row = elapsed_ms(started) / len(test)

    matcher = rules_for(book=book)
    by_rules = []
    for d, m, _, _ in test:
        category, _ = matcher.match(kind="expense", description=d, merchant=m)
        by_rules.append(category.pk if category else None)

    allowed = suggestable_categories(book=book, kind="expense")
    cold = []
    for (d, m, _, _), rule in zip(test, by_rules, strict=True):
        if rule is not None:
            cold.append(rule)
            continue
        found, _ = _keyword_suggestions(text=normalise_text(d, m), allowed=allowed, kind="expense")
        cold.append(found[0]["category"] if found else None)

    def key(description: str, merchant: str) -> str:
        return normalise_text(merchant) if merchant else normalise_text(description)

    per_merchant: dict[str, Counter] = defaultdict(Counter)
    for d, m, _, c in train:
        per_merchant[key(d, m)][c] += 1
    overall = Counter(r[3] for r in train).most_common(1)[0][0]
    by_merchant = []
    unseen = 0
    for d, m, _, _ in test:
        counts = per_merchant.get(key(d, m))
        if counts is None:
            unseen += 1
        by_merchant.append(counts.most_common(1)[0][0] if counts else overall)

    rules_then_model = [r if r is not None else p for r, p in zip(by_rules, predicted, strict=True)]

    def acc(guesses: list[int | None]) -> float:
        return round(100 * sum(g == t for g, t in zip(guesses, truth, strict=True)) / len(truth), 2)

    return {
        "data": label,
        "train_rows": len(train),
        "test_rows": len(test),
        "test_from": str(book_date_of(book, len(rows) - cut)),
        "categories": len(set(truth)),
        "unseen_merchant_share": round(100 * unseen / len(test), 1),
        "rules_coverage": round(100 * sum(r is not None for r in by_rules) / len(test), 1),
        "accuracy": {
            "model": acc(predicted),
            "rules_then_model": acc(rules_then_model),
            "rules": acc(by_rules),
            "rules_and_keywords": acc(cold),
            "merchant_majority": acc(by_merchant),
        },
        "fit_seconds": round(fit_s, 2),
        "predict_ms_per_row": round(predict_ms_per_row, 3),
    }


def book_date_of(book: Any, newest: int) -> date | None:
    """The date of the oldest of the `newest` most recent categorised expenses."""
    from expenses.models import Expense

    return (
        Expense.objects.filter(book=book, category__isnull=False)
        .order_by("-date", "-id")
        .values_list("date", flat=True)[newest - 1 : newest]
        .first()
    )


# --- (2) anomalies on injected ones ------------------------------------------------------------

# (merchant, category, median, log sigma, visits per month, fixed menu prices or ())
HOUSEHOLD = (
    ("Rent", "Rent", 1800, 0.0, 1, (1800.0,)),
    ("City Power", "Utilities", 85, 0.2, 1, ()),
    ("Aqua Water", "Utilities", 40, 0.15, 1, ()),
    ("FiberNet", "Utilities", 60, 0.0, 1, (59.99,)),
    ("Green Grocer", "Groceries", 65, 0.35, 6, ()),
    ("MegaMart", "Groceries", 110, 0.4, 3, ()),
    ("Corner Deli", "Food", 14, 0.3, 6, ()),
    ("Pizza Place", "Food", 28, 0.25, 3, ()),
    ("Noodle Bar", "Food", 22, 0.3, 2, ()),
    ("Daily Grind", "Food", 4.5, 0.0, 12, (3.5, 4.2, 4.8, 5.5)),
    ("Metro Transit", "Transport", 2.75, 0.0, 20, (2.75,)),
    ("Fuel Stop", "Transport", 48, 0.2, 3, ()),
    ("RideNow", "Transport", 17, 0.45, 3, ()),
    ("StreamFlix", "Entertainment", 15.49, 0.0, 1, (15.49,)),
    ("Cinema City", "Entertainment", 24, 0.3, 1.5, ()),
    ("Game Shop", "Entertainment", 35, 0.5, 0.8, ()),
    ("Pharma Plus", "Healthcare", 22, 0.5, 1.5, ()),
    ("Style Co", "Shopping", 60, 0.5, 1.5, ()),
    ("Home Goods", "Shopping", 45, 0.55, 1.5, ()),
    ("Bookworm", "Education", 25, 0.4, 0.7, ()),
)
HISTORY_MONTHS = 30
NEW_MERCHANTS = (
    "Luxe Electronics",
    "Grand Hotel",
    "Atlas Airlines",
    "Prime Furniture",
    "Auto Repair Pro",
    "Diamond Jewelers",
    "Ski Resort",
    "Vet Emergency",
    "Music Store",
    "Camping World",
    "Dental Care",
    "Garden Center",
)
INJECT_SPIKES = 24
INJECT_DUPLICATES = 15
INJECT_CATEGORY_MONTHS = 4


def build_anomaly_book(today: date) -> tuple[Any, dict[int, str], set[tuple[int, date]], list]:
    """A 30-month household history, then injected anomalies in its last 6 complete months.
    Returns the book, {injected expense id: type}, {(category id, month label)} injected,
    and the evaluated (year, month)s."""
    from core.dates import add_months, budget_month_of, month_range

    rng = random.Random(SEED + 1)
    book = fresh_book(ANOMALY_USERNAME)
    categories = system_categories()
    current = budget_month_of(today, book.month_start_day)
    months = [add_months(*current, -back) for back in range(HISTORY_MONTHS, 0, -1)]
    evaluated = months[-EVALUATED_MONTHS:]
    base: list[Row] = []
    for year, month in [*months, current]:
        start, end = month_range(year, month, book.month_start_day)
        if (year, month) == current:
            end = today
        length = (end - start).days + 1
        for merchant, category, median, sigma, visits, prices in HOUSEHOLD:
            if visits == 1:
                count = 1 if (year, month) != current or today.day >= 3 else 0
            else:
                count = _poisson(rng, visits * length / 30)
            for _ in range(count):
                day = start + timedelta(days=2 if visits == 1 else rng.randrange(length))
                value = (
                    rng.choice(prices)
                    if prices
                    else math.exp(math.log(median) + sigma * rng.gauss(0, 1))
                )
                base.append(Row(day, merchant, money(value), categories[category], merchant))
    store_expenses(book, base)

    injected: list[tuple[Row, str]] = []
    month_ranges = {m: month_range(*m, book.month_start_day) for m in evaluated}

    def random_day(month: tuple[int, int]) -> date:
        start, end = month_ranges[month]
        return start + timedelta(days=rng.randrange((end - start).days + 1))

    frequent = [h for h in HOUSEHOLD if h[4] >= 1.5 and not h[5]]
    for _ in range(INJECT_SPIKES):
        merchant, category, median, *_ = rng.choice(frequent)
        amount = money(median * rng.uniform(3, 5))
        injected.append(
            (
                Row(
                    random_day(rng.choice(evaluated)),
                    merchant,
                    amount,
                    categories[category],
                    merchant,
                ),
                "merchant_spike",
            )
        )
    for i, name in enumerate(NEW_MERCHANTS):
        amount = money(rng.uniform(400, 1500))
        category = rng.choice(["Shopping", "Travel", "Other", "Healthcare"])
        month = evaluated[i % len(evaluated)]
        injected.append(
            (Row(random_day(month), name, amount, categories[category], name), "new_merchant_large")
        )
    in_evaluated = [r for r in base if budget_month_of(r.day, book.month_start_day) in month_ranges]
    for original in rng.sample(in_evaluated, INJECT_DUPLICATES):
        later = original.day + timedelta(days=rng.randint(0, 2))
        injected.append(
            (
                Row(
                    later,
                    original.description,
                    original.amount,
                    original.category,
                    original.merchant,
                ),
                "possible_duplicate",
            )
        )
    # Category months: extra ordinary charges at the category's usual shops, so the month's
    # total is about 2.5-3x its usual while no single charge is unusual.
    category_months: set[tuple[str, tuple[int, int]]] = set()
    pool = ["Groceries", "Food", "Shopping", "Entertainment", "Transport"]
    for name in rng.sample(pool, INJECT_CATEGORY_MONTHS):
        month = rng.choice(evaluated)
        category_months.add((name, month))
        shops = [h for h in HOUSEHOLD if h[1] == name and not h[5]]
        typical = sum(h[2] * h[4] for h in HOUSEHOLD if h[1] == name)
        target = typical * rng.uniform(1.6, 2.0)  # extra on top of the usual month
        added = 0.0
        while added < target:
            merchant, _, median, sigma, _, _ = rng.choice(shops)
            value = math.exp(math.log(median) + sigma * rng.gauss(0, 1))
            added += value
            injected.append(
                (
                    Row(random_day(month), merchant, money(value), categories[name], merchant),
                    "category_filler",
                )
            )
    ids = store_expenses(book, [row for row, _ in injected])
    # store_expenses sorts by date: map the ids back through the same order.
    order = sorted(range(len(injected)), key=lambda i: injected[i][0].day)
    kinds = {ids[rank]: injected[i][1] for rank, i in enumerate(order)}
    truth_categories = {(categories[name].pk, date(y, m, 1)) for name, (y, m) in category_months}
    return book, kinds, truth_categories, evaluated


def _poisson(rng: random.Random, mean: float) -> int:
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def anomaly_quality(
    book: Any, injected: dict[int, str], truth_categories: set[tuple[int, date]], evaluated: list
) -> dict[str, Any]:
    from ai.anomalies import month_anomalies

    flagged_expenses: dict[int, set[str]] = defaultdict(set)
    flagged_categories: set[tuple[int, date]] = set()
    started = time.perf_counter()
    for year, month in evaluated:
        for finding in month_anomalies(book=book, year=year, month=month):
            if finding.kind == "expense":
                flagged_expenses[finding.subject_id].add(finding.reason_code)
            else:
                flagged_categories.add((finding.subject_id, finding.month))
    seconds = time.perf_counter() - started
    truth_expenses = {i: kind for i, kind in injected.items() if kind != "category_filler"}
    rows = []
    for kind in ("merchant_spike", "new_merchant_large", "possible_duplicate"):
        ids = [i for i, k in truth_expenses.items() if k == kind]
        found = [i for i in ids if i in flagged_expenses]
        right = [i for i in ids if kind in flagged_expenses.get(i, set())]
        said = [i for i, reasons in flagged_expenses.items() if kind in reasons]
        correct = [i for i in said if i in truth_expenses]
        rows.append(
            {
                "type": kind,
                "injected": len(ids),
                "found": len(found),
                "found_with_this_reason": len(right),
                "flagged_with_this_reason": len(said),
                "of_them_injected": len(correct),
            }
        )
    found_categories = truth_categories & flagged_categories
    rows.append(
        {
            "type": "category_month_high",
            "injected": len(truth_categories),
            "found": len(found_categories),
            "found_with_this_reason": len(found_categories),
            "flagged_with_this_reason": len(flagged_categories),
            "of_them_injected": len(found_categories),
        }
    )
    for row in rows:
        row["recall"] = round(100 * row["found_with_this_reason"] / row["injected"], 1)
        flagged = row["flagged_with_this_reason"]
        row["precision"] = round(100 * row["of_them_injected"] / flagged, 1) if flagged else None
    # Where the false alarms come from: duplicates by merchant, category months that
    # hold an injected charge (a real consequence of it), spikes by the merchant's spread.
    from expenses.models import Expense

    false_ids = [i for i in flagged_expenses if i not in truth_expenses]
    by_merchant = Counter(
        Expense.objects.filter(pk__in=false_ids).values_list("merchant", flat=True)
    )
    injected_months = {
        (category_id, date(d.year, d.month, 1))
        for category_id, d in Expense.objects.filter(pk__in=list(truth_expenses)).values_list(
            "category_id", "date"
        )
    }
    spread = {h[0]: h[3] for h in HOUSEHOLD}
    spikes = Expense.objects.filter(
        pk__in=[i for i, k in truth_expenses.items() if k == "merchant_spike"]
    ).values_list("pk", "merchant")
    spike_recall: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for pk, merchant in spikes:
        group = "log sigma <= 0.3" if spread[merchant] <= 0.3 else "log sigma > 0.3"
        spike_recall[group][0] += 1
        spike_recall[group][1] += "merchant_spike" in flagged_expenses.get(pk, set())
    flagged_total = len(flagged_expenses) + len(flagged_categories)
    true_total = sum(1 for i in flagged_expenses if i in truth_expenses) + len(found_categories)
    injected_total = len(truth_expenses) + len(truth_categories)
    found_total = sum(1 for i in truth_expenses if i in flagged_expenses) + len(found_categories)
    return {
        "months": [f"{y:04d}-{m:02d}" for y, m in evaluated],
        "expenses_in_book": Expense.objects.filter(book=book).count(),
        "by_type": rows,
        "overall": {
            "injected": injected_total,
            "flagged": flagged_total,
            "true_positives": true_total,
            "precision": round(100 * true_total / flagged_total, 1) if flagged_total else None,
            "recall": round(100 * found_total / injected_total, 1),
            "false_positive_reasons": dict(
                Counter(
                    reason
                    for i, reasons in flagged_expenses.items()
                    if i not in truth_expenses
                    for reason in reasons
                )
            )
            | {
                "category_month_high": len(flagged_categories - truth_categories),
            },
        },
        "false_alarms_by_merchant": dict(by_merchant.most_common()),
        "false_category_months_with_an_injected_charge": len(
            (flagged_categories - truth_categories) & injected_months
        ),
        "spike_recall_by_merchant_spread": {
            group: {"injected": n, "found": found} for group, (n, found) in spike_recall.items()
        },
        "detect_seconds_for_all_months": round(seconds, 2),
    }


# --- (3) forecast -------------------------------------------------------------------------------


def forecast_errors(book: Any, label: str, today: date) -> list[dict[str, Any]]:
    from ai.forecast import backtest

    out = []
    for day in (10, 20):
        started = time.perf_counter()
        result = backtest(book=book, months=24, day=day, today=today)
        out.append(
            {
                "data": label,
                "day": day,
                "months": result["months"],
                "mape": result["mape"],
                "seconds": round(time.perf_counter() - started, 1),
            }
        )
    return out


# --- (4) latency ---------------------------------------------------------------------------------


def latency(heavy: Any, test_texts: list[tuple[str, str, Decimal]], repeat: int) -> dict[str, Any]:
    from django.test import Client

    from ai.training import train_book
    from core.dates import budget_month_of, user_today

    results: dict[str, Any] = {}
    started = time.perf_counter()
    stored = train_book(book=heavy, kind="expense")
    results["train_book"] = {
        "seconds": round(time.perf_counter() - started, 1),
        "samples": stored.samples if stored else None,
        "classes": stored.classes if stored else None,
        "holdout_accuracy": stored.holdout_accuracy if stored else None,
        "payload_bytes": len(bytes(stored.payload)) if stored else None,
    }

    client = Client(raise_request_exception=False)
    response = client.post(
        f"{API}/auth/token/",
        {"username": dataset.HEAVY_USERNAME, "password": dataset.HEAVY_PASSWORD},
        content_type="application/json",
    )
    if response.status_code != 200:
        raise SystemExit(f"Login failed: {response.status_code} {response.content[:200]!r}")
    client = Client(
        raise_request_exception=False,
        headers={"authorization": f"Bearer {response.json()['access']}"},
    )

    def timed(label: str, call: Any, n: int) -> None:
        first = call(0)
        samples, statuses = [], Counter([first.status_code])
        for i in range(n):
            t = time.perf_counter()
            response = call(i + 1)
            samples.append(elapsed_ms(t))
            statuses[response.status_code] += 1
        results[label] = {
            "n": n,
            "p50_ms": round(percentile(samples, 50), 1),
            "p95_ms": round(percentile(samples, 95), 1),
            "max_ms": round(max(samples), 1),
            "statuses": dict(statuses),
            "example": first.json() if first.status_code == 200 else first.content[:300].decode(),
        }

    def categorize(i: int) -> Any:
        description, merchant, amount = test_texts[i % len(test_texts)]
        body = {"description": description, "kind": "expense", "amount": str(amount)}
        if merchant:
            body["merchant"] = merchant
        return client.post(f"{API}/ai/categorize/", body, content_type="application/json")

    timed("POST /ai/categorize/", categorize, max(repeat * 20, 200))
    year, month = budget_month_of(user_today(heavy.personal_owner), heavy.month_start_day)
    current = f"{year:04d}-{month:02d}"
    for path in (
        f"/ai/forecast/?month={current}",
        f"/ai/anomalies/?month={current}",
        "/ai/cashflow/?days=90",
        f"/ai/insights/?month={current}",
    ):
        timed(f"GET {path}", lambda _i, p=path: client.get(f"{API}{p}"), repeat)
    for value in results.values():
        if value.get("statuses") == {200: value.get("n", 0) + 1}:
            value.pop("example", None)
    return results


# --- main ----------------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    import django
    import numpy
    import sklearn
    from django.db import connection

    cpu, memory = "unknown", None
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            memory = round(int(line.split()[1]) / 1024 / 1024, 1)
            break
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg = cursor.fetchone()[0]
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gb": memory,
        "load_average": os.getloadavg(),
        "postgresql": pg,
        "python": sys.version.split()[0],
        "django": django.get_version(),
        "scikit_learn": sklearn.__version__,
        "numpy": numpy.__version__,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rebuild", action="store_true", help="drop and rebuild the data set")
    parser.add_argument("--noisy-records", type=int, default=30_000)
    parser.add_argument("--repeat", type=int, default=15, help="timed GETs per endpoint")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON)
    parser.add_argument("--scale", type=float, default=1.0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    begun = time.perf_counter()
    meta = ensure_dataset(rebuild=args.rebuild, scale=args.scale)
    dataset.print_counts(meta)

    from django.contrib.auth import get_user_model

    from ai.models import CategoryModel
    from books.models import Book
    from core.dates import user_today

    heavy_user = get_user_model().objects.get(username=dataset.HEAVY_USERNAME)
    heavy = Book.objects.get(personal_owner=heavy_user)
    today = user_today(heavy_user)
    if meta["built_on"] != today.isoformat():
        print(f"  note: data set built on {meta['built_on']}; its newest days have no records")
    report: dict[str, Any] = {"benchmark": "insights", "machine": machine()}
    print(f"Load average at start: {report['machine']['load_average']}")

    # Rules a user of the heavy book would write (the data set has none): its shops' kinds.
    from categories.models import Rule

    system = system_categories()
    Rule.objects.filter(book=heavy, name__startswith="bench: ").delete()
    CategoryModel.objects.filter(book=heavy).delete()
    heavy_rules = [
        ("merchant", "Cafe", "Food"),
        ("merchant", "Bistro", "Food"),
        ("merchant", "Market", "Groceries"),
        ("merchant", "Grocers", "Groceries"),
        ("merchant", "Pharmacy", "Healthcare"),
        ("merchant", "Cinema", "Entertainment"),
        ("merchant", "Outfitters", "Shopping"),
        ("merchant", "Books", "Education"),
        ("merchant", "Auto", "Transport"),
        ("merchant", "Travel", "Travel"),
        ("description", "Rent", "Rent"),
    ]
    add_rules(heavy, [(f, v, system[c]) for f, v, c in heavy_rules])

    print("\nBuilding the generated books ...", flush=True)
    started = time.perf_counter()
    noisy = build_noisy_book(args.noisy_records, today)
    anomaly_book, injected, truth_categories, evaluated = build_anomaly_book(today)
    print(f"  done in {time.perf_counter() - started:.1f} s", flush=True)

    print("Categorisation ...", flush=True)
    cat = [
        categorisation(heavy, "bench heavy user"),
        categorisation(noisy, f"noisy merchants ({args.noisy_records:,} records)"),
    ]
    report["categorisation"] = cat
    print_table(
        "Categorisation: top-1 accuracy (%) on the newest 20 % (time-based split)",
        (
            "data",
            "train",
            "test",
            "model",
            "rules→model",
            "rules only",
            "rules+keywords",
            "merchant majority",
            "rules cover",
            "unseen merchants",
            "fit s",
        ),
        [
            (
                c["data"],
                c["train_rows"],
                c["test_rows"],
                c["accuracy"]["model"],
                c["accuracy"]["rules_then_model"],
                c["accuracy"]["rules"],
                c["accuracy"]["rules_and_keywords"],
                c["accuracy"]["merchant_majority"],
                f"{c['rules_coverage']}%",
                f"{c['unseen_merchant_share']}%",
                c["fit_seconds"],
            )
            for c in cat
        ],
    )
    for c in cat:
        best = max(v for k, v in c["accuracy"].items() if k not in ("model", "rules_then_model"))
        verdict = "beats" if c["accuracy"]["model"] > best else "DOES NOT beat"
        print(f"  {c['data']}: the model {verdict} every baseline (best baseline {best})")

    print("\nAnomalies ...", flush=True)
    anomalies = anomaly_quality(anomaly_book, injected, truth_categories, evaluated)
    report["anomalies"] = anomalies
    print_table(
        f"Anomalies: injected into {anomalies['months'][0]} … {anomalies['months'][-1]} of a "
        f"{HISTORY_MONTHS}-month household history ({anomalies['expenses_in_book']:,} expenses)",
        ("type", "injected", "found", "recall %", "flagged as this", "precision %"),
        [
            (
                r["type"],
                r["injected"],
                r["found_with_this_reason"],
                r["recall"],
                r["flagged_with_this_reason"],
                "n/a" if r["precision"] is None else r["precision"],
            )
            for r in anomalies["by_type"]
        ]
        + [
            (
                "all",
                anomalies["overall"]["injected"],
                anomalies["overall"]["true_positives"],
                anomalies["overall"]["recall"],
                anomalies["overall"]["flagged"],
                anomalies["overall"]["precision"],
            )
        ],
    )
    print(f"  false positives by reason: {anomalies['overall']['false_positive_reasons']}")
    print(f"  false expense alarms by merchant: {anomalies['false_alarms_by_merchant']}")
    print(
        "  false category months holding an injected charge: "
        f"{anomalies['false_category_months_with_an_injected_charge']}"
    )
    print(f"  spike recall by merchant spread: {anomalies['spike_recall_by_merchant_spread']}")

    print("\nForecast backtests ...", flush=True)
    errors = forecast_errors(heavy, "bench heavy user", today) + forecast_errors(
        noisy, "noisy merchants", today
    )
    report["forecast"] = errors
    print_table(
        "Forecast: MAPE (%) of the month-end total, last 24 complete months",
        ("data", "day", "months", "model", "last month", "run-rate", "s"),
        [
            (
                e["data"],
                e["day"],
                e["months"],
                e["mape"]["model"],
                e["mape"]["last_month"],
                e["mape"]["run_rate"],
                e["seconds"],
            )
            for e in errors
        ],
    )

    print("\nLatency (heavy user) ...", flush=True)
    from expenses.models import Expense

    texts = list(
        Expense.objects.filter(book=heavy)
        .order_by("-date", "-id")
        .values_list("description", "merchant", "base_amount")[:500]
    )
    random.Random(SEED).shuffle(texts)
    lat = latency(heavy, texts, args.repeat)
    report["latency"] = lat
    train = lat["train_book"]
    categorised = Expense.objects.filter(book=heavy, category__isnull=False).count()
    print_table(
        "Latency, heavy user, through the Django stack (warm)",
        ("what", "n", "p50 ms", "p95 ms", "max ms", "statuses"),
        [
            (k, v["n"], v["p50_ms"], v["p95_ms"], v["max_ms"], v["statuses"])
            for k, v in lat.items()
            if k != "train_book"
        ],
    )
    print(
        f"  train_book on the heavy book ({categorised:,} categorised expenses; it fits the "
        f"newest {train['samples']:,}): {train['seconds']} s, {train['classes']} categories, "
        f"holdout accuracy {train['holdout_accuracy']}, payload {train['payload_bytes']:,} bytes"
    )
    report["dataset"] = {
        key: meta[key] for key in ("database", "database_size", "built_on", "build_seconds", "plan")
    }
    report["heavy_categorised_expenses"] = categorised
    report["seconds"] = round(time.perf_counter() - begun, 1)
    report["load_average_at_end"] = os.getloadavg()
    print(f"Load average at end: {report['load_average_at_end']}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2, default=str, ensure_ascii=False) + "\n")
    print(f"\nWrote {args.json} ({report['seconds']:.0f} s in all)")


if __name__ == "__main__":
    sys.exit(main())
