"""Writes and matching rules for categories, tags and auto-categorisation rules (SPEC §5).

Views and other apps call these functions; they never write these models directly.
Custom categories, tags and rules belong to one book (SPEC §14): every function takes
the `book` it works in; `user` only names the member who creates something.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import regex
from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import IntegrityError, models, transaction
from django.db.models import Q, Value
from django.db.models.functions import Lower
from django.utils import timezone

from books.models import Book
from core.exceptions import ConflictError
from core.locks import UserLock, user_lock

from .models import (
    Category,
    Rule,
    RuleApplication,
    RuleApplicationStatus,
    RuleField,
    RuleOperator,
    Tag,
)
from .patterns import PatternTooCostly, pattern_compile

logger = logging.getLogger(__name__)

NAME_MAX_LENGTH = 64
REGEX_MAX_LENGTH = 200
# Wall-clock bound of one regex search; a pattern that needs longer counts as no match.
REGEX_TIMEOUT_SECONDS = 0.05
# Search time one regex rule may use within one matcher (one request or one apply run);
# past it the rule is skipped for the rest of that run, so a slow pattern over many
# records cannot hold a worker for minutes.
REGEX_RUN_BUDGET_SECONDS = 1.0


CATEGORY_FIELDS = ("name", "kind", "parent", "icon", "color")
RULE_FIELDS = (
    "name",
    "field",
    "operator",
    "value",
    "case_sensitive",
    "category",
    "priority",
    "active",
)


def _book_or_personal(book: Book | None, user: Any) -> Book:
    """`book`, or the personal book of `user` for a caller that does not name a book yet
    (the top-level paths mean the personal book, SPEC §14)."""
    if book is not None:
        return book
    if user is None:
        raise ValueError("Name the book (or the user whose personal book is meant).")
    return Book.objects.get(personal_owner_id=user.pk)


# --- categories ---------------------------------------------------------------------


def _name_taken_error() -> ValidationError:
    return ValidationError({"name": ["A category with this name and kind already exists."]})


def category_create(
    *,
    user: Any,
    data: Mapping[str, Any],
    as_system: bool = False,
    book: Book | None = None,
) -> Category:
    """Create a category in `book` (created by `user`; `book` defaults to their personal
    book), or a system category (no book, no creator) if `as_system`.

    `data` has already been validated (serializer). The database's unique constraints
    decide under concurrency: a duplicate name raises `ValidationError` on `name`.
    """
    if as_system:
        category = Category(book=None, user=None)
    else:
        category = Category(book=_book_or_personal(book, user), user=user)
    return _category_save(category, data, CATEGORY_FIELDS)


def category_update(*, category: Category, data: Mapping[str, Any]) -> Category:
    """Change name, parent, icon or color; the book and the kind never change here.

    Raises `ValidationError` on `name` when the new name collides (also under concurrency).
    """
    return _category_save(category, data, ("name", "parent", "icon", "color"))


def _category_save(category: Category, data: Mapping[str, Any], fields: Iterable[str]) -> Category:
    """Copy `fields` from `data` and save; a name collision at the database → ValidationError."""
    for field in fields:
        if field in data:
            setattr(category, field, data[field])
    try:
        with transaction.atomic():
            category.save()
    except IntegrityError:
        raise _name_taken_error() from None
    return category


# How the rows of each model that protects its category move to another category,
# registered by the app owning the model (expenses, income, budgets, recurring items)
# from `AppConfig.ready()`: those apps sit above categories, which must not name them
# nor write their rows (the pattern of `register_rule_target`).
_category_reassigners: dict[type[models.Model], Callable[..., int]] = {}


def register_category_reassign(model: type[models.Model], *, reassign: Callable[..., int]) -> None:
    """Declare the service that moves `model`'s rows between categories:
    `reassign(book=, from_category=, to_category=)` → rows moved, where `book` is the
    category's book (None for a system category: rows of every book move)."""
    _category_reassigners[model] = reassign


