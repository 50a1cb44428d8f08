"""Writes shared by expenses and income: money conversion, tags, rules, receipts.

`expenses.services` and `income.services` bind these to their model; nothing here
knows which of the two it is writing beyond `model` and `kind`.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date
from decimal import Decimal
from typing import Any, Protocol, TypeVar

from django.conf import settings
from django.db import connection, transaction
from django.db.models import CASCADE, DO_NOTHING, SET_NULL, F, Max, Q
from django.utils import timezone

from books.models import Book
from books.services import personal_book_ensure
from categories.models import Category
from categories.services import rules_for, rules_match, tags_resolve
from core.events import emit
from core.exceptions import ApplicationError
from core.money import format_amount, minor_units
from core.uploads import STORAGE_ERRORS, storage_call
from currencies.selectors import RateQuote, base_amount, get_rate, rates_on
from users.base_currency import base_currency_lock

from .models import Transaction

T = TypeVar("T", bound=Transaction)
logger = logging.getLogger(__name__)

# Fields whose change requires recomputing base_amount.
MONEY_FIELDS = ("amount", "currency", "date")


# --- category suggestions (SPEC §16) ------------------------------------------------
# The learned categoriser lives in the `ai` app, above this one: it registers itself here
# (`ai.apps`), and a record written with no category that no rule matches asks it.


class CategorySuggester(Protocol):
    def __call__(
        self, *, book: Book, kind: str, description: str, merchant: str, amount: Decimal
    ) -> tuple[int, float] | None: ...


_suggesters: list[CategorySuggester] = []
# A suggester slower than AI_SUGGEST_BUDGET_MS this many times in a row (once may be a
# cold start: loading a model) is not asked again for a while (per process), so writes
# never keep waiting on a slow model.
SUGGESTER_SLOW_CALLS = 2
SUGGESTER_BACKOFF_SECONDS = 60.0
_suggester_pause = {"until": 0.0, "slow": 0}


def register_category_suggester(func: CategorySuggester) -> None:
    """Install the function asked for a suggestion (the last registered one answers).

    It returns `(category_id, confidence 0..1)` — a category of the book (or a system
    one) of `kind` — or None; it must not write."""
    if func not in _suggesters:
        _suggesters.append(func)


def unregister_category_suggester(func: CategorySuggester) -> None:
    if func in _suggesters:
        _suggesters.remove(func)


def category_suggestion(
    *, book: Book, kind: str, description: str, merchant: str, amount: Decimal
) -> tuple[int, Decimal] | None:
    """The registered suggester's answer, or None (none registered, none offered, or it
    failed). Never raises: a failure is logged, and its queries run in a savepoint so
    the caller's transaction stays usable. The confidence comes back rounded to 3
    places (as stored); an answer that is not a category id with a confidence in [0, 1]
    counts as a failure."""
    if not _suggesters or time.monotonic() < _suggester_pause["until"]:
        return None
    suggester = _suggesters[-1]
    started = time.monotonic()
    try:
        with transaction.atomic():
            answer = suggester(
                book=book, kind=kind, description=description, merchant=merchant, amount=amount
            )
            if answer is None:
                return None
            category_id, confidence = answer
            if isinstance(category_id, bool) or not isinstance(category_id, int):
                raise TypeError(f"category id {category_id!r} is not an int")
            rounded = Decimal(str(float(confidence))).quantize(Decimal("0.001"))
            if not Decimal(0) <= rounded <= Decimal(1):
                raise ValueError(f"confidence {confidence!r} is not in [0, 1]")
            # A foreign key to another book's or kind's category would be a leak; to a
            # deleted one, a failed commit.
            visible = Category.objects.filter(Q(book=book) | Q(book__isnull=True), kind=kind)
            if not visible.filter(pk=category_id).exists():
                raise ValueError(f"category {category_id} is not one of the book's {kind} ones")
            return category_id, rounded
    except Exception:
        logger.exception("The category suggester failed; the record is stored without one")
        return None
    finally:
        elapsed = time.monotonic() - started
        slow = elapsed * 1000 > settings.AI_SUGGEST_BUDGET_MS
        _suggester_pause["slow"] = _suggester_pause["slow"] + 1 if slow else 0
        if _suggester_pause["slow"] >= SUGGESTER_SLOW_CALLS:
            _suggester_pause["until"] = time.monotonic() + SUGGESTER_BACKOFF_SECONDS
            _suggester_pause["slow"] = 0
            logger.warning(
                "The category suggester took %.0f ms (budget %s ms); not asked for %.0f s",
                elapsed * 1000,
                settings.AI_SUGGEST_BUDGET_MS,
                SUGGESTER_BACKOFF_SECONDS,
            )


def book_or_personal(*, book: Book | None, user: Any) -> Book:
    """`book`, or `user`'s personal book for a caller that names none (the top-level
    paths, and callers not yet converted to books, mean the personal book: SPEC §14)."""
    if book is not None:
        return book
    if user is None:
        raise ValueError("Name the book (or the user whose personal book is meant).")
    return personal_book_ensure(user=user)


def book_base_currency_lock(*, book: Book) -> str:
    """The book's base currency, read so that a base-currency change of the book in
    progress is waited for (bounded: BaseCurrencyChangeInProgress, 409) and the new one
    is read: the shared side of the book's change lock (`users.base_currency`), the same
    for personal and shared books. Every write that stores a figure in the book's base
    currency calls this first, inside its transaction.
    """
    return base_currency_lock(book_id=book.pk)


def _matchable_text(instance: Transaction) -> str:
    return getattr(instance, "merchant", "") or getattr(instance, "source", "")


def set_base_amount(instance: Any, base_currency: str, quote: RateQuote | None = None) -> None:
    """Set `exchange_rate` and `base_amount` of a money row (a record, a settlement: any
    model with amount, currency and date) at the latest rate on or before its date.

    By `currencies.selectors.base_amount`, the one rule for stored conversions (a
    positive amount never gets a base amount of 0). Raises RateUnavailable if no rate
    converts, ConversionOutOfRange if the result would not fit.
    """
    if quote is None:
        quote = get_rate(
            from_currency=instance.currency, to_currency=base_currency, on=instance.date
        )
    instance.exchange_rate = quote.rate
    instance.base_amount = base_amount(
        amount=Decimal(instance.amount),
        rate=quote.rate,
        from_currency=instance.currency,
        to_currency=base_currency,
    )


def _delete_file_on_commit(file_field: Any) -> None:
    """Delete the stored file once the transaction that dropped it commits (never on a
    rollback: the row still names it then). A failing delete is logged, not raised."""
    name, storage = file_field.name, file_field.storage
    if name:
        transaction.on_commit(lambda: storage.delete(name), robust=True)


# Files stored by the writes below inside the innermost `receipt_files_kept_on_commit()`.
_stored_files: ContextVar[list[tuple[Any, str]] | None] = ContextVar("stored_files", default=None)


@contextmanager
def receipt_files_kept_on_commit() -> Iterator[None]:
    """Receipt files stored inside this block are deleted again if an exception leaves it.

    Files are written before the row that names them is committed; when the transaction
    rolls back instead, they would stay in MEDIA_ROOT with nothing pointing at them.
    `transaction_create`/`_update` use this around their own transaction; a caller whose
    own transaction encloses them (expense_create alerts on budgets afterwards) wraps its
    outermost transaction in it too, which the expense and income views do.
    """
    parent = _stored_files.get()
    stored: list[tuple[Any, str]] = []
    token = _stored_files.set(stored)
    try:
        yield
    except BaseException:
        for storage, name in stored:
            try:
                storage.delete(name)
            except STORAGE_ERRORS:  # the error that rolled back is the one to answer
                logger.exception("Could not delete the rolled-back receipt file %s", name)
        raise
    finally:
        _stored_files.reset(token)
    if parent is not None:
        parent.extend(stored)  # the enclosing transaction may still roll back


def _store_new_receipt(instance: Transaction) -> None:
    """Write a newly uploaded receipt to storage now (as saving the row would), and
    remember it for deletion should the transaction roll back."""
    receipt = instance.receipt
    if not receipt or receipt._committed:
        return  # no receipt, or the one already stored
    with storage_call("receipt upload"):
        receipt.save(receipt.name, receipt.file, save=False)
    stored = _stored_files.get()
    if stored is not None:
        stored.append((instance.receipt.storage, instance.receipt.name))


def record_event_data(instance: Transaction) -> dict[str, Any]:
    """What a book's webhooks hear about an expense or income (`expense.*`, `income.*`,
    SPEC §17) — the one place the shape is built (docs/webhooks.md, Events). Amounts
    are strings with their currency's minor units, as the API renders them."""
    book_currency = instance.book.base_currency
    data: dict[str, Any] = {
        "id": instance.pk,
        "amount": format_amount(Decimal(instance.amount), instance.currency),
        "currency": instance.currency,
        "base_amount": format_amount(Decimal(instance.base_amount), book_currency),
        "base_currency": book_currency,
        "date": instance.date.isoformat() if isinstance(instance.date, date) else instance.date,
        "description": instance.description,
        "category": instance.category_id,
        "tags": sorted(instance.tags.values_list("name", flat=True)),
        "notes": instance.notes,
        "has_receipt": bool(instance.receipt),
        "created_by": instance.user_id,
    }
    for field in ("merchant", "payment_method", "source"):  # expense / income fields
        if hasattr(instance, field):
            data[field] = getattr(instance, field)
    return data


