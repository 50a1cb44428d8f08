"""Bank-statement import: preview → commit → undo (SPEC §11).

Preview parses the file, validates every row, marks duplicates and suggests
categories, storing nothing but the batch. Commit stores the new rows as expenses
(outflows) and income (inflows) in one transaction; undo deletes what a batch stored.

Everything happens in one book (SPEC §14): the batch, the rules and categories a
preview suggests from, the records a commit stores, and the records duplicates are
looked for among — the same statement imports once into each book.

Duplicates: a row with a FITID is a duplicate when a record of the book (or an earlier
row of the same file) already has that FITID. Otherwise its key is date + signed amount +
normalised description, counted per occurrence: with N identical rows in the file
and E records already stored under that key, the first E rows are duplicates and the
rest are new — so two genuine identical coffees on one day both survive, and
re-importing the file stores nothing.

Possible duplicates: a row that is not an exact duplicate but looks like a record
entered by hand (see `imports.duplicates` for the rule) carries `possible_duplicate:
{id, kind}` and is skipped on commit unless the commit lists its line in `keep_lines`.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import date
from decimal import Decimal
from hashlib import sha256
from typing import Any, overload

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from ai.classifier import Sample
from ai.suggestions import retrain_after_import, rows_suggestions
from books.models import Book
from categories.models import Category
from categories.services import rules_for
from core.dates import DATE_RANGE_MESSAGE, date_in_range
from core.events import emit
from core.exceptions import ApplicationError, ConflictError
from core.locks import UserLock, user_lock
from core.money import amount_errors, is_currency
from currencies.selectors import (
    ConversionOutOfRange,
    RateUnavailable,
    get_rate,
    rates_on_each,
)
from expenses.selectors import expenses_not_imported
from expenses.services import expenses_bulk_import, expenses_delete_imported
from income.selectors import incomes_not_imported
from income.services import incomes_bulk_import, incomes_delete_imported
from ledger.selectors import transactions_import_matches
from users.models import User

from . import duplicates
from .models import BatchStatus, ImportBatch, ImportProfile
from .parsers.base import (
    CsvOptions,
    ParsedRow,
    ParseResult,
    StatementError,
    UnsupportedFormat,
    max_transactions,
    too_many_transactions,
)
from .profiles import table_header
from .rowstore import pack_rows, row_lines, unpack_rows

logger = logging.getLogger(__name__)

EXPENSE, INCOME = "expense", "income"
# Where a row's `suggested_category` comes from: a rule of the book (applied on commit)
# or its learned model (kept on the record as a suggestion, not applied).
SOURCE_RULES, SOURCE_MODEL = "rules", "model"
CONFIDENCE = Decimal("0.001")


def normalise_description(text: str) -> str:
    """Whitespace runs → one space, trimmed, case-folded. `str.split()` splits on exactly
    the characters the regex `\\s` matches in a str (both are `str.isspace`), so keys
    stored by earlier versions (`re.sub(r"\\s+", " ", text).strip()`) stay the same."""
    return " ".join(text.split()).casefold()


def row_key(*, day: date, amount: Decimal, description: str) -> str:
    """The duplicate key of a row without FITID: date, signed amount, description."""
    return _key(day.isoformat(), amount, description)


def _key(day: str, amount: Decimal, description: str) -> str:
    raw = f"{day}|{amount.normalize():f}|{normalise_description(description)}"
    return sha256(raw.encode()).hexdigest()[:40]


def parse_statement(content: bytes, *, fmt: str, filename: str, options: CsvOptions) -> ParseResult:
    """Detect (when `fmt` is auto) and parse. Raises UnsupportedFormat or StatementError."""
    from .parsers.detect import detect_format

    if fmt == "auto":
        detected = detect_format(content, filename)
        if detected is None:
            raise UnsupportedFormat(
                "This file is not a statement format we read (CSV, OFX, QFX, QIF, XLSX, "
                "camt.052/camt.053 or MT940)."
            )
        fmt = detected
    if fmt == "csv":
        from .parsers.csv_parser import parse_csv

        return parse_csv(content, options)
    if fmt == "xlsx":
        from .parsers.xlsx_parser import parse_xlsx

        return parse_xlsx(content, options)
    if fmt in ("ofx", "qfx"):
        from .parsers.ofx_parser import parse_ofx

        return parse_ofx(content, fmt=fmt)
    if fmt == "qif":
        from .parsers.qif_parser import parse_qif

        return parse_qif(content)
    if fmt == "camt":
        from .parsers.camt_parser import parse_camt

        return parse_camt(content)
    if fmt == "mt940":
        from .parsers.mt940_parser import parse_mt940

        return parse_mt940(content)
    raise UnsupportedFormat(f"Unknown format {fmt!r}.")


def _validate(
    row: ParsedRow,
    currency: str,
    base_currency: str,
    quotes: dict[tuple[str, date], str | None],
    memo: dict[Any, str | None] | None = None,
) -> str | None:
    """Why a parsed row cannot be stored, or None.

    `quotes` caches, per (currency, date), why the row cannot be converted into the base
    currency (the message names the pair and the date, and a currency no rates cover),
    or None when it can. `memo` (one per statement) keeps the other answers per
    currency, date and (amount, currency): a statement repeats them row after row.
    """
    memo = {} if memo is None else memo
    day, amount = row.date, abs(row.amount)
    # Keys of three types (str, date, tuple), which never compare equal to each other.
    if currency not in memo:
        memo[currency] = _currency_problem(currency)
    if day not in memo:
        memo[day] = _date_problem(day)
    key = (amount, currency)
    if key not in memo:
        # Equal amounts (12.5, 12.50) share a key and an answer: the checks compare values.
        memo[key] = " ".join(amount_errors(amount, currency)) or None
    problem = memo[currency] or memo[day] or memo[key]
    if problem:
        return problem
    if currency != base_currency:
        key = (currency, row.date)
        if key not in quotes:
            try:
                get_rate(from_currency=currency, to_currency=base_currency, on=row.date)
                quotes[key] = None
            except (RateUnavailable, ConversionOutOfRange) as exc:
                quotes[key] = exc.message
        return quotes[key]
    return None


def _currency_problem(currency: str) -> str | None:
    return None if is_currency(currency) else f"Unknown currency {currency!r}."


def _date_problem(day: date) -> str | None:
    if date_in_range(day):
        return None
    return f"Date {day.isoformat()} is outside the supported range. {DATE_RANGE_MESSAGE}"


def _conversion_problems(
    rows: Iterable[ParsedRow], fallback: str, base_currency: str
) -> dict[tuple[str, date], str | None]:
    """For `_validate`: per (currency, date) of the rows, why it cannot be converted into
    the base currency, or None. One rates query per currency rather than per date."""
    wanted: dict[str, set[date]] = {}
    for row in rows:
        currency = (row.currency or fallback).upper()
        if currency != base_currency and is_currency(currency) and date_in_range(row.date):
            wanted.setdefault(currency, set()).add(row.date)
    problems: dict[tuple[str, date], str | None] = {}
    for currency, days in wanted.items():
        answers = rates_on_each(from_currency=currency, to_currency=base_currency, dates=days)
        for day, answer in answers.items():
            failed = isinstance(answer, RateUnavailable | ConversionOutOfRange)
            problems[(currency, day)] = answer.message if failed else None
    return problems


def _nothing_to_import(
    errors: list[dict[str, Any]], conversion_problems: set[str], base_currency: str
) -> str:
    """The 400 message for a file none of whose rows can be stored, saying why."""
    if not errors:
        return "No transactions could be read from this file."
    unconvertible = sorted(
        (e for e in errors if e["message"] in conversion_problems), key=lambda e: e["line"]
    )
    unreadable = len(errors) - len(unconvertible)
    if not unconvertible:
        return (
            f"No transactions could be read from this file ({unreadable} rows could not be read)."
        )
    first = unconvertible[0]
    parts = [
        f"{len(unconvertible)} rows could not be converted to {base_currency} "
        f"(first, line {first['line']}: {first['message']})"
    ]
    if unreadable:
        parts.append(f"{unreadable} rows could not be read")
    return f"No transactions could be imported from this file: {'; '.join(parts)}."


def _mark_duplicates(book: Book, rows: list[dict[str, Any]]) -> None:
    """Set `duplicate` on each row dict against `book`'s records (see the module
    docstring for the rule)."""
    if not rows:
        return
    keys = {row["key"] for row in rows}
    fitids = {row["fitid"] for row in rows if row["fitid"]}
    first, last = _date_span(rows)
    stored, known_fitids = transactions_import_matches(
        book=book, keys=keys, fitids=fitids, first=first, last=last
    )
    seen: Counter = Counter()
    for row in rows:
        fitid, key = row["fitid"], row["key"]
        if fitid:
            row["duplicate"] = fitid in known_fitids
            known_fitids.add(fitid)
        elif key in stored:
            seen[key] += 1
            row["duplicate"] = seen[key] <= stored[key]
        else:  # no record has the key: every occurrence is new
            row["duplicate"] = False


def _date_span(rows: list[dict[str, Any]]) -> tuple[date, date]:
    """The first and last date of `rows` (ISO dates order as text)."""
    days = [row["date"] for row in rows]
    return date.fromisoformat(min(days)), date.fromisoformat(max(days))


def _mark_possible_duplicates(book: Book, rows: list[dict[str, Any]]) -> int:
    """Set `possible_duplicate` on the rows that are not exact duplicates but match a
    record of `book` no import created (`imports.duplicates`); returns how many. One
    query per ledger for the rows' dates ± the window, whatever the number of rows."""
    for row in rows:
        row.pop("possible_duplicate", None)
    fresh = [row for row in rows if not row["duplicate"]]
    if not fresh:
        return 0
    window = duplicates.date_window(_date_span(fresh))
    if window is None:
        return 0
    first, last = window
    matches = duplicates.match(
        fresh,
        {
            EXPENSE: expenses_not_imported(book=book, first=first, last=last),
            INCOME: incomes_not_imported(book=book, first=first, last=last),
        },
    )
    for index, (kind, record_id) in matches.items():
        fresh[index]["possible_duplicate"] = {"id": record_id, "kind": kind}
    return len(matches)


