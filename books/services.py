"""Writes of books, memberships and invitations (SPEC §14).

The rules that keep a book usable live here: a personal book is never shared or
deleted; a shared book always keeps an owner; an invitation's token works once, for the
address it was sent to, for INVITATION_TTL_DAYS.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.exceptions import ApplicationError, ConflictError, ForbiddenError
from core.money import MoneyParseError, decimal_places, parse_money

from .models import (
    SHARE_WEIGHT_MAX,
    SPLIT_VALUE_PLACES,
    Book,
    BookKind,
    Invitation,
    Membership,
    Role,
)

INVITATION_TTL_DAYS = 7


class BookError(ApplicationError):
    """A book, membership or invitation rule was broken (400 unless a subclass says)."""


class BookConflict(ConflictError):
    pass


class InvitationInvalid(BookError):
    default_code = "invitation_invalid"


def personal_book_ensure(*, user: Any) -> Book:
    """The user's personal book, created (with their owner membership) if missing."""
    book = Book.objects.filter(personal_owner=user).first()
    if book is not None:
        return book
    try:
        with transaction.atomic():
            book = Book.objects.create(
                name="Personal",
                kind=BookKind.PERSONAL,
                personal_owner=user,
                base_currency=user.base_currency,
                month_start_day=user.month_start_day,
            )
            Membership.objects.create(book=book, user=user, role=Role.OWNER)
    except IntegrityError:  # created concurrently: the one-to-one key let one through
        book = Book.objects.get(personal_owner=user)
    return book


def personal_book_sync(*, user: Any) -> None:
    """The personal book follows the user's base currency and month start day
    (`PATCH /auth/me/` changes them; the users app converts the figures)."""
    Book.objects.filter(personal_owner=user).exclude(
        base_currency=user.base_currency, month_start_day=user.month_start_day
    ).update(
        base_currency=user.base_currency,
        month_start_day=user.month_start_day,
        updated_at=timezone.now(),
    )


def book_create(
    *, user: Any, name: str, base_currency: str | None = None, month_start_day: int | None = None
) -> Book:
    """A shared book with `user` as its owner; currency and month start default to theirs."""
    with transaction.atomic():
        book = Book.objects.create(
            name=name,
            kind=BookKind.SHARED,
            base_currency=base_currency or user.base_currency,
            month_start_day=month_start_day or user.month_start_day,
        )
        Membership.objects.create(book=book, user=user, role=Role.OWNER)
    book.role = Role.OWNER  # type: ignore[attr-defined]
    return book


def book_delete(*, book: Book) -> None:
    """Delete a shared book and all its records; refused while other members remain."""
    if book.is_personal:
        raise BookConflict(
            "A personal book goes with its account (DELETE /auth/me/); it cannot be deleted "
            "on its own.",
            code="personal_book",
        )
    with transaction.atomic():
        members = Membership.objects.select_for_update().filter(book=book)
        if members.count() > 1:
            raise BookConflict(
                "Other members remain in this book: remove them first (DELETE "
                "/books/{id}/members/{user_id}/), then delete it.",
                code="book_has_members",
            )
        book.delete()


def _owners_left(book: Book, *, without_user: Any) -> int:
    return Membership.objects.filter(book=book, role=Role.OWNER).exclude(user=without_user).count()


def member_update(*, book: Book, member: Membership, role: str) -> Membership:
    """Change a member's role (owners only, checked by the view); a book keeps an owner."""
    with transaction.atomic():
        list(Membership.objects.select_for_update().filter(book=book))  # one change at a time
        if book.is_personal:
            raise BookError("A personal book has only you in it.", code="personal_book")
        if (
            member.role == Role.OWNER
            and role != Role.OWNER
            and not _owners_left(book, without_user=member.user_id)
        ):
            raise BookConflict(
                "A book needs an owner: make another member an owner first.",
                code="last_owner",
            )
        member.role = role
        member.save(update_fields=["role"])
    return member


# Called before a member leaves, e.g. to refuse while they owe money (§15). Each hook
# raises an ApplicationError to refuse. Apps above `books` register theirs in ready().
MEMBER_REMOVAL_CHECKS: list[Any] = []