def protected_relations() -> list[models.ForeignObjectRel]:
    """Every foreign key to Category that forbids deleting a category in use.

    Discovered from the model registry, so a new app (budgets, recurring items…) that
    protects its category is covered without changes here. Hidden relations
    (`related_name="+"`) are included: expenses and income use them.
    """
    return [
        field
        for field in Category._meta.get_fields(include_hidden=True)
        if isinstance(field, models.ForeignObjectRel)
        and field.one_to_many
        and field.on_delete in (models.PROTECT, models.RESTRICT)
    ]


def category_usage(*, category: Category) -> dict[str, int]:
    """How many records of each protecting model point at `category` (non-zero only)."""
    usage: dict[str, int] = {}
    for relation in protected_relations():
        model = relation.related_model
        count = model._base_manager.filter(**{relation.field.name: category}).count()
        if count:
            label = str(model._meta.verbose_name if count == 1 else model._meta.verbose_name_plural)
            usage[label] = usage.get(label, 0) + count
    return usage


def _check_reassign_target(category: Category, reassign_to: Category) -> None:
    if reassign_to.pk == category.pk:
        raise ValidationError({"reassign_to": ["Cannot reassign a category to itself."]})
    if reassign_to.kind != category.kind:
        raise ValidationError(
            {"reassign_to": [f"Must be a category of the same kind ({category.kind})."]}
        )
    if category.book_id is None and reassign_to.book_id is not None:
        # A system category's records belong to many books; they may only move to
        # another category every one of those books can see.
        raise ValidationError(
            {"reassign_to": ["Records of a system category can only move to a system category."]}
        )
    if category.book_id is not None and reassign_to.book_id not in (None, category.book_id):
        raise ValidationError({"reassign_to": ["No such category."]})


def category_delete(*, category: Category, reassign_to: Category | None = None) -> None:
    """Delete `category`; its subcategories become top-level.

    Without `reassign_to`, raises `ConflictError` (409, code `category_in_use`) when any
    record protecting its category (expenses, income, budgets…) uses it. With
    `reassign_to` (same kind, not itself; a system category for a system one), those
    records — through their own apps' services (`register_category_reassign`) — and the
    rules pointing at it move there first, all in one transaction.
    If moving them breaks a constraint (e.g. a budget already exists for the target),
    raises `ConflictError` and nothing changes. Raises `ValidationError` on
    `reassign_to` for an unsuitable target.
    """
    if reassign_to is not None:
        _check_reassign_target(category, reassign_to)
        try:
            with transaction.atomic():
                for model in dict.fromkeys(rel.related_model for rel in protected_relations()):
                    reassign = _category_reassigners.get(model)
                    if reassign is None:
                        raise ImproperlyConfigured(
                            f"{model._meta.label} protects its category but registered no "
                            "service to move its rows (register_category_reassign)."
                        )
                    reassign(book=category.book, from_category=category, to_category=reassign_to)
                Rule.objects.filter(category=category).update(category=reassign_to)
                category.delete()
        except (IntegrityError, models.ProtectedError):
            raise ConflictError(
                f"Records of '{category.name}' cannot be moved to '{reassign_to.name}': "
                "they would conflict with records already there.",
                code="reassign_conflict",
            ) from None
        return

    usage = category_usage(category=category)
    if not usage:
        try:
            with transaction.atomic():
                category.delete()
            return
        except (IntegrityError, models.ProtectedError):
            # A record started using it between the count and the delete.
            usage = category_usage(category=category)
    uses = ", ".join(f"{count} {label}" for label, count in usage.items()) or "records"
    raise ConflictError(
        f"Category '{category.name}' is used by {uses}. "
        "Pass ?reassign_to=<id> to move them to another category first.",
        code="category_in_use",
    )


# --- tags ---------------------------------------------------------------------------


_TAG_ERRORS_MAX = 10
TAG_NAME_TAKEN = "This book already has a tag with this name."