def _suggest_categories(book: Book, rows: list[dict[str, Any]]) -> None:
    """Give the rows no rule matched (and that are not exact duplicates) the book's
    learned model's suggestion (`suggestion_source: model`, with its confidence): one
    batched prediction per kind (`ai.suggestions.rows_suggestions`). Like a record's
    `suggested_category`, it is shown and kept on the stored record, never applied. A
    failing model is logged and leaves the rows without suggestions."""
    for kind in (EXPENSE, INCOME):
        open_rows = [
            row
            for row in rows
            if row["kind"] == kind and row["suggested_category"] is None and not row["duplicate"]
        ]
        if not open_rows:
            continue
        samples = _RowSamples(open_rows)
        try:
            with transaction.atomic():  # a failing query leaves the preview's usable
                answers = rows_suggestions(book=book, kind=kind, samples=samples)
            names = dict(
                Category.objects.filter(pk__in={a[0] for a in answers if a}).values_list(
                    "pk", "name"
                )
            )
        except Exception:
            logger.exception("Suggesting categories for an import preview failed")
            continue
        for row, answer in zip(open_rows, answers, strict=True):
            if answer is None or answer[0] not in names:
                continue
            category_id, confidence = answer
            row["suggested_category"] = category_id
            row["suggested_category_name"] = names[category_id]
            row["suggested_confidence"] = f"{Decimal(str(confidence)).quantize(CONFIDENCE):f}"
            row["suggestion_source"] = SOURCE_MODEL