def member_remove(*, book: Book, member: Membership, by: Any, by_role: str) -> None:
    """Remove a member: an owner removes anyone, anyone removes themselves; the last
    owner cannot leave; the records they created stay in the book."""
    if member.user_id != by.pk and by_role != Role.OWNER:
        raise ForbiddenError("Only an owner of this book can remove other members.")
    with transaction.atomic():
        list(Membership.objects.select_for_update().filter(book=book))
        if book.is_personal:
            raise BookConflict("You cannot leave your personal book.", code="personal_book")
        if member.role == Role.OWNER and not _owners_left(book, without_user=member.user_id):
            raise BookConflict(
                "The last owner cannot leave: make another member an owner first, or delete "
                "the book once you are its only member.",
                code="last_owner",
            )
        for check in MEMBER_REMOVAL_CHECKS:
            check(book=book, user_id=member.user_id)
        member.delete()
        _default_split_drop(book=book, user_id=member.user_id)


# A book's default split (SPEC §15): how expenses that come without one (imports,
# recurring items) are split. Stored null (equal among the members at the time) or
# {"mode": "shares", "parts": [{"user": id, "value": "2"}]}, values as strings; the
# limits are those of a `shares` split (expenses.splits).
DEFAULT_SPLIT_MODES = ("equal", "shares")


def _default_split_error(message: str, code: str = "invalid_default_split") -> BookError:
    return BookError(message, code=code, field="default_split")


def default_split_clean(*, book: Book, value: Any) -> dict[str, Any] | None:
    """The stored form of a default split asked for `book` (null and `{"mode": "equal"}`
    → null), or BookError (400 on `default_split`) naming the problem: personal books have
    none; `shares` needs parts of members, each once, with a weight > 0, at most
    SHARE_WEIGHT_MAX and SPLIT_VALUE_PLACES decimals."""
    if value is None:
        return None
    if book.is_personal:
        raise _default_split_error(
            "A personal book's expenses are all yours: it has no default split.",
            code="not_a_shared_book",
        )
    if not isinstance(value, dict):
        raise _default_split_error(
            'Use null, {"mode": "equal"} or {"mode": "shares", "parts": [...]}.'
        )
    unknown = sorted(str(key) for key in value if key not in ("mode", "parts"))
    if unknown:
        raise _default_split_error(f"Unknown field {unknown[0]!r}: use mode and parts.")
    mode = value.get("mode")
    if mode not in DEFAULT_SPLIT_MODES:
        raise _default_split_error(
            f"Unknown default split mode {mode!r}: use equal or shares (exact amounts and "
            "percents are per expense)."
        )
    parts = value.get("parts")
    if mode == "equal":
        if parts:
            raise _default_split_error("An equal default split takes no parts.")
        return None
    if not isinstance(parts, list) or not parts:
        raise _default_split_error("A shares default split needs parts: [{user, value}].")
    members = set(Membership.objects.filter(book=book).values_list("user_id", flat=True))
    stored: list[dict[str, Any]] = []
    seen: set[int] = set()
    for index, part in enumerate(parts):
        if not isinstance(part, dict) or set(part) != {"user", "value"}:
            raise _default_split_error(f'Part {index}: use {{"user": id, "value": "2"}}.')
        user_id = part["user"]
        if isinstance(user_id, bool) or not isinstance(user_id, int) or user_id not in members:
            raise _default_split_error(
                f"Part {index}: user {user_id} is not a member of this book.", code="not_a_member"
            )
        if user_id in seen:
            raise _default_split_error(
                f"User {user_id} appears twice in the default split.", code="duplicate_part"
            )
        seen.add(user_id)
        try:
            weight = parse_money(part["value"])
        except MoneyParseError as exc:
            raise _default_split_error(f"Part of user {user_id}: {exc}") from None
        if not Decimal(0) < weight <= SHARE_WEIGHT_MAX:
            raise _default_split_error(
                f"Part of user {user_id}: shares must be greater than 0 and at most "
                f"{SHARE_WEIGHT_MAX}."
            )
        if decimal_places(weight) > SPLIT_VALUE_PLACES:
            raise _default_split_error(
                f"Part of user {user_id}: at most {SPLIT_VALUE_PLACES} decimal places."
            )
        stored.append({"user": user_id, "value": format(weight.normalize(), "f")})
    return {"mode": "shares", "parts": sorted(stored, key=lambda part: part["user"])}


