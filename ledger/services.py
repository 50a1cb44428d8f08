"""Writes shared by expenses and income: money conversion, tags, rules, receipts.

`expenses.services` and `income.services` bind these to their model; nothing here
knows which of the two it is writing beyond `model` and `kind`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

from django.db import connection, transaction

from categories.services import rules_for, rules_match, tags_resolve
from core.money import quantize
from currencies.selectors import RateQuote, get_rate

from .models import Transaction

T = TypeVar("T", bound=Transaction)

# Fields whose change requires recomputing base_amount.
MONEY_FIELDS = ("amount", "currency", "date")


def _matchable_text(instance: Transaction) -> str:
    return getattr(instance, "merchant", "") or getattr(instance, "source", "")


def _set_base_amount(
    instance: Transaction, base_currency: str, quote: RateQuote | None = None
) -> None:
    """Convert at the latest rate on or before the transaction date; RateUnavailable if none."""
    if quote is None:
        quote = get_rate(
            from_currency=instance.currency, to_currency=base_currency, on=instance.date
        )
    instance.exchange_rate = quote.rate
    instance.base_amount = quantize(Decimal(instance.amount) * quote.rate, base_currency)


def _delete_file_on_commit(file_field: Any) -> None:
    name, storage = file_field.name, file_field.storage
    if name:
        transaction.on_commit(lambda: storage.delete(name))


@transaction.atomic
def transaction_create(*, model: type[T], kind: str, user: Any, data: dict[str, Any]) -> T:
    """Create a record owned by `user`.

    Currency defaults to the user's base currency; base_amount and exchange_rate are
    computed here. When no category is given, the first matching rule sets it and
    adds its tags. Raises RateUnavailable (400) when no rate converts the currency.
    """
    data = dict(data)
    tag_names: list[str] = data.pop("tags", None) or []
    instance = model(user=user, **data)
    if not instance.currency:
        instance.currency = user.base_currency
    tags = tags_resolve(user=user, names=tag_names) if tag_names else []
    if instance.category_id is None:
        category, rule_tags = rules_match(
            user=user,
            kind=kind,
            description=instance.description,
            merchant=_matchable_text(instance),
        )
        if category is not None:
            instance.category = category
            tags += [tag for tag in rule_tags if tag not in tags]
    _set_base_amount(instance, user.base_currency)
    instance.save()
    if tags:
        instance.tags.set(tags)
    return instance


@transaction.atomic
def transaction_update(*, instance: T, data: dict[str, Any]) -> T:
    """Apply a (partial) update; base_amount follows any change of amount, currency or date."""
    data = dict(data)
    tag_names = data.pop("tags", None)
    if "receipt" in data and instance.receipt and data["receipt"] != instance.receipt:
        _delete_file_on_commit(instance.receipt)
    for field, value in data.items():
        setattr(instance, field, value)
    if any(field in data for field in MONEY_FIELDS):
        _set_base_amount(instance, instance.user.base_currency)
    instance.save()
    if tag_names is not None:
        instance.tags.set(tags_resolve(user=instance.user, names=tag_names))
    return instance


@transaction.atomic
def transaction_delete(*, instance: Transaction) -> None:
    if instance.receipt:
        _delete_file_on_commit(instance.receipt)
    instance.delete()


@transaction.atomic
def transactions_recompute_base(*, model: type[Transaction], user: Any, base_currency: str) -> int:
    """Re-express every record of `user` in `base_currency` (after a base-currency change).

    All or nothing: if any (currency, date) has no rate, RateUnavailable is raised
    and nothing is changed. Amounts are rounded in Python (Decimal), exactly as at
    creation, so a record converts to the same figure whichever path wrote it.
    """
    quotes: dict[tuple[str, date], RateQuote] = {}
    for currency, day in model.objects.filter(user=user).values_list("currency", "date").distinct():
        quotes[(currency, day)] = get_rate(
            from_currency=currency, to_currency=base_currency, on=day
        )
    changed: list[Transaction] = []
    for row in (
        model.objects.filter(user=user)
        .only("id", "amount", "currency", "date")
        .iterator(chunk_size=2000)
    ):
        _set_base_amount(row, base_currency, quotes[(row.currency, row.date)])
        changed.append(row)
    model.objects.bulk_update(changed, ["base_amount", "exchange_rate"], batch_size=1000)
    return len(changed)


@transaction.atomic
def transactions_apply_rules(
    *, model: type[Transaction], kind: str, user: Any, only_uncategorized: bool = True
) -> int:
    """Run the user's rules over existing records; returns how many records changed.

    A record changes when a rule gives it a different category or new tags. With
    `only_uncategorized`, records that already have a category are left alone.
    """
    matcher = rules_for(user=user)
    records: Iterable[Transaction] = model.objects.filter(user=user).prefetch_related("tags")
    if only_uncategorized:
        records = records.filter(category__isnull=True)
    changed = 0
    for record in records:
        category, rule_tags = matcher.match(
            kind=kind, description=record.description, merchant=_matchable_text(record)
        )
        if category is None:
            continue
        current_tags = set(record.tags.all())
        new_tags = [tag for tag in rule_tags if tag not in current_tags]
        if category.pk == record.category_id and not new_tags:
            continue
        if category.pk != record.category_id:
            record.category = category
            record.save(update_fields=["category", "updated_at"])
        if new_tags:
            record.tags.add(*new_tags)
        changed += 1
    return changed


@transaction.atomic
def transactions_bulk_import(
    *,
    model: type[Transaction],
    kind: str,
    user: Any,
    rows: list[dict[str, Any]],
    text_field: str,
    import_batch: Any,
) -> int:
    """Store imported rows as records of `model` in bulk; returns how many.

    Each row: amount (> 0), currency, date, description, text (merchant or source),
    fitid, key. Same rules as one-by-one creation: base_amount at the rate of the
    row's date (RateUnavailable if missing, nothing stored), and the user's rules set
    the category and tags. Rates and rules are loaded once, not per row.
    """
    matcher = rules_for(user=user)
    base_currency = user.base_currency
    quotes: dict[tuple[str, date], RateQuote] = {}
    records: list[Transaction] = []
    record_tags: list[list[Any]] = []
    for row in rows:
        quote_key = (row["currency"], row["date"])
        if quote_key not in quotes:
            quotes[quote_key] = get_rate(
                from_currency=row["currency"], to_currency=base_currency, on=row["date"]
            )
        category, tags = matcher.match(
            kind=kind, description=row["description"], merchant=row["text"]
        )
        record = model(
            user=user,
            amount=row["amount"],
            currency=row["currency"],
            date=row["date"],
            description=row["description"],
            category=category,
            import_batch=import_batch,
            import_fitid=row["fitid"],
            import_key=row["key"],
            **{text_field: row["text"]},
        )
        _set_base_amount(record, base_currency, quotes[quote_key])
        records.append(record)
        record_tags.append(tags)
    _bulk_insert(model, records)
    through = model.tags.through
    owner = f"{model._meta.model_name}_id"
    links = [
        through(**{owner: record.pk, "tag_id": tag.pk})
        for record, tags in zip(records, record_tags, strict=True)
        for tag in tags
    ]
    through.objects.bulk_create(links, batch_size=5000, ignore_conflicts=True)
    return len(records)


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