class _RowSamples(Sequence[Sample]):
    """The categoriser's samples of preview rows, built only when first read: a book
    without a model (most, and every new one) never needs them."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self._rows = rows
        self._samples: list[Sample] | None = None

    def _built(self) -> list[Sample]:
        if self._samples is None:
            self._samples = [
                Sample(
                    description=row["description"],
                    merchant=row["merchant"],
                    amount=Decimal(row["amount"]),
                )
                for row in self._rows
            ]
        return self._samples

    def __len__(self) -> int:
        return len(self._rows)

    def __iter__(self) -> Iterator[Sample]:
        return iter(self._built())

    @overload
    def __getitem__(self, index: int) -> Sample: ...
    @overload
    def __getitem__(self, index: slice) -> list[Sample]: ...
    def __getitem__(self, index: int | slice) -> Sample | list[Sample]:
        return self._built()[index]


def _given_options(options: CsvOptions) -> dict[str, Any]:
    """The options a preview was given (as JSON), without the unset ones."""
    return {
        name: value
        for name, value in asdict(options).items()
        if value is not None and value is not False and value != [] and value != ()
    }


@dataclass
class CheckedRows:
    """A parse result checked for one book: what a preview stores in its batch."""

    format: str
    default_currency: str
    rows: list[dict[str, Any]]
    errors: list[dict[str, Any]]  # {line, message}: rows that cannot be stored
    conversion_problems: set[str]  # the messages of `errors` that are conversion failures
    exact: int = 0
    possible: int = 0

    @property
    def new_rows(self) -> int:
        return len(self.rows) - self.exact - self.possible

    def batch_fields(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "default_currency": self.default_currency,
            "total_rows": len(self.rows),
            "new_rows": self.new_rows,
            "duplicate_rows": self.exact,
            "possible_duplicate_rows": self.possible,
            "errors": self.errors,
            "rows": pack_rows(self.rows),
        }


def _check_rows(*, book: Book, result: ParseResult, default_currency: str | None) -> CheckedRows:
    """The checks of a preview, whatever produced the rows (a statement file, a bank
    sync): at most IMPORT_MAX_ROWS transactions (else StatementError), each row valid
    for the book's base currency (else a row error), categories suggested by the book's
    rules and, for rows no rule matches, by its learned model (`_suggest_categories`),
    duplicates and possible duplicates looked for among the book's records."""
    found = len(result.rows) + len(result.errors)
    if found > max_transactions():
        raise too_many_transactions(found)
    base_currency = book.base_currency
    fallback = (result.currency or default_currency or base_currency).upper()
    matcher = rules_for(book=book)
    quotes = _conversion_problems(result.rows, fallback, base_currency)
    errors = [{"line": line, "message": message} for line, message in result.errors]
    rows: list[dict[str, Any]] = []
    memo: dict[Any, str | None] = {}
    iso_dates: dict[date, str] = {}
    for parsed in result.rows:
        currency = (parsed.currency or fallback).upper()
        problem = _validate(parsed, currency, base_currency, quotes, memo)
        if problem:
            errors.append({"line": parsed.line, "message": problem})
            continue
        kind = EXPENSE if parsed.amount < 0 else INCOME
        # A record needs a description; some statements carry none for a row.
        parsed.description = (
            parsed.description.strip() or parsed.merchant.strip() or parsed.memo.strip()
        ) or "(no description)"
        category, _ = matcher.match(
            kind=kind, description=parsed.description, merchant=parsed.merchant
        )
        day = iso_dates.get(parsed.date) or iso_dates.setdefault(
            parsed.date, parsed.date.isoformat()
        )
        rows.append(
            {
                "line": parsed.line,
                "date": day,
                "description": parsed.description[:255],
                "amount": f"{abs(parsed.amount):f}",
                "kind": kind,
                "currency": currency,
                "merchant": parsed.merchant[:255],
                "fitid": parsed.fitid[:255],
                "key": _key(day, parsed.amount, parsed.description),
                "suggested_category": category.pk if category else None,
                "suggested_category_name": category.name if category else None,
                "suggested_confidence": None,
                "suggestion_source": SOURCE_RULES if category else None,
            }
        )
    errors.sort(key=lambda e: e["line"])
    checked = CheckedRows(
        format=result.format,
        default_currency=fallback,
        rows=rows,
        errors=errors,
        conversion_problems={problem for problem in quotes.values() if problem},
    )
    if rows:
        _mark_duplicates(book, rows)
        checked.exact = sum(row["duplicate"] for row in rows)
        checked.possible = _mark_possible_duplicates(book, rows)
        _suggest_categories(book, rows)
    return checked


