"""Restoring a backup document into an account (SPEC §11): all or nothing.

`backup_restore` checks the whole document first (`document.parse_backup`), then
writes everything in one transaction with the owner's row locked, so two restores
of one account cannot interleave and any failure leaves the account as it was.

Categories, tags, rules, user settings and notification preferences are written
through their apps' services. Expenses, income, budgets, goals and contributions
(and recurring items) are inserted here with `bulk_create`, because their services
create one row at a time and send budget/goal notifications — which a restore of
history must not do. Replace mode deletes the owner's records here too.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import date
from decimal import Decimal
from itertools import islice
from typing import Any, Literal

from django.core.exceptions import ValidationError
from django.db import connection, models, transaction
from django.db.models import ProtectedError
from django.utils import timezone

from budgets.models import Budget
from categories.models import Category, Rule, Tag
from categories.services import category_create, rule_create, tags_resolve
from core.dates import user_today
from core.exceptions import ApplicationError, ConflictError
from core.money import MAX_AMOUNT, quantize
from currencies.selectors import RateQuote, RateUnavailable, converter, get_rate
from expenses.models import Expense
from goals.models import Contribution, Goal, GoalStatus
from goals.selectors import goal_saved_amount
from income.models import Income
from notifications.models import EMAIL_ON_BY_DEFAULT, NotificationKind
from notifications.services import preferences_update
from users.models import User
from users.services import user_update

from . import recurring
from .document import (
    BUDGETS,
    CATEGORIES,
    CONTRIBUTIONS,
    EXPENSES,
    GOALS,
    INCOMES,
    NON_FIELD,
    RECURRING,
    RULES,
    TAGS,
    Backup,
    CategoryRef,
    Errors,
    OwnRef,
    SystemRef,
    parse_backup,
)
from .fields import Row, Section

Mode = Literal["merge", "replace"]
MODES: tuple[Mode, ...] = ("merge", "replace")
RESULT_SECTIONS = (
    "categories",
    "tags",
    "rules",
    "expenses",
    "incomes",
    "budgets",
    "goals",
    "contributions",
    "recurring",
)
BATCH_SIZE = 1000
RATE_HELP = "An admin can add the rate (POST /api/v1/rates/ or manage.py load_rates)."


def _with_rate_help(missing: RateUnavailable) -> str:
    """The missing-rate message, with how to add rates unless it already says so."""
    return missing.message if missing.hint else f"{missing.message} {RATE_HELP}"


TAGS_PER_RESOLVE = 200


@dataclass
class SectionCounts:
    created: int = 0
    skipped: int = 0
    deleted: int = 0


def _batched(items: list[Any], size: int) -> Iterable[list[Any]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _bulk_create(model: type[models.Model], objects: list[Any]) -> None:
    """Insert and learn the new primary keys (needed to link tags and contributions)."""
    if not objects:
        return
    if connection.features.can_return_rows_from_bulk_insert:
        model._default_manager.bulk_create(objects, batch_size=BATCH_SIZE)
    else:  # pragma: no cover - SQLite < 3.35 / MySQL
        for instance in objects:
            instance.save(force_insert=True)


def _delete_files(files: list[tuple[Any, str]]) -> None:
    for storage, name in files:
        storage.delete(name)


class _Restore:
    def __init__(self, owner: User, backup: Backup, mode: Mode) -> None:
        self.owner, self.backup, self.mode = owner, backup, mode
        self.merge = mode == "merge"
        self.counts = {section: SectionCounts() for section in RESULT_SECTIONS}
        self.errors = Errors()
        self.categories: dict[str, Category] = {}
        self.tags: dict[str, Tag] = {}
        self.quotes: dict[tuple[str, date], RateQuote | RateUnavailable] = {}
        self._converter: Any = None
        self._converter_missing: RateUnavailable | None = None
        self.settings_applied = False

    def run(self) -> None:
        if not self.merge:
            self._delete_owned()
            self._apply_settings()
        self.base = self.owner.base_currency
        # Budgets and goals are in the backup's base currency: kept as they are when it is
        # this account's too. Base amounts of records are always recomputed (see _base_amount).
        self.same_base = self.base == self.backup.base_currency
        self._categories()
        self.errors.raise_if_any()
        self._tags()
        self._rules()
        self._transactions(Expense, EXPENSES)
        self._transactions(Income, INCOMES)
        self._budgets()
        self._goals()
        self._recurring()
        self.errors.raise_if_any()

    def result(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "settings_applied": self.settings_applied,
            "sections": {name: asdict(counts) for name, counts in self.counts.items()},
        }

    # replace mode

    def _delete_owned(self) -> None:
        owner = self.owner
        files = []
        for model in (Expense, Income):
            storage = model._meta.get_field("receipt").storage
            names = model.objects.filter(user=owner).exclude(receipt="")
            files += [(storage, name) for name in names.values_list("receipt", flat=True)]
        plan: list[tuple[str, models.QuerySet]] = []
        recurring_model = RECURRING.model
        if recurring_model is not None:
            plan.append(
                ("recurring", recurring_model._default_manager.filter(user=owner))  # type: ignore[attr-defined]
            )
        plan += [
            ("rules", Rule.objects.filter(user=owner)),
            ("expenses", Expense.objects.filter(user=owner)),
            ("incomes", Income.objects.filter(user=owner)),
            ("budgets", Budget.objects.filter(user=owner)),
            ("goals", Goal.objects.filter(user=owner)),
            ("categories", Category.objects.filter(user=owner)),
            ("tags", Tag.objects.filter(user=owner)),
        ]
        try:
            for section, queryset in plan:
                _, deleted = queryset.delete()
                self.counts[section].deleted = deleted.get(queryset.model._meta.label, 0)
                if section == "goals":
                    self.counts["contributions"].deleted = deleted.get(Contribution._meta.label, 0)
        except ProtectedError as exc:
            blockers = sorted({str(o._meta.verbose_name_plural) for o in exc.protected_objects})
            raise ConflictError(
                f"Your records cannot be replaced: {', '.join(blockers)} still use them.",
                code="backup_replace_conflict",
            ) from None
        if files:
            transaction.on_commit(lambda: _delete_files(files), robust=True)

    def _apply_settings(self) -> None:
        user_update(user=self.owner, data=self.backup.settings)
        preferences = self.backup.notification_preferences
        if preferences is not None:
            changes = {
                kind: {
                    "in_app": True,
                    "email": kind in EMAIL_ON_BY_DEFAULT,
                    **preferences.get(kind, {}),
                }
                for kind in NotificationKind.values
            }
            preferences_update(user=self.owner, changes=changes)
        self.settings_applied = True

    # categories, tags, rules

    def _resolve(self, ref: CategoryRef | None) -> Category | None:
        if ref is None:
            return None
        if isinstance(ref, SystemRef):
            return ref.category
        return self.categories[ref.key]

    def _categories(self) -> None:
        """Same (kind, name) as one of the account's categories, or a system one → reused."""
        counts = self.counts["categories"]
        system = {
            (c.kind, c.name.casefold()): c for c in Category.objects.filter(user__isnull=True)
        }
        existing = {
            (c.kind, c.name.casefold()): c for c in Category.objects.filter(user=self.owner)
        }
        # Parents first: nesting is one level deep, so two passes suffice.
        rows = self.backup.rows(CATEGORIES)
        for item in sorted(rows, key=lambda row: isinstance(row["parent"], OwnRef)):
            same = (item["kind"], item["name"].casefold())
            found = existing.get(same) or system.get(same)
            if found is not None:
                self.categories[item["key"]] = found
                counts.skipped += 1
                continue
            parent = self._resolve(item["parent"])
            if parent is not None and parent.parent_id is not None:
                self.errors.add(
                    ("categories", item.index, "parent"),
                    f"'{parent.name}' is a subcategory in this account, so '{item['name']}' "
                    "cannot go under it (one level of nesting).",
                )
                parent = None
            category = category_create(
                user=self.owner, data={**CATEGORIES.stored(item), "parent": parent}
            )
            self.categories[item["key"]] = existing[same] = category
            counts.created += 1

    def _tags(self) -> None:
        """Every name the backup uses (its tags section, rules, records), matched to the
        account's tags case-insensitively; the missing ones are created."""
        backup = self.backup
        wanted: dict[str, str] = {}
        listed = [row["name"] for row in backup.rows(TAGS)]
        for name in listed:
            wanted.setdefault(name.casefold(), name)
        for rule in backup.rows(RULES):
            for name in rule["add_tags"]:
                wanted.setdefault(name.casefold(), name)
        for record in (*backup.rows(EXPENSES), *backup.rows(INCOMES)):
            for name in record["tags"]:
                wanted.setdefault(name.casefold(), name)
        tags = {tag.name.casefold(): tag for tag in Tag.objects.filter(user=self.owner)}
        self.counts["tags"].skipped = len({name.casefold() for name in listed} & tags.keys())
        missing = [name for fold, name in wanted.items() if fold not in tags]
        for chunk in _batched(missing, TAGS_PER_RESOLVE):
            tags_resolve(user=self.owner, names=chunk, max_count=TAGS_PER_RESOLVE)
        if missing:
            tags = {tag.name.casefold(): tag for tag in Tag.objects.filter(user=self.owner)}
        self.counts["tags"].created = len(missing)
        self.tags = tags

    def _rules(self) -> None:
        """In merge mode a rule identical to one the account has is skipped."""
        counts = self.counts["rules"]
        existing = set(
            Rule.objects.filter(user=self.owner).values_list(
                "name", "field", "operator", "value", "case_sensitive", "category_id"
            )
        )
        for item in self.backup.rows(RULES):
            category = self._resolve(item["category"])
            assert category is not None
            key = (
                item["name"],
                item["field"],
                item["operator"],
                item["value"],
                item["case_sensitive"],
                category.pk,
            )
            if key in existing:
                counts.skipped += 1
                continue
            existing.add(key)
            data = {**RULES.stored(item), "category": category, "add_tags": item["add_tags"]}
            rule_create(user=self.owner, data=data)
            counts.created += 1

    # expenses and income

    def _base_amount(
        self, item: Row, path: tuple[str | int, ...]
    ) -> tuple[Decimal, Decimal] | None:
        """(base_amount, rate) from this server's rates, exactly as the ledger computes
        them (`currencies.selectors.get_rate`, latest rate on or before the date, then
        `quantize` — what `convert` does), never the document's own figures, which no
        rate here may back. One lookup per (currency, date). A missing rate is recorded
        under the record's path, naming the pair and the date, and gives None."""
        currency, day = item["currency"], item["date"]
        key = (currency, day)
        quote = self.quotes.get(key)
        if quote is None:
            try:
                quote = get_rate(from_currency=currency, to_currency=self.base, on=day)
            except RateUnavailable as exc:
                quote = exc
            self.quotes[key] = quote
        if isinstance(quote, RateUnavailable):
            self.errors.add((*path, "currency"), _with_rate_help(quote))
            return None
        return quantize(item["amount"] * quote.rate, self.base), quote.rate

    def _transactions(self, model: type[Expense] | type[Income], section: Section) -> None:
        """Bulk insert; in merge mode a record identical in (date, amount, currency,
        description, category) to one already there is skipped, counted per occurrence."""
        counts = self.counts[section.name]
        items = self.backup.rows(section)
        if not items:
            return
        already: Counter[tuple[Any, ...]] = Counter()
        if self.merge:
            dates = [item["date"] for item in items]
            already = Counter(
                model.objects.filter(user=self.owner, date__gte=min(dates), date__lte=max(dates))
                .values_list("date", "amount", "currency", "description", "category_id")
                .iterator(chunk_size=BATCH_SIZE)
            )
        records: list[Expense | Income] = []
        tag_ids: list[set[int]] = []
        for item in items:
            category = self._resolve(item["category"])
            key = (
                item["date"],
                item["amount"],
                item["currency"],
                item["description"],
                getattr(category, "pk", None),
            )
            if already[key] > 0:
                already[key] -= 1
                counts.skipped += 1
                continue
            converted = self._base_amount(item, (section.name, item.index))
            if converted is None:
                continue
            base_amount, rate = converted
            records.append(
                model(
                    user=self.owner,
                    base_amount=base_amount,
                    exchange_rate=rate,
                    category=category,
                    **section.stored(item),
                )
            )
            tag_ids.append({self.tags[name.casefold()].pk for name in item["tags"]})
        self.errors.raise_if_any()
        _bulk_create(model, records)
        field = model._meta.get_field("tags")
        through = field.remote_field.through  # type: ignore[union-attr]
        source = f"{field.m2m_field_name()}_id"  # type: ignore[attr-defined]
        target = f"{field.m2m_reverse_field_name()}_id"  # type: ignore[attr-defined]
        links = [
            through(**{source: record.pk, target: tag_id})
            for record, ids in zip(records, tag_ids, strict=True)
            for tag_id in ids
        ]
        through.objects.bulk_create(links, batch_size=BATCH_SIZE)
        counts.created += len(records)

    # budgets and goals: amounts in the backup's base currency

    def _convert(self, amount: Decimal, path: tuple[str | int, ...]) -> Decimal:
        """`amount` in this account's base currency, at today's rate when they differ
        (as a base-currency change converts budgets and goals)."""
        if self.same_base:
            return amount
        if self._converter is None and self._converter_missing is None:
            try:
                self._converter = converter(
                    from_currency=self.backup.base_currency,
                    to_currency=self.base,
                    on=user_today(self.owner),
                )
            except RateUnavailable as exc:
                self._converter_missing = exc
        if self._converter_missing is not None:
            self.errors.add(path, _with_rate_help(self._converter_missing))
            return amount
        converted: Decimal = self._converter(amount)
        if abs(converted) > MAX_AMOUNT:
            self.errors.add(path, f"In {self.base} this is more than {MAX_AMOUNT}.")
        return converted

    def _budgets(self) -> None:
        """In merge mode the account's budget for a (month, scope, category) is kept."""
        counts = self.counts["budgets"]
        existing = set(
            Budget.objects.filter(user=self.owner).values_list("month", "scope", "category_id")
        )
        budgets = []
        for item in self.backup.rows(BUDGETS):
            category = self._resolve(item["category"])
            key = (item["month"], item["scope"], getattr(category, "pk", None))
            if key in existing:
                counts.skipped += 1
                continue
            existing.add(key)
            budgets.append(
                Budget(
                    user=self.owner,
                    category=category,
                    amount=self._convert(item["amount"], ("budgets", item.index, "amount")),
                    **BUDGETS.stored(item),
                )
            )
        self.errors.raise_if_any()
        _bulk_create(Budget, budgets)
        counts.created = len(budgets)

    def _goals(self) -> None:
        """In merge mode a goal with the name of one of the account's goals is that goal:
        only its missing contributions (by date, amount and note) are added. Status is
        derived from the contributions (archived stays archived); nobody is notified."""
        counts, contribution_counts = self.counts["goals"], self.counts["contributions"]
        by_name: dict[str, Goal] = {}
        if self.merge:
            for goal in Goal.objects.filter(user=self.owner).order_by("id"):
                by_name.setdefault(goal.name.casefold(), goal)
        new_goals: list[tuple[Goal, list[Contribution]]] = []
        contributions: list[Contribution] = []
        for item in self.backup.rows(GOALS):
            path = ("goals", item.index)
            amounts = [
                (
                    self._convert(c["amount"], (*path, "contributions", c.index, "amount")),
                    c["date"],
                    c["note"],
                    CONTRIBUTIONS.stored(c),
                )
                for c in item["contributions"]
            ]
            goal = by_name.get(item["name"].casefold())
            if goal is None:
                goal = Goal(
                    user=self.owner,
                    target_amount=self._convert(item["target_amount"], (*path, "target_amount")),
                    **GOALS.stored(item),
                )
                saved = sum((amount for amount, *_ in amounts), Decimal(0))
                goal.status = self._goal_status(item["status"], goal.target_amount, saved)
                new_goals.append(
                    (goal, [Contribution(amount=a, **stored) for a, _, _, stored in amounts])
                )
                counts.created += 1
                contribution_counts.created += len(amounts)
                continue

            counts.skipped += 1
            present = Counter(goal.contributions.values_list("amount", "date", "note"))
            added = []
            for amount, day, note, stored in amounts:
                if present[(amount, day, note)] > 0:
                    present[(amount, day, note)] -= 1
                    contribution_counts.skipped += 1
                else:
                    added.append(Contribution(goal=goal, amount=amount, **stored))
            if not added:
                continue
            saved = goal_saved_amount(goal=goal) + sum(c.amount for c in added)
            if saved < 0:
                self.errors.add(
                    (*path, "contributions"),
                    f"Added to your goal '{goal.name}', these withdrawals would take its "
                    "saved amount below 0.",
                )
                continue
            status = self._goal_status(goal.status, goal.target_amount, saved)
            if status != goal.status:
                Goal.objects.filter(pk=goal.pk).update(status=status, updated_at=timezone.now())
            contributions += added
            contribution_counts.created += len(added)
        self.errors.raise_if_any()
        _bulk_create(Goal, [goal for goal, _ in new_goals])
        for goal, items in new_goals:
            for contribution in items:
                contribution.goal = goal
            contributions += items
        Contribution.objects.bulk_create(contributions, batch_size=BATCH_SIZE)

    @staticmethod
    def _goal_status(requested: str, target: Decimal, saved: Decimal) -> str:
        if requested == GoalStatus.ARCHIVED:
            return GoalStatus.ARCHIVED
        return GoalStatus.ACHIEVED if saved >= target else GoalStatus.ACTIVE

    # recurring items

    def _recurring(self) -> None:
        model = RECURRING.model
        items_read = self.backup.rows(RECURRING)
        if model is None or not items_read:
            return
        counts = self.counts["recurring"]
        fields = recurring.backed_up_fields(model)
        existing = set(
            model._default_manager.filter(user=self.owner).values_list(  # type: ignore[attr-defined]
                *(field.attname for field in fields)
            )
        )
        items = []
        for item in items_read:
            instance = recurring.build(model, self.owner, item, self._resolve)
            key = tuple(getattr(instance, field.attname) for field in fields)
            if self.merge and key in existing:
                counts.skipped += 1
                continue
            try:
                instance.full_clean()
            except ValidationError as exc:
                problems = (
                    exc.message_dict if hasattr(exc, "error_dict") else {NON_FIELD: exc.messages}
                )
                for name, messages in problems.items():
                    for message in messages:
                        self.errors.add(("recurring", item.index, name), message)
                continue
            existing.add(key)
            items.append(instance)
        self.errors.raise_if_any()
        _bulk_create(model, items)
        counts.created = len(items)