def _too_many_tags_message(limit: int) -> str:
    return f"At most {limit} tags per record."


def tag_names_clean(names: Iterable[str], *, max_count: int | None = None) -> list[str]:
    """Trimmed names, de-duplicated case-insensitively (first spelling wins), in order.

    At most `max_count` distinct names (default: TAGS_MAX_PER_RECORD; `None` for the
    default, a number to override). Raises `ValidationError` (a list of messages) for
    an empty name, one longer than 64 characters or too many names; callers attach it
    to their own field. At most `_TAG_ERRORS_MAX` distinct problems are reported, so a
    list of thousands of bad names gets a short answer.
    """
    limit = settings.TAGS_MAX_PER_RECORD if max_count is None else max_count
    cleaned: list[str] = []
    seen: set[str] = set()
    errors: list[str] = []
    for raw in names:
        name = str(raw).strip() if raw is not None else ""
        if not name or len(name) > NAME_MAX_LENGTH:
            message = (
                f"Tag name '{name[:20]}…' is longer than {NAME_MAX_LENGTH} characters."
                if name
                else "Tag names cannot be empty."
            )
            if message not in errors:
                errors.append(message)
            if len(errors) >= _TAG_ERRORS_MAX:
                break
            continue
        key = name.casefold()
        if key not in seen:
            if len(cleaned) >= limit:
                raise ValidationError([_too_many_tags_message(limit)])
            seen.add(key)
            cleaned.append(name)
    if errors:
        raise ValidationError(errors)
    return cleaned


def _tag_lookup(book: Book, name: str) -> Tag | None:
    # Lower() on both sides: exactly the semantics of the unique constraint.
    return (
        Tag.objects.annotate(lower_name=Lower("name"))
        .filter(book=book, lower_name=Lower(Value(name)))
        .first()
    )


def _tags_existing(book: Book, names: list[str]) -> dict[str, Tag]:
    """The book's existing tags for `names`, keyed by casefolded name (one query)."""
    condition = Q()
    for name in names:
        condition |= Q(lower_name=Lower(Value(name)))
    tags = Tag.objects.annotate(lower_name=Lower("name")).filter(condition, book=book)
    return {tag.name.casefold(): tag for tag in tags}


def _check_tag_room(book: Book, new: int) -> None:
    """Raise `ValidationError` on `tags` unless `new` more tags fit in the book under
    TAGS_MAX_PER_USER (the cap of one book's tags)."""
    limit = settings.TAGS_MAX_PER_USER
    have = Tag.objects.filter(book=book).count()
    if have + new > limit:
        raise ValidationError(
            {
                "tags": [
                    f"A book can have at most {limit} tags (this one has {have}); "
                    "reuse or delete tags before adding new ones."
                ]
            }
        )


def tags_resolve(
    *,
    user: Any,
    names: Iterable[str],
    max_count: int | None = None,
    book: Book | None = None,
) -> list[Tag]:
    """The book's tags for `names`, creating (as `user`'s) those that do not exist yet.

    `book` defaults to `user`'s personal book. Names are trimmed and matched
    case-insensitively, so an existing "Coffee" is reused for "coffee"; the result
    follows the input order without duplicates. Safe when another request creates the
    same tag concurrently. Raises `ValidationError` on `tags` for an empty name, one
    longer than 64 characters, more than `max_count` names (default
    TAGS_MAX_PER_RECORD: the tags of one record) or when creating the missing ones would
    take the book past TAGS_MAX_PER_USER (nothing is created then).
    """
    try:
        cleaned = tag_names_clean(names, max_count=max_count)
    except ValidationError as exc:
        raise ValidationError({"tags": exc.messages}) from None
    if not cleaned:
        return []

    book = _book_or_personal(book, user)
    existing = _tags_existing(book, cleaned)
    missing = [name for name in cleaned if name.casefold() not in existing]
    if missing:
        with transaction.atomic():
            user_lock(UserLock.TAGS, book.pk)  # serialize the book's capped inserts
            _check_tag_room(book, len(missing))
            return _tags_create_missing(book, user, cleaned, existing)
    return [existing[name.casefold()] for name in cleaned]


