"""Unusual spending (SPEC §16): what is found, how it is told, once.

Four detectors, each with robust statistics over the book's own history (the database
groups the amounts per merchant or sums them per category and month; Python takes
medians of those small series):

- `merchant_spike`: an expense far above its merchant's usual amount — at least
  `MERCHANT_MIN_RATIO` times the median of the merchant's earlier charges *and*
  `MERCHANT_Z` robust standard deviations (1.4826 · MAD) above it on a log scale, with
  at least `MIN_MERCHANT_HISTORY` earlier charges. Money varies by ratios (a 5 coffee
  and a 50 dinner at the same place), so the spread is measured on log amounts; both
  tests, so neither a wide-spread merchant (groceries) nor a small price change of a
  fixed charge (a subscription) raises an alert. Or a record: at least
  `RECORD_MIN_RATIO` times the median *and* above every one of at least
  `RECORD_MIN_HISTORY` earlier charges, at a merchant whose amounts vary moderately
  (robust log spread at most `RECORD_MAX_LOG_SPREAD`, about "within 2.2 times the
  median"). That finds 3-5 times spikes at merchants whose amounts vary by 40-55 %,
  where 3 times is within `MERCHANT_Z` deviations; where amounts vary more than that,
  3 times the median is ordinary and only the z-test applies.
- `new_merchant_large`: the first charge of a merchant not seen in that history, at
  least the book's 95th-percentile expense and `NEW_MERCHANT_MEDIAN_RATIO` times its
  median expense (so a book of small charges is not alerted at its 95th percentile).
- `possible_duplicate`: the same amount, currency and merchant within
  `DUPLICATE_DAYS` days of an earlier expense, neither made by a recurring item, and
  the amount not habitual there: a charge repeating by nature (a transit fare taken
  most days, a café's menu price) is not flagged once the merchant's history (that
  window, up to the pair) holds `DUPLICATE_HABIT_REPEATS` such repeats already — the
  same merchant, amount and currency within `DUPLICATE_DAYS` days of the one before.
  A monthly bill or a rent that repeats its amount every month still is: only repeats
  days apart make an amount habitual, so a double-charged rent is found.
- `category_month_high`: a category's budget-month total far above its typical month:
  the median of its last 12 months (from its first month there), or the same month
  last year when that is higher (seasonality: a December that is always high is not
  news) — `CATEGORY_Z` robust deviations and `CATEGORY_MIN_RATIO` times above it. A
  large unusual expense usually makes its category's month high too: both are told
  (the category alert then has an explained cause, not a false alarm).

"Earlier history" is the `LOOKBACK_DAYS` before the expense's budget month, but at most
the book's `MAX_HISTORY_ROWS` most recent expenses before it (a very busy book's last
few months tell its usual amounts as well as a year, at a fraction of the cost). The
merchant of an expense is its `merchant`, else its description, compared case-
insensitively. Scores are robust z-scores, so they compare across detectors; a
duplicate scores `DUPLICATE_SCORE`, the merchant threshold.

`GET /ai/anomalies/` computes a month's anomalies on read (`month_anomalies`), so it is
right for any data however it got in. Writes persist what they find in `ai.Anomaly`
(whose unique constraints make "once" hold under concurrency) and notify each new one
once (`unusual_spending`, §12 preferences); an import notifies one summary instead.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from functools import cached_property
from itertools import chain, pairwise
from statistics import fmean
from typing import Any, NamedTuple

from celery import shared_task
from django.db import connection, transaction
from django.db.models import Case, CharField, F, Q, Sum, When
from django.db.models.functions import Lower
from django.utils import timezone

from books.models import Book
from categories.models import Category
from core.dates import add_months, budget_month_of, month_range
from core.dates import user_today as _user_today
from core.money import format_amount
from expenses.models import Expense
from notifications.models import NotificationKind
from notifications.services import notify_members
from recurring.models import RecurringOccurrence

from .models import Anomaly, AnomalyKind

logger = logging.getLogger(__name__)

LOOKBACK_DAYS = 365
MAX_HISTORY_ROWS = 20_000
MIN_MERCHANT_HISTORY = 4
MERCHANT_MIN_RATIO = 2.5
MERCHANT_Z = 3.5
NEW_MERCHANT_MIN_BOOK_HISTORY = 20
NEW_MERCHANT_PERCENTILE = 95
NEW_MERCHANT_MEDIAN_RATIO = 3.0
DUPLICATE_DAYS = 2
DUPLICATE_SCORE = MERCHANT_Z
DUPLICATE_HABIT_REPEATS = 2
RECORD_MIN_HISTORY = 12
RECORD_MIN_RATIO = 3.0
RECORD_MAX_LOG_SPREAD = 0.8
CATEGORY_HISTORY_MONTHS = 12
CATEGORY_MIN_MONTHS = 4
CATEGORY_Z = 3.5
CATEGORY_MIN_RATIO = 1.5
# 1.4826 · MAD estimates the standard deviation of normally distributed data.
MAD_SCALE = 1.4826
# The spread is never taken below this share of the typical amount (10%; on the log
# scale ln 1.1): a merchant that always charges the same has MAD 0, and any change
# would be "infinitely" unusual.
MIN_RELATIVE_SPREAD = 0.1
MIN_LOG_SPREAD = math.log1p(MIN_RELATIVE_SPREAD)
# An import only looks at its records of the last days: older history is not news.
IMPORT_RECENT_DAYS = 92
NAME_CHARS = 60
# The book-wide row of `history_stats` (a merchant key is never empty: a description is).
BOOK_KEY = ""


class Reason:
    MERCHANT_SPIKE = "merchant_spike"
    NEW_MERCHANT = "new_merchant_large"
    DUPLICATE = "possible_duplicate"
    CATEGORY_MONTH = "category_month_high"


class Stats:
    """Robust figures of a series of amounts: count, median, MAD, 95th percentile and
    maximum, and the median and MAD of their logarithms. Each is computed when first
    asked for: most merchants of a month only ever need their median."""

    def __init__(self, values: Iterable[float]) -> None:
        self._values = list(values)
        self.n = len(self._values)

    @cached_property
    def ordered(self) -> list[float]:
        return sorted(self._values)

    @cached_property
    def median(self) -> float:
        return _median(self.ordered)

    @property
    def max(self) -> float:
        return self.ordered[-1]

    @cached_property
    def mad(self) -> float:
        median = self.median
        return _median(sorted(abs(value - median) for value in self.ordered))

    @cached_property
    def p95(self) -> float:
        return _percentile(self.ordered, NEW_MERCHANT_PERCENTILE)

    @cached_property
    def _logs(self) -> list[float]:
        return [math.log(value) for value in self.ordered if value > 0] or [0.0]

    @cached_property
    def log_median(self) -> float:
        return _median(self._logs)

    @cached_property
    def log_mad(self) -> float:
        log_median = self.log_median
        return _median(sorted(abs(value - log_median) for value in self._logs))

    def spread(self, floor_of: float | None = None) -> float:
        typical = self.median if floor_of is None else floor_of
        return max(MAD_SCALE * self.mad, MIN_RELATIVE_SPREAD * typical)

    @property
    def log_spread(self) -> float:
        """The robust standard deviation of the log amounts (at least `MIN_LOG_SPREAD`)."""
        return max(MAD_SCALE * self.log_mad, MIN_LOG_SPREAD)

    def log_z(self, amount: float) -> float:
        """How many robust deviations `amount` lies above the typical one, on a log scale."""
        return (math.log(amount) - self.log_median) / self.log_spread


@dataclass
class Finding:
    """One anomaly, as the API shows it and as `ai.Anomaly` stores it."""

    kind: str
    subject_id: int  # the expense's id, or the category's
    month: date  # the budget month's label: its first calendar day (YYYY-MM-01)
    reason_code: str
    reason: str
    score: float
    currency: str
    amount: Decimal
    expected: Decimal | None
    date: date | None = None
    merchant: str | None = None
    description: str | None = None
    category_id: int | None = None
    category_name: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    charge: str = ""  # an expense's amount in its own currency, for the sentence

    @property
    def expense_id(self) -> int | None:
        return self.subject_id if self.kind == AnomalyKind.EXPENSE else None


# --- figures from the database -------------------------------------------------------------


def merchant_key_expression() -> Lower:
    return Lower(
        Case(
            When(merchant="", then=F("description")),
            default=F("merchant"),
            output_field=CharField(),
        )
    )


_PG_SERIES_SQL = """
SELECT lower(CASE WHEN merchant = '' THEN description ELSE merchant END),
       array_agg(base_amount::float8)
