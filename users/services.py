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

from core.exceptions import ApplicationError

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

    A new base currency re-expresses every stored expense, income, budget and goal in
    it, here and now, whatever the account's size (PATCH /auth/me/ goes through
    `user_settings_update`, which hands big accounts to the task queue); if a needed
    rate is missing (RateUnavailable) or a figure would not fit (ConversionOutOfRange),
    400 and nothing changes. Currency changes of one user are serialized: the change
    lock (`users.base_currency.base_currency_change_lock`) is taken and the currency
    re-read first, and every figure is derived from stored
    originals, so concurrent changes end exactly as one change to the last currency
    would. While a queued change is pending, asking for another currency raises
    BaseCurrencyChangeInProgress (409); a lock wait longer than
    BASE_CURRENCY_LOCK_WAIT_SECONDS (a change running) raises it too.
    """
    _settings_write(user=user, data=data, enqueue=None)
    return user


def user_settings_update(
    *, user: User, data: dict[str, Any], enqueue: Callable[[int], Any]
) -> BaseCurrencyChange | None:
    """PATCH /auth/me/: `user_update`, except that the base-currency change of an account
    with more than BASE_CURRENCY_SYNC_MAX_ROWS expenses and income is queued.

    Then the other settings change now, the currency stays as it is, and a `queued`
    BaseCurrencyChange is recorded and its id handed to `enqueue` (the task queue's
    entry, which calls `base_currency_change_run`) once that commits; it is returned
    (also when the request repeats the pending change's currency). Returns None when
    nothing was queued. Raises like `user_update`.
    """
    wanted = data.get("base_currency")
    big = (
        wanted is not None
        and wanted != user.base_currency
        and not _records_at_most(user=user, limit=settings.BASE_CURRENCY_SYNC_MAX_ROWS)
    )
    return _settings_write(user=user, data=data, enqueue=enqueue if big else None)


def _records_at_most(*, user: User, limit: int) -> bool:
    """Whether the user has at most `limit` records (expenses and income) together: the
    `records` models of the registered converters (`users.base_currency`).

    Counts no further than the limit, so a huge account costs no more than a small one.
    """
    remaining = limit + 1
    for converter in converters():
        if converter.records is None:
            continue
        records = converter.records._base_manager.filter(user=user)
        remaining -= records.values("pk")[:remaining].count()
        if remaining <= 0:
            return False
    return True


def _settings_write(
    *, user: User, data: dict[str, Any], enqueue: Callable[[int], Any] | None
) -> BaseCurrencyChange | None:
    """`user_update`'s one transaction; with `enqueue`, a currency change is queued
    instead of applied (see `user_settings_update`). Returns the pending change the
    request asked for, if any."""
    before = {field: getattr(user, field) for field in USER_SETTINGS_FIELDS}
    pending: BaseCurrencyChange | None = None
    try:
        with transaction.atomic(), base_currency_lock_wait():
            changes = dict(data)
            if "base_currency" in changes:
                # One change of this user at a time (bounded wait: 409 while a long one
                # runs); then compare with the committed currency, not this request's copy.
                base_currency_change_lock(user_id=user.pk)
                user.base_currency = User.objects.values_list("base_currency", flat=True).get(
                    pk=user.pk
                )
                pending = _pending_change(user=user)
                if pending is not None and changes["base_currency"] == pending.to_currency:
                    del changes["base_currency"]  # asked again; the queued change does it
                elif pending is not None and changes["base_currency"] != user.base_currency:
                    raise BaseCurrencyChangeInProgress(
                        f"Your base currency is already being changed to "
                        f"{pending.to_currency}; wait until that change is done."
                    )
                else:
                    pending = None
            changed = [
                field
                for field in USER_SETTINGS_FIELDS
                if field in changes and getattr(user, field) != changes[field]
            ]
            if enqueue is not None and "base_currency" in changed:
                changed.remove("base_currency")
                pending = _change_queue(
                    user=user,
                    from_currency=user.base_currency,
                    to_currency=changes["base_currency"],
                )
                change_id = pending.pk
                transaction.on_commit(lambda: enqueue(change_id))
            for field in changed:
                setattr(user, field, changes[field])
            if "base_currency" in changed:
                _recompute_base_amounts(user=user)
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


def _change_queue(*, user: User, from_currency: str, to_currency: str) -> BaseCurrencyChange:
    """Record a queued change; the database keeps it the only pending one of the user (on
    SQLite, where the change lock is no lock, a concurrent request may get there first)."""
    try:
        with transaction.atomic():
            return BaseCurrencyChange.objects.create(
                user=user, from_currency=from_currency, to_currency=to_currency
            )
    except IntegrityError:
        raise BaseCurrencyChangeInProgress(
            "Your base currency is already being changed; wait until that change is done."
        ) from None


def _pending_change(*, user: User) -> BaseCurrencyChange | None:
    return BaseCurrencyChange.objects.filter(user=user, status__in=PENDING_STATUSES).first()


def base_currency_change_latest(*, user: User) -> BaseCurrencyChange | None:
    """The user's most recent queued base-currency change, whatever its status."""
    return BaseCurrencyChange.objects.filter(user=user).order_by("-id").first()


def base_currency_change_run(*, change_id: int) -> None:
    """Carry out one queued change: `running`, then `done`, or `failed` with the reason.

    Does what `user_update` does inline (`_recompute_base_amounts`), all or nothing in
    one transaction, holding the change lock for as long as that takes (writes of the
    user meanwhile answer 409 after BASE_CURRENCY_LOCK_WAIT_SECONDS). The state is
    re-read under the lock, so delivering the task twice (or once more after a crash)
    converts once: a change already `done` or `failed` is left alone. A missing rate or
    a figure that would not fit marks it `failed` with that error's message (naming the
    pair) and changes nothing — as does any other domain error (ApplicationError) a
    converter raises; any other error is logged and marks it `failed` too.
    """
    claimed = BaseCurrencyChange.objects.filter(
        pk=change_id, status=BaseCurrencyChangeStatus.QUEUED
    ).update(status=BaseCurrencyChangeStatus.RUNNING, started_at=timezone.now())
    if not claimed and not _change_in(change_id, BaseCurrencyChangeStatus.RUNNING):
        return
    try:
        with transaction.atomic():
            owner = BaseCurrencyChange.objects.values_list("user_id", flat=True).get(pk=change_id)
            # The change lock first, as every writer takes it: then the change's own row.
            # Not the user row: login and refresh keep working during a long change.
            base_currency_change_lock(user_id=owner)
            user = User.objects.get(pk=owner)
            change = BaseCurrencyChange.objects.select_for_update().get(pk=change_id)
            if change.status != BaseCurrencyChangeStatus.RUNNING:
                return  # finished by another delivery meanwhile
            if user.base_currency != change.to_currency:
                user.base_currency = change.to_currency
                _recompute_base_amounts(user=user)
                user.save(update_fields=["base_currency"])
            change.status = BaseCurrencyChangeStatus.DONE
            change.finished_at = timezone.now()
            change.save(update_fields=["status", "finished_at"])
    except (BaseCurrencyChange.DoesNotExist, User.DoesNotExist):
        return  # the account was deleted meanwhile
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


def _recompute_base_amounts(*, user: User) -> None:
    """Re-express stored figures in the user's (new) base currency; all or nothing.

    Each app that stores such figures registered its converter (`users.base_currency`):
    expenses and income convert at the rate of their own dates; budgets and goals,
    which have no date of their own, at the latest rate (today, in the user's zone),
    from their stored originals. Runs under the change lock taken by `user_update`
    or `base_currency_change_run`, inside its transaction.
    """
    for converter in converters():
        converter.convert(user=user, base_currency=user.base_currency)


def user_delete(*, user: User) -> None:
    """Remove the user and, by cascade, every record they own, and then their files.

    Stored files (receipts) are deleted once the deletion commits, never before: a
    failed deletion keeps the account whole.
    """
    with transaction.atomic():
        revoke_refresh_tokens(user=user)
        files = _owned_files(user)
        user.delete()
        transaction.on_commit(lambda: _delete_files(files), robust=True)


def _owned_files(user: User) -> list[tuple[Any, str]]:
    """(storage, name) of every file a model that dies with `user` (a CASCADE foreign key
    to the user) stores: found through the model registry, so users imports no app."""
    files: list[tuple[Any, str]] = []
    for model in apps.get_models():
        file_fields = [f for f in model._meta.concrete_fields if isinstance(f, models.FileField)]
        owners = [
            f
            for f in model._meta.concrete_fields
            if f.many_to_one
            and f.remote_field.model is User
            and f.remote_field.on_delete is models.CASCADE
        ]
        for owner in owners:
            for field in file_fields:
                names = (
                    model._default_manager.filter(**{owner.name: user})
                    .exclude(**{field.name: ""})
                    .values_list(field.name, flat=True)
                )
                files += [(field.storage, name) for name in names.iterator() if name]
    return files


def _delete_files(files: list[tuple[Any, str]]) -> None:
    for storage, name in files:
        try:
            storage.delete(name)
        except OSError:
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