def _tags_create_missing(
    book: Book, user: Any, cleaned: list[str], existing: dict[str, Tag]
) -> list[Tag]:
    tags: list[Tag] = []
    for name in cleaned:
        tag = existing.get(name.casefold())
        if tag is None:
            try:
                with transaction.atomic():
                    tag = Tag.objects.create(book=book, user=user, name=name)
            except IntegrityError:
                tag = _tag_lookup(book, name)
                if tag is None:  # pragma: no cover - the constraint said it exists
                    raise
            existing[name.casefold()] = tag
        if tag not in tags:
            tags.append(tag)
    return tags


def tag_create(*, user: Any, name: str, book: Book | None = None) -> Tag:
    """Create a tag in `book` (default: `user`'s personal book); raises `ValidationError`
    on `name` if the book already has it (any case) or already has TAGS_MAX_PER_USER tags."""
    book = _book_or_personal(book, user)
    with transaction.atomic():
        user_lock(UserLock.TAGS, book.pk)  # serialize the book's capped inserts
        try:
            _check_tag_room(book, 1)
        except ValidationError as exc:
            raise ValidationError({"name": exc.message_dict["tags"]}) from None
        try:
            with transaction.atomic():
                return Tag.objects.create(book=book, user=user, name=name)
        except IntegrityError:
            raise ValidationError({"name": [TAG_NAME_TAKEN]}) from None


def tag_update(*, tag: Tag, name: str) -> Tag:
    """Rename a tag; raises `ValidationError` on `name` if the new name is taken (any case)."""
    tag.name = name
    try:
        with transaction.atomic():
            tag.save()
    except IntegrityError:
        raise ValidationError({"name": [TAG_NAME_TAKEN]}) from None
    return tag


# --- rules --------------------------------------------------------------------------


def _regex_flags(case_sensitive: bool) -> int:
    return 0 if case_sensitive else regex.IGNORECASE | regex.FULLCASE


def rule_validate_pattern(value: str, operator: str, *, case_sensitive: bool = False) -> None:
    """For a regex rule: at most 200 characters and a pattern that compiles cheaply.

    The pattern is checked structurally before it is compiled (see `categories.patterns`:
    repeat counts, repeat nesting, expanded size), so validating never costs more than
    milliseconds and a few megabytes. Raises `ValidationError` on `value` naming the
    problem. Other operators take any text.
    """
    if operator != RuleOperator.REGEX:
        return
    if len(value) > REGEX_MAX_LENGTH:
        raise ValidationError(
            {"value": [f"A regular expression may have at most {REGEX_MAX_LENGTH} characters."]}
        )
    try:
        pattern_compile(value, _regex_flags(case_sensitive))
    except PatternTooCostly as exc:
        raise ValidationError({"value": [f"Regular expression too costly: {exc}"]}) from None
    except (regex.error, TypeError, ValueError, OverflowError, RecursionError) as exc:
        raise ValidationError({"value": [f"Invalid regular expression: {exc}"]}) from None


def _resolve_add_tags(book: Book, user: Any, names: list[str]) -> list[Tag]:
    try:
        return tags_resolve(book=book, user=user, names=names)
    except ValidationError as exc:
        raise ValidationError({"add_tags": exc.message_dict.get("tags", exc.messages)}) from None