@transaction.atomic
def import_preview(
    *,
    user: User,
    book: Book | None = None,
    content: bytes,
    fmt: str,
    filename: str,
    options: CsvOptions,
    default_currency: str | None,
    profile: ImportProfile | None = None,
    matched_by: str = "",
) -> ImportBatch:
    """Parse and check a statement for `book` (default: `user`'s personal book); store
    only the batch (status `preview`), created by `user`. Rows are checked against the
    book's base currency, categories are suggested by the book's rules and, for rows no
    rule matches, by its learned model (`_suggest_categories`), and duplicates are
    looked for among its records (`_check_rows`).

    `profile` is the saved mapping whose options `options` include, and `matched_by`
    how it was chosen ("name" or "fingerprint"); the batch records both, and the
    header row of a CSV/XLSX file, so a profile can be made from it.

    Raises UnsupportedFormat (415) or StatementError (400) for a file that cannot be
    read, that holds more than IMPORT_MAX_ROWS transactions, or of which no row at all
    could be read. Rows dated outside the supported range (core.dates) are row errors.
    """
    result = parse_statement(content, fmt=fmt, filename=filename, options=options)
    if book is None:
        book = user.personal_book
    checked = _check_rows(book=book, result=result, default_currency=default_currency)
    if not checked.rows:
        raise StatementError(
            _nothing_to_import(checked.errors, checked.conversion_problems, book.base_currency)
        )
    return ImportBatch.objects.create(
        book=book,
        user=user,
        filename=filename[:255],
        options=_given_options(options),
        header=table_header(content, fmt=result.format, options=options),
        profile=profile,
        profile_matched_by=matched_by if profile else "",
        **checked.batch_fields(),
    )


