"""A book's base currency: the lock that serializes its changes against money writes,
and the apps that re-express their stored figures when it changes (SPEC §14: base
currency and month start day belong to the book; the personal book follows the user's
`PATCH /auth/me/`).

Users sits below every app that stores money, so it cannot name them: each such app
registers a converter from its `AppConfig.ready()`,

    register_converter("budgets", services.budgets_convert_currency)

and a base-currency change of a book runs every registered converter (in INSTALLED_APPS
order) inside its one transaction. The same pattern as `core.jobs`. This is the one
registry: `PATCH /auth/me/` (the personal book) and `PATCH /books/{id}/` (a shared book)
both go through `users.services`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import OperationalError, connection, models, transaction

from books.models import Book
from core.exceptions import ConflictError, is_lock_timeout
from core.locks import UserLock, user_lock

# --- the lock -------------------------------------------------------------------------


class BaseCurrencyChangeInProgress(ConflictError):
    """A base-currency change holds the book's records longer than a request may wait.

    Raised after BASE_CURRENCY_LOCK_WAIT_SECONDS instead of keeping a worker waiting for
    a change that may take minutes; nothing was written. 409 with Retry-After.
    """

    default_code = "base_currency_change_in_progress"
    retry_after = 10

    def __init__(self, message: str | None = None) -> None:
        super().__init__(
            message
            or "The base currency is being changed and the records converted; "
            "try again in a moment."
        )


@contextmanager
def base_currency_lock_wait(*, seconds: float | None = None) -> Iterator[None]:
    """Inside this block no lock wait lasts longer than `seconds` (default
    BASE_CURRENCY_LOCK_WAIT_SECONDS); a longer one raises BaseCurrencyChangeInProgress.

    PostgreSQL only, and only inside a transaction (`SET LOCAL lock_timeout`, restored
    when the block ends; a failure aborts the transaction, which undoes it anyway).
    SQLite has no row locks to wait for: there the block changes nothing.
    """
    if connection.vendor != "postgresql" or not connection.in_atomic_block:
        yield
        return
    wait = settings.BASE_CURRENCY_LOCK_WAIT_SECONDS if seconds is None else seconds
    with connection.cursor() as cursor:
        # The CTE reads the setting before set_config changes it.
        cursor.execute(
            "WITH previous AS MATERIALIZED (SELECT current_setting('lock_timeout') AS value) "
            "SELECT value, set_config('lock_timeout', %s, true) FROM previous",
            [f"{max(1, round(wait * 1000))}ms"],
        )
        previous = cursor.fetchone()[0]
    try:
        yield
    except OperationalError as exc:
        if is_lock_timeout(exc):
            raise BaseCurrencyChangeInProgress from exc
        raise
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('lock_timeout', %s, true)", [previous])


def base_currency_change_lock(*, book_id: int) -> None:
    """Held by a base-currency change of the book for its whole transaction (PostgreSQL
    advisory lock, exclusive): one change of a book at a time, and none while a write
    into the book that stores base-currency figures is in flight (those hold it shared,
    see `base_currency_lock`). An advisory lock rather than the book's or the user's row,
    so a long change (a big book's, on the task queue) never blocks what only touches
    those rows — login, token refresh, renaming the book. Must be called inside
    `transaction.atomic`; SQLite serializes writers, so there it does nothing.
    """
    user_lock(UserLock.BASE_CURRENCY, book_id)


def base_currency_lock(*, book_id: int) -> str:
    """The book's base currency, read under the shared side of its change lock.

    Every write that stores a figure in the base currency calls this first (inside its
    transaction): on PostgreSQL it waits for a base-currency change of the book in
    progress and then reads the new currency, and a change waits for such writes to
    finish, so none is converted twice or left in the old currency. The wait is bounded
    (`base_currency_lock_wait`): a change that takes longer (a big book's, on the task
    queue) makes the write fail with BaseCurrencyChangeInProgress (409, Retry-After)
    rather than hang a worker.
    """
    if connection.vendor == "postgresql":
        # savepoint=False: no extra statements inside the caller's transaction; outside
        # one, the lock needs a transaction of its own to live in.
        with transaction.atomic(savepoint=False), base_currency_lock_wait():
            user_lock(UserLock.BASE_CURRENCY, book_id, shared=True)
    return Book.objects.values_list("base_currency", flat=True).get(pk=book_id)


# --- the converters -------------------------------------------------------------------


@dataclass(frozen=True)
class Converter:
    """How one app re-expresses a book's stored figures in its new base currency.

    `convert(book=..., base_currency=...)` converts every figure in the book (all or
    nothing: it raises, e.g. RateUnavailable, to undo the whole change) and returns how
    many records it touched. `records`, when given, is the model (with a `book` key)
    whose rows in the book count toward BASE_CURRENCY_SYNC_MAX_ROWS (a bigger book's
    change is queued).
    """

    name: str
    convert: Callable[..., Any]
    records: type[models.Model] | None = None


_converters: dict[str, Converter] = {}


def register_converter(
    name: str, convert: Callable[..., Any], *, records: type[models.Model] | None = None
) -> Converter:
    """Declare an app's converter. The same declaration again is harmless (an app's
    `ready()` may run twice in tests); another one under a taken name is a mistake."""
    converter = Converter(name=name, convert=convert, records=records)
    existing = _converters.get(name)
    if existing is not None and existing != converter:
        raise ValueError(
            f"base-currency converter {name!r} is already registered by "
            f"{existing.convert.__module__}"
        )
    _converters[name] = converter
    return converter


def converters() -> list[Converter]:
    """Every registered converter, in registration order (INSTALLED_APPS order).

    Raises AppRegistryNotReady before Django is set up: an empty list then would
    silently convert nothing."""
    apps.check_apps_ready()
    return list(_converters.values())