@transaction.atomic
def rule_create(*, user: Any, data: Mapping[str, Any], book: Book | None = None) -> Rule:
    """Create a rule in `book` (default: `user`'s personal book) and its tags (unknown tag
    names are created in the book), in one transaction.

    `data` has been validated (category of the book or a system one, regex compiles).
    `add_tags` is a list of tag names. Raises `ConflictError` (409, `rule_limit_reached`)
    when the book already has RULES_MAX_PER_USER rules — also under concurrency.
    """
    rule_validate_pattern(
        data["value"],
        data.get("operator", RuleOperator.CONTAINS),
        case_sensitive=data.get("case_sensitive", False),
    )
    book = _book_or_personal(book, user)
    user_lock(UserLock.RULES, book.pk)  # serialize the book's capped inserts
    limit = settings.RULES_MAX_PER_USER
    if Rule.objects.filter(book=book).count() >= limit:
        raise ConflictError(
            f"A book can have at most {limit} rules; delete or merge some before adding more.",
            code="rule_limit_reached",
        )
    rule = Rule(
        book=book, user=user, **{field: data[field] for field in RULE_FIELDS if field in data}
    )
    rule.save()
    rule.add_tags.set(_resolve_add_tags(book, user, data.get("add_tags", [])))
    return rule


@transaction.atomic
def rule_update(*, rule: Rule, data: Mapping[str, Any], user: Any = None) -> Rule:
    """Change a rule; `add_tags`, when given, replaces its tags (names, created in the
    rule's book if new, as `user`'s — the member changing it)."""
    for field in RULE_FIELDS:
        if field in data:
            setattr(rule, field, data[field])
    rule_validate_pattern(rule.value, rule.operator, case_sensitive=rule.case_sensitive)
    rule.save()
    if "add_tags" in data:
        rule.add_tags.set(_resolve_add_tags(rule.book, user or rule.user, data["add_tags"]))
    return rule


@dataclass(frozen=True)
class _CompiledRule:
    rule: Rule
    kind: str
    fields: tuple[str, ...]
    test: Callable[[str], bool]
    tags: tuple[Tag, ...]
    tag_ids: tuple[int, ...]


def _regex_test(rule: Rule) -> Callable[[str], bool] | None:
    # Stored patterns are checked again before compiling: a rule saved before the
    # compile-cost bounds existed (or restored from elsewhere) must not exhaust memory.
    try:
        pattern = pattern_compile(rule.value, _regex_flags(rule.case_sensitive))
    except (regex.error, TypeError, ValueError, OverflowError, RecursionError):
        logger.warning("Rule %s has an invalid or too costly regular expression; skipped.", rule.pk)
        return None
    spent = 0.0

    def test(text: str) -> bool:
        nonlocal spent
        remaining = REGEX_RUN_BUDGET_SECONDS - spent
        if remaining <= 0:
            return False
        started = time.perf_counter()
        try:
            return pattern.search(text, timeout=min(REGEX_TIMEOUT_SECONDS, remaining)) is not None
        except TimeoutError:
            logger.warning(
                "Rule %s: regular expression timed out after %ss; treated as no match.",
                rule.pk,
                REGEX_TIMEOUT_SECONDS,
            )
            return False
        finally:
            spent += time.perf_counter() - started
            if spent >= REGEX_RUN_BUDGET_SECONDS:
                logger.warning(
                    "Rule %s: regular expression used its %ss budget; skipped for the rest "
                    "of this run.",
                    rule.pk,
                    REGEX_RUN_BUDGET_SECONDS,
                )

    return test


def _text_test(rule: Rule) -> Callable[[str], bool]:
    value = rule.value if rule.case_sensitive else rule.value.casefold()
    fold: Callable[[str], str] = (lambda s: s) if rule.case_sensitive else str.casefold
    if rule.operator == RuleOperator.EQUALS:
        return lambda text: fold(text.strip()) == value
    if rule.operator == RuleOperator.STARTS_WITH:
        return lambda text: fold(text.strip()).startswith(value)
    return lambda text: value in fold(text)


_FIELDS = {
    RuleField.DESCRIPTION: ("description",),
    RuleField.MERCHANT: ("merchant",),
    RuleField.ANY: ("description", "merchant"),
}


