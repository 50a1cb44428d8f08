"""The backup document (version 1): its sections, each declared once, and reading one.

`DOCUMENT` lists the sections in document order; each is one `Section` (fields.py)
from which the export writes its records (selectors.py), a restore reads and checks
them, and the OpenAPI schema describes them (serializers.py). Limits come from the
owning apps' models and constants.

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
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError

from budgets.models import Budget, Scope
from categories.models import Category, Kind, Rule, RuleOperator, Tag
from categories.serializers import COLOR_PATTERN, RuleSerializer
from categories.services import rule_validate_pattern
from core.exceptions import ApplicationError
from expenses.models import Expense, ExpenseShare
from goals.models import Contribution, Goal
from income.models import Income
from notifications.models import NotificationKind
from notifications.services import PREFERENCE_FLAGS
from splits.models import Settlement
from users.models import User
from users.validators import validate_timezone

from .fields import (
    Amount,
    Choice,
    Currency,
    Day,
    Field,
    Figure,
    Flag,
    Integer,
    Month,
    Names,
    Nested,
    Path,
    Reader,
    Ref,
    Row,
    Rows,
    Section,
    SignedAmount,
    Text,
    Username,
    choices_of,
    default_of,
    digits_of,
    max_length,
    value_range,
)
from .recurring import RECURRING

FORMAT = "budget-tracker-backup"
VERSION = 1
SUPPORTED_VERSIONS = frozenset({VERSION})
NON_FIELD = "non_field_errors"
# Enough to fix a broken file; a million bad rows do not make a megabyte of errors.
MAX_ERRORS = 200
# A category's key is the document's own (`c1`, `c2`…), not stored anywhere.
KEY_MAX_LENGTH = 64
# Characters PostgreSQL text cannot hold: NUL, and (in UTF-8) unpaired surrogates.
UNSTORABLE_TEXT = re.compile("[\x00\ud800-\udfff]")
UNSTORABLE_MESSAGE = "Contains a character that cannot be stored (NUL or an unpaired surrogate)."


class BackupInvalid(ApplicationError):
    """The document cannot be restored; `errors` is a DRF-style error tree, answered as
    a 400 in the validation shape (SPEC §3)."""

    def __init__(self, errors: dict[str, Any]) -> None:
        super().__init__("The backup document is invalid.", code="invalid")
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


# --- the sections -----------------------------------------------------------------------
# Rules that span fields or records are each section's `check` (and `finish`), below it.

USER = Section(
    "user",
    [
        Currency(
            "base_currency",
            help_text="ISO 4217 code; budgets, goals and base amounts of the backup are in it.",
        ),
        Text(
            "timezone",
            blank=False,
            max_length=max_length(User, "timezone"),
            validators=(validate_timezone,),
        ),
        Integer(
            "month_start_day",
            low=value_range(User, "month_start_day")[0],
            high=value_range(User, "month_start_day")[1],
        ),
        Text("first_name", max_length=max_length(User, "first_name")),
        Text("last_name", max_length=max_length(User, "last_name")),
    ],
    component="BackupUserSettings",
    many=False,
    partial=True,
    required=True,
)


def _check_category(reader: Reader, index: int, values: dict[str, Any], ctx: Any) -> None:
    key, name, kind = values["key"], values["name"], values["kind"]
    if key and key in ctx.category_kinds:
        reader.fail("key", f"The key '{key}' is used by another category.")
    if name and kind:
        other = ctx.seen("categories").setdefault((kind, name.casefold()), index)
        if other != index:
            reader.fail("name", f"Category {other} already has this name and kind.")
    if reader.ok:
        ctx.category_kinds[key] = kind


def _finish_categories(read: list[tuple[Reader, Row]], ctx: Any) -> None:
    """Parents are resolved once every key is known; nesting is one level deep."""
    parents = {row["key"]: row["parent"] for _, row in read}
    nesting = "The parent must be a top-level category (one level of nesting)."
    for _, row in read:
        parent, path = row["parent"], ("categories", row.index, "parent")
        if isinstance(parent, OwnRef):
            if parent.key == row["key"]:
                ctx.errors.add(path, "A category cannot be its own parent.")
            elif parents.get(parent.key) is not None:
                ctx.errors.add(path, nesting)
        elif isinstance(parent, SystemRef) and parent.category.parent_id is not None:
            ctx.errors.add(path, nesting)


CATEGORIES = Section(
    "categories",
    [
        Text(
            "key",
            computed=True,
            stored=False,
            required=True,
            blank=False,
            trim=False,
            max_length=KEY_MAX_LENGTH,
            help_text="Local key (`c1`, `c2`…) other sections use to refer to this category.",
        ),
        Text("name", required=True, blank=False, max_length=max_length(Category, "name")),
        Choice("kind", choices=choices_of(Category, "kind")),
        Ref("parent", column="parent_id", kind_field="kind", deferred=True),
        Text("icon", max_length=max_length(Category, "icon")),
        Text("color", pattern=COLOR_PATTERN, pattern_message="Use the form #RRGGBB."),
    ],
    component="BackupCategory",
    check=_check_category,
    finish=_finish_categories,
)

TAGS = Section(
    "tags",
    [Text("name", required=True, blank=False, max_length=max_length(Tag, "name"))],
    component="BackupTag",
)


def _check_rule(reader: Reader, index: int, values: dict[str, Any], ctx: Any) -> None:
    value, operator = values["value"], values["operator"]
    if value and operator:
        try:
            rule_validate_pattern(value, operator)
        except DjangoValidationError as exc:
            for message in exc.message_dict.get("value", exc.messages):
                reader.fail("value", message)


_PRIORITY = RuleSerializer._declared_fields["priority"]

RULES = Section(
    "rules",
    [
        Text("name", required=True, blank=False, max_length=max_length(Rule, "name")),
        Choice("field", choices=choices_of(Rule, "field"), default=default_of(Rule, "field")),
        Choice(
            "operator",
            choices=choices_of(Rule, "operator"),
            default=default_of(Rule, "operator"),
        ),
        Text(
            "value",
            required=True,
            blank=False,
            # A regular expression is kept exactly; other values are trimmed.
            trim=lambda values: values.get("operator") != RuleOperator.REGEX,
            max_length=max_length(Rule, "value"),
        ),
        Flag("case_sensitive", default=default_of(Rule, "case_sensitive")),
        Ref("category", column="category_id", required=True, nullable=False),
        Names("add_tags", help_text="Tag names (created when missing)."),
        Integer(
            "priority",
            low=_PRIORITY.min_value,
            high=_PRIORITY.max_value,
            default=default_of(Rule, "priority"),
        ),
        Flag("active", default=default_of(Rule, "active")),
    ],
    component="BackupRule",
    check=_check_rule,
)


USERNAME_MAX_LENGTH = max_length(User, "username")


def _check_split(reader: Reader, index: int, values: dict[str, Any], ctx: Any) -> None:
    seen: dict[str, int] = {}
    for part in values.get("parts") or []:
        user = part["user"]
        if user is None:
            continue
        first = seen.setdefault(user, part.index)
        if first != part.index:
            reader.fail("parts", f"Part {part.index} names '{user}' again (part {first}).")


_VALUE_LIMIT, _VALUE_PLACES = digits_of(ExpenseShare, "value")
_SHARE_LIMIT, _SHARE_PLACES = digits_of(ExpenseShare, "amount")

SPLIT_PARTS = Section(
    "parts",
    [
        Username(
            "user",
            column="user__username",
            required=True,
            max_length=USERNAME_MAX_LENGTH,
            help_text="A member's username; null for a part whose account is gone.",
        ),
        Figure(
            "value",
            limit=_VALUE_LIMIT,
            places=_VALUE_PLACES,
            zero_allowed=True,
            normalize=True,
            message=f"Must be a number ≥ 0 with at most {_VALUE_PLACES} decimal places.",
            help_text="What was asked: a weight (`shares`), an amount in the expense's "
            "currency (`exact`), a percent (`percent`); 1 (or absent) for `equal`.",
        ),
        Figure(
            "amount",
            stored=False,
            limit=_SHARE_LIMIT,
            places=_SHARE_PLACES,
            zero_allowed=True,
            normalize=True,
            message=f"Must be a number ≥ 0 with at most {_SHARE_PLACES} decimal places.",
            help_text="In the expense's currency. Informative: a restore computes the parts "
            "from `mode` and the values (the odd cents by the split rule).",
        ),
    ],
    component="BackupSplitPart",
)

SPLIT = Section(
    "split",
    [
        Choice("mode", choices=choices_of(Expense, "split_mode")),
        Rows("parts", section=SPLIT_PARTS),
    ],
    component="BackupSplit",
    many=False,
    check=_check_split,
    help_text="How a shared book's expense is split among members (SPEC §15).",
)


def _transaction_fields(model: type[Expense] | type[Income], kind: str) -> list[Field]:
    """The fields of expenses and income, `own` ones (the model's) in the middle."""
    limit, places = digits_of(model, "base_amount")
    rate_limit, rate_places = digits_of(model, "exchange_rate")
    own: list[Field]
    if model is Expense:
        own = [
            Choice(
                "payment_method",
                choices=choices_of(Expense, "payment_method"),
                default=default_of(Expense, "payment_method"),
            ),
            Text("merchant", max_length=max_length(Expense, "merchant")),
            Username(
                "paid_by",
                column="paid_by__username",
                max_length=USERNAME_MAX_LENGTH,
                help_text="Shared books: the member who paid (username); null in personal "
                "books, or when the payer's account is gone.",
            ),
            Nested(
                "split",
                section=SPLIT,
                nullable=True,
                computed=True,
                help_text="Shared books: how the expense splits among members; null in "
                "personal books.",
            ),
        ]
    else:
        own = [Text("source", max_length=max_length(Income, "source"))]
    return [
        Amount("amount", currency="currency"),
        Currency("currency"),
        Figure(
            "base_amount",
            stored=False,
            limit=limit,
            places=places,
            zero_allowed=True,
            base=True,
            message=f"Must be a number ≥ 0 with at most {places} decimal places.",
            help_text="In the backup's base currency. Informative: a restore recomputes it "
            "from this server's exchange rates (400 naming the pair, date and record when "
            "one is missing).",
        ),
        Figure(
            "exchange_rate",
            stored=False,
            limit=rate_limit,
            places=rate_places,
            normalize=True,
            message=f"Must be a number > 0 with at most {rate_places} decimal places.",
            help_text="Informative, like `base_amount`; recomputed on restore.",
        ),
        Day("date"),
        Text(
            "description",
            required=True,
            blank=False,
            max_length=max_length(model, "description"),
        ),
        Ref("category", column="category_id", kind=kind),
        *own,
        Text("notes", trim=False),
        Names("tags", help_text="Tag names."),
        Flag(
            "has_receipt",
            column="receipt",
            stored=False,
            help_text="Whether a receipt file was attached. Receipt files are not part of a "
            "backup and are not restored.",
        ),
    ]


EXPENSES = Section(
    "expenses", _transaction_fields(Expense, Kind.EXPENSE), component="BackupExpense"
)
INCOMES = Section("incomes", _transaction_fields(Income, Kind.INCOME), component="BackupIncome")


def _check_budget(reader: Reader, index: int, values: dict[str, Any], ctx: Any) -> None:
    scope, raw = values["scope"], reader.data.get("category")
    if scope == Scope.CATEGORY and raw is None and reader.is_object:
        reader.fail("category", "Required when scope is 'category'.")
    if scope == Scope.OVERALL and raw is not None:
        reader.fail("category", "Must be null when scope is 'overall'.")
    if not reader.ok:
        return
    key = (values["month"], scope, values["category"])
    first = ctx.seen("budgets").setdefault(key, index)
    if first != index:
        reader.fail_here(f"Budget {first} has the same month, scope and category.")


_THRESHOLD_LIMIT, _THRESHOLD_PLACES = digits_of(Budget, "warn_threshold")

BUDGETS = Section(
    "budgets",
    [
        Month("month"),
        Choice("scope", choices=choices_of(Budget, "scope")),
        Ref("category", column="category_id", kind=Kind.EXPENSE),
        # In the backup's base currency: a restore converts it into the account's.
        Amount("amount", stored=False, help_text="In the backup's base currency."),
        Flag("rollover", default=default_of(Budget, "rollover")),
        Figure(
            "warn_threshold",
            limit=_THRESHOLD_LIMIT,
            places=_THRESHOLD_PLACES,
            upper=Decimal(1),  # a fraction (budgets_warn_threshold_range)
            default=default_of(Budget, "warn_threshold"),
            message=f"Must be a fraction in (0, 1], at most {_THRESHOLD_PLACES} decimals.",
            help_text="Fraction in (0, 1].",
        ),
    ],
    component="BackupBudget",
    check=_check_budget,
)

CONTRIBUTIONS = Section(
    "contributions",
    [
        # In the backup's base currency: a restore converts it into the account's.
        SignedAmount("amount", stored=False, help_text="Base currency; negative for a withdrawal."),
        Day("date"),
        Text("note", max_length=max_length(Contribution, "note")),
    ],
    component="BackupContribution",
)


def _check_goal(reader: Reader, index: int, values: dict[str, Any], ctx: Any) -> None:
    if reader.ok and sum((c["amount"] for c in values["contributions"]), Decimal(0)) < 0:
        reader.fail("contributions", "Withdrawals exceed deposits: the saved amount would be < 0.")


GOALS = Section(
    "goals",
    [
        Text("name", required=True, blank=False, max_length=max_length(Goal, "name")),
        Amount("target_amount", stored=False, help_text="In the backup's base currency."),
        Day("target_date", required=False),
        Text("notes", trim=False),
        Choice(
            "status",
            choices=choices_of(Goal, "status"),
            default=default_of(Goal, "status"),
            stored=False,
            help_text="On restore only `archived` is kept; otherwise the contributions decide.",
        ),
        Rows("contributions", section=CONTRIBUTIONS),
    ],
    component="BackupGoal",
    check=_check_goal,
)


def _check_settlement(reader: Reader, index: int, values: dict[str, Any], ctx: Any) -> None:
    if values.get("from") is not None and values.get("from") == values.get("to"):
        reader.fail("to", "A settlement is a payment between two different members.")


_SETTLEMENT_BASE_LIMIT, _SETTLEMENT_BASE_PLACES = digits_of(Settlement, "base_amount")
_SETTLEMENT_RATE_LIMIT, _SETTLEMENT_RATE_PLACES = digits_of(Settlement, "exchange_rate")

SETTLEMENTS = Section(
    "settlements",
    [
        Username(
            "from",
            column="from_user__username",
            required=True,
            max_length=USERNAME_MAX_LENGTH,
            help_text="The member who paid (username); null when their account is gone.",
        ),
        Username(
            "to",
            column="to_user__username",
            required=True,
            max_length=USERNAME_MAX_LENGTH,
            help_text="The member who was paid (username); null when their account is gone.",
        ),
        Amount("amount", currency="currency"),
        Currency("currency"),
        Figure(
            "base_amount",
            stored=False,
            limit=_SETTLEMENT_BASE_LIMIT,
            places=_SETTLEMENT_BASE_PLACES,
            zero_allowed=True,
            base=True,
            message=f"Must be a number ≥ 0 with at most {_SETTLEMENT_BASE_PLACES} decimal places.",
            help_text="In the backup's base currency. Informative: recomputed on restore.",
        ),
        Figure(
            "exchange_rate",
            stored=False,
            limit=_SETTLEMENT_RATE_LIMIT,
            places=_SETTLEMENT_RATE_PLACES,
            normalize=True,
            message=f"Must be a number > 0 with at most {_SETTLEMENT_RATE_PLACES} decimal places.",
            help_text="Informative, like `base_amount`; recomputed on restore.",
        ),
        Day("date"),
        Text("note", max_length=max_length(Settlement, "note")),
    ],
    component="BackupSettlement",
    check=_check_settlement,
    help_text="Payments between members of a shared book (SPEC §15); not spending.",
)

NOTIFICATION_CHANNELS = Section(
    "channels",
    [Flag(flag) for flag in PREFERENCE_FLAGS],
    component="BackupNotificationChannels",
    many=False,
    partial=True,
)
NOTIFICATION_PREFERENCES = Section(
    "notification_preferences",
    [Nested(kind, section=NOTIFICATION_CHANNELS) for kind in NotificationKind.values],
    component="BackupNotificationPreferences",
    many=False,
    partial=True,
    help_text="Every notification kind's channels; a restore in replace mode applies them.",
)

DOCUMENT: tuple[Section, ...] = (
    USER,
    CATEGORIES,
    TAGS,
    RULES,
    EXPENSES,
    INCOMES,
    BUDGETS,
    GOALS,
    NOTIFICATION_PREFERENCES,
    RECURRING,
    SETTLEMENTS,
)
SECTIONS = tuple(section.name for section in DOCUMENT)
TOP_LEVEL_KEYS = frozenset({"format", "version", "exported_at", *SECTIONS})


@dataclass
class Backup:
    """A whole document, checked: the rows of each list section and the values of each
    object section, by section name. Amounts of budgets and goals (and stored base
    amounts) are in `base_currency`, the exporting account's base currency."""

    sections: dict[str, list[Row]] = field(default_factory=dict)
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)

    def rows(self, section: Section) -> list[Row]:
        return self.sections.get(section.name, [])

    @property
    def settings(self) -> dict[str, Any]:
        """The user settings the document has (only those)."""
        return self.objects.get(USER.name, {})

    @property
    def base_currency(self) -> str:
        return self.settings.get("base_currency", "")

    @property
    def notification_preferences(self) -> dict[str, dict[str, bool]] | None:
        """None when the document has none (then the account's stay as they are)."""
        return self.objects.get(NOTIFICATION_PREFERENCES.name)