@dataclass
class ParsedImport:
    """What `import_parsed` did: the committed batch (None when nothing was new, so
    no batch was kept), the commit's counts, and the rows the checks refused."""

    batch: ImportBatch | None
    counts: dict[str, int]
    errors: list[dict[str, Any]]


@transaction.atomic
def import_parsed(*, user: User, book: Book, result: ParseResult, filename: str) -> ParsedImport:
    """Import rows a program produced (a bank connection's sync) into `book`: the
    checks of a preview (`_check_rows`: rules, learned suggestions, duplicates by FITID
    or key, possible duplicates of hand-entered records), then at once the commit of
    `import_commit` (`_commit`: budget alerts and everything else a commit does). Nobody
    reviews this preview, so rows with errors are skipped (returned in `errors`, counted
    as `errors_skipped`) and possible duplicates are skipped as a commit without
    `keep_lines` does. The batch is listed in /imports/ and can be undone like any; when
    no row is new, no batch is kept (a sync that finds nothing new leaves nothing behind).

    Raises StatementError for more than IMPORT_MAX_ROWS rows, and what `_commit` raises.
    """
    checked = _check_rows(book=book, result=result, default_currency=None)
    if checked.new_rows <= 0:
        counts = {
            "expenses": 0,
            "incomes": 0,
            "duplicates_skipped": checked.exact,
            "possible_duplicates_skipped": checked.possible,
            "kept": 0,
            "errors_skipped": len(checked.errors),
        }
        return ParsedImport(batch=None, counts=counts, errors=checked.errors)
    batch = ImportBatch.objects.create(
        book=book, user=user, filename=filename[:255], **checked.batch_fields()
    )
    counts = _commit(batch=batch, expected=BatchStatus.PREVIEW, keep_lines=[])
    return ParsedImport(batch=batch, counts=counts, errors=checked.errors)


