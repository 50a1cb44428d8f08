"""Restoring a backup document into a book (SPEC §11, §14): all or nothing.

`backup_restore` checks the whole document first (`document.parse_backup`), then
writes everything into the request's book in one transaction with the book's row
locked, so two restores of one book cannot interleave and any failure leaves the book
as it was. `replace` clears that book only.

Every write goes through the owning app's services — categories, tags and rules
(`categories.services`), expenses and income (`ledger.services`, which computes base
amounts), payers and splits (`expenses.splits`), budgets, goals and contributions,
recurring items, settlements (`splits.services`), user settings and notification
preferences — so the rules each app keeps for its rows always run. Members are named by
username; in a shared book each must be a current member (checked first, every one
under its path); into a personal book splits and settlements are dropped. The
bulk restore services store history as it was: no rule is applied and nobody is
notified.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import ProtectedError, RestrictedError

from books.models import Book
from budgets.services import budgets_clear_book, budgets_restore
from categories.models import Category, Rule, Tag
from categories.services import (
    categories_clear_book,
    categories_restore,
    rules_clear_book,
    rules_restore,
    tags_restore,
)
from core.dates import user_today
from core.exceptions import ApplicationError, ConflictError
from core.money import MAX_AMOUNT
from currencies.selectors import RateQuote, RateUnavailable, converter, get_rate
from expenses.models import Expense
from expenses.splits import expenses_split_restore
from goals.services import goals_clear_book, goals_restore
from income.models import Income
from ledger.services import book_base_currency_lock, transactions_clear_book, transactions_restore
from notifications.models import EMAIL_ON_BY_DEFAULT, NotificationKind
from notifications.services import preferences_update
from recurring.services import RecurringRestoreInvalid, recurring_clear_book, recurring_restore
from splits.models import Settlement
from splits.services import SettlementError, settlements_bulk_restore, settlements_clear
from users.models import User
from users.services import user_update

from .document import (
    BUDGETS,
    CATEGORIES,
    CONTRIBUTIONS,
    EXPENSES,
    GOALS,
    INCOMES,
    RECURRING,
    RULES,
    SETTLEMENTS,
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
    "settlements",
)
RATE_HELP = "An admin can add the rate (POST /api/v1/rates/ or manage.py load_rates)."


def _with_rate_help(missing: RateUnavailable) -> str:
    """The missing-rate message, with how to add rates unless it already says so."""
    return missing.message if missing.hint else f"{missing.message} {RATE_HELP}"


@dataclass
class SectionCounts:
    created: int = 0
    skipped: int = 0
    deleted: int = 0


class _Restore:
    def __init__(self, book: Book, actor: User, backup: Backup, mode: Mode) -> None:
        self.book, self.actor, self.backup, self.mode = book, actor, backup, mode
        self.merge = mode == "merge"
        self.counts = {section: SectionCounts() for section in RESULT_SECTIONS}
        self.errors = Errors()
        self.categories: dict[str, Category] = {}
        self.tags: dict[str, Tag] = {}
        self.quotes: dict[tuple[str, date], RateQuote | RateUnavailable] = {}
        self._converter: Any = None
        self._converter_missing: RateUnavailable | None = None
        self.settings_applied = False
        self.members: dict[str, int] = {}  # username → user id, of the book's members

    def run(self) -> None:
        if not self.merge:
            self._clear_book()
            if self.book.personal_owner_id == self.actor.pk:
                self._apply_settings()
        self.base = self.book.base_currency
        # Budgets and goals are in the backup's base currency: kept as they are when it is
        # this book's too. Base amounts of records are always recomputed (by the ledger).
        self.same_base = self.base == self.backup.base_currency
        self._members()
        self.errors.raise_if_any()
        self._categories()
        self.errors.raise_if_any()
        self._tags()
        self._rules()
        self._transactions(Expense, EXPENSES)
        self._transactions(Income, INCOMES)
        self._budgets()
        self._goals()
        self._recurring()
        self._settlements()
        self.errors.raise_if_any()

    def result(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "settings_applied": self.settings_applied,
            "sections": {name: asdict(counts) for name, counts in self.counts.items()},
        }

    def _add_problems(self, path: tuple[str | int, ...], exc: ValidationError) -> None:
        problems = exc.message_dict if hasattr(exc, "error_dict") else {"": exc.messages}
        for name, messages in problems.items():
            for message in messages:
                self.errors.add((*path, name) if name else path, message)

    # replace mode: the book's records go first, each through its app

    def _clear_book(self) -> None:
        book, counts = self.book, self.counts
        try:
            if RECURRING.model is not None:
                counts["recurring"].deleted = recurring_clear_book(book=book)
            counts["rules"].deleted = rules_clear_book(book=book)
            counts["settlements"].deleted = settlements_clear(book=book)
            counts["expenses"].deleted = transactions_clear_book(model=Expense, book=book)
            counts["incomes"].deleted = transactions_clear_book(model=Income, book=book)
            counts["budgets"].deleted = budgets_clear_book(book=book)
            goals = goals_clear_book(book=book)
            counts["goals"].deleted = goals["goals"]
            counts["contributions"].deleted = goals["contributions"]
            own = categories_clear_book(book=book)
            counts["categories"].deleted = own["categories"]
            counts["tags"].deleted = own["tags"]
        except (ProtectedError, RestrictedError) as exc:
            blocking = getattr(exc, "protected_objects", None) or exc.restricted_objects
            blockers = sorted({str(o._meta.verbose_name_plural) for o in blocking})
            raise ConflictError(
                f"The book's records cannot be replaced: {', '.join(blockers)} still use them.",
                code="backup_replace_conflict",
            ) from None

    def _apply_settings(self) -> None:
        """The backup's settings and notification preferences: restored into one's own
        personal book only (its base currency and month start are the account's)."""
        user_update(user=self.actor, data=self.backup.settings)
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
            preferences_update(user=self.actor, changes=changes)
        self.book.refresh_from_db()  # the personal book follows the account's settings
        self.settings_applied = True

    # members: who paid and who owes, by username (SPEC §15)

    def _members(self) -> None:
        """Every username the backup's splits and settlements name must be a member of
        this shared book (else a problem under its path, naming them). Into a personal
        book they are not read: its expenses are all its owner's, and settlements are
        not restored (counted as skipped)."""
        if self.book.is_personal:
            return
        named: list[tuple[str, tuple[str | int, ...]]] = []
        for item in self.backup.rows(EXPENSES):
            path = (EXPENSES.name, item.index)
            if item["paid_by"] is not None:
                named.append((item["paid_by"], (*path, "paid_by")))
            for part in (item["split"] or {}).get("parts") or []:
                if part["user"] is not None:
                    named.append((part["user"], (*path, "split", "parts", part.index, "user")))
        for item in self.backup.rows(SETTLEMENTS):
            for side in ("from", "to"):
                if item[side] is not None:
                    named.append((item[side], (SETTLEMENTS.name, item.index, side)))
        if not named:
            return
        self.members = dict(
            User.objects.filter(
                username__in={name for name, _ in named}, book_memberships__book=self.book
            ).values_list("username", "pk")
        )
        for name, path in named:
            if name not in self.members:
                self.errors.add(
                    path,
                    f"'{name}' is not a member of this book: invite them (POST "
                    f"/api/v1/books/{self.book.pk}/invitations/) and restore once they have "
                    "joined, or change the backup.",
                )

    def _split_of(self, item: Row) -> tuple[int | None, dict[str, Any] | None]:
        """The expense's payer id and split with member ids (`_members` checked them)."""
        payer = None if item["paid_by"] is None else self.members[item["paid_by"]]
        split = item["split"]
        if split is None:
            return payer, None
        parts = [
            {
                "user": None if part["user"] is None else self.members[part["user"]],
                "value": part["value"],
                "amount": part["amount"],  # where the odd cents were
            }
            for part in split["parts"]
        ]
        return payer, {"mode": split["mode"], "parts": parts}

    # categories, tags, rules

    def _resolve(self, ref: CategoryRef | None) -> Category | None:
        if ref is None:
            return None
        if isinstance(ref, SystemRef):
            return ref.category
        return self.categories[ref.key]

    def _categories(self) -> None:
        """Same (kind, name) as one of the book's categories, or a system one → reused.
        Parents first: nesting is one level deep, so two passes suffice."""
        counts = self.counts["categories"]
        system = {
            (c.kind, c.name.casefold()): c for c in Category.objects.filter(book__isnull=True)
        }
        existing = {(c.kind, c.name.casefold()): c for c in Category.objects.filter(book=self.book)}
        rows = self.backup.rows(CATEGORIES)
        for nested in (False, True):
            batch: list[tuple[Row, dict[str, Any]]] = []
            for item in rows:
                if isinstance(item["parent"], OwnRef) != nested:
                    continue
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
                        f"'{parent.name}' is a subcategory in this book, so "
                        f"'{item['name']}' cannot go under it (one level of nesting).",
                    )
                    parent = None
                batch.append((item, {**CATEGORIES.stored(item), "parent": parent}))
            created = categories_restore(
                book=self.book, user=self.actor, items=[data for _, data in batch]
            )
            for (item, _), category in zip(batch, created, strict=True):
                self.categories[item["key"]] = category
                existing[(category.kind, category.name.casefold())] = category
            counts.created += len(created)

    def _tags(self) -> None:
        """Every name the backup uses (its tags section, rules, records), matched to the
        book's tags case-insensitively; the missing ones are created."""
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
        before = set(Tag.objects.filter(book=self.book).values_list("name", flat=True))
        before = {name.casefold() for name in before}
        self.counts["tags"].skipped = len({name.casefold() for name in listed} & before)
        try:
            self.tags = tags_restore(book=self.book, user=self.actor, names=wanted.values())
        except ValidationError as exc:
            self._add_problems((TAGS.name,), exc)
            self.errors.raise_if_any()
        self.counts["tags"].created = len(set(wanted) - before)

    def _rules(self) -> None:
        """In merge mode a rule identical to one the book has is skipped."""
        counts = self.counts["rules"]
        existing = set(
            Rule.objects.filter(book=self.book).values_list(
                "name", "field", "operator", "value", "case_sensitive", "category_id"
            )
        )
        items = []
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
            items.append({**RULES.stored(item), "category": category, "add_tags": item["add_tags"]})
        rules_restore(book=self.book, user=self.actor, items=items)
        counts.created = len(items)

    # expenses and income

    def _rate_found(self, item: Row, path: tuple[str | int, ...]) -> bool:
        """Whether this server has the rate the ledger will convert the record at (the
        latest on or before its date); a missing one is recorded under the record's
        path, naming the pair and the date. One lookup per (currency, date)."""
        key = (item["currency"], item["date"])
        quote = self.quotes.get(key)
        if quote is None:
            try:
                quote = get_rate(from_currency=key[0], to_currency=self.base, on=key[1])
            except RateUnavailable as exc:
                quote = exc
            self.quotes[key] = quote
        if isinstance(quote, RateUnavailable):
            self.errors.add((*path, "currency"), _with_rate_help(quote))
            return False
        return True

    def _transactions(self, model: type[Expense] | type[Income], section: Section) -> None:
        """Stored by the ledger in bulk; in merge mode a record identical in (date, amount,
        currency, description, category) to one already there is skipped, counted per
        occurrence."""
        counts = self.counts[section.name]
        items = self.backup.rows(section)
        if not items:
            return
        already: dict[tuple[Any, ...], int] = {}
        if self.merge:
            dates = [item["date"] for item in items]
            for key in (
                model.objects.filter(book=self.book, date__gte=min(dates), date__lte=max(dates))
                .values_list("date", "amount", "currency", "description", "category_id")
                .iterator(chunk_size=1000)
            ):
                already[key] = already.get(key, 0) + 1
        records: list[dict[str, Any]] = []
        tags: list[list[Tag]] = []
        stored: list[Row] = []
        for item in items:
            category = self._resolve(item["category"])
            key = (
                item["date"],
                item["amount"],
                item["currency"],
                item["description"],
                getattr(category, "pk", None),
            )
            if already.get(key, 0) > 0:
                already[key] -= 1
                counts.skipped += 1
                continue
            if not self._rate_found(item, (section.name, item.index)):
                continue
            records.append({**section.stored(item), "category": category})
            tags.append([self.tags[name.casefold()] for name in item["tags"]])
            stored.append(item)
        self.errors.raise_if_any()
        created = transactions_restore(
            model=model, book=self.book, user=self.actor, records=records, tags=tags
        )
        counts.created += len(records)
        if model is Expense:
            self._splits(created, stored)

    def _splits(self, expenses: list[Any], rows: list[Row]) -> None:
        """Payers and splits of a shared book's restored expenses, by the expenses app's
        rules (`expenses.splits`); an expense without a split takes the book's default,
        paid by the restoring member, as an import does."""
        if self.book.is_personal:
            return
        problems = expenses_split_restore(
            book=self.book,
            by_user_id=self.actor.pk,
            items=[
                (expense, *self._split_of(row)) for expense, row in zip(expenses, rows, strict=True)
            ],
        )
        for position, (field, message) in problems.items():
            self.errors.add((EXPENSES.name, rows[position].index, field), message)
        self.errors.raise_if_any()

    # budgets and goals: amounts in the backup's base currency

    def _convert(self, amount: Decimal, path: tuple[str | int, ...]) -> Decimal:
        """`amount` in this book's base currency, at today's rate when they differ
        (as a base-currency change converts budgets and goals)."""
        if self.same_base:
            return amount
        if self._converter is None and self._converter_missing is None:
            try:
                self._converter = converter(
                    from_currency=self.backup.base_currency,
                    to_currency=self.base,
                    on=user_today(self.actor),
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
        """In merge mode the book's budget for a (month, scope, category) is kept."""
        items = [
            {
                **BUDGETS.stored(item),
                "category": self._resolve(item["category"]),
                "amount": self._convert(item["amount"], ("budgets", item.index, "amount")),
            }
            for item in self.backup.rows(BUDGETS)
        ]
        self.errors.raise_if_any()
        created, skipped = budgets_restore(book=self.book, user=self.actor, items=items)
        self.counts["budgets"].created, self.counts["budgets"].skipped = len(created), skipped

    def _goals(self) -> None:
        """In merge mode a goal with the name of one of the book's goals is that goal:
        only its missing contributions (by date, amount and note) are added. Status is
        derived from the contributions (archived stays archived); nobody is notified."""
        rows = self.backup.rows(GOALS)
        items = []
        for item in rows:
            path = ("goals", item.index)
            contributions = [
                {
                    **CONTRIBUTIONS.stored(c),
                    "amount": self._convert(
                        c["amount"], (*path, "contributions", c.index, "amount")
                    ),
                }
                for c in item["contributions"]
            ]
            items.append(
                {
                    **GOALS.stored(item),
                    "target_amount": self._convert(item["target_amount"], (*path, "target_amount")),
                    "status": item["status"],
                    "contributions": contributions,
                }
            )
        self.errors.raise_if_any()
        try:
            counts = goals_restore(book=self.book, user=self.actor, items=items, merge=self.merge)
        except ValidationError as exc:
            for index, messages in exc.message_dict.items():
                for message in messages:
                    self.errors.add(("goals", rows[int(index)].index, "contributions"), message)
            self.errors.raise_if_any()
            raise
        self.counts["goals"].created = counts["goals_created"]
        self.counts["goals"].skipped = counts["goals_skipped"]
        self.counts["contributions"].created = counts["contributions_created"]
        self.counts["contributions"].skipped = counts["contributions_skipped"]

    # recurring items

    def _recurring(self) -> None:
        model = RECURRING.model
        rows = self.backup.rows(RECURRING)
        if model is None or not rows:
            return
        items = [
            {
                name: self._resolve(value) if model._meta.get_field(name).is_relation else value
                for name, value in row.values.items()
            }
            for row in rows
        ]
        try:
            created, skipped = recurring_restore(
                book=self.book, user=self.actor, items=items, merge=self.merge
            )
        except RecurringRestoreInvalid as exc:
            for index, problems in exc.problems.items():
                for name, messages in problems.items():
                    for message in messages:
                        self.errors.add(("recurring", rows[index].index, name), message)
            self.errors.raise_if_any()
            raise
        self.counts["recurring"].created, self.counts["recurring"].skipped = len(created), skipped

    # settlements (SPEC §15)

    def _settlements(self) -> None:
        """Through the splits app, in bulk. Into a personal book, or when one side's
        account is gone, a settlement is skipped; in merge mode so is one identical in
        (date, amount, currency, from, to) to one the book has, counted per occurrence."""
        counts = self.counts["settlements"]
        rows = self.backup.rows(SETTLEMENTS)
        if not rows:
            return
        if self.book.is_personal:
            counts.skipped = len(rows)
            return
        already: dict[tuple[Any, ...], int] = {}
        if self.merge:
            for key in Settlement.objects.filter(book=self.book).values_list(
                "date", "amount", "currency", "from_user_id", "to_user_id"
            ):
                already[key] = already.get(key, 0) + 1
        restored: list[dict[str, Any]] = []
        for item in rows:
            if item["from"] is None or item["to"] is None:
                counts.skipped += 1
                continue
            from_id, to_id = self.members[item["from"]], self.members[item["to"]]
            key = (item["date"], item["amount"], item["currency"], from_id, to_id)
            if already.get(key, 0) > 0:
                already[key] -= 1
                counts.skipped += 1
                continue
            if not self._rate_found(item, (SETTLEMENTS.name, item.index)):
                continue
            restored.append(
                {
                    "from_user": from_id,
                    "to_user": to_id,
                    "amount": item["amount"],
                    "currency": item["currency"],
                    "date": item["date"],
                    "note": item["note"],
                }
            )
        self.errors.raise_if_any()
        try:
            counts.created = settlements_bulk_restore(
                book=self.book, user=self.actor, rows=restored
            )
        except SettlementError as exc:
            self.errors.add((SETTLEMENTS.name,), exc.message)
            self.errors.raise_if_any()


def backup_restore(*, book: Book, user: Any, document: Any, mode: Mode = "merge") -> dict[str, Any]:
    """Restore a backup document into `book` (a book `user` may write), all or nothing.

    `merge` adds to what is there: categories and tags with the same name (and kind)
    are reused, and records identical to existing ones are skipped, so merging one
    backup twice stores nothing the second time; settings are left alone.
    `replace` first deletes the book's own categories, tags, rules, expenses, income,
    budgets, goals, recurring items and settlements (that book's only), then restores
    the backup's;
    into one's own personal book it also applies the backup's settings (base currency,
    time zone, month start, names, notification preferences).

    Base amounts and exchange rates of expenses and income are always recomputed from
    this server's rates (the document's own are informative), by the ledger.

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
        if book.personal_owner_id == user.pk:
            # A replace may change the account's settings: serialize with its writes.
            User.objects.select_for_update().get(pk=user.pk)
        # Figures are stored in the book's base currency: wait (bounded) for a change of it
        # in progress, and hold it off until this restore commits.
        book_base_currency_lock(book=book)
        locked = Book.objects.select_for_update().get(pk=book.pk)
        actor = User.objects.get(pk=user.pk)
        restore = _Restore(locked, actor, backup, mode)
        restore.run()
    if restore.settings_applied:
        user.refresh_from_db()
        book.refresh_from_db()
    return restore.result()
