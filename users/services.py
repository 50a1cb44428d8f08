"""Writes on users: registration, settings, passwords, account deletion, token revocation."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from .models import User

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
    it; if a needed rate is missing, RateUnavailable (400) and nothing changes.
    """
    previous_currency = user.base_currency
    changed = [
        field
        for field in USER_SETTINGS_FIELDS
        if field in data and getattr(user, field) != data[field]
    ]
    for field in changed:
        setattr(user, field, data[field])
    if changed:
        try:
            with transaction.atomic():
                user.save(update_fields=changed)
                if "base_currency" in changed:
                    _recompute_base_amounts(user=user, previous_currency=previous_currency)
        except IntegrityError:
            raise ValidationError({"email": ["A user with that email already exists."]}) from None
    return user


def _recompute_base_amounts(*, user: User, previous_currency: str) -> None:
    """Re-express stored figures in the new base currency; all or nothing (RateUnavailable).

    Expenses and income convert at the rate of their own dates; budgets and goals,
    which have no date of their own, at the latest rate (today, in the user's zone).
    """
    from budgets.services import budgets_convert_currency
    from core.dates import user_today
    from expenses.services import expenses_recompute_base
    from goals.services import goals_convert_currency
    from income.services import incomes_recompute_base

    expenses_recompute_base(user=user, base_currency=user.base_currency)
    incomes_recompute_base(user=user, base_currency=user.base_currency)
    change = {
        "user": user,
        "from_currency": previous_currency,
        "to_currency": user.base_currency,
        "on": user_today(user),
    }
    budgets_convert_currency(**change)
    goals_convert_currency(**change)


def user_delete(*, user: User) -> None:
    """Remove the user and, by cascade, every record they own."""
    with transaction.atomic():
        revoke_refresh_tokens(user=user)
        user.delete()


def revoke_refresh_tokens(*, user: User) -> int:
    """Blacklist every unexpired refresh token issued to the user; returns how many."""
    outstanding = OutstandingToken.objects.filter(
        user=user, expires_at__gt=timezone.now(), blacklistedtoken__isnull=True
    )
    created = BlacklistedToken.objects.bulk_create(
        [BlacklistedToken(token=token) for token in outstanding], ignore_conflicts=True
    )
    return len(created)


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