def _announce(instance: Transaction, action: str) -> None:
    """Emit `<expense|income>.<action>` in the write's transaction (core.events). Only
    single-record writes announce themselves; bulk writes (imports, restores, recomputes,
    rule runs) are announced once by whoever runs them, or not at all."""
    emit(
        book_id=instance.book_id,
        event=f"{instance._meta.model_name}.{action}",
        data=lambda: record_event_data(instance),
    )


@receipt_files_kept_on_commit()
@transaction.atomic
def transaction_create(
    *, model: type[T], kind: str, book: Book, user: Any, data: dict[str, Any]
) -> T:
    """Create a record in `book`, created by `user` (a member).

    Currency defaults to the book's base currency; base_amount and exchange_rate are
    computed here, in the book's base currency. When no category is given, the book's
    first matching rule sets it and adds its tags; when none matches either, the
    registered categoriser's suggestion (if any) is stored as `suggested_category` and
    `suggested_confidence` — the category stays empty (`category_suggestion`: a failing
    or slow suggester never fails the write). Tag names are the book's tags (new ones
    are created in it). Raises RateUnavailable (400) when no rate converts.
    A receipt file is stored only for a record that is saved: if this fails, its file
    is deleted (see `receipt_files_kept_on_commit` for callers' own transactions).
    """
    data = dict(data)
    tag_names: list[str] = data.pop("tags", None) or []
    # First, before any other row lock: waits for a base-currency change in progress.
    base_currency = book_base_currency_lock(book=book)
    instance = model(book=book, user=user, **data)
    if not instance.currency:
        instance.currency = base_currency
    tags = tags_resolve(book=book, user=user, names=tag_names) if tag_names else []
    if instance.category_id is None:
        category, rule_tags = rules_match(
            book=book,
            kind=kind,
            description=instance.description,
            merchant=_matchable_text(instance),
        )
        if category is not None:
            instance.category = category
            tags += [tag for tag in rule_tags if tag not in tags]
    instance.suggested_category, instance.suggested_confidence = None, None
    if instance.category_id is None:
        suggestion = category_suggestion(
            book=book,
            kind=kind,
            description=instance.description,
            merchant=_matchable_text(instance),
            amount=Decimal(instance.amount),
        )
        if suggestion is not None:
            instance.suggested_category_id, instance.suggested_confidence = suggestion
    set_base_amount(instance, base_currency)
    _store_new_receipt(instance)
    instance.save()
    if tags:
        instance.tags.set(tags)
    _announce(instance, "created")
    return instance


