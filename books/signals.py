"""Every account has its personal book from the moment it exists (SPEC §14)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models.signals import post_save, pre_delete
from django.dispatch import receiver

from . import services

SETTINGS_FIELDS = {"base_currency", "month_start_day"}


@receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="books_personal_book")
def personal_book(
    sender: Any,
    instance: Any,
    created: bool,
    update_fields: Any = None,
    raw: bool = False,
    **kwargs: Any,
) -> None:
    if raw:  # loaddata: the fixture brings its own books
        return
    if created:
        services.personal_book_ensure(user=instance)
    elif update_fields is None or SETTINGS_FIELDS & set(update_fields):
        services.personal_book_sync(user=instance)


@receiver(pre_delete, sender=settings.AUTH_USER_MODEL, dispatch_uid="books_user_leaving")
def user_leaving(sender: Any, instance: Any, **kwargs: Any) -> None:
    services.user_leaving(user=instance)