def _default_split_drop(*, book: Book, user_id: int) -> None:
    """A member who leaves leaves the book's default split; no parts left → equal."""
    current = Book.objects.select_for_update().get(pk=book.pk)
    stored = current.default_split or {}
    parts = stored.get("parts") or []
    kept = [part for part in parts if part.get("user") != user_id]
    if len(kept) == len(parts):
        return
    current.default_split = {**stored, "parts": kept} if kept else None
    current.save(update_fields=["default_split", "updated_at"])
    book.default_split = current.default_split


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invitation_create(*, book: Book, email: str, role: str, by: Any) -> Invitation:
    """Invite `email` with `role`; the one-time token is mailed (after commit) and never
    stored or returned. A new invitation to the same address replaces a pending one."""
    if book.is_personal:
        raise BookError(
            "A personal book cannot be shared: create a shared book (POST /books/) and "
            "invite people to it.",
            code="personal_book",
        )
    if Membership.objects.filter(book=book, user__email__iexact=email).exists():
        raise BookConflict(f"{email} is already a member of this book.", code="already_member")
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    with transaction.atomic():
        Invitation.objects.filter(
            book=book,
            email__iexact=email,
            accepted_at__isnull=True,
            revoked_at__isnull=True,
        ).update(revoked_at=now)
        invitation = Invitation.objects.create(
            book=book,
            email=email,
            role=role,
            token_hash=_token_hash(token),
            invited_by=by,
            expires_at=now + timedelta(days=INVITATION_TTL_DAYS),
        )
        transaction.on_commit(
            lambda: _send_invitation(invitation=invitation, token=token, by=by), robust=True
        )
    return invitation


def _send_invitation(*, invitation: Invitation, token: str, by: Any) -> None:
    lines = [
        "Hello,",
        "",
        f'{by.username} invites you to the book "{invitation.book.name}" on Budget Tracker '
        f"as {invitation.role}.",
        "Sign in (or sign up with this email address), then accept with",
        "POST /api/v1/invitations/accept/ and this token:",
        f"  token: {token}",
    ]
    if settings.INVITATION_URL:
        lines += ["", "Or open: " + settings.INVITATION_URL.format(token=token)]
    lines += ["", f"The token works once, until {invitation.expires_at:%Y-%m-%d %H:%M} UTC."]
    send_mail(
        subject=f'Join "{invitation.book.name}" on Budget Tracker',
        message="\n".join(lines),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[invitation.email],
    )


def invitation_revoke(*, invitation: Invitation) -> None:
    with transaction.atomic():
        invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if invitation.accepted_at is not None:
            raise BookConflict(
                "This invitation was already accepted: remove the member instead.",
                code="invitation_used",
            )
        if invitation.revoked_at is None:
            invitation.revoked_at = timezone.now()
            invitation.save(update_fields=["revoked_at"])


def invitation_accept(*, token: str, user: Any) -> Book:
    """Join the invitation's book. The invitation row is locked, so two concurrent
    accepts make one membership and the second sees the token used (400)."""
    with transaction.atomic():
        invitation = (
            Invitation.objects.select_for_update()
            .select_related("book")
            .filter(token_hash=_token_hash(token))
            .first()
        )
        if invitation is None:
            raise InvitationInvalid("This invitation token is not valid.")
        if invitation.revoked_at is not None:
            raise InvitationInvalid("This invitation was revoked.", code="invitation_revoked")
        if invitation.accepted_at is not None:
            raise InvitationInvalid("This invitation was already used.", code="invitation_used")
        if invitation.expires_at <= timezone.now():
            raise InvitationInvalid(
                "This invitation has expired: ask an owner of the book for a new one.",
                code="invitation_expired",
            )
        if invitation.email.lower() != (user.email or "").lower():
            raise InvitationInvalid(
                "This invitation was sent to another email address: sign in as that "
                "account (or change your email to it) to accept it.",
                code="invitation_other_user",
            )
        if Membership.objects.filter(book=invitation.book, user=user).exists():
            raise BookConflict("You are already a member of this book.", code="already_member")
        Membership.objects.create(book=invitation.book, user=user, role=invitation.role)
        invitation.accepted_at = timezone.now()
        invitation.accepted_by = user
        invitation.save(update_fields=["accepted_at", "accepted_by"])
    book = invitation.book
    book.role = invitation.role  # type: ignore[attr-defined]
    return book