class RuleMatcher:
    """A book's active rules, loaded and compiled once, to match many records."""

    def __init__(self, rules: Iterable[Rule]) -> None:
        self._rules: list[_CompiledRule] = []
        for rule in rules:
            if rule.operator == RuleOperator.REGEX:
                test = _regex_test(rule)
                if test is None:
                    continue
            else:
                test = _text_test(rule)
            self._rules.append(
                _CompiledRule(
                    rule=rule,
                    kind=rule.category.kind,
                    fields=_FIELDS.get(rule.field, _FIELDS[RuleField.ANY]),
                    test=test,
                    tags=(tags := tuple(rule.add_tags.all())),
                    tag_ids=tuple(tag.pk for tag in tags),
                )
            )

    def __len__(self) -> int:
        return len(self._rules)

    def _first(self, kind: str, description: str, merchant: str) -> _CompiledRule | None:
        texts = {"description": description or "", "merchant": merchant or ""}
        for compiled in self._rules:
            if compiled.kind != kind:
                continue
            if any(texts[name] and compiled.test(texts[name]) for name in compiled.fields):
                return compiled
        return None

    def match_ids(
        self, *, kind: str, description: str, merchant: str = ""
    ) -> tuple[int, tuple[int, ...]] | None:
        """The matching rule's category id and tag ids, or None: for set-based runs."""
        compiled = self._first(kind, description, merchant)
        if compiled is None:
            return None
        return compiled.rule.category_id, compiled.tag_ids

    def match(
        self, *, kind: str, description: str, merchant: str = ""
    ) -> tuple[Category | None, list[Tag]]:
        """The matching rule's category and tags, or `(None, [])` when no rule matches."""
        compiled = self._first(kind, description, merchant)
        if compiled is None:
            return None, []
        return compiled.rule.category, list(compiled.tags)


def rules_for(*, book: Book | None = None, user: Any = None) -> RuleMatcher:
    """The book's active rules as a reusable matcher (two queries: rules, their tags);
    `book` defaults to `user`'s personal book.

    Only rules whose category is the book's own or a system one are kept, so a rule can
    never put a record into another book's category.
    """
    book = _book_or_personal(book, user)
    rules = (
        Rule.objects.filter(book=book, active=True)
        .filter(Q(category__book__isnull=True) | Q(category__book=book))
        .select_related("category")
        .prefetch_related("add_tags")
        .order_by("priority", "id")
    )
    return RuleMatcher(rules)


def rules_match(
    *,
    kind: str,
    description: str,
    merchant: str = "",
    book: Book | None = None,
    user: Any = None,
) -> tuple[Category | None, list[Tag]]:
    """Category and tags from the book's first matching active rule, or `(None, [])`;
    `book` defaults to `user`'s personal book.

    Rules are tried by (priority, id); only rules whose category has `kind` apply. A
    regex that runs longer than `REGEX_TIMEOUT_SECONDS` counts as no match. To match
    many records, build one matcher with `rules_for` and call its `match`.
    """
    matcher = rules_for(book=book, user=user)
    return matcher.match(kind=kind, description=description, merchant=merchant)


# --- applying rules to stored records -----------------------------------------------


@dataclass(frozen=True)
class RuleTarget:
    """A kind of stored record rules apply to, declared by the app that owns it.

    `key` names its count in the result of `rules_apply`; `model` is the record model
    (a `book` and a `category` foreign key); `apply(book=..., only_uncategorized=...)`
    runs the book's rules over the book's records of it and returns how many changed.
    """

    key: str
    model: type[models.Model]
    apply: Callable[..., int]


# Filled by the apps that own the records (expenses, income) from `AppConfig.ready()`:
# they sit above categories, which must not name them (the pattern of `core.jobs`).
_rule_targets: dict[str, RuleTarget] = {}


def register_rule_target(
    key: str, *, model: type[models.Model], apply: Callable[..., int]
) -> RuleTarget:
    """Declare a record type rules apply to. The same declaration again is harmless (an
    app's `ready()` may run twice in tests); another one under a taken key is a mistake."""
    target = RuleTarget(key=key, model=model, apply=apply)
    existing = _rule_targets.get(key)
    if existing is not None and existing != target:
        owner = existing.apply.__module__
        raise ValueError(f"rule target {key!r} is already registered by {owner}")
    _rule_targets[key] = target
    return target


