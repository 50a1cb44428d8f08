"""Telling users things: in-app rows and email, per their preferences, at most once per key."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from books.models import Book, Membership

from .models import EMAIL_ON_BY_DEFAULT, Notification, NotificationKind, NotificationPreference

logger = logging.getLogger(__name__)

PREFERENCE_FLAGS = ("in_app", "email")


def preferences_for(*, user: Any) -> dict[str, dict[str, bool]]:
    """Every kind's {in_app, email} for the user, defaults filled in."""
    prefs = {
        kind.value: {"in_app": True, "email": kind in EMAIL_ON_BY_DEFAULT}
        for kind in NotificationKind
    }
    for row in NotificationPreference.objects.filter(user=user):
        prefs[row.kind] = {"in_app": row.in_app, "email": row.email}
    return prefs


@transaction.atomic
def preferences_update(
    *, user: Any, changes: dict[str, dict[str, bool]]
) -> dict[str, dict[str, bool]]:
    """Set some kinds' flags (partial per kind); returns all preferences.

    Raises ValueError for an unknown kind or flag (the API validates before calling).
    """
    current = preferences_for(user=user)
    for kind, flags in changes.items():
        if kind not in current:
            raise ValueError(f"Unknown notification kind: {kind!r}")
        unknown = set(flags) - set(PREFERENCE_FLAGS)
        if unknown:
            raise ValueError(f"Unknown preference flag(s): {', '.join(sorted(unknown))}")
        if not flags:
            continue
        merged = {**current[kind], **flags}
        NotificationPreference.objects.update_or_create(user=user, kind=kind, defaults=merged)
    return preferences_for(user=user)


def notify(
    *,
    user: Any,
    kind: str,
    title: str,
    body: str = "",
    data: dict[str, Any] | None = None,
    dedupe_key: str = "",
) -> Notification | None:
    """Record a notification and email it if the user's preferences say so.

    With a `dedupe_key`, the database guarantees at most one notification per user and
    key, even under concurrent writers; a repeat returns None and sends nothing.
    The email goes out only after the surrounding transaction commits, and a mail
    failure is logged, never raised (`emailed_at` stays null). Raises ValueError for
    an unknown kind.
    """
    if kind not in NotificationKind.values:
        raise ValueError(f"Unknown notification kind: {kind!r}")
    prefs = preferences_for(user=user)[kind]
    if not prefs["in_app"] and not prefs["email"] and not dedupe_key:
        return None
    try:
        with transaction.atomic():
            notification = Notification.objects.create(
                user=user,
                kind=kind,
                title=title,
                body=body,
                data=data or {},
                dedupe_key=dedupe_key,
                in_app=prefs["in_app"],
            )
    except IntegrityError:
        return None
    if prefs["email"] and user.email:
        transaction.on_commit(lambda: _send_email(notification.pk), robust=True)
    return notification


def notify_members(
    *,
    book: Book,
    kind: str,
    title: str,
    body: str = "",
    data: dict[str, Any] | None = None,
    dedupe_key: str = "",
) -> list[Notification]:
    """Tell every member of `book` (whatever their role) through `notify`: each gets
    their own notification, per their own preferences, and with a `dedupe_key` at most
    one per member and key (the database key is (user, dedupe_key)). Notifications
    stay per user, so one about a shared book says which: its title starts with the
    book's name in brackets and `data.book` is its id. Returns those stored."""
    data = dict(data or {})
    if not book.is_personal:
        title = f"[{book.name}] {title}"[: Notification._meta.get_field("title").max_length]
        data["book"] = book.pk
    members = Membership.objects.filter(book=book).select_related("user").order_by("user_id")
    stored = []
    for membership in members:
        notification = notify(
            user=membership.user,
            kind=kind,
            title=title,
            body=body,
            data=data,
            dedupe_key=dedupe_key,
        )
        if notification is not None:
            stored.append(notification)
    return stored


def _send_email(notification_id: int) -> None:
    notification = Notification.objects.select_related("user").filter(pk=notification_id).first()
    if notification is None:  # deleted before the transaction's callbacks ran
        return
    try:
        send_mail(
            subject=f"[Budget Tracker] {notification.title}",
            message=notification.body or notification.title,
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[notification.user.email],
        )
    except Exception:  # a mail outage must not break the write that triggered it
        logger.exception("Could not email notification %s", notification_id)
        return
    Notification.objects.filter(pk=notification_id).update(emailed_at=timezone.now())


def notification_mark_read(*, notification: Notification) -> Notification:
    """Idempotent: the first read time is kept, even when two requests race."""
    if notification.read_at is None:
        now = timezone.now()
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(
            read_at=now, updated_at=now
        )
        notification.refresh_from_db(fields=["read_at", "updated_at"])
    return notification


def notifications_mark_all_read(*, user: Any) -> int:
    """Marks every unread visible notification read; returns how many changed."""
    now = timezone.now()
    return (
        Notification.objects.visible_to(user)
        .filter(read_at__isnull=True)
        .update(read_at=now, updated_at=now)
    )