_CONFLICTS = {
    BatchStatus.COMMITTING: ("This import is being committed.", "commit_in_progress"),
    BatchStatus.COMMITTED: ("This import has already been committed.", "already_committed"),
    BatchStatus.UNDOING: ("This import is being undone.", "undo_in_progress"),
    BatchStatus.UNDONE: ("This import has already been undone.", "already_undone"),
    BatchStatus.FAILED: (
        "This import failed (see `error`); undo it to discard it.",
        "import_failed",
    ),
}


def _conflict(status: str) -> ConflictError:
    message, code = _CONFLICTS.get(status, ("This import cannot do that now.", "conflict"))
    return ConflictError(message, code=code)


def _gone() -> ApplicationError:
    return ApplicationError("This import no longer exists.", code="not_found", status_code=404)


def _lock(batch_id: int) -> dict[str, Any]:
    """Lock the batch row (inside the caller's transaction) and read its state again.

    Commit and undo of one batch serialise here, so each sees what the other did.
    Raises a 404 ApplicationError if the batch was deleted meanwhile.
    """
    state = (
        ImportBatch.objects.select_for_update()
        .filter(pk=batch_id)
        .values("status", "expense_count", "income_count")
        .first()
    )
    if state is None:
        raise _gone()
    return state


def import_commit(
    *,
    batch: ImportBatch,
    skip_errors: bool = False,
    keep_lines: Iterable[int] = (),
    enqueue: Callable[[int, bool], Any],
) -> dict[str, int] | None:
    """Store the batch's new rows in one transaction; returns counts.

    Possible duplicates are skipped unless their line is in `keep_lines` (lines that
    are not rows of the batch → ValidationError on `keep_lines`; a listed row that is
    no possible duplicate is stored anyway). Exact duplicates are always skipped.

    A batch of more than IMPORT_ASYNC_ROWS rows is only marked `committing` and handed
    to `enqueue(batch_id, skip_errors)` (the task queue's entry) once that is committed;
    returns None then, and the task (`import_commit_queued`) ends in `committed` or
    `failed`. Raises ConflictError (409) unless the batch is a preview, ValidationError
    (on `skip_errors`) while it has errors and `skip_errors` is false, and a 404
    ApplicationError if it was undone meanwhile.
    """
    if batch.status != BatchStatus.PREVIEW:
        raise _conflict(batch.status)
    if batch.errors and not skip_errors:
        raise ValidationError(
            {
                "skip_errors": [
                    f"This file has {len(batch.errors)} rows that could not be read or "
                    "converted (see `errors`); send skip_errors: true to store the others."
                ]
            }
        )
    keep = sorted(set(keep_lines))
    if keep:
        unknown = set(keep) - set(row_lines(batch.rows))
        if unknown:
            listed = ", ".join(str(line) for line in sorted(unknown)[:20])
            raise ValidationError(
                {"keep_lines": [f"These lines are not rows of this import: {listed}."]}
            )
    if batch.total_rows <= settings.IMPORT_ASYNC_ROWS:
        return _commit(batch=batch, expected=BatchStatus.PREVIEW, keep_lines=keep)
    with transaction.atomic():
        status = _lock(batch.pk)["status"]
        if status != BatchStatus.PREVIEW:
            raise _conflict(status)
        ImportBatch.objects.filter(pk=batch.pk).update(
            status=BatchStatus.COMMITTING, error="", keep_lines=keep, updated_at=timezone.now()
        )
        batch_id = batch.pk
        transaction.on_commit(lambda: enqueue(batch_id, skip_errors))
    return None


