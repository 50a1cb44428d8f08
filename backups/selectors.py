"""Writing a book's backup document as a stream of JSON text.

A backup is of one book (SPEC §14): its categories, tags, rules, records (expenses with
their payer and split, SPEC §15), budgets, goals, recurring items and settlements, with
the book's base currency and month start day and the caller's own settings (time zone,
names) and notification preferences. Members are named by username (portable).

What each record holds, in which order and how each value is written comes from its
section's declaration (`document.DOCUMENT`); this module only reads the source records
(the declared columns, plus the computed values: keys, tag names, contributions).
Every section is read with `iterator()` in chunks and written record by record, so
memory stays flat however many records there are. The whole export reads one
snapshot (a read-only REPEATABLE READ transaction on PostgreSQL; SQLite reads are
snapshots anyway), so a record written meanwhile cannot leave a reference dangling.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from django.db import connection, transaction
from django.db.models import F, Prefetch, Q, QuerySet
from django.db.models.functions import Lower
from django.utils import timezone

from budgets.models import Budget
from categories.models import Category, Rule, Tag
from expenses.models import Expense, ExpenseShare
from goals.models import Contribution, Goal
from income.models import Income
from notifications.services import preferences_for
from splits.models import Settlement

from .document import (
    BUDGETS,
    CATEGORIES,
    CONTRIBUTIONS,
    DOCUMENT,
    EXPENSES,
    FORMAT,
    GOALS,
    INCOMES,
    NOTIFICATION_PREFERENCES,
    RULES,
    SETTLEMENTS,
    TAGS,
    USER,
    VERSION,
    own_ref,
    system_ref,
)
from .fields import Section, WriteContext
from .recurring import RECURRING

CHUNK_SIZE = 2000
# Records are written in groups: one yield per record would make the stream slow.
RECORDS_PER_WRITE = 200
Source = Mapping[str, Any]


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def category_refs(book: Any) -> tuple[list[Category], dict[int, dict[str, Any]]]:
    """The book's own categories in backup order, and every category id its records may
    use → its reference: `{"key": ...}` for the book's, `{"system": true, kind, name}`
    otherwise.

    Keys follow (kind, name), so the same categories get the same keys in any book.
    """
    own = list(Category.objects.filter(book=book).order_by("kind", Lower("name"), "name", "id"))
    refs: dict[int, dict[str, Any]] = {
        category.pk: own_ref(f"c{number}") for number, category in enumerate(own, start=1)
    }
    for category in Category.objects.filter(book__isnull=True).only("id", "kind", "name"):
        refs[category.pk] = system_ref(kind=category.kind, name=category.name)
    return own, refs


# Each section's source records; `Section.dump` turns each into a record of the document.


def _categories(own: list[Category], refs: dict[int, dict[str, Any]]) -> Iterator[Source]:
    for category in own:
        yield CATEGORIES.source(category, key=refs[category.pk]["key"])


def _tags(book: Any) -> Iterable[Source]:
    tags = Tag.objects.filter(book=book).order_by(Lower("name"), "name", "id")
    return tags.values(*TAGS.columns())


def _rules(book: Any) -> Iterator[Source]:
    rules = Rule.objects.filter(book=book).prefetch_related("add_tags").order_by("priority", "id")
    for rule in rules.iterator(chunk_size=CHUNK_SIZE):
        yield RULES.source(rule, add_tags=[tag.name for tag in rule.add_tags.all()])


def _keyset_pages(queryset: QuerySet, fields: tuple[str, ...]) -> Iterator[list[dict[str, Any]]]:
    """`queryset` in (date, id) order as pages of `values()` dicts, each page found
    through the (book, date, id) index after the last row of the one before."""
    after = Q()
    while True:
        page = list(queryset.filter(after).order_by("date", "id").values(*fields)[:CHUNK_SIZE])
        if not page:
            return
        yield page
        last = page[-1]
        after = Q(date__gt=last["date"]) | Q(date=last["date"], id__gt=last["id"])


def _splits(page: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """Each expense's `split` (null when it has none): one query for the page's parts,
    members by username."""
    split_ids = [record["id"] for record in page if record["split_mode"]]
    parts: dict[int, list[dict[str, Any]]] = defaultdict(list)
    shares = (
        ExpenseShare.objects.filter(expense_id__in=split_ids)
        .order_by("expense_id", F("user_id").asc(nulls_last=True), "pk")
        .values_list("expense_id", "user__username", "value", "amount")
    )
    for expense_id, username, value, amount in shares:
        parts[expense_id].append({"user__username": username, "value": value, "amount": amount})
    return {
        record["id"]: {
            "split": (
                {"mode": record["split_mode"], "parts": parts[record["id"]]}
                if record["split_mode"]
                else None
            )
        }
        for record in page
    }


def _transactions(
    model: type[Expense] | type[Income], section: Section, book: Any
) -> Iterator[Source]:
    """Two queries per page of records: the records, then their tags' names (and for
    expenses a third: their splits' parts)."""
    tags_field = model._meta.get_field("tags")
    through = tags_field.remote_field.through  # type: ignore[union-attr]
    record_column = f"{tags_field.m2m_field_name()}_id"  # type: ignore[attr-defined]
    tag_name = f"{tags_field.m2m_reverse_field_name()}__name"  # type: ignore[attr-defined]
    split = model is Expense
    fields = ("id", *(("split_mode",) if split else ()), *section.columns())
    for page in _keyset_pages(model.objects.filter(book=book), fields):
        tags: dict[int, list[str]] = defaultdict(list)
        links = through.objects.filter(**{f"{record_column}__in": [r["id"] for r in page]})
        for record_id, name in links.values_list(record_column, tag_name):
            tags[record_id].append(name)
        splits = _splits(page) if split else {}
        for record in page:
            yield {**record, "tags": tags[record["id"]], **splits.get(record["id"], {})}


