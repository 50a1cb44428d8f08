"""Writing a user's backup document as a stream of JSON text.

Every section is read with `iterator()` in chunks and written record by record, so
memory stays flat however many records there are. The whole export reads one
snapshot (a read-only REPEATABLE READ transaction on PostgreSQL; SQLite reads are
snapshots anyway), so a record written meanwhile cannot leave a reference dangling.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import Prefetch, Q, QuerySet
from django.db.models.functions import Lower
from django.utils import timezone

from budgets.models import Budget
from categories.models import Category, Rule, Tag
from core.money import format_amount
from expenses.models import Expense
from goals.models import Contribution, Goal
from income.models import Income
from notifications.services import preferences_for

from . import recurring
from .document import FORMAT, VERSION, own_ref, system_ref

CHUNK_SIZE = 2000
# Records are written in groups: one yield per record would make the stream slow.
RECORDS_PER_WRITE = 200


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def _rate(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _tag_names(tags: Iterable[Tag]) -> list[str]:
    return sorted((tag.name for tag in tags), key=lambda name: (name.casefold(), name))


def category_refs(user: Any) -> tuple[list[Category], dict[int, dict[str, Any]]]:
    """The user's own categories in backup order, and every category id they may use →
    its reference: `{"key": ...}` for their own, `{"system": true, kind, name}` otherwise.

    Keys follow (kind, name), so the same categories get the same keys on any account.
    """
    own = list(Category.objects.filter(user=user).order_by("kind", Lower("name"), "name", "id"))
    refs: dict[int, dict[str, Any]] = {
        category.pk: own_ref(f"c{number}") for number, category in enumerate(own, start=1)
    }
    for category in Category.objects.filter(user__isnull=True).only("id", "kind", "name"):
        refs[category.pk] = system_ref(kind=category.kind, name=category.name)
    return own, refs


def _categories(own: list[Category], refs: dict[int, dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for category in own:
        yield {
            "key": refs[category.pk]["key"],
            "name": category.name,
            "kind": category.kind,
            "parent": refs.get(category.parent_id) if category.parent_id else None,
            "icon": category.icon,
            "color": category.color,
        }


def _tags(user: Any) -> Iterator[dict[str, Any]]:
    for name in (
        Tag.objects.filter(user=user)
        .order_by(Lower("name"), "name", "id")
        .values_list("name", flat=True)
    ):
        yield {"name": name}


def _rules(user: Any, refs: dict[int, dict[str, Any]]) -> Iterator[dict[str, Any]]:
    rules = Rule.objects.filter(user=user).prefetch_related("add_tags").order_by("priority", "id")
    for rule in rules.iterator(chunk_size=CHUNK_SIZE):
        yield {
            "name": rule.name,
            "field": rule.field,
            "operator": rule.operator,
            "value": rule.value,
            "case_sensitive": rule.case_sensitive,
            "category": refs.get(rule.category_id),
            "add_tags": _tag_names(rule.add_tags.all()),
            "priority": rule.priority,
            "active": rule.active,
        }


def _keyset_pages(queryset: QuerySet, fields: tuple[str, ...]) -> Iterator[list[dict[str, Any]]]:
    """`queryset` in (date, id) order as pages of `values()` dicts, each page found
    through the (user, date, id) index after the last row of the one before."""
    after = Q()
    while True:
        page = list(queryset.filter(after).order_by("date", "id").values(*fields)[:CHUNK_SIZE])
        if not page:
            return
        yield page
        last = page[-1]
        after = Q(date__gt=last["date"]) | Q(date=last["date"], id__gt=last["id"])


def _transactions(
    model: type[Expense] | type[Income],
    user: Any,
    refs: dict[int, dict[str, Any]],
    extra_fields: tuple[str, ...],
) -> Iterator[dict[str, Any]]:
    """Two queries per page of records: the records, then their tags' names."""
    base = user.base_currency
    tags_field = model._meta.get_field("tags")
    through = tags_field.remote_field.through  # type: ignore[union-attr]
    record_column = f"{tags_field.m2m_field_name()}_id"  # type: ignore[attr-defined]
    tag_name = f"{tags_field.m2m_reverse_field_name()}__name"  # type: ignore[attr-defined]
    fields = (
        "id",
        "amount",
        "currency",
        "base_amount",
        "exchange_rate",
        "date",
        "description",
        "category_id",
        *extra_fields,
        "notes",
        "receipt",
    )
    for page in _keyset_pages(model.objects.filter(user=user), fields):
        tags: dict[int, list[str]] = defaultdict(list)
        links = through.objects.filter(**{f"{record_column}__in": [r["id"] for r in page]})
        for record_id, name in links.values_list(record_column, tag_name):
            tags[record_id].append(name)
        for record in page:
            yield {
                "amount": format_amount(record["amount"], record["currency"]),
                "currency": record["currency"],
                "base_amount": format_amount(record["base_amount"], base),
                "exchange_rate": _rate(record["exchange_rate"]),
                "date": record["date"].isoformat(),
                "description": record["description"],
                "category": refs.get(record["category_id"]) if record["category_id"] else None,
                **{name: record[name] for name in extra_fields},
                "notes": record["notes"],
                "tags": sorted(tags[record["id"]], key=lambda name: (name.casefold(), name)),
                "has_receipt": bool(record["receipt"]),
            }