@receipt_files_kept_on_commit()
@transaction.atomic
def transaction_update(*, instance: T, data: dict[str, Any], user: Any = None) -> T:
    """Apply a (partial) update by `user` (the member editing; new tags are created as
    theirs, default the record's creator); base_amount follows any change of amount,
    currency or date, in the book's base currency. The record stays in its book.

    A replaced or cleared receipt's file is deleted after the commit; a new one is
    deleted again if the update fails (see `receipt_files_kept_on_commit`). Setting
    `category` (to anything: accepting the suggestion, another category, or none) clears
    the suggestion: the user has decided.
    """
    data = dict(data)
    if "category" in data:
        data["suggested_category"], data["suggested_confidence"] = None, None
    tag_names = data.pop("tags", None)
    base_currency = book_base_currency_lock(book=instance.book)
    if not any(field in data for field in MONEY_FIELDS):
        # A base-currency change may have rewritten these since `instance` was read.
        instance.base_amount, instance.exchange_rate = (
            type(instance).objects.values_list("base_amount", "exchange_rate").get(pk=instance.pk)
        )
    if "receipt" in data and instance.receipt and data["receipt"] != instance.receipt:
        _delete_file_on_commit(instance.receipt)
    for field, value in data.items():
        setattr(instance, field, value)
    if any(field in data for field in MONEY_FIELDS):
        set_base_amount(instance, base_currency)
    _store_new_receipt(instance)
    instance.save()
    if tag_names is not None:
        instance.tags.set(
            tags_resolve(book=instance.book, user=user or instance.user, names=tag_names)
        )
    _announce(instance, "updated")
    return instance