# --- error collection ---------------------------------------------------------------


class Errors:
    """Messages collected under paths; at most MAX_ERRORS are kept."""

    def __init__(self) -> None:
        self.tree: dict[str, Any] = {}
        self.count = 0

    def add(self, path: Path, message: str) -> None:
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


# --- the parser ---------------------------------------------------------------------


class _Parser:
    """Reads the sections in document order (the ReadContext of fields.py)."""

    def __init__(self, document: dict[str, Any], errors: Errors) -> None:
        self.document = document
        self.errors = errors
        self.base_currency = ""
        # (kind, casefolded name) → system category of this server
        self.system = {
            (category.kind, category.name.casefold()): category
            for category in Category.objects.filter(book__isnull=True)
        }
        self.category_kinds: dict[str, str] = {}  # local key → kind
        self._seen: dict[str, dict[Any, int]] = {}

    def seen(self, section: str) -> dict[Any, int]:
        """Per section, what its records have used so far (for duplicates)."""
        return self._seen.setdefault(section, {})

    def parse(self) -> Backup:
        backup = Backup()
        for section in DOCUMENT:
            if section.many:
                raw = self.document.get(section.name, [])
                backup.sections[section.name] = section.read_all(raw, self)
            elif section.name in self.document:
                backup.objects[section.name] = section.read_object(
                    self.document[section.name], self
                )
                # Budgets and goals, read after the user's settings, are in this currency.
                self.base_currency = backup.base_currency
            elif section.required:
                self.errors.add((section.name,), "This field is required.")
        self.errors.raise_if_any()
        return backup

    def ref(self, raw: Any, path: Path, *, kind: str | None, nullable: bool) -> CategoryRef | None:
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
    stack: list[tuple[Path, Any]] = [((), document)]
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