def rule_targets() -> list[RuleTarget]:
    """The registered record types, in registration order (INSTALLED_APPS order)."""
    apps.check_apps_ready()
    return list(_rule_targets.values())


def rules_apply_candidates(*, book: Book, only_uncategorized: bool) -> int:
    """How many stored records a run of the book's rules looks at (one count per type)."""
    total = 0
    for target in rule_targets():
        records = target.model._base_manager.filter(book=book)
        if only_uncategorized:
            records = records.filter(category__isnull=True)
        total += records.count()
    return total


@transaction.atomic
def rules_apply(*, book: Book, only_uncategorized: bool) -> dict[str, int]:
    """Run the book's active rules over its stored expenses and income, all or nothing.

    Returns `{"changed", "expenses", "incomes"}`: records that got another category or
    new tags. With `only_uncategorized`, records that have a category keep it.
    """
    result = {"changed": 0}
    for target in rule_targets():
        result[target.key] = target.apply(book=book, only_uncategorized=only_uncategorized)
        result["changed"] += result[target.key]
    return result


def rule_application_queue(
    *,
    book: Book,
    user: Any,
    only_uncategorized: bool,
    candidates: int,
    enqueue: Callable[[int], Any],
) -> RuleApplication:
    """Record a large run of the book's rules (asked by `user`) as `queued` and hand its
    id to `enqueue` once that is committed.

    `enqueue` is the task queue's entry (`rules_apply_task.delay`); the worker calls
    `rule_application_run`. The caller polls the returned application.
    """
    with transaction.atomic():
        application = RuleApplication.objects.create(
            book=book, user=user, only_uncategorized=only_uncategorized, candidates=candidates
        )
        transaction.on_commit(lambda: enqueue(application.pk))
    return application


def rule_application_run(*, application_id: int) -> None:
    """Run one queued application: `running`, then `done` with its counts or `failed`.

    Idempotent: an application that is not `queued` (already taken by another worker,
    finished, or deleted with its book) is left alone. A failure is recorded, not raised,
    and changes nothing (`rules_apply` is one transaction).
    """
    taken = RuleApplication.objects.filter(
        pk=application_id, status=RuleApplicationStatus.QUEUED
    ).update(status=RuleApplicationStatus.RUNNING, started_at=timezone.now())
    if not taken:
        return
    application = RuleApplication.objects.select_related("book").get(pk=application_id)
    try:
        result = rules_apply(
            book=application.book, only_uncategorized=application.only_uncategorized
        )
    except Exception:  # recorded for the poller; the traceback goes to the log
        logger.exception("Rule application %s failed.", application_id)
        RuleApplication.objects.filter(pk=application_id).update(
            status=RuleApplicationStatus.FAILED,
            error="The run failed and changed nothing; try again later.",
            finished_at=timezone.now(),
        )
        return
    RuleApplication.objects.filter(pk=application_id).update(
        status=RuleApplicationStatus.DONE,
        changed=result["changed"],
        expenses=result["expenses"],
        incomes=result["incomes"],
        finished_at=timezone.now(),
    )


# --- restoring a backup into a book (the backups app calls these) -----------------------


def _restore_category_in_book(category: Category | None, book: Any) -> bool:
    return category is None or category.book_id in (None, book.pk)


def categories_restore(
    *, book: Any, user: Any, items: Iterable[Mapping[str, Any]]
) -> list[Category]:
    """Create restored categories in `book`, in the order given (a parent before its
    children); each item has CATEGORY_FIELDS, `parent` being a top-level category of
    `book` or a system one. Raises ValidationError on `parent` for another book's or a
    nested parent, on `name` for a name (and kind) `book` already has."""
    created: list[Category] = []
    for data in items:
        parent = data.get("parent")
        if not _restore_category_in_book(parent, book):
            raise ValidationError({"parent": ["No such category."]})
        if parent is not None and parent.parent_id is not None:
            raise ValidationError({"parent": ["The parent must be a top-level category."]})
        created.append(_category_save(Category(book=book, user=user), data, CATEGORY_FIELDS))
    return created