@transaction.atomic
def transaction_delete(*, instance: Transaction) -> None:
    """Delete the record; its receipt file goes once the deletion commits.

    Takes the book's base-currency lock first, like every write of a record: a
    base-currency change in progress holds the record's row, so this answers 409 after a
    bounded wait (`book_base_currency_lock`) instead of waiting for the whole change.
    """
    book_base_currency_lock(book=instance.book)
    _announce(instance, "deleted")  # while the record and its tags are still there
    if instance.receipt:
        _delete_file_on_commit(instance.receipt)
    instance.delete()


@transaction.atomic
def transactions_recompute_base(*, model: type[Transaction], book: Book, base_currency: str) -> int:
    """Re-express every record of `book` in `base_currency` (after its base-currency change).

    Set-based: per currency, the distinct dates are read, their rates computed from
    one load of the rate series (`rates_on`), and the rows rewritten with one UPDATE
    on PostgreSQL, where the database rounds `amount × rate` half up exactly as
    `currencies.selectors.base_amount` does (elsewhere, the rows are rewritten from
    Python with that function). All or nothing: RateUnavailable if a (currency, date)
    has no rate, ConversionOutOfRange if a figure would not fit; nothing changes then.
    Callers hold the book's base-currency change lock (see `book_base_currency_lock`),
    so no record of `book` is written meanwhile. Returns how many records there are.
    """
    records = model.objects.filter(book=book).order_by()
    total = 0
    for currency in list(records.values_list("currency", flat=True).distinct()):
        rows = records.filter(currency=currency)
        if currency == base_currency:
            total += rows.update(base_amount=F("amount"), exchange_rate=Decimal(1))
            continue
        quotes = rates_on(
            from_currency=currency,
            to_currency=base_currency,
            dates=rows.values_list("date", flat=True).distinct(),
        )
        largest = rows.aggregate(largest=Max("amount"))["largest"]
        # Raises ConversionOutOfRange before any row is written if the largest wouldn't fit.
        base_amount(
            amount=largest,
            rate=max(quote.rate for quote in quotes.values()),
            from_currency=currency,
            to_currency=base_currency,
        )
        if connection.vendor == "postgresql":
            total += _recompute_in_database(model, book, currency, base_currency, quotes)
        else:
            total += _recompute_in_python(model, rows, currency, base_currency, quotes)
    return total


