"""The backup document (version 1): its sections, and reading one into checked values.

`parse_backup` checks a whole document — shape, types, money rules, currencies,
dates, references, storable text — before anything is stored, and raises
`BackupInvalid` with every problem found, each under the path of the value at fault,
e.g. `{"expenses": {"12": {"amount": ["Amount must be greater than 0."]}}}`.
Numbers go through the project's one grammar (`core.money.parse_money`), dates must
lie in the supported range (`core.dates`), and no string may hold a character the
database cannot store (NUL, an unpaired surrogate).
It reads the database only to resolve references to system categories.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError

from budgets.models import Scope
from categories.models import Category, Kind, RuleField, RuleOperator
from categories.services import REGEX_MAX_LENGTH, rule_validate_pattern, tag_names_clean
from core.dates import DATE_RANGE_MESSAGE, date_in_range, parse_month
from core.money import (
    AMOUNT_DECIMAL_PLACES,
    MAX_AMOUNT,
    MoneyParseError,
    amount_errors,
    decimal_places,
    is_currency,
    parse_money,
)
from expenses.models import PaymentMethod
from goals.models import GoalStatus
from notifications.models import NotificationKind
from notifications.services import PREFERENCE_FLAGS
from users.validators import validate_timezone

from . import recurring

FORMAT = "budget-tracker-backup"
VERSION = 1
SUPPORTED_VERSIONS = frozenset({VERSION})
SECTIONS = (
    "categories",
    "tags",
    "rules",
    "expenses",
    "incomes",
    "budgets",
    "goals",
    "notification_preferences",
    "recurring",
)
TOP_LEVEL_KEYS = frozenset({"format", "version", "exported_at", "user", *SECTIONS})
NON_FIELD = "non_field_errors"
# Enough to fix a broken file; a million bad rows do not make a megabyte of errors.
MAX_ERRORS = 200

NAME_MAX_LENGTH = 64
RULE_NAME_MAX_LENGTH = 100
RULE_PRIORITY_MAX = 1_000_000
TEXT_MAX_LENGTH = 255
GOAL_NAME_MAX_LENGTH = 100
USER_NAME_MAX_LENGTH = 150
COLOR_RE = re.compile(r"^#[0-9A-Fa-f]{6}$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MONTH_RE = re.compile(r"^\d{4}-\d{2}$")
DEFAULT_WARN_THRESHOLD = Decimal("0.800")
# Storage limits of Transaction.base_amount / exchange_rate (max_digits 24). Both are
# informative in a document: a restore recomputes them from this server's rates.
BASE_AMOUNT_LIMIT = Decimal("1e20")
RATE_LIMIT = Decimal("1e12")
# Characters PostgreSQL text cannot hold: NUL, and (in UTF-8) unpaired surrogates.
UNSTORABLE_TEXT = re.compile("[\x00\ud800-\udfff]")
UNSTORABLE_MESSAGE = "Contains a character that cannot be stored (NUL or an unpaired surrogate)."


class BackupInvalid(Exception):
    """The document cannot be restored; `errors` is a DRF-style error tree."""

    def __init__(self, errors: dict[str, Any]) -> None:
        super().__init__("The backup document is invalid.")
        self.errors = errors


# --- references to categories ---------------------------------------------------------


@dataclass(frozen=True)
class OwnRef:
    """A category of the backup itself, by its local key."""

    key: str


@dataclass(frozen=True)
class SystemRef:
    """A system category of this server, found by (kind, name)."""

    category: Category


CategoryRef = OwnRef | SystemRef


def own_ref(key: str) -> dict[str, str]:
    return {"key": key}


def system_ref(*, kind: str, name: str) -> dict[str, Any]:
    return {"system": True, "kind": kind, "name": name}


# --- checked values -----------------------------------------------------------------


@dataclass
class CategoryItem:
    index: int
    key: str
    name: str
    kind: str
    parent: CategoryRef | None
    icon: str
    color: str


@dataclass
class RuleItem:
    index: int
    name: str
    field: str
    operator: str
    value: str
    case_sensitive: bool
    category: CategoryRef
    add_tags: list[str]
    priority: int
    active: bool


@dataclass
class TransactionItem:
    index: int
    amount: Decimal
    currency: str
    base_amount: Decimal | None
    exchange_rate: Decimal | None
    date: date
    description: str
    category: CategoryRef | None
    notes: str
    tags: list[str]
    extra: dict[str, str]  # payment_method + merchant (expenses), source (income)


@dataclass
class BudgetItem:
    index: int
    month: date
    scope: str
    category: CategoryRef | None
    amount: Decimal
    rollover: bool
    warn_threshold: Decimal


@dataclass
class ContributionItem:
    amount: Decimal
    date: date
    note: str


@dataclass
class GoalItem:
    index: int
    name: str
    target_amount: Decimal
    target_date: date | None
    notes: str
    status: str
    contributions: list[ContributionItem]


@dataclass
class Backup:
    """A whole document, checked. Amounts of budgets and goals (and stored base
    amounts) are in `base_currency`, the exporting account's base currency."""

    base_currency: str
    settings: dict[str, Any]
    categories: list[CategoryItem] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    rules: list[RuleItem] = field(default_factory=list)
    expenses: list[TransactionItem] = field(default_factory=list)
    incomes: list[TransactionItem] = field(default_factory=list)
    budgets: list[BudgetItem] = field(default_factory=list)
    goals: list[GoalItem] = field(default_factory=list)
    notification_preferences: dict[str, dict[str, bool]] | None = None
    recurring: list[recurring.RecurringValues] = field(default_factory=list)