def import_commit_queued(*, batch_id: int) -> None:
    """Run a commit `import_commit` queued: `committed`, or `failed` with the reason.

    Idempotent: a batch that is not `committing` (done already, undone, deleted) is
    left alone. A failure is recorded, not raised, and stores nothing.
    """
    batch = ImportBatch.objects.filter(pk=batch_id, status=BatchStatus.COMMITTING).first()
    if batch is None:
        return
    try:
        _commit(batch=batch, expected=BatchStatus.COMMITTING, keep_lines=batch.keep_lines)
    except ApplicationError as exc:  # only recorded while the batch is still `committing`
        _fail(batch_id, exc.message)
    except Exception as exc:
        logger.exception("Queued commit of import %s failed", batch_id)
        _fail(batch_id, _failure_message(exc, "committed; nothing was stored"))


def _failure_message(exc: Exception, what: str) -> str:
    if isinstance(exc, RateUnavailable | ValidationError):
        return f"The import could not be {what}: {exc}"
    return f"The import could not be {what}. Try again later."


def _fail(batch_id: int, message: str) -> None:
    ImportBatch.objects.filter(
        pk=batch_id, status__in=[BatchStatus.COMMITTING, BatchStatus.UNDOING]
    ).update(status=BatchStatus.FAILED, error=message[:1000], updated_at=timezone.now())


def _commit(*, batch: ImportBatch, expected: str, keep_lines: list[int]) -> dict[str, int]:
    """Store the new rows in the batch's book under locks on the book's imports and the
    batch; the batch must still be in status `expected`. Duplicates, exact and possible,
    are decided again here (another import or a hand-entered record may have landed
    since the preview), so two commits cannot both store a row; every row not stored is
    counted. The records' creator is the member who uploaded the statement. Rows
    keep the preview's model suggestion as `suggested_category` (not as category); once
    the commit is in, an import of at least AI_RETRAIN_AFTER_IMPORT_ROWS records queues
    a retrain of the book's categoriser (`ai.suggestions.retrain_after_import`)."""
    with transaction.atomic():
        # One commit of this book at a time (duplicate detection), without locking the
        # book or user rows: settings, login and refresh go on during a long commit.
        # IMPORTS is only ever taken per book, so its keys are book ids.
        user_lock(UserLock.IMPORTS, batch.book_id)
        book = Book.objects.get(pk=batch.book_id)
        user = batch.user  # None once the uploader deleted their account
        status = _lock(batch.pk)["status"]
        if status != expected:
            raise _conflict(status)
        rows = unpack_rows(batch.rows)
        _mark_duplicates(book, rows)
        exact = sum(row["duplicate"] for row in rows)
        possible = _mark_possible_duplicates(book, rows)
        keep = set(keep_lines)
        kept = 0
        by_kind: dict[str, list[dict[str, Any]]] = {EXPENSE: [], INCOME: []}
        # Consumed while converting, so the parsed document and its converted copy are
        # never both whole in memory (a 100 000-row batch is hundreds of MB as objects).
        batch.rows = []
        rows.reverse()
        days: dict[str, date] = {}
        while rows:
            row = rows.pop()
            if row["duplicate"]:
                continue
            if row.get("possible_duplicate"):
                if row["line"] not in keep:
                    continue
                kept += 1
            by_kind[row["kind"]].append(
                {
                    "amount": Decimal(row["amount"]),
                    "currency": row["currency"],
                    "date": days.get(row["date"])
                    or days.setdefault(row["date"], date.fromisoformat(row["date"])),
                    "description": row["description"],
                    "text": row["merchant"],
                    "fitid": row["fitid"],
                    "key": row["key"],
                    **_model_suggestion(row),
                }
            )
        expenses = expenses_bulk_import(
            book=book, user=user, rows=by_kind[EXPENSE], import_batch=batch
        )
        incomes = incomes_bulk_import(
            book=book, user=user, rows=by_kind[INCOME], import_batch=batch
        )
        retrain_after_import(book_id=book.pk, stored={EXPENSE: expenses, INCOME: incomes})
        batch.status = BatchStatus.COMMITTED
        batch.committed_at = timezone.now()
        batch.error = ""
        batch.expense_count, batch.income_count = expenses, incomes
        batch.new_rows, batch.duplicate_rows = expenses + incomes, exact
        batch.possible_duplicate_rows, batch.keep_lines = possible, sorted(keep)
        batch.save(
            update_fields=[
                "status",
                "committed_at",
                "error",
                "expense_count",
                "income_count",
                "new_rows",
                "duplicate_rows",
                "possible_duplicate_rows",
                "keep_lines",
                "updated_at",
            ]
        )
        summary = {
            "expenses": expenses,
            "incomes": incomes,
            "duplicates_skipped": exact,
            "possible_duplicates_skipped": possible - kept,
            "kept": kept,
            "errors_skipped": len(batch.errors),
        }
        _announce(batch, "import.committed", summary)
    return summary