def _recompute_in_database(
    model: type[Transaction],
    book: Book,
    currency: str,
    base_currency: str,
    quotes: dict[date, RateQuote],
) -> int:
    # PostgreSQL numeric: the product is exact and ROUND(x, n) rounds half away from
    # zero, so (amounts being positive) this equals `base_amount` to the last digit.
    places = minor_units(base_currency)
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {table} AS t
            SET exchange_rate = v.rate,
                base_amount = GREATEST(ROUND(t.amount * v.rate, %s::int), %s::numeric)
            FROM unnest(%s::date[], %s::numeric[]) AS v(day, rate)
            WHERE t.book_id = %s AND t.currency = %s AND t.date = v.day
            """,  # noqa: S608
            [
                places,
                Decimal(1).scaleb(-places),
                list(quotes),
                [quote.rate for quote in quotes.values()],
                book.pk,
                currency,
            ],
        )
        return cursor.rowcount


def _recompute_in_python(
    model: type[Transaction],
    rows: Any,
    currency: str,
    base_currency: str,
    quotes: dict[date, RateQuote],
) -> int:
    changed: list[Transaction] = []
    for row in rows.only("id", "amount", "currency", "date").iterator(chunk_size=2000):
        quote = quotes.get(row.date) or get_rate(
            from_currency=currency, to_currency=base_currency, on=row.date
        )
        set_base_amount(row, base_currency, quote)
        changed.append(row)
    model.objects.bulk_update(changed, ["base_amount", "exchange_rate"], batch_size=1000)
    return len(changed)


# Rows per query when applying rules: bounds both the id lists sent to the database
# and the memory held per step.
APPLY_RULES_CHUNK = 2000


def _chunks(items: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _text_field(model: type[Transaction]) -> str | None:
    """The field rules read as "merchant" (expenses' merchant, income's source)."""
    names = {field.name for field in model._meta.concrete_fields}
    return next((name for name in ("merchant", "source") if name in names), None)


@transaction.atomic
def transactions_apply_rules(
    *, model: type[Transaction], kind: str, book: Any, only_uncategorized: bool = True
) -> int:
    """Run the book's rules over its existing records; returns how many records changed.

    A record changes when a rule gives it a different category or new tags. With
    `only_uncategorized`, records that already have a category are left alone (checked
    again at write time, so a category set meanwhile is kept).

    Set-based, so 20 000 records take seconds: candidate rows are streamed as tuples and
    matched in Python with the rules compiled once; then one UPDATE per category and
    chunk of ids, and tag links in bulk. Changed rows are locked (in id order) before
    they are written, so a record deleted meanwhile is skipped, never a 500.
    """
    matcher = rules_for(book=book)
    if not len(matcher):
        return 0
    candidates = model.objects.filter(book=book)
    if only_uncategorized:
        candidates = candidates.filter(category__isnull=True)
    text_field = _text_field(model)
    columns = ["pk", "category_id", "description", *([text_field] if text_field else [])]

    category_of: dict[int, int] = {}  # record id → category to set
    tags_of: dict[int, tuple[int, ...]] = {}  # record id → tag ids its rule adds
    rows = candidates.order_by().values_list(*columns).iterator(chunk_size=APPLY_RULES_CHUNK)
    for pk, category_id, description, *text in rows:
        found = matcher.match_ids(
            kind=kind, description=description, merchant=text[0] if text else ""
        )
        if found is None:
            continue
        rule_category_id, tag_ids = found
        if rule_category_id != category_id:
            category_of[pk] = rule_category_id
        if tag_ids:
            tags_of[pk] = tag_ids
    if not category_of and not tags_of:
        return 0

    through = model.tags.through
    owner = f"{model._meta.model_name}_id"
    changed: set[int] = set()
    now = timezone.now()
    for chunk in _chunks(sorted(category_of.keys() | tags_of.keys()), APPLY_RULES_CHUNK):
        alive = list(
            candidates.select_for_update()
            .filter(pk__in=chunk)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        by_category: dict[int, list[int]] = defaultdict(list)
        for pk in alive:
            if pk in category_of:
                by_category[category_of[pk]].append(pk)
        for category_id, ids in by_category.items():
            model.objects.filter(pk__in=ids).update(category_id=category_id, updated_at=now)
            changed.update(ids)
        tagged = [pk for pk in alive if pk in tags_of]
        linked = set(
            through.objects.filter(**{f"{owner}__in": tagged}).values_list(owner, "tag_id")
        )
        links = [
            through(**{owner: pk, "tag_id": tag_id})
            for pk in tagged
            for tag_id in tags_of[pk]
            if (pk, tag_id) not in linked
        ]
        through.objects.bulk_create(links, batch_size=APPLY_RULES_CHUNK, ignore_conflicts=True)
        changed.update(getattr(link, owner) for link in links)
    return len(changed)


BULK_IMPORT_CHUNK = 5000


@transaction.atomic
def transactions_bulk_import(
    *,
    model: type[Transaction],
    kind: str,
    book: Book,
    user: Any,
    rows: list[dict[str, Any]],
    text_field: str,
    import_batch: Any,
) -> int:
    """Store imported rows as records of `model` in `book` (created by `user`) in bulk;
    returns how many.

    Each row: amount (> 0), currency, date, description, text (merchant or source),
    fitid, key, and optionally `suggested_category` (id) with `suggested_confidence`
    (the import preview's model suggestion; kept only while that category is still one
    of the book's of `kind`). Same rules as one-by-one creation: base_amount in the
    book's base currency at the rate of the row's date (RateUnavailable if missing,
    nothing stored), and the book's rules set the category and tags; a row no rule
    matches keeps its suggestion, never as its category. The categoriser itself is not
    asked here (per row it would be too slow). Rates and rules are loaded once, not per
    row. Every row gets `book_id` here: bulk inserts do not fill it in.
    """
    base_currency = book_base_currency_lock(book=book)
    matcher = rules_for(book=book)
    suggestable = _suggestable_categories(book, kind, rows)
    quotes: dict[tuple[str, date], RateQuote] = {}
    through = model.tags.through
    owner = f"{model._meta.model_name}_id"
    fields = [*IMPORT_FIELDS, text_field]
    common = {"book_id": book.pk, "user": user, "import_batch": import_batch}
    # base_amount per (currency, rate, amount): a statement repeats its amounts.
    bases: dict[tuple[str, Decimal, Decimal], Decimal] = {}
    stored = 0
    # Plain value tuples, not model instances (building 100 000 of those cost seconds);
    # in chunks, so memory holds one chunk of them, not the whole statement.
    for start in range(0, len(rows), BULK_IMPORT_CHUNK):
        values: list[tuple[Any, ...]] = []
        record_tags: list[tuple[int, ...]] = []
        for row in rows[start : start + BULK_IMPORT_CHUNK]:
            currency, day, amount = row["currency"], row["date"], row["amount"]
            quote = quotes.get((currency, day))
            if quote is None:
                quote = quotes[(currency, day)] = get_rate(
                    from_currency=currency, to_currency=base_currency, on=day
                )
            category_id, tag_ids = matcher.match_ids(
                kind=kind, description=row["description"], merchant=row["text"]
            ) or (None, ())
            suggested = row.get("suggested_category") if category_id is None else None
            if suggested not in suggestable:
                suggested = None
            base = bases.get((currency, quote.rate, amount))
            if base is None:
                base = bases[(currency, quote.rate, amount)] = base_amount(
                    amount=amount,
                    rate=quote.rate,
                    from_currency=currency,
                    to_currency=base_currency,
                )
            values.append(
                (
                    amount,
                    currency,
                    base,
                    quote.rate,
                    day,
                    row["description"],
                    category_id,
                    suggested,
                    row.get("suggested_confidence") if suggested else None,
                    row["fitid"],
                    row["key"],
                    row["text"],
                )
            )
            record_tags.append(tag_ids)
        ids = _insert_rows(model, fields, values, common)
        links = [
            through(**{owner: pk, "tag_id": tag_id})
            for pk, tag_ids in zip(ids, record_tags, strict=True)
            for tag_id in tag_ids
        ]
        through.objects.bulk_create(links, batch_size=5000, ignore_conflicts=True)
        stored += len(ids)
    return stored


# The columns `transactions_bulk_import` gives each imported row (in its tuples' order,
# then the text field); every other column comes from `_insert_rows`'s template.
IMPORT_FIELDS = (
    "amount",
    "currency",
    "base_amount",
    "exchange_rate",
    "date",
    "description",
    "category_id",
    "suggested_category_id",
    "suggested_confidence",
    "import_fitid",
    "import_key",
)


def _insert_rows(
    model: type[Transaction],
    fields: list[str],
    rows: list[tuple[Any, ...]],
    common: dict[str, Any],
) -> list[int]:
    """Insert new records of `model` given as value tuples (`fields`: attnames, values
    that need no conversion: Decimal, date, str, int, None) plus `common` values; returns
    their ids in order. The columns not in `fields` come from one template record made of
    `common`, through each field's own pre_save and get_db_prep_save (defaults,
    timestamps), exactly as a bulk_create would fill them.

    PostgreSQL: ids drawn from the table's sequence in one query, then one COPY — for a
    100 000-row statement, Django's per-row, per-field preparation was most of the
    import's time. Other databases: bulk_create of instances, the reference the COPY
    path is tested against (SQLite only runs tests and development).
    """
    if not rows:
        return []
    if connection.vendor == "postgresql":
        return _copy_rows(model, fields, rows, common)
    return _create_rows(model, fields, rows, common)


def _create_rows(
    model: type[Transaction], fields: list[str], rows: list[tuple[Any, ...]], common: dict
) -> list[int]:
    records = [model(**common, **dict(zip(fields, row, strict=True))) for row in rows]
    model.objects.bulk_create(records, batch_size=2000)
    return [record.pk for record in records]


def _copy_rows(
    model: type[Transaction], fields: list[str], rows: list[tuple[Any, ...]], common: dict
) -> list[int]:
    template = model(**common)
    given = set(fields)
    filled = [
        f for f in model._meta.concrete_fields if not f.primary_key and f.attname not in given
    ]
    constants = tuple(f.get_db_prep_save(f.pre_save(template, True), connection) for f in filled)
    names = [model._meta.get_field(name).column for name in fields] + [f.column for f in filled]
    columns = ", ".join(connection.ops.quote_name(name) for name in names)
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        raw = cursor.cursor  # the psycopg cursor inside Django's wrapper
        # n ids from the sequence in one query: each nextval is unique even when other
        # sessions insert meanwhile (reserving a range with setval would race).
        ids = [
            row[0]
            for row in raw.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [model._meta.db_table, len(rows)],
            ).fetchall()
        ]
        with raw.copy(f"COPY {table} (id, {columns}) FROM STDIN") as copy:
            write = copy.write_row
            for pk, row in zip(ids, rows, strict=True):
                write((pk, *row, *constants))
    return ids


def _suggestable_categories(book: Book, kind: str, rows: list[dict[str, Any]]) -> set[int]:
    """Of the categories `rows` suggest, those still the book's (or system ones) of
    `kind`: one query, whatever the number of rows."""
    wanted = {row["suggested_category"] for row in rows if row.get("suggested_category")}
    if not wanted:
        return set()
    return set(
        Category.objects.filter(Q(book=book) | Q(book__isnull=True), kind=kind, pk__in=wanted)
        .order_by()
        .values_list("pk", flat=True)
    )


def transactions_delete_imported(*, model: type[Transaction], import_batch: Any) -> int:
    """Delete the records a statement import stored; returns how many.

    Set-based: what CASCADE takes with them (tag links, expense shares) goes first,
    one statement per relation keyed by the batch, then the records in one DELETE — no
    records are loaded (Django's delete collects each one: seconds for a 100 000-row
    batch). Receipt files attached since the import are deleted after commit.
    """
    records = model._base_manager.filter(import_batch=import_batch)
    for record in records.exclude(receipt="").only("pk", "receipt"):
        _delete_file_on_commit(record.receipt)
    _delete_dependants(model, records)
    table = connection.ops.quote_name(model._meta.db_table)
    column = connection.ops.quote_name(model._meta.get_field("import_batch").column)
    with connection.cursor() as cursor:
        # Identifiers from the model's own meta, quoted; the batch id is a parameter.
        cursor.execute(f"DELETE FROM {table} WHERE {column} = %s", [import_batch.pk])  # noqa: S608
        return cursor.rowcount


def _delete_dependants(model: type[Transaction], records: Any) -> None:
    """Before `records` (a queryset of `model`) are deleted without Django's collector:
    do what each relation pointing at `model` asks on delete, one statement per
    relation over the records' ids as a subquery. CASCADE deletes through Django (itself
    fast-deleting rows nothing else hangs on), SET_NULL clears, DO_NOTHING is left to
    the database. Any other rule (PROTECT, RESTRICT, SET_DEFAULT …) is not expected
    here and raises: it needs Django's full collector."""
    ids = records.values("pk")
    for relation in model._meta.get_fields(include_hidden=True):
        if not (relation.auto_created and not relation.concrete):
            continue
        if not (relation.one_to_many or relation.one_to_one):
            continue
        related = relation.related_model._base_manager.filter(**{f"{relation.field.name}__in": ids})
        if relation.on_delete is CASCADE:
            related.delete()
        elif relation.on_delete is SET_NULL:
            related.update(**{relation.field.name: None})
        elif relation.on_delete is not DO_NOTHING:
            raise NotImplementedError(
                f"{relation.related_model._meta.label}.{relation.field.name}: "
                f"on_delete={relation.on_delete.__name__} is not handled by a bulk delete."
            )


