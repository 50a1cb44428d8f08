"""Writes on users: registration, settings, passwords, account deletion, token revocation."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.apps import apps
from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.utils import datetime_from_epoch

from books.models import Book, Membership
from books.services import personal_book_ensure
from core.exceptions import ApplicationError
from core.uploads import STORAGE_ERRORS

from .base_currency import (
    BaseCurrencyChangeInProgress,
    base_currency_change_lock,
    base_currency_lock_wait,
    converters,
)
from .models import PENDING_STATUSES, BaseCurrencyChange, BaseCurrencyChangeStatus, User

logger = logging.getLogger(__name__)

INVALID_RESET_LINK = "This password reset link is invalid or has expired."
USER_SETTINGS_FIELDS = (
    "first_name",
    "last_name",
    "email",
    "base_currency",
    "timezone",
    "month_start_day",
)


def user_register(
    *, username: str, email: str, password: str, base_currency: str | None = None
) -> User:
    """Create an active user in the `User` role.

    Raises ValidationError if the username or email is taken (in any letter case),
    including when a concurrent registration wins the race at the database.
    """
    extra: dict[str, Any] = {}
    if base_currency:
        extra["base_currency"] = base_currency
    try:
        with transaction.atomic():
            return User.objects.create_user(
                username=username, email=email, password=password, **extra
            )
    except IntegrityError:
        raise ValidationError(
            {"username": ["A user with that username or email already exists."]}
        ) from None


def user_update(*, user: User, data: dict[str, Any]) -> User:
    """Change the user's own settings (names, email, currency, time zone, month start).

    A new base currency is the personal book's (SPEC §14): it re-expresses every stored
    expense, income, budget and goal of that book, here and now, whatever its size
    (PATCH /auth/me/ goes through `user_settings_update`, which hands big books to the
    task queue); if a needed rate is missing (RateUnavailable) or a figure would not fit
    (ConversionOutOfRange), 400 and nothing changes. See `book_base_currency_change`
    for how changes are serialized and when BaseCurrencyChangeInProgress (409) is raised.
    """
    _settings_write(user=user, data=data, enqueue=None)
    return user


def user_settings_update(
    *, user: User, data: dict[str, Any], enqueue: Callable[[int], Any]
) -> BaseCurrencyChange | None:
    """PATCH /auth/me/: `user_update`, except that the base-currency change of a personal
    book with more than BASE_CURRENCY_SYNC_MAX_ROWS expenses and income is queued.

    Then the other settings change now, the currency stays as it is, and a `queued`
    BaseCurrencyChange is recorded and its id handed to `enqueue` (the task queue's
    entry, which calls `base_currency_change_run`) once that commits; it is returned
    (also when the request repeats the pending change's currency). Returns None when
    nothing was queued. Raises like `user_update`.
    """
    return _settings_write(user=user, data=data, enqueue=enqueue)


def book_base_currency_change(
    *, book: Book, to_currency: str, by: Any, enqueue: Callable[[int], Any] | None = None
) -> BaseCurrencyChange | None:
    """Change a book's base currency, re-expressing every figure in it (all or nothing).

    The one way a base currency changes: `PATCH /auth/me/` for the personal book (whose
    owner's `base_currency` follows), `PATCH /books/{id}/` for a shared one (through
    `books.services.book_update`). Changes of one book are serialized: the book's change
    lock (`users.base_currency.base_currency_change_lock`) is taken and the currency
    re-read first, and every figure is derived from stored originals, so concurrent
    changes end exactly as one change to the last currency would. With `enqueue`, a
    book of more than BASE_CURRENCY_SYNC_MAX_ROWS records is not converted now: a
    `queued` BaseCurrencyChange is recorded, handed to `enqueue` after commit and
    returned (also when the currency asked for is the pending change's). Returns None
    otherwise. While a change is pending, asking for another currency raises
    BaseCurrencyChangeInProgress (409), as does a lock wait longer than
    BASE_CURRENCY_LOCK_WAIT_SECONDS (a change running); RateUnavailable or
    ConversionOutOfRange (400) change nothing.
    """
    with transaction.atomic(), base_currency_lock_wait():
        return _book_currency_write(book=book, to_currency=to_currency, by=by, enqueue=enqueue)


def _book_currency_write(
    *, book: Book, to_currency: str, by: Any, enqueue: Callable[[int], Any] | None
) -> BaseCurrencyChange | None:
    """`book_base_currency_change` inside the caller's transaction (and lock wait)."""
    # One change of this book at a time (bounded wait: 409 while a long one runs); then
    # compare with the committed currency, not the caller's copy.
    base_currency_change_lock(book_id=book.pk)
    current = Book.objects.values_list("base_currency", flat=True).get(pk=book.pk)
    pending = _pending_change(book=book)
    if pending is not None:
        if to_currency == pending.to_currency:
            return pending  # asked again; the queued change does it
        if to_currency != current:
            raise BaseCurrencyChangeInProgress(
                f"The base currency is already being changed to {pending.to_currency}; "
                "wait until that change is done."
            )
    if to_currency == current:
        return None
    if enqueue is not None and not _records_at_most(
        book=book, limit=settings.BASE_CURRENCY_SYNC_MAX_ROWS
    ):
        change = _change_queue(book=book, by=by, from_currency=current, to_currency=to_currency)
        change_id = change.pk
        transaction.on_commit(lambda: enqueue(change_id))
        return change
    _convert_book(book=book, to_currency=to_currency)
    return None


def _records_at_most(*, book: Book, limit: int) -> bool:
    """Whether the book holds at most `limit` records (expenses and income) together: the
    `records` models of the registered converters (`users.base_currency`).

    Counts no further than the limit, so a huge book costs no more than a small one.
    """
    remaining = limit + 1
    for converter in converters():
        if converter.records is None:
            continue
        records = converter.records._base_manager.filter(book=book)
        remaining -= records.values("pk")[:remaining].count()
        if remaining <= 0:
            return False
    return True


def _convert_book(*, book: Book, to_currency: str) -> None:
    """Re-express the book's stored figures in `to_currency`, then make it the book's
    (and, for a personal book, its owner's) base currency; all or nothing.

    Each app that stores such figures registered its converter (`users.base_currency`):
    expenses and income convert at the rate of their own dates; budgets and goals,
    which have no date of their own, at the latest rate, from their stored originals.
    Runs under the book's change lock, inside the change's transaction; the book and
    user rows are written last, so they stay locked only briefly.
    """
    for converter in converters():
        converter.convert(book=book, base_currency=to_currency)
    Book.objects.filter(pk=book.pk).update(base_currency=to_currency, updated_at=timezone.now())
    if book.personal_owner_id is not None:
        User.objects.filter(pk=book.personal_owner_id).update(base_currency=to_currency)
    book.base_currency = to_currency


def _settings_write(
    *, user: User, data: dict[str, Any], enqueue: Callable[[int], Any] | None
) -> BaseCurrencyChange | None:
    """`user_update`'s one transaction; with `enqueue`, a big personal book's currency
    change is queued instead of applied (see `user_settings_update`). Returns the
    pending change the request asked for, if any."""
    before = {field: getattr(user, field) for field in USER_SETTINGS_FIELDS}
    pending: BaseCurrencyChange | None = None
    try:
        with transaction.atomic(), base_currency_lock_wait():
            changes = dict(data)
            if "base_currency" in changes:
                book = personal_book_ensure(user=user)
                pending = _book_currency_write(
                    book=book, to_currency=changes.pop("base_currency"), by=user, enqueue=enqueue
                )
                # Converted now, queued, or unchanged: the book's currency is the user's.
                user.base_currency = Book.objects.values_list("base_currency", flat=True).get(
                    pk=book.pk
                )
            changed = [
                field
                for field in USER_SETTINGS_FIELDS
                if field in changes and getattr(user, field) != changes[field]
            ]
            for field in changed:
                setattr(user, field, changes[field])
            if changed:
                # Last: the user row stays locked from here to commit, briefly.
                user.save(update_fields=changed)
    except IntegrityError:
        for field, value in before.items():
            setattr(user, field, value)
        raise ValidationError({"email": ["A user with that email already exists."]}) from None
    except Exception:
        for field, value in before.items():
            setattr(user, field, value)
        raise
    return pending


def _change_queue(
    *, book: Book, by: Any, from_currency: str, to_currency: str
) -> BaseCurrencyChange:
    """Record a queued change; the database keeps it the only pending one of the book (on
    SQLite, where the change lock is no lock, a concurrent request may get there first)."""
    try:
        with transaction.atomic():
            return BaseCurrencyChange.objects.create(
                book=book,
                user=by if getattr(by, "pk", None) else None,
                from_currency=from_currency,
                to_currency=to_currency,
            )
    except IntegrityError:
        raise BaseCurrencyChangeInProgress(
            "The base currency is already being changed; wait until that change is done."
        ) from None


def _pending_change(*, book: Book) -> BaseCurrencyChange | None:
    return BaseCurrencyChange.objects.filter(book=book, status__in=PENDING_STATUSES).first()


def base_currency_change_latest(
    *, user: User | None = None, book: Book | None = None
) -> BaseCurrencyChange | None:
    """The most recent queued base-currency change of the book (default: `user`'s
    personal book), whatever its status."""
    if book is None:
        return BaseCurrencyChange.objects.filter(book__personal_owner=user).order_by("-id").first()
    return BaseCurrencyChange.objects.filter(book=book).order_by("-id").first()


def base_currency_changes_latest(*, books: list[Book]) -> dict[int, BaseCurrencyChange]:
    """The most recent queued change of each of `books` that had one, by book id: one
    query, whatever the number of books."""
    latest = (
        BaseCurrencyChange.objects.filter(book__in=books)
        .values("book")
        .annotate(last=models.Max("id"))
        .values("last")
    )
    return {change.book_id: change for change in BaseCurrencyChange.objects.filter(pk__in=latest)}


def base_currency_change_run(*, change_id: int) -> None:
    """Carry out one queued change: `running`, then `done`, or `failed` with the reason.

    Does what `book_base_currency_change` does inline (`_convert_book`), all or nothing
    in one transaction, holding the book's change lock for as long as that takes
    (writes into the book meanwhile answer 409 after BASE_CURRENCY_LOCK_WAIT_SECONDS).
    The state is re-read under the lock, so delivering the task twice (or once more
    after a crash) converts once: a change already `done` or `failed` is left alone. A
    missing rate or a figure that would not fit marks it `failed` with that error's
    message (naming the pair) and changes nothing — as does any other domain error
    (ApplicationError) a converter raises; any other error is logged and marks it
    `failed` too.
    """
    claimed = BaseCurrencyChange.objects.filter(
        pk=change_id, status=BaseCurrencyChangeStatus.QUEUED
    ).update(status=BaseCurrencyChangeStatus.RUNNING, started_at=timezone.now())
    if not claimed and not _change_in(change_id, BaseCurrencyChangeStatus.RUNNING):
        return
    try:
        with transaction.atomic():
            book_id = BaseCurrencyChange.objects.values_list("book_id", flat=True).get(pk=change_id)
            # The change lock first, as every writer takes it: then the change's own row.
            # Not the book or user row: login, refresh and renames keep working meanwhile.
            base_currency_change_lock(book_id=book_id)
            book = Book.objects.get(pk=book_id)
            change = BaseCurrencyChange.objects.select_for_update().get(pk=change_id)
            if change.status != BaseCurrencyChangeStatus.RUNNING:
                return  # finished by another delivery meanwhile
            if book.base_currency != change.to_currency:
                _convert_book(book=book, to_currency=change.to_currency)
            change.status = BaseCurrencyChangeStatus.DONE
            change.finished_at = timezone.now()
            change.save(update_fields=["status", "finished_at"])
    except (BaseCurrencyChange.DoesNotExist, Book.DoesNotExist):
        return  # the book (or the account with its personal book) was deleted meanwhile
    except ApplicationError as exc:  # RateUnavailable, ConversionOutOfRange, ...
        _change_failed(change_id, exc.message)
    except Exception:  # recorded for the poller; the traceback goes to the log
        logger.exception("Base-currency change %s failed.", change_id)
        _change_failed(change_id, "The change failed and converted nothing; try again later.")


def _change_in(change_id: int, status: str) -> bool:
    return BaseCurrencyChange.objects.filter(pk=change_id, status=status).exists()


def _change_failed(change_id: int, error: str) -> None:
    BaseCurrencyChange.objects.filter(pk=change_id, status=BaseCurrencyChangeStatus.RUNNING).update(
        status=BaseCurrencyChangeStatus.FAILED, error=error[:300], finished_at=timezone.now()
    )


def user_delete(*, user: User) -> None:
    """Remove the user with their personal book and every record in it, and then the
    files of those records (receipts).

    Shared books are handed on first (`books.services.user_leaving`, on pre_delete): one
    they are the only member of goes with them, in the others the records they created
    stay, with `user` cleared. Stored files are deleted once the deletion commits, never
    before: a failed deletion keeps the account whole.
    """
    with transaction.atomic():
        revoke_refresh_tokens(user=user)
        files = _owned_files(user)
        user.delete()
        transaction.on_commit(lambda: _delete_files(files), robust=True)


def _books_leaving_with(user: User) -> list[int]:
    """The ids of the books deleted with `user`: their personal book, and each shared
    book they are the only member of (see `books.services.user_leaving`)."""
    others = Membership.objects.filter(book=models.OuterRef("pk")).exclude(user=user)
    return list(
        Book.objects.filter(memberships__user=user)
        .filter(models.Q(personal_owner=user) | ~models.Exists(others))
        .values_list("id", flat=True)
    )


def _owned_files(user: User) -> list[tuple[Any, str]]:
    """(storage, name) of every file a model that dies with `user` stores — a row with a
    CASCADE foreign key to the user or to a book leaving with them: found through the
    model registry, so users imports no app."""
    books = _books_leaving_with(user)
    files: list[tuple[Any, str]] = []
    for model in apps.get_models():
        file_fields = [f for f in model._meta.concrete_fields if isinstance(f, models.FileField)]
        if not file_fields:
            continue
        lookups = [
            {field.name: user} if field.remote_field.model is User else {f"{field.name}__in": books}
            for field in model._meta.concrete_fields
            if field.many_to_one
            and field.remote_field.model in (User, Book)
            and field.remote_field.on_delete is models.CASCADE
        ]
        for lookup in lookups:
            for field in file_fields:
                names = (
                    model._default_manager.filter(**lookup)
                    .exclude(**{field.name: ""})
                    .values_list(field.name, flat=True)
                )
                files += [(field.storage, name) for name in names.iterator() if name]
    return files


def _delete_files(files: list[tuple[Any, str]]) -> None:
    for storage, name in files:
        try:
            storage.delete(name)
        except STORAGE_ERRORS:  # one failing delete (disk, object store) stops no other
            logger.exception("Could not delete %s of a deleted account", name)


def revoke_refresh_tokens(*, user: User) -> int:
    """Blacklist every unexpired refresh token issued to the user; returns how many.

    Holds the user's row lock (as `refresh_token_rotate` does), so a refresh running at
    the same time either finishes first, and the token it issued is revoked here, or
    runs after and finds its token revoked: no token minted concurrently survives.
    """
    with transaction.atomic():
        _lock_user(user_id=user.pk)
        outstanding = OutstandingToken.objects.filter(
            user=user, expires_at__gt=timezone.now(), blacklistedtoken__isnull=True
        )
        created = BlacklistedToken.objects.bulk_create(
            [BlacklistedToken(token=token) for token in outstanding], ignore_conflicts=True
        )
        return len(created)


def _lock_user(*, user_id: Any) -> User | None:
    """The user row, locked until the surrounding transaction ends (None if gone)."""
    try:
        return User.objects.select_for_update().filter(pk=user_id).first()
    except (ValueError, TypeError):
        return None


def _outstanding_row(token: RefreshToken, user: User | None) -> OutstandingToken:
    jti = token[jwt_settings.JTI_CLAIM]
    row, _ = OutstandingToken.objects.get_or_create(
        jti=jti,
        defaults={
            "user": user,
            "created_at": token.current_time,
            "token": str(token),
            "expires_at": datetime_from_epoch(token["exp"]),
        },
    )
    return row


def refresh_token_revoke(*, token: RefreshToken) -> bool:
    """Blacklist a (verified) refresh token in one atomic step.

    Returns True only for the call that revoked it. "Is it revoked?" and "revoke it" are
    one INSERT of the token's BlacklistedToken row, whose one-to-one key lets the
    database pick a single winner: of any number of concurrent calls for one token
    (refreshes, logouts) exactly one gets True, every other and every later call False.
    """
    user_id = token.get(jwt_settings.USER_ID_CLAIM)
    with transaction.atomic():
        user = User.objects.filter(pk=user_id).first() if str(user_id).isdigit() else None
        row = _outstanding_row(token, user)
        try:
            with transaction.atomic():
                BlacklistedToken.objects.create(token=row)
        except IntegrityError:
            return False
    return True


class TokenRejected(ApplicationError):
    """A refresh token that can no longer be used (401 `token_not_valid`, as simplejwt
    answers a bad token)."""

    status_code = 401
    default_code = "token_not_valid"


def refresh_token_rotate(*, token: RefreshToken) -> dict[str, str]:
    """Spend a (verified) refresh token once: revoke it, return a new access/refresh pair.

    Raises TokenRejected, issuing nothing, if the token's user is gone or inactive or the
    token was already spent (rotated, logged out, revoked), also by a concurrent call:
    exactly one of any number of simultaneous rotations of one token succeeds. The
    revocation and the new token's outstanding row commit together, under the user's
    row lock (see `revoke_refresh_tokens`).
    """
    with transaction.atomic():
        user = _lock_user(user_id=token.get(jwt_settings.USER_ID_CLAIM))
        if user is None or not user.is_active:
            raise TokenRejected("No active account found for the given token.")
        if not refresh_token_revoke(token=token):
            raise TokenRejected("Token is blacklisted")
        access = str(token.access_token)
        token.set_jti()
        token.set_exp()
        token.set_iat()
        _outstanding_row(token, user)
        return {"access": access, "refresh": str(token)}


def issue_tokens(*, user: User) -> dict[str, str]:
    refresh = RefreshToken.for_user(user)
    return {"access": str(refresh.access_token), "refresh": str(refresh)}


def password_change(*, user: User, new_password: str) -> dict[str, str]:
    """Set a new password, log out every other session and return fresh tokens."""
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password"])
        revoke_refresh_tokens(user=user)
        return issue_tokens(user=user)


def password_reset_request(*, email: str) -> None:
    """Email a one-time reset token if an active account has this address.

    Says nothing about whether it does: the caller always answers the same way.
    """
    user = User.objects.filter(email__iexact=email, is_active=True).first()
    if user is None or not user.has_usable_password():
        return
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    lines = [
        f"Hello {user.username},",
        "",
        "Someone asked to reset the password of your Budget Tracker account.",
        "If it was you, confirm with these values (POST /api/v1/auth/password/reset/confirm/):",
        f"  uid:   {uid}",
        f"  token: {token}",
    ]
    if settings.PASSWORD_RESET_URL:
        lines += ["", "Or open: " + settings.PASSWORD_RESET_URL.format(uid=uid, token=token)]
    lines += ["", "The token works once. If you did not ask for this, ignore this email."]
    send_mail(
        subject="Reset your Budget Tracker password",
        message="\n".join(lines),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[user.email],
    )


def password_reset_user(*, uid: str, token: str) -> User:
    """The user a reset link belongs to; raises ValidationError if the link is bad or used."""
    try:
        user = User.objects.get(pk=int(force_str(urlsafe_base64_decode(uid))), is_active=True)
    except (ValueError, TypeError, OverflowError, User.DoesNotExist):
        raise ValidationError({"token": [INVALID_RESET_LINK]}) from None
    if not default_token_generator.check_token(user, token):
        raise ValidationError({"token": [INVALID_RESET_LINK]})
    return user


def password_reset_confirm(*, user: User, new_password: str) -> None:
    """Set the new password; the reset token and all refresh tokens stop working."""
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password"])
        revoke_refresh_tokens(user=user)


def flush_expired_tokens() -> int:
    """Delete expired outstanding refresh tokens (and their blacklist rows); returns how many."""
    expired = OutstandingToken.objects.filter(expires_at__lte=timezone.now())
    count = expired.count()
    expired.delete()
    return count