def user_leaving(*, user: Any) -> None:
    """Before an account is deleted: in each shared book where they are the only owner and
    others remain, the longest-standing member becomes owner, so no book is orphaned; a
    shared book they are alone in goes with them.

    First, before anything changes, every shared book they would leave behind others in
    runs MEMBER_REMOVAL_CHECKS (e.g. 409 while they owe or are owed money, §15): the
    account is then not deleted at all."""
    memberships = list(
        Membership.objects.filter(user=user, book__kind=BookKind.SHARED).select_related("book")
    )
    for membership in memberships:
        if Membership.objects.filter(book=membership.book).exclude(user=user).exists():
            for check in MEMBER_REMOVAL_CHECKS:
                check(book=membership.book, user_id=user.pk)
    for membership in memberships:
        book = membership.book
        others = Membership.objects.filter(book=book).exclude(user=user).order_by("id")
        if not others.exists():
            book.delete()
            continue
        _default_split_drop(book=book, user_id=user.pk)
        if membership.role == Role.OWNER and not others.filter(role=Role.OWNER).exists():
            heir = others.first()
            heir.role = Role.OWNER
            heir.save(update_fields=["role"])


# A new base currency re-expresses every figure in the book: the users app carries that
# out — its converter registry (the one registry), the book's change lock, the task queue
# for big books and the BaseCurrencyChange records — and, sitting above books, plugs in
# here from its ready(). `change(book=, to_currency=, by=)` changes now (returning None)
# or queues (returning the change), raising like `users.services.book_base_currency_change`;
# `latest(books=)` maps each book id to its latest queued change.
@dataclass(frozen=True)
class BaseCurrencyChanges:
    change: Callable[..., Any]
    latest: Callable[..., dict[int, Any]]


_base_currency_changes: BaseCurrencyChanges | None = None


def register_base_currency_changes(
    *, change: Callable[..., Any], latest: Callable[..., dict[int, Any]]
) -> None:
    global _base_currency_changes  # set once, from users' ready()
    _base_currency_changes = BaseCurrencyChanges(change=change, latest=latest)


def _currency_changes() -> BaseCurrencyChanges:
    if _base_currency_changes is None:
        raise ImproperlyConfigured("No app carries out base-currency changes (users).")
    return _base_currency_changes


def base_currency_changes_attach(*, books: list[Book]) -> None:
    """Set `base_currency_change` on each of `books`: its latest queued base-currency
    change, or None. One query for any number of books."""
    latest = _currency_changes().latest(books=books) if books else {}
    for book in books:
        book.base_currency_change = latest.get(book.pk)  # type: ignore[attr-defined]


def book_update(*, book: Book, data: dict[str, Any], by: Any) -> tuple[Book, Any]:
    """Rename a book, set its default split (`default_split_clean`) or change its base
    currency / month start (owners, checked by the view).

    A personal book's currency and month start are the account's (`PATCH /auth/me/`, which
    converts the figures the same way), so here they are refused unless unchanged. A new
    currency of a shared book re-expresses every figure in it (all or nothing, 400 if a
    rate is missing) — now, or for a book of more than BASE_CURRENCY_SYNC_MAX_ROWS
    records on the task queue: then the other settings change now, the currency once
    the queued change is done, and that change is returned with the book (else None).
    409 (`base_currency_change_in_progress`) while another change of the book is pending.
    """
    with transaction.atomic():
        current = Book.objects.get(pk=book.pk)
        changes = {key: value for key, value in data.items() if getattr(current, key) != value}
        if current.is_personal and changes.keys() & {"base_currency", "month_start_day"}:
            raise BookError(
                "Your personal book's base currency and month start day are your account's: "
                "change them with PATCH /auth/me/.",
                code="personal_book",
            )
        if "default_split" in changes:
            list(Membership.objects.select_for_update().filter(book=book))  # as member_remove
            changes["default_split"] = default_split_clean(
                book=current, value=changes["default_split"]
            )
            if changes["default_split"] == current.default_split:
                del changes["default_split"]
        queued = None
        new_currency = changes.pop("base_currency", None)
        if new_currency is not None:
            # Before the book row's lock: the change takes the book's change lock first,
            # as the queued change does, then writes the row.
            queued = _currency_changes().change(book=current, to_currency=new_currency, by=by)
        book = Book.objects.select_for_update().get(pk=book.pk)
        for key, value in changes.items():
            setattr(book, key, value)
        if changes:
            book.save(update_fields=[*changes, "updated_at"])
    return book, queued