def _bulk_insert(model: type[Transaction], records: list[Transaction]) -> None:
    """Insert new records and set their primary keys.

    On PostgreSQL this uses COPY: for a 100 000-row statement Django's bulk_create
    spends most of its time preparing values (about 10x PostgreSQL's own insert time),
    which broke the import target. The rows still come from model instances, so
    defaults and pre_save (timestamps) apply exactly as in bulk_create, and ids come
    from the table's own sequence.
    """
    if not records:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create(records, batch_size=2000)
        return
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        raw = cursor.cursor  # the psycopg cursor inside Django's wrapper
        # n ids from the sequence in one query: each nextval is unique even when other
        # sessions insert meanwhile (reserving a range with setval would race).
        ids = [
            row[0]
            for row in raw.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [model._meta.db_table, len(records)],
            ).fetchall()
        ]
        with raw.copy(f"COPY {table} (id, {columns}) FROM STDIN") as copy:
            for record, pk in zip(records, ids, strict=True):
                record.pk = pk
                values = [f.get_db_prep_save(f.pre_save(record, True), connection) for f in fields]
                copy.write_row([pk, *values])


# --- restoring a backup into a book (the backups app calls these) -----------------------


@transaction.atomic
def transactions_restore(
    *,
    model: type[T],
    book: Any,
    user: Any,
    records: list[dict[str, Any]],
    tags: list[list[Any]] | None = None,
) -> list[T]:
    """Store restored records of `model` in `book`, in bulk; returns them (with ids).

    Each record is the model's field values (amount, currency, date, description,
    category …); `tags[i]` are the Tag rows of record i. Base amounts are computed here,
    as on any write (`set_base_amount`, `book.base_currency`, one rate lookup per
    currency and date): RateUnavailable when a rate is missing, nothing stored. Rules are
    not applied (a restore stores history as it was) and no budget alert is sent. The
    category and tags must be `book`'s (or a system category): ValueError otherwise.
    """
    quotes: dict[tuple[str, date], RateQuote] = {}
    instances: list[T] = []
    for data in records:
        instance = model(book=book, user=user, **data)
        category = instance.category if instance.category_id is not None else None
        if category is not None and category.book_id not in (None, book.pk):
            raise ValueError(f"Category {category.pk} is not in book {book.pk}.")
        key = (instance.currency, instance.date)
        if key not in quotes:
            quotes[key] = get_rate(
                from_currency=instance.currency, to_currency=book.base_currency, on=instance.date
            )
        set_base_amount(instance, book.base_currency, quotes[key])
        instances.append(instance)
    _bulk_insert(model, instances)
    if tags:
        through = model.tags.through
        owner = f"{model._meta.model_name}_id"
        links = []
        for instance, record_tags in zip(instances, tags, strict=True):
            for tag in record_tags:
                if tag.book_id != book.pk:
                    raise ValueError(f"Tag {tag.pk} is not in book {book.pk}.")
                links.append(through(**{owner: instance.pk, "tag_id": tag.pk}))
        through.objects.bulk_create(links, batch_size=5000)
    return instances