def tags_restore(*, book: Any, user: Any, names: Iterable[str]) -> dict[str, Tag]:
    """Every tag of `book` keyed by casefolded name, after creating those of `names` it
    lacks (matched case-insensitively). Names are checked as any tag's; at most
    TAGS_MAX_PER_USER tags per book (ValidationError on `tags`, nothing created)."""
    names = list(names)
    try:
        cleaned = tag_names_clean(names, max_count=max(len(names), 1))
    except ValidationError as exc:
        raise ValidationError({"tags": exc.messages}) from None
    tags = {tag.name.casefold(): tag for tag in Tag.objects.filter(book=book)}
    missing = [name for name in cleaned if name.casefold() not in tags]
    if missing:
        limit = settings.TAGS_MAX_PER_USER
        if len(tags) + len(missing) > limit:
            raise ValidationError(
                {
                    "tags": [
                        f"A book can have at most {limit} tags (this one has {len(tags)}); "
                        f"these {len(missing)} would not fit."
                    ]
                }
            )
        Tag.objects.bulk_create([Tag(book=book, user=user, name=name) for name in missing])
        tags = {tag.name.casefold(): tag for tag in Tag.objects.filter(book=book)}
    return tags


@transaction.atomic
def rules_restore(*, book: Any, user: Any, items: Iterable[Mapping[str, Any]]) -> list[Rule]:
    """Create restored rules in `book` (RULE_FIELDS plus `add_tags`, a list of names, which
    are created in `book` if missing). Patterns are checked as on any rule; the category
    must be `book`'s or a system one; at most RULES_MAX_PER_USER rules per book
    (ConflictError `rule_limit_reached`)."""
    items = list(items)
    if not items:
        return []
    limit = settings.RULES_MAX_PER_USER
    if Rule.objects.filter(book=book).count() + len(items) > limit:
        raise ConflictError(
            f"A book can have at most {limit} rules; these {len(items)} would not fit.",
            code="rule_limit_reached",
        )
    for data in items:
        rule_validate_pattern(
            data["value"],
            data.get("operator", RuleOperator.CONTAINS),
            case_sensitive=data.get("case_sensitive", False),
        )
        if data.get("category") is None or not _restore_category_in_book(data["category"], book):
            raise ValidationError({"category": ["No such category."]})
    tags = tags_restore(
        book=book, user=user, names=[name for data in items for name in data.get("add_tags", [])]
    )
    rules = [
        Rule(book=book, user=user, **{field: data[field] for field in RULE_FIELDS if field in data})
        for data in items
    ]
    Rule.objects.bulk_create(rules)
    through = Rule.add_tags.through
    links = {
        (rule.pk, tags[name.casefold()].pk)
        for rule, data in zip(rules, items, strict=True)
        for name in data.get("add_tags", [])
    }
    through.objects.bulk_create([through(rule_id=rule, tag_id=tag) for rule, tag in links])
    return rules


def rules_clear_book(*, book: Any) -> int:
    """Delete every rule of `book` (a backup restored in replace mode); returns how many."""
    _, deleted = Rule.objects.filter(book=book).delete()
    return deleted.get(Rule._meta.label, 0)


def categories_clear_book(*, book: Any) -> dict[str, int]:
    """Delete `book`'s own categories and tags (a backup restored in replace mode, once the
    records using them are gone). Raises ProtectedError/RestrictedError while a record
    still uses a category. Returns {"categories": n, "tags": n}."""
    _, categories = Category.objects.filter(book=book).delete()
    _, tags = Tag.objects.filter(book=book).delete()
    return {
        "categories": categories.get(Category._meta.label, 0),
        "tags": tags.get(Tag._meta.label, 0),
    }