def _announce(batch: ImportBatch, event: str, counts: dict[str, int]) -> None:
    """Emit `import.committed` / `import.undone` once per batch, in the write's
    transaction — never one `expense.created` per row (SPEC §17 webhooks)."""
    emit(
        book_id=batch.book_id,
        event=event,
        data={"batch": batch.pk, "format": batch.format, "filename": batch.filename, **counts},
    )


def _model_suggestion(row: dict[str, Any]) -> dict[str, Any]:
    """The preview's model suggestion for a row, as the ledger's bulk import keeps it
    (rules are matched again on commit; a batch previewed before suggestions has none)."""
    if row.get("suggestion_source") != SOURCE_MODEL or not row.get("suggested_confidence"):
        return {}
    return {
        "suggested_category": row["suggested_category"],
        "suggested_confidence": Decimal(row["suggested_confidence"]),
    }


def import_undo(*, batch: ImportBatch, enqueue: Callable[[int], Any]) -> dict[str, int] | None:
    """Delete everything a batch stored (even if edited since), then the batch; returns
    counts. Discarding a preview stores nothing and deletes it.

    A batch that stored more than IMPORT_ASYNC_ROWS records is only marked `undoing` and
    handed to `enqueue(batch_id)` once that is committed; returns None then, and the
    task (`import_undo_queued`) ends in `undone` (the batch is kept to say so) or
    `failed`. Raises a 404 ApplicationError when the batch is already gone (a parallel
    undo won) and ConflictError (409) while it is being committed or undone.
    """
    with transaction.atomic():
        state = _lock(batch.pk)
        status = state["status"]
        if status in (BatchStatus.COMMITTING, BatchStatus.UNDOING, BatchStatus.UNDONE):
            raise _conflict(status)
        if state["expense_count"] + state["income_count"] > settings.IMPORT_ASYNC_ROWS:
            ImportBatch.objects.filter(pk=batch.pk).update(
                status=BatchStatus.UNDOING, error="", updated_at=timezone.now()
            )
            batch_id = batch.pk
            transaction.on_commit(lambda: enqueue(batch_id))
            return None
        counts = _delete_records(batch)
        if status == BatchStatus.COMMITTED or any(counts.values()):  # not a discarded preview
            _announce(batch, "import.undone", counts)
        batch.delete()
    return counts


def import_undo_queued(*, batch_id: int) -> None:
    """Run an undo `import_undo` queued: records deleted and the batch `undone`, or
    `failed` with the reason (nothing deleted). Idempotent like `import_commit_queued`."""
    batch = (
        ImportBatch.objects.filter(pk=batch_id, status=BatchStatus.UNDOING).defer("rows").first()
    )
    if batch is None:
        return
    try:
        with transaction.atomic():
            if _lock(batch_id)["status"] != BatchStatus.UNDOING:
                return
            counts = _delete_records(batch)
            ImportBatch.objects.filter(pk=batch_id).update(
                status=BatchStatus.UNDONE, rows=[], updated_at=timezone.now()
            )
            _announce(batch, "import.undone", counts)
    except Exception as exc:
        logger.exception("Queued undo of import %s failed", batch_id)
        _fail(batch_id, _failure_message(exc, "undone; nothing was deleted"))


def _delete_records(batch: ImportBatch) -> dict[str, int]:
    return {
        "expenses": expenses_delete_imported(import_batch=batch),
        "incomes": incomes_delete_imported(import_batch=batch),
    }
