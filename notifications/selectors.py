"""Reads of notifications for other apps (they write them through `services`)."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Count

from books.models import Book, Membership

from .models import Notification


def keys_every_member_has(*, book: Book, keys: Iterable[str]) -> set[str]:
    """Of these dedupe keys, those every current member of `book` already holds a
    notification for: telling the members again would store nothing (the database keeps
    one per member and key), so a caller may skip building it. Two queries, whatever the
    number of keys."""
    keys = [key for key in set(keys) if key]
    if not keys:
        return set()
    members = Membership.objects.filter(book=book).values("user_id")
    needed = members.count()
    if needed == 0:
        return set()
    held = (
        Notification.objects.filter(user_id__in=members, dedupe_key__in=keys)
        .values("dedupe_key")
        .annotate(members=Count("id"))
        .order_by()
    )
    return {row["dedupe_key"] for row in held if row["members"] >= needed}