# --- error collection ---------------------------------------------------------------


class Errors:
    """Messages collected under paths; at most MAX_ERRORS are kept."""

    def __init__(self) -> None:
        self.tree: dict[str, Any] = {}
        self.count = 0

    def add(self, path: tuple[str | int, ...], message: str) -> None:
        self.count += 1
        if self.count > MAX_ERRORS:
            return
        keys = [str(part) for part in path] or [NON_FIELD]
        node = self.tree
        for key in keys[:-1]:
            child = node.get(key)
            if child is None:
                child = node[key] = {}
            elif isinstance(child, list):
                child = node[key] = {NON_FIELD: child}
            node = child
        leaf = node.get(keys[-1])
        if isinstance(leaf, dict):
            leaf.setdefault(NON_FIELD, []).append(message)
        else:
            node.setdefault(keys[-1], []).append(message)

    def __bool__(self) -> bool:
        return self.count > 0

    def raise_if_any(self) -> None:
        if not self.count:
            return
        if self.count > MAX_ERRORS:
            self.tree.setdefault(NON_FIELD, []).append(
                f"{self.count} problems found; only the first {MAX_ERRORS} are listed."
            )
        raise BackupInvalid(self.tree)


class _Reader:
    """Reads one JSON object at `path`; every problem is recorded, none raised."""

    def __init__(
        self, errors: Errors, path: tuple[str | int, ...], data: Any, keys: frozenset[str]
    ) -> None:
        self.errors, self.path, self.ok = errors, path, True
        self.is_object = isinstance(data, dict)
        if not isinstance(data, dict):
            self.data: dict[str, Any] = {}
            self.fail_here("Must be a JSON object.")
            return
        self.data = data
        for key in data:
            if key not in keys:
                self.fail(str(key), "Unknown field.")

    def fail_here(self, message: str) -> None:
        self.ok = False
        self.errors.add(self.path, message)

    def fail(self, key: str, message: str) -> None:
        self.ok = False
        self.errors.add((*self.path, key), message)

    def _get(self, key: str, required: bool) -> tuple[bool, Any]:
        if key not in self.data:
            if required and self.is_object:
                self.fail(key, "This field is required.")
            return False, None
        return True, self.data[key]

    def string(
        self,
        key: str,
        *,
        max_length: int | None = None,
        required: bool = False,
        blank: bool = True,
        trim: bool = True,
        default: str = "",
    ) -> str:
        present, value = self._get(key, required)
        if not present:
            return default
        if not isinstance(value, str):
            self.fail(key, "Must be a string.")
            return default
        if trim:
            value = value.strip()
        if not blank and not value:
            self.fail(key, "This field may not be blank.")
        elif max_length is not None and len(value) > max_length:
            self.fail(key, f"Ensure this field has no more than {max_length} characters.")
        return value

    def choice(self, key: str, choices: list[str], *, default: str | None = None) -> str:
        present, value = self._get(key, default is None)
        if not present:
            return default or ""
        if value not in choices:
            self.fail(key, f"Must be one of: {', '.join(choices)}.")
            return default or ""
        return value

    def boolean(self, key: str, *, default: bool) -> bool:
        present, value = self._get(key, False)
        if not present:
            return default
        if not isinstance(value, bool):
            self.fail(key, "Must be true or false.")
            return default
        return value

    def integer(self, key: str, *, low: int, high: int, default: int | None = None) -> int:
        present, value = self._get(key, default is None)
        if not present:
            return default or 0
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(key, "Must be an integer.")
            return default or 0
        if not low <= value <= high:
            self.fail(key, f"Must be between {low} and {high}.")
        return value

    def decimal(self, key: str, *, required: bool = True) -> Decimal | None:
        present, value = self._get(key, required)
        if not present or (value is None and not required):
            return None
        try:
            return parse_money(value)
        except MoneyParseError as exc:
            self.fail(key, str(exc))
            return None

    def day(self, key: str, *, required: bool = True) -> date | None:
        present, value = self._get(key, required)
        if not present or (value is None and not required):
            return None
        parsed = to_date(value)
        if parsed is None:
            self.fail(key, "Use a date in the form YYYY-MM-DD.")
        elif not date_in_range(parsed):
            self.fail(key, DATE_RANGE_MESSAGE)
            return None
        return parsed

    def month(self, key: str) -> date | None:
        """A budget month `YYYY-MM` → the first day of it."""
        present, value = self._get(key, True)
        if not present:
            return None
        if not isinstance(value, str) or not MONTH_RE.match(value):
            self.fail(key, "Use a month in the form YYYY-MM.")
            return None
        try:
            year, month = parse_month(value)
        except ValueError as exc:
            self.fail(key, str(exc))
            return None
        return date(year, month, 1)

    def names(self, key: str) -> list[str]:
        present, value = self._get(key, False)
        if not present:
            return []
        if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
            self.fail(key, "Must be a list of names.")
            return []
        try:
            return tag_names_clean(value)
        except DjangoValidationError as exc:
            for message in exc.messages:
                self.fail(key, message)
            return []

    def money(self, key: str, currency: str, *, required: bool = True) -> Decimal | None:
        amount = self.decimal(key, required=required)
        if amount is not None:
            for message in amount_errors(amount, currency):
                self.fail(key, message)
        return amount


