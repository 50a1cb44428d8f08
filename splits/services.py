"""Writes of settlements, and the rule that a member leaves a book only when square (SPEC §15).

A settlement records a payment between two members of a shared book ("A paid B 20"):
it moves their balances toward zero and is never spending. Its amount is stored in its
own currency and, like an expense's, in the book's base currency at the latest rate on
or before its date (`ledger.services.set_base_amount`, the one conversion rule that
records use too), read under the book's base-currency lock
(`ledger.services.book_base_currency_lock`), so a base-currency change in progress is
waited for and the new currency is used.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction

from books.models import Book, Membership
from core.events import emit
from core.exceptions import ApplicationError, ConflictError
from core.money import MoneyParseError, amount_errors, format_amount, is_currency, parse_money
from currencies.selectors import rates_on
from expenses.models import ExpenseShare
from ledger.services import (
    book_base_currency_lock,
    set_base_amount,
    transactions_recompute_base,
)

from .models import Settlement
from .selectors import member_balance, shared_book_required


class SettlementError(ApplicationError):
    """A settlement is not valid (400, on the field named)."""

    default_code = "invalid_settlement"


class BalanceNotSettled(ConflictError):
    default_code = "balance_not_settled"


def _member_ids(book: Book, user_ids: Iterable[int], *, lock: bool = False) -> set[int]:
    members = Membership.objects.filter(book=book, user_id__in=list(user_ids))
    if lock:
        # Serialises with member removal (which locks the book's memberships): a member
        # cannot leave between this check and the settlement's commit.
        members = members.select_for_update()
    return set(members.values_list("user_id", flat=True))


def _check_people(from_id: Any, to_id: Any, members: set[int]) -> None:
    for field, user_id in (("from", from_id), ("to", to_id)):
        if user_id not in members:
            raise SettlementError(
                f"User {user_id} is not a member of this book.", code="not_a_member", field=field
            )
    if from_id == to_id:
        raise SettlementError(
            "A settlement is a payment between two different members.",
            code="same_member",
            field="to",
        )


def _check_amount(amount: Decimal, currency: str) -> None:
    if not is_currency(currency):
        raise SettlementError(
            f"{currency} is not a supported ISO 4217 currency code.", field="currency"
        )
    errors = amount_errors(amount, currency)
    if errors:
        raise SettlementError(" ".join(errors), field="amount")


@transaction.atomic
def settlement_create(*, book: Book, user: Any, data: dict[str, Any]) -> Settlement:
    """Record that member `data["from_user"]` paid member `data["to_user"]` `amount` in
    `currency` (default: the book's base currency) on `date`, written by `user`.

    400 for a personal book, a non-member or the same person on both sides, or an
    amount the currency does not allow; RateUnavailable (400) when no rate converts.
    """
    shared_book_required(book)
    base_currency = book_base_currency_lock(book=book)
    from_id, to_id = data["from_user"], data["to_user"]
    _check_people(from_id, to_id, _member_ids(book, {from_id, to_id}, lock=True))
    currency = data.get("currency") or base_currency
    amount = Decimal(data["amount"])
    _check_amount(amount, currency)
    settlement = Settlement(
        book=book,
        user=user,
        from_user_id=from_id,
        to_user_id=to_id,
        amount=amount,
        currency=currency,
        date=data["date"],
        note=data.get("note", ""),
    )
    set_base_amount(settlement, base_currency)
    settlement.save()
    _announce(settlement, "created", base_currency)
    return settlement


def _announce(settlement: Settlement, action: str, base_currency: str) -> None:
    """Emit `settlement.<action>` in the write's transaction (SPEC §17 webhooks)."""
    emit(
        book_id=settlement.book_id,
        event=f"settlement.{action}",
        data={
            "id": settlement.pk,
            "from": settlement.from_user_id,
            "to": settlement.to_user_id,
            "amount": format_amount(Decimal(settlement.amount), settlement.currency),
            "currency": settlement.currency,
            "base_amount": format_amount(Decimal(settlement.base_amount), base_currency),
            "base_currency": base_currency,
            "date": str(settlement.date),
            "note": settlement.note,
            "created_by": settlement.user_id,
        },
    )


@transaction.atomic
def settlement_delete(*, settlement: Settlement) -> None:
    """Delete a settlement (the balances it moved move back). Takes the book's
    base-currency lock first, like every write of a figure in the book."""
    base_currency = book_base_currency_lock(book=settlement.book)
    _announce(settlement, "deleted", base_currency)
    settlement.delete()


def settlements_convert_currency(*, base_currency: str, book: Book, **_: Any) -> int:
    """Re-express the book's settlements in its new `base_currency` (the converter splits
    registers for a base-currency change; the expenses converter re-allocates the shares).

    Each at the latest rate on or before its date, by the same set-based recompute as
    expenses and income (`ledger.services.transactions_recompute_base`): all or nothing,
    RateUnavailable or ConversionOutOfRange changing nothing. Returns how many there are.
    """
    return transactions_recompute_base(
        model=Settlement,  # type: ignore[arg-type]  # the same money fields as a Transaction
        book=book,
        base_currency=base_currency,
    )


def settlements_clear(*, book: Book) -> int:
    """Delete every settlement of `book` (a backup restored in replace mode)."""
    deleted, _ = Settlement.objects.filter(book=book).delete()
    return deleted


def _known_people(book: Book) -> set[int]:
    """Current members, and anyone who already has figures in the book (former members)."""
    people = set(Membership.objects.filter(book=book).values_list("user_id", flat=True))
    people |= set(
        ExpenseShare.objects.filter(book=book, user__isnull=False)
        .values_list("user_id", flat=True)
        .distinct()
    )
    for side in ("from_user_id", "to_user_id"):
        people |= set(
            Settlement.objects.filter(book=book)
            .exclude(**{side: None})
            .values_list(side, flat=True)
            .distinct()
        )
    return people


RESTORE_KEYS = ("from_user", "to_user", "amount", "currency", "date")


def _parsed_amount(value: Any) -> Decimal:
    try:
        return parse_money(value)
    except MoneyParseError as exc:
        raise SettlementError(f"amount: {exc}", field="amount") from None


def _parsed_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise SettlementError(f"date: {value!r} is not an ISO date.", field="date") from None


@transaction.atomic
def settlements_bulk_restore(*, book: Book, user: Any, rows: list[dict[str, Any]]) -> int:
    """Add settlements to `book` from a backup: each row has `from_user`, `to_user` (user
    ids), `amount`, `currency`, `date` and optionally `note`; base amounts are computed
    in the book's base currency (one rate lookup per currency). Both people must be
    members of the book or already have figures in it. All or nothing: the first bad
    row raises SettlementError naming its position, RateUnavailable a missing rate.
    Returns how many were added (none to add: 0, whatever the book)."""
    if not rows:
        return 0
    shared_book_required(book)
    base_currency = book_base_currency_lock(book=book)
    people = _known_people(book)
    existing = set(get_user_model().objects.filter(pk__in=people).values_list("pk", flat=True))
    rows = [dict(row) for row in rows]
    by_currency: dict[str, set[date]] = {}
    for position, row in enumerate(rows):
        try:
            missing = [key for key in RESTORE_KEYS if row.get(key) is None]
            if missing:
                raise SettlementError(f"missing {', '.join(missing)}.")
            from_id, to_id = row["from_user"], row["to_user"]
            _check_people(from_id, to_id, existing)
            row["amount"] = _parsed_amount(row["amount"])
            _check_amount(row["amount"], row["currency"])
            if isinstance(row["date"], str):
                row["date"] = _parsed_date(row["date"])
        except SettlementError as exc:
            raise SettlementError(
                f"Settlement {position}: {exc.message}", code=exc.code, field="settlements"
            ) from None
        by_currency.setdefault(row["currency"], set()).add(row["date"])
    quotes = {
        currency: rates_on(from_currency=currency, to_currency=base_currency, dates=days)
        for currency, days in by_currency.items()
    }
    settlements = []
    for row in rows:
        settlement = Settlement(
            book=book,
            user=user,
            from_user_id=row["from_user"],
            to_user_id=row["to_user"],
            amount=row["amount"],
            currency=row["currency"],
            date=row["date"],
            note=row.get("note") or "",
        )
        set_base_amount(settlement, base_currency, quotes[row["currency"]][row["date"]])
        settlements.append(settlement)
    Settlement.objects.bulk_create(settlements, batch_size=1000)
    return len(settlements)


def member_removal_check(*, book: Book, user_id: int) -> None:
    """A member whose balance in `book` is not exactly zero cannot leave or be removed
    (nor delete their account): 409 `balance_not_settled`. Registered into
    `books.services.MEMBER_REMOVAL_CHECKS` by this app's ready()."""
    if book.is_personal:
        return
    balance = member_balance(book=book, user_id=user_id)
    if not balance:
        return
    username = (
        get_user_model().objects.filter(pk=user_id).values_list("username", flat=True).first()
    )
    amount = f"{format_amount(abs(balance), book.base_currency)} {book.base_currency}"
    state = f"is owed {amount}" if balance > 0 else f"owes {amount}"
    raise BalanceNotSettled(
        f'{username or "This member"} {state} in the book "{book.name}" (balance '
        f"{format_amount(balance, book.base_currency)}): settle up first — GET "
        f"/api/v1/books/{book.pk}/settle-up/ lists the payments, record each with POST "
        f"/api/v1/books/{book.pk}/settlements/ — then leave once the balance is 0."
    )