def _settlements(book: Any) -> Iterable[Source]:
    """The book's settlements, oldest first, members by username."""
    settlements = Settlement.objects.filter(book=book).order_by("date", "id")
    return settlements.values(*SETTLEMENTS.columns()).iterator(chunk_size=CHUNK_SIZE)


def _budgets(book: Any) -> Iterable[Source]:
    budgets = Budget.objects.filter(book=book).order_by("month", "scope", "id")
    return budgets.values(*BUDGETS.columns()).iterator(chunk_size=CHUNK_SIZE)


def _goals(book: Any) -> Iterator[Source]:
    goals = (
        Goal.objects.filter(book=book)
        .prefetch_related(
            Prefetch("contributions", queryset=Contribution.objects.order_by("date", "id"))
        )
        .order_by("id")
    )
    for goal in goals.iterator(chunk_size=500):
        contributions = [CONTRIBUTIONS.source(c) for c in goal.contributions.all()]
        yield GOALS.source(goal, contributions=contributions)


def _recurring(book: Any) -> Iterator[Source]:
    """The book's recurring items, oldest first."""
    model = RECURRING.model
    if model is None:
        return
    items = model._default_manager.filter(book=book).order_by("pk")
    for item in items.iterator(chunk_size=1000):
        yield RECURRING.source(item)


def _array(rows: Iterable[dict[str, Any]]) -> Iterator[str]:
    """A JSON array, one record per line, written a group of records at a time."""
    buffer: list[str] = []
    separator = "\n"
    yield "["
    for row in rows:
        buffer.append(separator + _dumps(row))
        separator = ",\n"
        if len(buffer) >= RECORDS_PER_WRITE:
            yield "".join(buffer)
            buffer.clear()
    buffer.append("\n]" if separator != "\n" else "]")
    yield "".join(buffer)


def _settings(book: Any, user: Any) -> dict[str, Any]:
    """The `user` section: the caller's settings, with the book's base currency (every
    amount in base currency is in it) and month start day."""
    return {
        **USER.source(user),
        "base_currency": book.base_currency,
        "month_start_day": book.month_start_day,
    }


def backup_chunks(book: Any, user: Any) -> Iterator[str]:
    """The whole backup document of `book` as read by `user` (see `document.py` for the
    format), as text."""
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        own, refs = category_refs(book)
        context = WriteContext(base_currency=book.base_currency, refs=refs)
        sources: dict[str, Callable[[], Any]] = {
            USER.name: lambda: _settings(book, user),
            CATEGORIES.name: lambda: _categories(own, refs),
            TAGS.name: lambda: _tags(book),
            RULES.name: lambda: _rules(book),
            EXPENSES.name: lambda: _transactions(Expense, EXPENSES, book),
            INCOMES.name: lambda: _transactions(Income, INCOMES, book),
            BUDGETS.name: lambda: _budgets(book),
            GOALS.name: lambda: _goals(book),
            NOTIFICATION_PREFERENCES.name: lambda: preferences_for(user=user),
            RECURRING.name: lambda: _recurring(book),
            SETTLEMENTS.name: lambda: _settlements(book),
        }
        header = {"format": FORMAT, "version": VERSION, "exported_at": timezone.now().isoformat()}
        yield "{\n" + ",\n".join(f"{_dumps(key)}: {_dumps(value)}" for key, value in header.items())
        for section in DOCUMENT:
            yield f",\n{_dumps(section.name)}: "
            if section.many:
                yield from _array(section.dump(row, context) for row in sources[section.name]())
            else:
                yield _dumps(section.dump(sources[section.name](), context))
        yield "\n}\n"
