"""Writes on recurring items, and the scheduled jobs that act on them (SPEC §12); the
monthly summary, a report, is the reports app's job.

Every job is idempotent: safe to run twice, late, or in parallel with itself.
"Never twice" is held by the database, not by timing: a transaction for an
occurrence is recorded only by whoever inserts (or claims) the occurrence's unique
(item, date) row in the same database transaction; notifications carry dedupe keys.
A late run catches up on what it missed.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Prefetch
from django.utils import timezone

from books.models import Book, BookKind, Membership, Role
from categories.models import Kind
from core.dates import user_today
from core.exceptions import ApplicationError
from core.money import format_amount
from currencies.selectors import RateUnavailable
from expenses.models import PaymentMethod
from expenses.services import expense_create
from income.services import income_create
from notifications.models import NotificationKind
from notifications.services import notify

from .models import RecurringItem, RecurringOccurrence
from .selectors import occurrences

logger = logging.getLogger(__name__)

ITEM_FIELDS = (
    "kind",
    "amount",
    "currency",
    "description",
    "category",
    "merchant",
    "payment_method",
    "frequency",
    "interval",
    "start_date",
    "end_date",
    "auto_create",
    "remind_days_before",
    "active",
)


# --- items ---------------------------------------------------------------------------


def _check_and_save(item: RecurringItem) -> RecurringItem:
    if item.kind == Kind.INCOME:
        item.payment_method = PaymentMethod.OTHER
    # Field validators and clean() cover every database constraint with a message
    # naming the field; the constraints themselves still hold under any writer.
    item.full_clean(validate_unique=False, validate_constraints=False)
    item.save()
    return item


@transaction.atomic
def recurring_create(*, book: Book, user: Any, data: dict[str, Any]) -> RecurringItem:
    """Create an item in `book`, created by `user`; `currency` defaults to the book's base
    currency.

    Raises ValidationError (naming the field) when the category is another book's or
    of the other kind, the amount does not suit the currency, `end_date` is before
    `start_date`, or a value is out of range. An income item's payment method is `other`.
    """
    values = {field: data[field] for field in ITEM_FIELDS if field in data}
    item = RecurringItem(book=book, user=user, **values)
    if not item.currency:
        item.currency = book.base_currency
    return _check_and_save(item)


@transaction.atomic
def recurring_update(*, item: RecurringItem, data: dict[str, Any]) -> RecurringItem:
    """Apply a (partial) update, checked like `recurring_create`.

    Transactions already recorded stay as they are; the new schedule applies to dates
    not yet created. Switching auto-creation back on (`active` or `auto_create` made true
    again) does not backfill the pause: the job starts again from today (in the time zone
    of the item's creator).
    """
    locked = RecurringItem.objects.select_for_update().get(pk=item.pk)
    was_creating = locked.active and locked.auto_create
    for field in ITEM_FIELDS:
        if field in data:
            setattr(locked, field, data[field])
    if locked.active and locked.auto_create and not was_creating:
        locked.resumed_on = user_today(_clock_user(locked))
    return _check_and_save(locked)


def recurring_delete(*, item: RecurringItem) -> None:
    """Delete the item and its occurrence log; expenses and income it created stay."""
    item.delete()


# --- jobs: creating due transactions ---------------------------------------------------------


def _clock_user(item: RecurringItem) -> Any:
    """Whose time zone an item's dates are counted in, and who acts for it in the jobs:
    the member who created it, or — once they deleted their account (the item stays in
    its shared book) — the book's longest-standing owner. None only for a book without
    owners, counted in UTC."""
    if item.user_id is not None:
        return item.user
    membership = (
        Membership.objects.filter(book_id=item.book_id, role=Role.OWNER)
        .select_related("user")
        .order_by("id")
        .first()
    )
    return membership.user if membership is not None else None


def _local_date(moment: Any, user: Any) -> date:
    return moment.astimezone(ZoneInfo(getattr(user, "timezone", None) or "UTC")).date()


def _record_data(item: RecurringItem, day: date) -> dict[str, Any]:
    data: dict[str, Any] = {
        "amount": item.amount,
        "currency": item.currency,
        "date": day,
        "description": item.description,
        "category": item.category,
    }
    if item.kind == Kind.EXPENSE:
        data.update(merchant=item.merchant, payment_method=item.payment_method)
    else:
        data["source"] = item.merchant
    return data


def _claim(item: RecurringItem, day: date) -> RecurringOccurrence | None:
    """The occurrence row for (item, day), now marked fulfilled by this transaction; None
    when another run (committed) already fulfilled it.

    Inserts the row first; if it exists (a reminder made it, or another run got there
    first) claims it with a conditional UPDATE, which PostgreSQL re-checks after any
    concurrent writer commits, so exactly one transaction wins.
    """
    now = timezone.now()
    try:
        with transaction.atomic():
            return RecurringOccurrence.objects.create(item=item, date=day, fulfilled_at=now)
    except IntegrityError:
        pass
    claimed = RecurringOccurrence.objects.filter(
        item=item, date=day, fulfilled_at__isnull=True
    ).update(fulfilled_at=now)
    if not claimed:
        return None
    return RecurringOccurrence.objects.get(item=item, date=day)


def _create_occurrence(item: RecurringItem, day: date) -> bool:
    """Record the expense/income of one occurrence, exactly once; False if it was done
    already or could not be done now (logged; the next run retries)."""
    try:
        with transaction.atomic():
            occurrence = _claim(item, day)
            if occurrence is None:
                return False
            data = _record_data(item, day)
            actor = _clock_user(item)
            # In the item's book (its base currency and rules), whoever created the item.
            if item.kind == Kind.EXPENSE:
                occurrence.expense = expense_create(book=item.book, user=actor, data=data)
            else:
                occurrence.income = income_create(book=item.book, user=actor, data=data)
            occurrence.save(update_fields=["expense", "income"])
            return True
    except RateUnavailable as exc:
        logger.warning(
            "Recurring item %s on %s not created, will retry: %s", item.pk, day, exc.message
        )
    except (ApplicationError, ValidationError):
        logger.exception("Recurring item %s on %s not created, will retry", item.pk, day)
    return False


def create_due_occurrences(*, today: date | None = None) -> int:
    """Record the expense or income of every due occurrence of active `auto_create` items.

    Due: dates of the schedule from max(start_date, the day the item was created, in
    its creator's time zone) up to today (their today unless `today` is given). The
    expense or income is recorded in the item's book.
    Starting no earlier than the item's creation is deliberate: a new item with an old
    start date describes a schedule, and backfilling years of history the user has
    likely recorded already would double their figures. Likewise nothing is created
    for the time an item was paused (`resumed_on`). A missed run catches up.

    Each occurrence is one transaction (occurrence row + record via expense_create /
    income_create, so rules, conversion and budget alerts apply); it is created at most
    once ever, even by parallel runs. A missing exchange rate skips only that
    occurrence (logged), which a later run retries. Returns how many were created.
    """
    created = 0
    items = (
        RecurringItem.objects.filter(active=True, auto_create=True)
        .select_related("user", "book", "category")
        .order_by("pk")
    )
    for item in items.iterator(chunk_size=500):
        clock = _clock_user(item)
        until = today if today is not None else user_today(clock)
        start = max(
            item.start_date,
            _local_date(item.created_at, clock),
            item.resumed_on or item.start_date,
        )
        due = occurrences(item, start=start, end=until)
        if not due:
            continue
        done = set(
            RecurringOccurrence.objects.filter(
                item=item, date__gte=due[0], date__lte=due[-1], fulfilled_at__isnull=False
            ).values_list("date", flat=True)
        )
        for day in due:
            if day not in done and _create_occurrence(item, day):
                created += 1
    return created


# --- jobs: bill reminders ---------------------------------------------------------------


def _remind(item: RecurringItem, day: date, today: date) -> bool:
    """Tell every member of the item's book (each per their own preferences) once."""
    with transaction.atomic():
        occurrence, _ = RecurringOccurrence.objects.get_or_create(item=item, date=day)
        marked = RecurringOccurrence.objects.filter(
            pk=occurrence.pk, reminded_at__isnull=True
        ).update(reminded_at=timezone.now())
        if not marked:
            return False
        amount = f"{format_amount(item.amount, item.currency)} {item.currency}"
        days = (day - today).days
        when = "today" if days == 0 else "tomorrow" if days == 1 else f"in {days} days"
        book = item.book
        shared = book.kind == BookKind.SHARED
        where = f" ({book.name})" if shared else ""
        sent = False
        for membership in book.memberships.all():
            notification = notify(
                user=membership.user,
                kind=NotificationKind.BILL_DUE,
                title=f"Bill due {when}: {item.description}{where}"[:200],
                body=f"{item.description}: {amount} due on {day.isoformat()}"
                + (f", in the book {book.name}." if shared else "."),
                data={
                    "recurring": item.pk,
                    "book": book.pk,
                    "date": day.isoformat(),
                    "amount": format_amount(item.amount, item.currency),
                    "currency": item.currency,
                },
                dedupe_key=f"bill_due:{item.pk}:{day.isoformat()}",
            )
            sent = sent or notification is not None
        return sent


def send_bill_reminders(*, today: date | None = None) -> int:
    """Send one `bill_due` notification per occurrence of an active expense item that
    falls in [today, today + remind_days_before] (its creator's today unless given) to
    every member of the item's book.

    Once per occurrence, even if the job runs twice or in parallel: the occurrence's
    `reminded_at` is set by a conditional update and the notification has a dedupe key.
    The occurrence row made here for a future date is later used (claimed) by
    `create_due_occurrences`. Income items get no reminders. Returns for how many
    occurrences reminders were sent.
    """
    sent = 0
    items = (
        RecurringItem.objects.filter(
            active=True, kind=Kind.EXPENSE, remind_days_before__isnull=False
        )
        .select_related("user", "book")
        .prefetch_related(
            Prefetch("book__memberships", queryset=Membership.objects.select_related("user"))
        )
        .order_by("pk")
    )
    for item in items.iterator(chunk_size=500):
        start = today if today is not None else user_today(_clock_user(item))
        ahead = timedelta(days=item.remind_days_before or 0)
        due = occurrences(item, start=start, end=start + ahead)
        if not due:
            continue
        reminded = set(
            RecurringOccurrence.objects.filter(
                item=item, date__gte=due[0], date__lte=due[-1], reminded_at__isnull=False
            ).values_list("date", flat=True)
        )
        for day in due:
            if day not in reminded and _remind(item, day, start):
                sent += 1
    return sent


# --- moving items to another category (the categories app calls this) ------------------


def recurring_items_reassign_category(*, book: Any, from_category: Any, to_category: Any) -> int:
    """Move `book`'s recurring items of one category to another (a category deleted with
    `?reassign_to=`); `book` None: every book's (a system category). Returns how many."""
    items = RecurringItem._base_manager.filter(category=from_category)
    if book is not None:
        items = items.filter(book=book)
    return items.update(category=to_category, updated_at=timezone.now())


# --- restoring a backup into a book (the backups app calls these) -----------------------

# What a restored item takes from the backup: every concrete field but these.
RESTORE_EXCLUDED = frozenset({"id", "book", "user", "created_at", "updated_at"})


class RecurringRestoreInvalid(ApplicationError):
    """Restored items that fail their checks: `problems[index] = {field: [messages]}`
    (answered as `{"recurring": {index: {field: [messages]}}}` when not caught)."""

    def __init__(self, problems: dict[int, dict[str, list[str]]]) -> None:
        super().__init__(f"{len(problems)} recurring items are not valid.")
        self.problems = problems
        self.errors = {"recurring": {str(index): fields for index, fields in problems.items()}}


def recurring_restore_fields() -> list[Any]:
    """The model fields a backup carries for an item (and that make two items the same)."""
    return [
        field for field in RecurringItem._meta.concrete_fields if field.name not in RESTORE_EXCLUDED
    ]


@transaction.atomic
def recurring_restore(
    *, book: Book, user: Any, items: list[dict[str, Any]], merge: bool
) -> tuple[list[RecurringItem], int]:
    """Store restored items in `book`, in bulk; each item is field values (the category
    a Category). Every item is checked as the model checks it (`full_clean`: validators,
    `clean` — the category must be `book`'s or a system one — and constraints). With
    `merge`, an item identical to one `book` has (or to an earlier one restored) is
    skipped. Raises RecurringRestoreInvalid listing every problem (nothing stored).
    Returns (the items stored, how many were skipped)."""
    fields = recurring_restore_fields()
    existing = set(
        RecurringItem.objects.filter(book=book).values_list(*(field.attname for field in fields))
    )
    problems: dict[int, dict[str, list[str]]] = {}
    new: list[RecurringItem] = []
    skipped = 0
    for index, values in enumerate(items):
        item = RecurringItem(book=book, user=user, **values)
        key = tuple(getattr(item, field.attname) for field in fields)
        if merge and key in existing:
            skipped += 1
            continue
        try:
            item.full_clean()
        except ValidationError as exc:
            problems[index] = (
                exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
            )
            continue
        existing.add(key)
        new.append(item)
    if problems:
        raise RecurringRestoreInvalid(problems)
    RecurringItem.objects.bulk_create(new)
    return new, skipped


def recurring_clear_book(*, book: Book) -> int:
    """Delete every recurring item of `book` with its occurrence log (a backup restored in
    replace mode); the expenses and income they created stay. Returns how many."""
    _, deleted = RecurringItem.objects.filter(book=book).delete()
    return deleted.get(RecurringItem._meta.label, 0)