def transactions_clear_book(*, model: type[Transaction], book: Any) -> int:
    """Delete every record of `model` in `book` (a backup restored in replace mode);
    receipt files go once the deletion commits. Returns how many."""
    records = model.objects.filter(book=book)
    for record in records.exclude(receipt="").only("pk", "receipt"):
        _delete_file_on_commit(record.receipt)
    _, deleted = records.delete()
    return deleted.get(model._meta.label, 0)


# --- moving records to another category (the categories app calls this) ----------------


@transaction.atomic
def transactions_recategorize(
    *, model: type[T], book: Book, ids: list[int], category: Any
) -> list[T]:
    """Set `category` (a category already checked for the book and kind, or None) on the
    records `ids` of `book`: all of them or, when any id is not one of the book's records,
    none (400 naming `ids` and the missing ones). Clears their suggestions (the person has
    decided, as with a single update) and announces each as `<kind>.updated`, in the
    transaction. Returns the records, changed. Taking the book's base-currency lock first,
    like every write of records, it waits for a base-currency change in progress."""
    book_base_currency_lock(book=book)
    wanted = sorted(set(ids))
    records = list(
        model._base_manager.filter(book=book, pk__in=wanted)
        .select_related("book")  # the events' data reads the book's currency
        .order_by("pk")
    )
    missing = sorted(set(wanted) - {record.pk for record in records})
    if missing:
        shown = ", ".join(str(pk) for pk in missing[:20]) + ("…" if len(missing) > 20 else "")
        raise ApplicationError(
            f"No {model._meta.verbose_name} with id {shown} in this book; nothing was changed.",
            code="not_in_book",
            field="ids",
        )
    now = timezone.now()
    changes = {
        "category": category,
        "suggested_category": None,
        "suggested_confidence": None,
        "updated_at": now,
    }
    model._base_manager.filter(pk__in=wanted).update(**changes)
    for record in records:
        for field, value in changes.items():
            setattr(record, field, value)
        _announce(record, "updated")
    return records


def records_reassign_category(
    *, model: type[Transaction], book: Any, from_category: Any, to_category: Any
) -> int:
    """Move `book`'s records of `model` from one category to another (a category being
    deleted with `?reassign_to=`); `book` None: every book's (a system category).
    Returns how many moved. Runs in the caller's transaction."""
    records = model._base_manager.filter(category=from_category)
    if book is not None:
        records = records.filter(book=book)
    return records.update(category=to_category, updated_at=timezone.now())