def to_date(value: Any) -> date | None:
    if not isinstance(value, str) or not DATE_RE.match(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _list(errors: Errors, document: dict[str, Any], name: str) -> list[Any]:
    value = document.get(name, [])
    if not isinstance(value, list):
        errors.add((name,), "Must be a list.")
        return []
    return value


# --- the parser ---------------------------------------------------------------------


class _Parser:
    def __init__(self, document: dict[str, Any], errors: Errors) -> None:
        self.document = document
        self.errors = errors
        # (kind, casefolded name) → system category of this server
        self.system = {
            (category.kind, category.name.casefold()): category
            for category in Category.objects.filter(user__isnull=True)
        }
        self.category_kinds: dict[str, str] = {}  # local key → kind
        self.category_parents: dict[str, CategoryRef | None] = {}

    def parse(self) -> Backup:
        base_currency, settings = self._user()
        backup = Backup(base_currency=base_currency, settings=settings)
        backup.categories = self._categories()
        backup.tags = self._tags()
        backup.rules = self._rules()
        backup.expenses = self._transactions("expenses", Kind.EXPENSE)
        backup.incomes = self._transactions("incomes", Kind.INCOME)
        backup.budgets = self._budgets(base_currency)
        backup.goals = self._goals(base_currency)
        backup.notification_preferences = self._preferences()
        backup.recurring = recurring.parse_section(
            _list(self.errors, self.document, "recurring"),
            add_error=self.errors.add,
            read_ref=self._ref,
        )
        self.errors.raise_if_any()
        return backup

    # user settings

    def _user(self) -> tuple[str, dict[str, Any]]:
        if "user" not in self.document:
            self.errors.add(("user",), "This field is required.")
            return "", {}
        reader = _Reader(
            self.errors,
            ("user",),
            self.document["user"],
            frozenset({"base_currency", "timezone", "month_start_day", "first_name", "last_name"}),
        )
        settings: dict[str, Any] = {}
        currency = reader.string("base_currency", required=True, trim=False)
        if currency and not is_currency(currency):
            reader.fail(
                "base_currency",
                f"{currency} is not a supported ISO 4217 currency code (upper case, e.g. EUR).",
            )
        settings["base_currency"] = currency
        if "timezone" in reader.data:
            zone = reader.string("timezone", blank=False, max_length=64)
            try:
                validate_timezone(zone)
                settings["timezone"] = zone
            except DjangoValidationError as exc:
                reader.fail("timezone", exc.messages[0])
        if "month_start_day" in reader.data:
            settings["month_start_day"] = reader.integer("month_start_day", low=1, high=28)
        for name in ("first_name", "last_name"):
            if name in reader.data:
                settings[name] = reader.string(name, max_length=USER_NAME_MAX_LENGTH)
        return currency, settings

    # categories and references to them

    def _categories(self) -> list[CategoryItem]:
        items: list[CategoryItem] = []
        seen_names: dict[tuple[str, str], int] = {}
        raw_parents: list[tuple[CategoryItem, Any]] = []
        keys = frozenset({"key", "name", "kind", "parent", "icon", "color"})
        for index, data in enumerate(_list(self.errors, self.document, "categories")):
            reader = _Reader(self.errors, ("categories", index), data, keys)
            key = reader.string("key", required=True, blank=False, trim=False, max_length=64)
            name = reader.string("name", required=True, blank=False, max_length=NAME_MAX_LENGTH)
            kind = reader.choice("kind", Kind.values)
            icon = reader.string("icon", max_length=64)
            color = reader.string("color")
            if color and not COLOR_RE.match(color):
                reader.fail("color", "Use the form #RRGGBB.")
            if key and key in self.category_kinds:
                reader.fail("key", f"The key '{key}' is used by another category.")
            if name and kind:
                other = seen_names.setdefault((kind, name.casefold()), index)
                if other != index:
                    reader.fail("name", f"Category {other} already has this name and kind.")
            if not reader.ok:
                continue
            item = CategoryItem(index, key, name, kind, None, icon, color)
            self.category_kinds[key] = kind
            items.append(item)
            raw_parents.append((item, reader.data.get("parent")))

        # Parents only once every key is known: a parent may come after its child.
        for item, raw in raw_parents:
            path = ("categories", item.index, "parent")
            item.parent = self._ref(raw, path, kind=item.kind, nullable=True)
            self.category_parents[item.key] = item.parent
        for item in items:
            parent = item.parent
            path = ("categories", item.index, "parent")
            if isinstance(parent, OwnRef):
                if parent.key == item.key:
                    self.errors.add(path, "A category cannot be its own parent.")
                elif self.category_parents.get(parent.key) is not None:
                    self.errors.add(
                        path, "The parent must be a top-level category (one level of nesting)."
                    )
            elif isinstance(parent, SystemRef) and parent.category.parent_id is not None:
                self.errors.add(
                    path, "The parent must be a top-level category (one level of nesting)."
                )
        return items

    def _ref(
        self, raw: Any, path: tuple[str | int, ...], *, kind: str | None, nullable: bool
    ) -> CategoryRef | None:
        """A category reference: null, {"key": ...} or {"system": true, "kind", "name"}."""
        if raw is None:
            if not nullable:
                self.errors.add(path, "This field may not be null.")
            return None
        shape = 'Use null, {"key": "..."} or {"system": true, "kind": "...", "name": "..."}.'
        if not isinstance(raw, dict):
            self.errors.add(path, shape)
            return None
        if set(raw) == {"key"} and isinstance(raw["key"], str):
            found_kind = self.category_kinds.get(raw["key"])
            if found_kind is None:
                self.errors.add(path, f"No category with key '{raw['key']}' in this backup.")
                return None
            ref: CategoryRef = OwnRef(raw["key"])
        elif (
            set(raw) == {"system", "kind", "name"}
            and raw["system"] is True
            and isinstance(raw["kind"], str)
            and isinstance(raw["name"], str)
        ):
            category = self.system.get((raw["kind"], raw["name"].strip().casefold()))
            if category is None:
                self.errors.add(
                    path, f"This server has no system {raw['kind']} category '{raw['name']}'."
                )
                return None
            found_kind, ref = category.kind, SystemRef(category)
        else:
            self.errors.add(path, shape)
            return None
        if kind is not None and found_kind != kind:
            self.errors.add(path, f"Must be a category of kind '{kind}'.")
            return None
        return ref

    # tags and rules

    def _tags(self) -> list[str]:
        names: list[str] = []
        for index, data in enumerate(_list(self.errors, self.document, "tags")):
            reader = _Reader(self.errors, ("tags", index), data, frozenset({"name"}))
            name = reader.string("name", required=True, blank=False, max_length=NAME_MAX_LENGTH)
            if reader.ok:
                names.append(name)
        return names

    def _rules(self) -> list[RuleItem]:
        items: list[RuleItem] = []
        keys = frozenset(
            {
                "name",
                "field",
                "operator",
                "value",
                "case_sensitive",
                "category",
                "add_tags",
                "priority",
                "active",
            }
        )
        for index, data in enumerate(_list(self.errors, self.document, "rules")):
            path = ("rules", index)
            reader = _Reader(self.errors, path, data, keys)
            name = reader.string(
                "name", required=True, blank=False, max_length=RULE_NAME_MAX_LENGTH
            )
            field_name = reader.choice("field", RuleField.values, default=RuleField.ANY)
            operator = reader.choice("operator", RuleOperator.values, default=RuleOperator.CONTAINS)
            value = reader.string(
                "value",
                required=True,
                blank=False,
                trim=operator != RuleOperator.REGEX,
                max_length=REGEX_MAX_LENGTH,
            )
            if value and operator:
                try:
                    rule_validate_pattern(value, operator)
                except DjangoValidationError as exc:
                    for message in exc.message_dict.get("value", exc.messages):
                        reader.fail("value", message)
            case_sensitive = reader.boolean("case_sensitive", default=False)
            add_tags = reader.names("add_tags")
            priority = reader.integer("priority", low=0, high=RULE_PRIORITY_MAX, default=100)
            active = reader.boolean("active", default=True)
            if "category" not in reader.data and isinstance(data, dict):
                reader.fail("category", "This field is required.")
            category = self._ref(
                reader.data.get("category"), (*path, "category"), kind=None, nullable=False
            )
            if reader.ok and category is not None:
                items.append(
                    RuleItem(
                        index,
                        name,
                        field_name,
                        operator,
                        value,
                        case_sensitive,
                        category,
                        add_tags,
                        priority,
                        active,
                    )
                )
        return items

    # expenses and income

    def _transactions(self, section: str, kind: str) -> list[TransactionItem]:
        items: list[TransactionItem] = []
        common = {
            "amount",
            "currency",
            "base_amount",
            "exchange_rate",
            "date",
            "description",
            "category",
            "notes",
            "tags",
            "has_receipt",
        }
        own = {"payment_method", "merchant"} if kind == Kind.EXPENSE else {"source"}
        keys = frozenset(common | own)
        for index, data in enumerate(_list(self.errors, self.document, section)):
            path = (section, index)
            reader = _Reader(self.errors, path, data, keys)
            currency = reader.string("currency", required=True, trim=False)
            if currency and not is_currency(currency):
                reader.fail(
                    "currency",
                    f"{currency} is not a supported ISO 4217 currency code (upper case, e.g. EUR).",
                )
                currency = ""
            amount = reader.money("amount", currency)
            base_amount = reader.decimal("base_amount", required=False)
            if base_amount is not None and not (
                0 <= base_amount < BASE_AMOUNT_LIMIT
                and decimal_places(base_amount) <= AMOUNT_DECIMAL_PLACES
            ):
                reader.fail(
                    "base_amount",
                    f"Must be a number ≥ 0 with at most {AMOUNT_DECIMAL_PLACES} decimal places.",
                )
            rate = reader.decimal("exchange_rate", required=False)
            if rate is not None and not (0 < rate < RATE_LIMIT and decimal_places(rate) <= 12):
                reader.fail("exchange_rate", "Must be a number > 0 with at most 12 decimal places.")
            day = reader.day("date")
            description = reader.string(
                "description", required=True, blank=False, max_length=TEXT_MAX_LENGTH
            )
            notes = reader.string("notes", trim=False)
            tags = reader.names("tags")
            reader.boolean("has_receipt", default=False)
            extra: dict[str, str] = {}
            if kind == Kind.EXPENSE:
                extra["payment_method"] = reader.choice(
                    "payment_method", PaymentMethod.values, default=PaymentMethod.OTHER
                )
                extra["merchant"] = reader.string("merchant", max_length=TEXT_MAX_LENGTH)
            else:
                extra["source"] = reader.string("source", max_length=TEXT_MAX_LENGTH)
            category = self._ref(
                reader.data.get("category"), (*path, "category"), kind=kind, nullable=True
            )
            if reader.data.get("category") is not None and category is None:
                reader.ok = False
            if reader.ok and amount is not None and day is not None:
                items.append(
                    TransactionItem(
                        index,
                        amount,
                        currency,
                        base_amount,
                        rate,
                        day,
                        description,
                        category,
                        notes,
                        tags,
                        extra,
                    )
                )
        return items

    # budgets and goals (amounts in the backup's base currency)

    def _budgets(self, base_currency: str) -> list[BudgetItem]:
        items: list[BudgetItem] = []
        seen: dict[tuple[date, str, CategoryRef | None], int] = {}
        keys = frozenset({"month", "scope", "category", "amount", "rollover", "warn_threshold"})
        for index, data in enumerate(_list(self.errors, self.document, "budgets")):
            path = ("budgets", index)
            reader = _Reader(self.errors, path, data, keys)
            month = reader.month("month")
            scope = reader.choice("scope", Scope.values)
            amount = reader.money("amount", base_currency)
            rollover = reader.boolean("rollover", default=False)
            threshold = reader.decimal("warn_threshold", required=False)
            if threshold is None:
                threshold = DEFAULT_WARN_THRESHOLD
            elif not 0 < threshold <= 1 or decimal_places(threshold) > 3:
                reader.fail("warn_threshold", "Must be a fraction in (0, 1], at most 3 decimals.")
            raw = reader.data.get("category")
            category = self._ref(raw, (*path, "category"), kind=Kind.EXPENSE, nullable=True)
            if raw is not None and category is None:
                reader.ok = False
            if scope == Scope.CATEGORY and raw is None and isinstance(data, dict):
                reader.fail("category", "Required when scope is 'category'.")
            if scope == Scope.OVERALL and raw is not None:
                reader.fail("category", "Must be null when scope is 'overall'.")
            if not reader.ok or month is None or amount is None:
                continue
            first = seen.setdefault((month, scope, category), index)
            if first != index:
                reader.fail_here(f"Budget {first} has the same month, scope and category.")
                continue
            items.append(BudgetItem(index, month, scope, category, amount, rollover, threshold))
        return items

    def _goals(self, base_currency: str) -> list[GoalItem]:
        items: list[GoalItem] = []
        keys = frozenset(
            {"name", "target_amount", "target_date", "notes", "status", "contributions"}
        )
        for index, data in enumerate(_list(self.errors, self.document, "goals")):
            path = ("goals", index)
            reader = _Reader(self.errors, path, data, keys)
            name = reader.string(
                "name", required=True, blank=False, max_length=GOAL_NAME_MAX_LENGTH
            )
            target = reader.money("target_amount", base_currency)
            target_date = reader.day("target_date", required=False)
            notes = reader.string("notes", trim=False)
            status = reader.choice("status", GoalStatus.values, default=GoalStatus.ACTIVE)
            contributions = self._contributions(reader, path, base_currency)
            if reader.ok and sum((c.amount for c in contributions), Decimal(0)) < 0:
                reader.fail(
                    "contributions", "Withdrawals exceed deposits: the saved amount would be < 0."
                )
            if reader.ok and target is not None:
                items.append(
                    GoalItem(index, name, target, target_date, notes, status, contributions)
                )
        return items

    def _contributions(
        self, goal: _Reader, path: tuple[str | int, ...], base_currency: str
    ) -> list[ContributionItem]:
        raw = goal.data.get("contributions", [])
        if not isinstance(raw, list):
            goal.fail("contributions", "Must be a list.")
            return []
        items: list[ContributionItem] = []
        for index, data in enumerate(raw):
            reader = _Reader(
                self.errors,
                (*path, "contributions", index),
                data,
                frozenset({"amount", "date", "note"}),
            )
            amount = reader.decimal("amount")
            if amount is not None:
                if amount == 0:
                    reader.fail("amount", "Amount must not be 0.")
                else:
                    for message in amount_errors(abs(amount), base_currency):
                        if message.startswith("Amount must be at most"):
                            message = f"Amount must be between -{MAX_AMOUNT} and {MAX_AMOUNT}."
                        reader.fail("amount", message)
            day = reader.day("date")
            note = reader.string("note", max_length=TEXT_MAX_LENGTH)
            if not reader.ok:
                goal.ok = False
            elif amount is not None and day is not None:
                items.append(ContributionItem(amount, day, note))
        return items

    # notification preferences

    def _preferences(self) -> dict[str, dict[str, bool]] | None:
        if "notification_preferences" not in self.document:
            return None
        reader = _Reader(
            self.errors,
            ("notification_preferences",),
            self.document["notification_preferences"],
            frozenset(NotificationKind.values),
        )
        preferences: dict[str, dict[str, bool]] = {}
        for kind in NotificationKind.values:
            if kind not in reader.data:
                continue
            flags = _Reader(
                self.errors,
                ("notification_preferences", kind),
                reader.data[kind],
                frozenset(PREFERENCE_FLAGS),
            )
            values = {
                flag: flags.boolean(flag, default=False)
                for flag in PREFERENCE_FLAGS
                if flag in flags.data
            }
            preferences[kind] = values
        return preferences


def parse_backup(document: Any) -> Backup:
    """Check a whole backup document; raises BackupInvalid listing every problem.

    Format and version are checked first: a document of an unknown format or version
    is not read any further; then every string must be storable text (NUL and unpaired
    surrogates are refused under their paths) before any value is read.
    """
    errors = Errors()
    if not isinstance(document, dict):
        errors.add((), "A backup is a JSON object; this is not one.")
        errors.raise_if_any()
    if document.get("format") != FORMAT:
        errors.add(("format",), f"Not a Budget Tracker backup: expected format '{FORMAT}'.")
    version = document.get("version")
    if isinstance(version, bool) or not isinstance(version, int):
        errors.add(("version",), "Must be an integer.")
    elif version not in SUPPORTED_VERSIONS:
        supported = ", ".join(str(v) for v in sorted(SUPPORTED_VERSIONS))
        errors.add(
            ("version",),
            f"Unsupported backup version {version}; this server reads version {supported}.",
        )
    errors.raise_if_any()
    # Alone, before the rest: later messages may quote the document's text, and an
    # unstorable character in a message or path could not even be sent back as JSON.
    _check_storable_text(document, errors)
    errors.raise_if_any()
    for key in document:
        if key not in TOP_LEVEL_KEYS:
            errors.add((str(key),), "Unknown section.")
    if "exported_at" in document and not isinstance(document["exported_at"], str | None):
        errors.add(("exported_at",), "Must be a string (ISO 8601 timestamp).")
    return _Parser(document, errors).parse()


def _check_storable_text(document: Any, errors: Errors) -> None:
    """Every string of the document — values and keys, at any depth — must be storable
    text; each one that is not is reported under its path (a key under its parent).

    Iterative, so depth costs no recursion (the JSON parser bounds it anyway)."""
    stack: list[tuple[tuple[str | int, ...], Any]] = [((), document)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            if UNSTORABLE_TEXT.search(value):
                errors.add(path, UNSTORABLE_MESSAGE)
        elif isinstance(value, dict):
            for key, child in value.items():
                if isinstance(key, str) and UNSTORABLE_TEXT.search(key):
                    errors.add(path, f"A field name. {UNSTORABLE_MESSAGE}")
                    continue
                stack.append(((*path, key), child))
        elif isinstance(value, list):
            stack.extend(((*path, index), child) for index, child in enumerate(value))