def _budgets(user: Any, refs: dict[int, dict[str, Any]]) -> Iterator[dict[str, Any]]:
    base = user.base_currency
    budgets = Budget.objects.filter(user=user).order_by("month", "scope", "id")
    for budget in budgets.iterator(chunk_size=CHUNK_SIZE):
        yield {
            "month": f"{budget.month:%Y-%m}",
            "scope": budget.scope,
            "category": refs.get(budget.category_id) if budget.category_id else None,
            "amount": format_amount(budget.amount, base),
            "rollover": budget.rollover,
            "warn_threshold": format(budget.warn_threshold, "f"),
        }


def _goals(user: Any) -> Iterator[dict[str, Any]]:
    base = user.base_currency
    goals = (
        Goal.objects.filter(user=user)
        .prefetch_related(
            Prefetch("contributions", queryset=Contribution.objects.order_by("date", "id"))
        )
        .order_by("id")
    )
    for goal in goals.iterator(chunk_size=500):
        yield {
            "name": goal.name,
            "target_amount": format_amount(goal.target_amount, base),
            "target_date": goal.target_date.isoformat() if goal.target_date else None,
            "notes": goal.notes,
            "status": goal.status,
            "contributions": [
                {
                    "amount": format_amount(contribution.amount, base),
                    "date": contribution.date.isoformat(),
                    "note": contribution.note,
                }
                for contribution in goal.contributions.all()
            ],
        }


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


def backup_chunks(user: Any) -> Iterator[str]:
    """The user's whole backup document (see `document.py` for the format), as text."""
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        own, refs = category_refs(user)
        header = {
            "format": FORMAT,
            "version": VERSION,
            "exported_at": timezone.now().isoformat(),
            "user": {
                "base_currency": user.base_currency,
                "timezone": user.timezone,
                "month_start_day": user.month_start_day,
                "first_name": user.first_name,
                "last_name": user.last_name,
            },
        }
        yield "{\n" + ",\n".join(f"{_dumps(key)}: {_dumps(value)}" for key, value in header.items())
        sections: list[tuple[str, Iterable[dict[str, Any]]]] = [
            ("categories", _categories(own, refs)),
            ("tags", _tags(user)),
            ("rules", _rules(user, refs)),
            ("expenses", _transactions(Expense, user, refs, ("payment_method", "merchant"))),
            ("incomes", _transactions(Income, user, refs, ("source",))),
            ("budgets", _budgets(user, refs)),
            ("goals", _goals(user)),
        ]
        for name, rows in sections:
            yield f',\n"{name}": '
            yield from _array(rows)
        yield ',\n"notification_preferences": ' + _dumps(preferences_for(user=user))
        yield ',\n"recurring": '
        yield from _array(recurring.export_rows(user, refs))
        yield "\n}\n"