def backup_restore(*, user: Any, document: Any, mode: Mode = "merge") -> dict[str, Any]:
    """Restore a backup document into `user`'s account, all or nothing.

    `merge` adds to what is there: categories and tags with the same name (and kind)
    are reused, and records identical to existing ones are skipped, so merging one
    backup twice stores nothing the second time; the user's settings are left alone.
    `replace` first deletes the user's own categories, tags, rules, expenses, income,
    budgets, goals and recurring items, then restores the backup's, and applies its
    settings (base currency, time zone, month start, names, notification preferences).

    Base amounts and exchange rates of expenses and income are always recomputed from
    this server's rates (the document's own are informative), as the ledger computes
    them on a write.

    Returns {mode, settings_applied, sections: {name: {created, skipped, deleted}}}.
    Raises BackupInvalid when the document is wrong or a needed exchange rate is
    missing (each under the path of the record, naming the pair and the date),
    ApplicationError (on `mode`) for an unknown mode, ConflictError when replace
    cannot delete; in every case nothing is stored.
    """
    if mode not in MODES:
        raise ApplicationError(f"Use one of: {', '.join(MODES)}.", field="mode")
    backup = parse_backup(document)
    with transaction.atomic():
        owner = User.objects.select_for_update().get(pk=user.pk)
        restore = _Restore(owner, backup, mode)
        restore.run()
    if restore.settings_applied:
        user.refresh_from_db()
    return restore.result()