FROM {table}
WHERE book_id = %s AND date >= %s AND date < %s AND base_amount > 0
GROUP BY 1
"""


def history_since(*, book: Book, before: date) -> date:
    """The first day of the history an expense of the month starting `before` is
    compared with: `LOOKBACK_DAYS` back, or later in a book with more than
    `MAX_HISTORY_ROWS` expenses in them (one index-only look-up)."""
    since = before - timedelta(days=LOOKBACK_DAYS)
    cutoff = (
        Expense.objects.filter(book=book, date__gte=since, date__lt=before)
        .order_by("-date")
        .values_list("date", flat=True)[MAX_HISTORY_ROWS - 1 : MAX_HISTORY_ROWS]
    )
    return next(iter(cutoff), since)


def history_stats(
    *, book: Book, keys: Iterable[str], since: date, before: date
) -> dict[str, Stats]:
    """{merchant key: Stats} of the book's expenses dated in [since, before) for `keys`,
    plus the whole book's under `BOOK_KEY`. The database groups the amounts per merchant
    (PostgreSQL: one hash-aggregated query returning an array per merchant; elsewhere,
    SQLite in development, the window's amounts are fetched)."""
    wanted = set(keys)
    series: dict[str, list[float]] = {}
    if connection.vendor == "postgresql":
        sql = _PG_SERIES_SQL.format(table=connection.ops.quote_name(Expense._meta.db_table))
        with connection.cursor() as cursor:
            cursor.execute(sql, [book.pk, since, before])
            series = dict(cursor.fetchall())
    else:
        rows = (
            Expense.objects.filter(book=book, date__gte=since, date__lt=before, base_amount__gt=0)
            .annotate(key=merchant_key_expression())
            .values_list("key", "base_amount")
        )
        for key, amount in rows:
            series.setdefault(key, []).append(float(amount))
    stats = {key: Stats(values) for key, values in series.items() if key in wanted}
    if series:
        stats[BOOK_KEY] = Stats(chain.from_iterable(series.values()))
    return stats


def _median(ordered: list[float]) -> float:
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def _percentile(ordered: list[float], percent: float) -> float:
    """Linear interpolation between the closest ranks (numpy's default, PostgreSQL's
    percentile_cont)."""
    position = (len(ordered) - 1) * percent / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _category_names(ids: Iterable[int]) -> dict[int, str]:
    ids = set(ids)
    if not ids:
        return {}
    return dict(Category.objects.filter(pk__in=ids).values_list("id", "name"))


# --- detectors --------------------------------------------------------------------------------


def _money(value: float | Decimal, currency: str) -> Decimal:
    return Decimal(format_amount(Decimal(str(value)), currency))


def _show(value: float | Decimal, currency: str) -> str:
    return f"{format_amount(Decimal(str(value)), currency)} {currency}"


def _name(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= NAME_CHARS else text[: NAME_CHARS - 1] + "…"


def _times(ratio: float) -> str:
    words = {2: "twice", 3: "three times", 4: "four times", 5: "five times"}
    whole = round(ratio)
    if abs(ratio - whole) < 0.05 and whole in words:
        return words[whole]
    return f"{ratio:.1f} times"


class _Row(NamedTuple):
    id: int
    key: str
    date: date
    base_amount: Decimal
    amount: Decimal
    currency: str


def detect_expense_anomalies(
    *, book: Book, year: int, month: int, only_dates: Iterable[date] | None = None
) -> list[Finding]:
    """The unusual expenses of budget month (year, month) of `book` — of `only_dates`
    when given (a write's dates: bounded work, same verdicts as the whole month's)."""
    start, end = month_range(year, month, book.month_start_day)
    label = date(year, month, 1)
    currency = book.base_currency
    wanted = set(only_dates) if only_dates is not None else None
    rows = [
        _Row(*values)
        for values in Expense.objects.filter(
            book=book,
            date__gte=start - timedelta(days=DUPLICATE_DAYS),
            date__lte=end + timedelta(days=DUPLICATE_DAYS),
        )
        .annotate(key=merchant_key_expression())
        .order_by("date", "id")
        .values_list("id", "key", "date", "base_amount", "amount", "currency")
    ]
    target_ids = {
        row.id
        for row in rows
        if start <= row.date <= end and (wanted is None or row.date in wanted)
    }
    if not target_ids:
        return []
    since = history_since(book=book, before=start)
    stats = history_stats(
        book=book,
        keys={row.key for row in rows if row.id in target_ids},
        since=since,
        before=start,
    )
    book_stats = stats.get(BOOK_KEY)
    findings: list[Finding] = []
    seen_in_month: set[str] = set()
    for row in rows:
        if row.date < start:
            continue
        first_in_month = row.key not in seen_in_month
        seen_in_month.add(row.key)
        if row.id not in target_ids:
            continue
        finding = _merchant_finding(row, stats.get(row.key), currency, label)
        if finding is None and first_in_month and row.key not in stats:
            finding = _new_merchant_finding(row, book_stats, currency, label)
        if finding is not None:
            findings.append(finding)
    findings.extend(
        _duplicate_findings(
            book=book, rows=rows, target_ids=target_ids, since=since, currency=currency, label=label
        )
    )
    _describe(findings)
    return findings


def _describe(findings: list[Finding]) -> None:
    """Fill in the found expenses' merchant, description and category, and the sentence
    that names them (one query, for the few expenses found)."""
    details = {
        row["id"]: row
        for row in Expense.objects.filter(pk__in={f.subject_id for f in findings}).values(
            "id", "merchant", "description", "category_id", "category__name"
        )
    }
    for finding in findings:
        row = details[finding.subject_id]
        finding.merchant = row["merchant"] or None
        finding.description = row["description"]
        finding.category_id = row["category_id"]
        finding.category_name = row["category__name"]
        finding.reason = _expense_reason(finding, _name(row["merchant"] or row["description"]))


def _expense_reason(finding: Finding, who: str) -> str:
    currency = finding.currency
    if finding.reason_code == Reason.MERCHANT_SPIKE:
        return (
            f"{_times(finding.data['ratio']).capitalize()} the usual amount for {who}: "
            f"{_show(finding.amount, currency)} against a typical "
            f"{_show(finding.expected, currency)} over {finding.data['history']} earlier "
            f"charges (the largest {_show(finding.data['largest_before'], currency)})."
        )
    if finding.reason_code == Reason.NEW_MERCHANT:
        return (
            f"A new merchant with a large charge: {_show(finding.amount, currency)} at {who}, "
            f"more than {NEW_MERCHANT_PERCENTILE}% of this book's expenses (typical "
            f"{_show(finding.expected, currency)})."
        )
    return (
        f"Possible duplicate: the same {finding.charge} at {who} was charged on "
        f"{finding.data['duplicate_of_date']}."
    )


def _expense_finding(row: _Row, currency: str, label: date, **values: Any) -> Finding:
    return Finding(
        kind=AnomalyKind.EXPENSE,
        subject_id=row.id,
        month=label,
        currency=currency,
        amount=row.base_amount,
        date=row.date,
        reason="",
        charge=_show(row.amount, row.currency),
        **values,
    )


def _merchant_finding(row: _Row, stats: Stats | None, currency: str, label: date) -> Finding | None:
    if stats is None or stats.n < MIN_MERCHANT_HISTORY or stats.median <= 0:
        return None
    amount = float(row.base_amount)
    ratio = amount / stats.median
    if ratio < MERCHANT_MIN_RATIO:
        return None
    score = stats.log_z(amount)
    record = (
        stats.n >= RECORD_MIN_HISTORY
        and ratio >= RECORD_MIN_RATIO
        and amount > stats.max
        and stats.log_spread <= RECORD_MAX_LOG_SPREAD
    )
    if score < MERCHANT_Z and not record:
        return None
    return _expense_finding(
        row,
        currency,
        label,
        reason_code=Reason.MERCHANT_SPIKE,
        score=round(score, 2),
        expected=_money(stats.median, currency),
        data={
            "ratio": round(ratio, 2),
            "history": stats.n,
            "largest_before": str(_money(stats.max, currency)),
        },
    )


def _new_merchant_finding(
    row: _Row, book_stats: Stats | None, currency: str, label: date
) -> Finding | None:
    if book_stats is None or book_stats.n < NEW_MERCHANT_MIN_BOOK_HISTORY:
        return None
    amount = float(row.base_amount)
    threshold = max(book_stats.p95, NEW_MERCHANT_MEDIAN_RATIO * book_stats.median)
    if amount < threshold or amount <= 0:
        return None
    return _expense_finding(
        row,
        currency,
        label,
        reason_code=Reason.NEW_MERCHANT,
        score=round(book_stats.log_z(amount), 2),
        expected=_money(book_stats.median, currency),
        data={"percentile_95": str(_money(book_stats.p95, currency))},
    )


def _duplicate_findings(
    *,
    book: Book,
    rows: list[_Row],
    target_ids: set[int],
    since: date,
    currency: str,
    label: date,
) -> list[Finding]:
    """Each target row charged at the same merchant, amount and currency within
    `DUPLICATE_DAYS` days after another (rows in date order: one pass), unless either is
    a recurring item's or the amount is habitual there (`_habitual`)."""
    last: dict[tuple[str, Decimal, str], _Row] = {}
    pairs = []
    for row in rows:
        group = (row.key, row.amount, row.currency)
        earlier = last.get(group)
        last[group] = row
        if (
            earlier is not None
            and row.id in target_ids
            and (row.date - earlier.date).days <= DUPLICATE_DAYS
        ):
            pairs.append((earlier, row))
    if not pairs:
        return []
    involved = {row.id for pair in pairs for row in pair}
    recurring = set(
        RecurringOccurrence.objects.filter(expense_id__in=involved).values_list(
            "expense_id", flat=True
        )
    )
    pairs = [
        (earlier, later)
        for earlier, later in pairs
        if earlier.id not in recurring and later.id not in recurring
    ]
    habitual = _habitual(book=book, pairs=pairs, since=since)
    return [
        _expense_finding(
            later,
            currency,
            label,
            reason_code=Reason.DUPLICATE,
            score=DUPLICATE_SCORE,
            expected=None,
            data={"duplicate_of": earlier.id, "duplicate_of_date": earlier.date.isoformat()},
        )
        for earlier, later in pairs
        if later.id not in habitual
    ]


def _habitual(*, book: Book, pairs: list[tuple[_Row, _Row]], since: date) -> set[int]:
    """The later rows of `pairs` whose amount repeats by nature at their merchant: its
    history (from `since` to the pair) already holds `DUPLICATE_HABIT_REPEATS` charges of
    that merchant, amount and currency within `DUPLICATE_DAYS` days of the one before (a
    daily fare, a menu price). One query, for the few pairs found."""
    if not pairs:
        return set()
    history = (
        Expense.objects.filter(
            book=book,
            date__gte=since,
            date__lt=max(earlier.date for earlier, _ in pairs),
            amount__in={later.amount for _, later in pairs},
            currency__in={later.currency for _, later in pairs},
        )
        .annotate(key=merchant_key_expression())
        .filter(key__in={later.key for _, later in pairs})
        .order_by("date", "id")
        .values_list("key", "amount", "currency", "date")
    )
    dates: dict[tuple[str, Decimal, str], list[date]] = defaultdict(list)
    for key, amount, charged_in, day in history:
        dates[(key, amount, charged_in)].append(day)
    habitual = set()
    for earlier, later in pairs:
        before = [
            day
            for day in dates.get((later.key, later.amount, later.currency), ())
            if day < earlier.date
        ]
        repeats = sum(
            1 for first, second in pairwise(before) if (second - first).days <= DUPLICATE_DAYS
        )
        if repeats >= DUPLICATE_HABIT_REPEATS:
            habitual.add(later.id)
    return habitual


def detect_category_anomalies(*, book: Book, year: int, month: int) -> list[Finding]:
    """The categories of `book` whose budget month (year, month) is far above their
    typical month (see the module doc). One aggregate query over 13 months, one row per
    category: a conditional sum per budget month (cheaper than grouping by a computed
    month, which sorts every row)."""
    first = add_months(year, month, -CATEGORY_HISTORY_MONTHS)
    months = [add_months(*first, i) for i in range(CATEGORY_HISTORY_MONTHS + 1)]
    ranges = [month_range(*m, book.month_start_day) for m in months]
    all_labels = [date(*m, 1) for m in months]
    label = all_labels[-1]
    totals = (
        Expense.objects.filter(
            book=book, date__gte=ranges[0][0], date__lte=ranges[-1][1], category__isnull=False
        )
        .values("category_id")
        .annotate(
            **{
                f"m{i}": Sum("base_amount", filter=Q(date__gte=start, date__lte=end))
                for i, (start, end) in enumerate(ranges)
            }
        )
        .order_by()
    )
    by_category: dict[int, dict[date, Decimal]] = defaultdict(dict)
    for row in totals:
        for i, month_label in enumerate(all_labels):
            if row[f"m{i}"] is not None:
                by_category[row["category_id"]][month_label] = row[f"m{i}"]
    labels = all_labels[:-1]
    currency = book.base_currency
    findings = []
    for category_id, months in by_category.items():
        current = months.get(label)
        if not current:
            continue
        earliest = min(months)
        history = [float(months.get(m, 0)) for m in labels if m >= earliest]
        if len(history) < CATEGORY_MIN_MONTHS:
            continue
        stats = Stats(history)
        last_year = float(months[labels[0]]) if labels[0] >= earliest else None
        expected = max(stats.median, last_year or 0.0)
        spread = stats.spread(floor_of=max(expected, fmean(history)))
        if spread <= 0:
            continue
        total = float(current)
        score = (total - expected) / spread
        if score < CATEGORY_Z or total < CATEGORY_MIN_RATIO * expected:
            continue
        findings.append(
            Finding(
                kind=AnomalyKind.CATEGORY,
                subject_id=category_id,
                month=label,
                reason_code=Reason.CATEGORY_MONTH,
                reason="",
                score=round(score, 2),
                currency=currency,
                amount=current,
                expected=_money(expected, currency),
                category_id=category_id,
                data={
                    "typical_month": str(_money(stats.median, currency)),
                    "same_month_last_year": (
                        None if last_year is None else str(_money(last_year, currency))
                    ),
                    "months": len(history),
                },
            )
        )
    names = _category_names(f.subject_id for f in findings)
    for finding in findings:
        name = _name(names.get(finding.subject_id, "A category"))
        finding.category_name = names.get(finding.subject_id)
        seasonal = finding.data["same_month_last_year"]
        finding.reason = (
            f"{name} is far above its typical month: {_show(finding.amount, currency)} against "
            f"a typical {_show(finding.data['typical_month'], currency)}"
            + (f" (same month last year {seasonal} {currency})." if seasonal else ".")
        )
    return findings


def month_anomalies(*, book: Book, year: int, month: int) -> list[Finding]:
    """Every anomaly of the budget month, the most unusual first (`GET /ai/anomalies/`)."""
    findings = detect_expense_anomalies(book=book, year=year, month=month)
    findings += detect_category_anomalies(book=book, year=year, month=month)
    findings.sort(key=lambda f: (-f.score, f.kind, f.subject_id, f.reason_code))
    return findings


def anomalies_for_month(
    *, book: Book, year: int, month: int, today: date | None = None
) -> list[Finding]:
    """`month_anomalies` under the name `ai.insights` looks for (`today` is not needed:
    a month's anomalies are those of its records so far)."""
    return month_anomalies(book=book, year=year, month=month)


# --- persisting and telling -------------------------------------------------------------------


def anomalies_record(*, book: Book, findings: list[Finding]) -> list[Anomaly]:
    """Store the findings in `ai.Anomaly` (the unique constraints keep each once, whoever
    races) and return those not yet notified, in the order found."""
    if not findings:
        return []
    Anomaly.objects.bulk_create(
        [
            Anomaly(
                book=book,
                kind=f.kind,
                expense_id=f.expense_id,
                category_id=f.subject_id if f.kind == AnomalyKind.CATEGORY else None,
                month=f.month,
                reason_code=f.reason_code,
                reason=f.reason[:255],
                score=f.score,
                data=_anomaly_data(f),
            )
            for f in findings
        ],
        ignore_conflicts=True,
    )
    expense_keys = {(f.subject_id, f.reason_code) for f in findings if f.expense_id}
    category_keys = {(f.subject_id, f.month) for f in findings if not f.expense_id}
    pending = Anomaly.objects.filter(book=book, notified_at__isnull=True)
    stored = []
    if expense_keys:
        stored += [
            a
            for a in pending.filter(expense_id__in={key[0] for key in expense_keys})
            if (a.expense_id, a.reason_code) in expense_keys
        ]
    if category_keys:
        stored += [
            a
            for a in pending.filter(
                kind=AnomalyKind.CATEGORY, category_id__in={key[0] for key in category_keys}
            )
            if (a.category_id, a.month) in category_keys
        ]
    return stored


def _anomaly_data(finding: Finding) -> dict[str, Any]:
    return {
        **finding.data,
        "amount": str(finding.amount),
        "expected": None if finding.expected is None else str(finding.expected),
        "currency": finding.currency,
        "date": None if finding.date is None else finding.date.isoformat(),
    }


def _claim(anomalies: list[Anomaly]) -> list[Anomaly]:
    """The anomalies this caller marks notified (a concurrent caller gets the others)."""
    now = timezone.now()
    claimed = []
    for anomaly in anomalies:
        if Anomaly.objects.filter(pk=anomaly.pk, notified_at__isnull=True).update(notified_at=now):
            anomaly.notified_at = now
            claimed.append(anomaly)
    return claimed


def anomalies_notify(*, book: Book, anomalies: list[Anomaly]) -> int:
    """Notify each anomaly not notified yet to the book's members (each per their own
    preferences, `unusual_spending`), exactly once. Returns how many were notified."""
    claimed = _claim(anomalies)
    for anomaly in claimed:
        notify_members(
            book=book,
            kind=NotificationKind.UNUSUAL_SPENDING,
            title=("Unusual charge" if anomaly.kind == AnomalyKind.EXPENSE else "Unusual month"),
            body=anomaly.reason,
            data={
                "book": book.pk,
                "anomaly": anomaly.pk,
                "expense": anomaly.expense_id,
                "category": anomaly.category_id,
                "reason_code": anomaly.reason_code,
            },
            dedupe_key=f"unusual_spending:anomaly:{anomaly.pk}",
        )
    return len(claimed)


def anomalies_notify_import(*, book: Book, anomalies: list[Anomaly], import_batch_id: Any) -> int:
    """One summary notification for an import's anomalies ("3 unusual charges in your
    import"), never one per record; the anomalies count as notified. Returns how many."""
    claimed = _claim(anomalies)
    if not claimed:
        return 0
    count = len(claimed)
    title = f"{count} unusual charge{'s' if count != 1 else ''} in your import"
    top = sorted(claimed, key=lambda a: -a.score)[:3]
    body = " ".join(a.reason for a in top)
    notify_members(
        book=book,
        kind=NotificationKind.UNUSUAL_SPENDING,
        title=title,
        body=body,
        data={
            "book": book.pk,
            "import_batch": import_batch_id,
            "anomalies": [a.pk for a in claimed],
            "expenses": [a.expense_id for a in claimed if a.expense_id],
        },
        dedupe_key=f"unusual_spending:import:{import_batch_id}",
    )
    return count


def book_today(book: Book) -> date:
    """A personal book's today is its owner's; a shared book's, UTC's (as budgets)."""
    return _user_today(book.personal_owner if book.personal_owner_id else None)


def anomalies_after_write(*, book: Book, dates: Iterable[date], import_batch_id: Any = None) -> int:
    """Find, store and tell the anomalies among the expenses written on `dates` (run
    after the write commits). An import looks only at its last `IMPORT_RECENT_DAYS` of
    dates and sends one summary. Returns how many anomalies were newly told."""
    dates = set(dates)
    if import_batch_id is not None:
        recent = book_today(book) - timedelta(days=IMPORT_RECENT_DAYS)
        dates = {day for day in dates if day >= recent}
    by_month: dict[tuple[int, int], set[date]] = defaultdict(set)
    for day in dates:
        by_month[budget_month_of(day, book.month_start_day)].add(day)
    pending: list[Anomaly] = []
    for (year, month), days in sorted(by_month.items()):
        findings = detect_expense_anomalies(book=book, year=year, month=month, only_dates=days)
        pending += anomalies_record(book=book, findings=findings)
    if import_batch_id is not None:
        return anomalies_notify_import(
            book=book, anomalies=pending, import_batch_id=import_batch_id
        )
    return anomalies_notify(book=book, anomalies=pending)


def anomalies_on_expenses_written(
    sender: Any,
    *,
    book: Book | None = None,
    dates: Iterable[date] = (),
    import_batch: Any = None,
    **kwargs: Any,
) -> None:
    """Receiver of `expenses.signals.expenses_written` (connected in `AiConfig`): once
    the write commits, the written dates' expenses are looked at on the task queue
    (`anomalies_after_write_task`; eager in development), so a write never waits for
    detection. A failure is logged, never raised: an alert must not undo or break a
    write."""
    if book is None:
        return
    book_id, days = book.pk, sorted(day.isoformat() for day in set(dates))
    batch_id = getattr(import_batch, "pk", import_batch)
    transaction.on_commit(
        lambda: anomalies_after_write_task.delay(book_id, days, batch_id), robust=True
    )


@shared_task(name="ai.anomalies_after_write", ignore_result=True)
def anomalies_after_write_task(book_id: int, days: list[str], batch_id: int | None) -> None:
    """`anomalies_after_write` for a book (skipped when it is gone meanwhile); dates as ISO
    strings, the task queue's JSON."""
    current = Book.objects.filter(pk=book_id).first()
    if current is not None:
        anomalies_after_write(
            book=current,
            dates={date.fromisoformat(day) for day in days},
            import_batch_id=batch_id,
        )


def detect_category_anomalies_due(*, today: date | None = None) -> int:
    """Scheduled job: each book with expenses in the last ~5 weeks is checked for
    categories far above their typical month, in its current budget month and the one
    before (which may have ended since the last run); each new one is told once.
    Idempotent. Returns how many anomalies were newly told."""
    horizon = (today or timezone.now().date()) - timedelta(days=40)
    book_ids = (
        Expense.objects.filter(date__gte=horizon).values_list("book_id", flat=True).distinct()
    )
    told = 0
    for book in Book.objects.filter(pk__in=list(book_ids)).select_related("personal_owner"):
        try:
            day = today or book_today(book)
            current = budget_month_of(day, book.month_start_day)
            pending: list[Anomaly] = []
            for year, month in (add_months(*current, -1), current):
                findings = detect_category_anomalies(book=book, year=year, month=month)
                pending += anomalies_record(book=book, findings=findings)
            told += anomalies_notify(book=book, anomalies=pending)
        except Exception:  # one book's failure must not stop the others
            logger.exception("Category anomalies of book %s failed; the next run retries", book.pk)
    return told
