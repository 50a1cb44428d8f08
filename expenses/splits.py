"""Who paid a shared-book expense and how it splits among members (SPEC §15).

The rules, in one place for every way an expense is written (API, imports, recurring
items, restores):

- A shared book's expense has a payer (`paid_by`, a member) and parts (`ExpenseShare`),
  one per member in the split; a personal book's has neither (sending them is a 400).
- Modes: `equal` (parts without values; no parts = every current member), `shares`
  (positive weights), `exact` (amounts in the expense currency summing to the amount),
  `percent` (summing to 100). Parts name only members, each at most once.
- The parts always sum exactly to the amount in the expense's currency and to its
  `base_amount` in the book's base currency: `core.allocation.allocate` (largest
  remainder over parts ordered by user id: each part gets the floor of its exact share
  in minor units, the odd units go one each to the largest dropped fractions; among
  equal fractions, from the part at position (expense id mod number of parts) and going
  round, so over many expenses the odd cents fall evenly on everybody). Base-currency
  parts are allocated from the base amount in proportion to the expense-currency parts,
  with the same rotation.
- Without a split, an expense takes the book's default split (`Book.default_split`,
  set by an owner: equal, or fixed shares), else equal among the current members.
- Once split, an expense keeps its mode and parts: a new amount, currency or date
  re-splits them (an exact split that no longer adds up is refused: send new parts);
  `split: null` on an update puts it back on the book's default. Parts of members who
  have since left, or whose account is gone, stay in the split they were part of.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import F

from books.models import SHARE_WEIGHT_MAX, SPLIT_VALUE_PLACES, Book, Membership, Role
from core.allocation import allocate
from core.exceptions import ApplicationError
from core.money import decimal_places, format_amount, minor_units

from .models import Expense, ExpenseShare, SplitMode

HUNDRED = Decimal(100)


class SplitError(ApplicationError):
    """The split or payer of an expense is not valid (400, on field `split`/`paid_by`)."""

    default_code = "invalid_split"
    field = "split"


@dataclass(frozen=True)
class Part:
    user_id: int
    value: Decimal
    amount: Decimal
    base_amount: Decimal


def book_member_ids(book: Book) -> list[int]:
    return list(
        Membership.objects.filter(book=book).order_by("user_id").values_list("user_id", flat=True)
    )


def _places(amount: Decimal, currency: str) -> int:
    return max(minor_units(currency), decimal_places(amount))


def _check_values(
    mode: str, parts: list[tuple[int, Decimal]], amount: Decimal, currency: str
) -> None:
    """The per-mode rules on values (each refusal names the rule)."""
    for user_id, value in parts:
        if decimal_places(value) > SPLIT_VALUE_PLACES:
            raise SplitError(
                f"Part of user {user_id}: at most {SPLIT_VALUE_PLACES} decimal places."
            )
        if mode == SplitMode.SHARES and not Decimal(0) < value <= SHARE_WEIGHT_MAX:
            raise SplitError(
                f"Part of user {user_id}: shares must be greater than 0 and at most "
                f"{SHARE_WEIGHT_MAX}."
            )
        if mode in (SplitMode.EXACT, SplitMode.PERCENT) and value < 0:
            raise SplitError(f"Part of user {user_id}: a {mode} part cannot be negative.")
        if mode == SplitMode.EXACT and decimal_places(value) > minor_units(currency):
            raise SplitError(
                f"Part of user {user_id}: {currency} amounts allow at most "
                f"{minor_units(currency)} decimal places."
            )
    total = sum((value for _, value in parts), Decimal(0))
    if mode == SplitMode.EXACT and total != amount:
        raise SplitError(
            f"Exact parts must sum to the amount {format_amount(amount, currency)} "
            f"{currency}; they sum to {format(total, 'f')}.",
            code="split_sum_mismatch",
        )
    if mode == SplitMode.PERCENT and total != HUNDRED:
        raise SplitError(
            f"Percent parts must sum to 100; they sum to {format(total.normalize(), 'f')}.",
            code="split_sum_mismatch",
        )


def split_compute(
    *,
    mode: str,
    parts: list[dict[str, Any]] | None,
    amount: Decimal,
    currency: str,
    base_amount: Decimal,
    base_currency: str,
    member_ids: list[int],
    rotation: int = 0,
) -> list[Part]:
    """The parts of `amount` (and of `base_amount`) for a split asked as `mode`/`parts`
    (`[{"user": id, "value": Decimal}]`), ordered by user id. `rotation` (the expense's
    id) is where the odd units start among equal dropped fractions (`allocate`'s
    `start`). Raises SplitError."""
    if mode not in SplitMode.values:
        raise SplitError(f"Unknown split mode {mode!r}: use one of {', '.join(SplitMode.values)}.")
    members = set(member_ids)
    asked: list[tuple[int, Decimal]] = []
    seen: set[int] = set()
    for part in parts or []:
        user_id = part.get("user")
        if user_id not in members:
            raise SplitError(f"User {user_id} is not a member of this book.", code="not_a_member")
        if user_id in seen:
            raise SplitError(f"User {user_id} appears twice in the split.", code="duplicate_part")
        seen.add(user_id)
        value = part.get("value")
        if mode == SplitMode.EQUAL:
            value = Decimal(1)  # equal parts carry no value; one is stored
        elif value is None:
            raise SplitError(f"Part of user {user_id}: a {mode} part needs a value.")
        asked.append((user_id, value))
    if not asked:
        if mode != SplitMode.EQUAL:
            raise SplitError(f"A {mode} split needs parts.")
        asked = [(user_id, Decimal(1)) for user_id in sorted(members)]
    asked.sort()
    _check_values(mode, asked, amount, currency)
    values = [value for _, value in asked]
    if mode == SplitMode.EXACT:
        amounts = values
    else:
        amounts = allocate(amount, values, _places(amount, currency), start=rotation)
    bases = allocate(base_amount, amounts, _places(base_amount, base_currency), start=rotation)
    return [
        Part(user_id=user_id, value=value, amount=part_amount, base_amount=part_base)
        for (user_id, value), part_amount, part_base in zip(asked, amounts, bases, strict=True)
    ]


def _default_payer(book: Book, user_id: int | None, member_ids: list[int]) -> int:
    """The caller when they are a member, else the longest-standing owner."""
    if user_id in member_ids:
        return user_id
    owner = (
        Membership.objects.filter(book=book, role=Role.OWNER)
        .order_by("id")
        .values_list("user_id", flat=True)
        .first()
    )
    return owner if owner is not None else member_ids[0]


def default_split(book: Book, member_ids: list[int]) -> tuple[str, list[dict[str, Any]]]:
    """The book's default split for expenses that come without one, keeping only parts of
    current members (none left: equal among the members)."""
    stored = book.default_split or {}
    members = set(member_ids)
    parts = [
        {"user": part["user"], "value": Decimal(str(part["value"]))}
        for part in stored.get("parts") or []
        if part.get("user") in members
    ]
    if stored.get("mode") == SplitMode.SHARES and parts:
        return SplitMode.SHARES, parts
    return SplitMode.EQUAL, []


def refuse_in_personal_book(*, book: Book, paid_by: Any, split: Any) -> None:
    """A personal book's expenses have no payer or split: sending one is a 400 (sending
    `null`, as its expenses show them, is not)."""
    if book.is_personal and (paid_by is not None or split is not None):
        raise SplitError(
            "Splits are for shared books: a personal book's expenses are all yours.",
            code="not_a_shared_book",
            field="split" if split is not None else "paid_by",
        )


def _write_parts(expense: Expense, parts: list[Part]) -> None:
    ExpenseShare.objects.filter(expense=expense).delete()
    ExpenseShare.objects.bulk_create(
        ExpenseShare(
            expense=expense,
            book_id=expense.book_id,
            # Stand-ins (< 0) are the parts of deleted accounts (`_stored_parts`).
            user_id=part.user_id if part.user_id > 0 else None,
            value=part.value,
            amount=part.amount,
            base_amount=part.base_amount,
        )
        for part in parts
    )


def _stored_parts(expense: Expense) -> list[dict[str, Any]]:
    """The expense's parts as asked, for a re-split. A part whose account was deleted
    (user null) keeps its place under a stand-in id below zero, so the others' parts do
    not grow (and percents still sum to 100)."""
    stored = ExpenseShare.objects.filter(expense=expense).order_by("user_id", "pk")
    parts: list[dict[str, Any]] = []
    stand_in = 0
    for user_id, value in stored.values_list("user_id", "value"):
        if user_id is None:
            stand_in -= 1
            user_id = stand_in
        parts.append({"user": user_id, "value": value})
    return parts


def expense_split_apply(
    *,
    expense: Expense,
    by_user_id: int | None,
    paid_by: int | None = None,
    split: dict[str, Any] | None = None,
    resplit: bool = False,
    split_reset: bool = False,
) -> None:
    """Set the payer and parts of a saved shared-book expense.

    New expenses (no `split_mode` yet) get `split`, else the book's default; existing ones
    get `split` when sent, the book's default when `split_reset` (`split: null` sent), else
    — when `resplit` (amount, currency or date changed) — their stored mode and values
    again (an exact split whose parts no longer sum to the amount is refused: send the new
    parts). `paid_by` must be a member (or the current payer, who may have left since);
    it defaults to the caller (a member) on creation. Personal-book expenses are left
    alone. Raises SplitError.
    """
    book = expense.book
    if book.is_personal:
        return
    member_ids = book_member_ids(book)
    new = not expense.split_mode
    changed = False
    if paid_by is not None:
        if paid_by not in member_ids and (new or paid_by != expense.paid_by_id):
            raise SplitError(
                f"User {paid_by} is not a member of this book.",
                code="not_a_member",
                field="paid_by",
            )
        changed = paid_by != expense.paid_by_id
        expense.paid_by_id = paid_by
    elif new or expense.paid_by_id is None:
        expense.paid_by_id = _default_payer(book, by_user_id, member_ids)
        changed = True
    stored = False
    if split is not None:
        mode, parts = split["mode"], split.get("parts")
    elif new or split_reset:
        mode, parts = default_split(book, member_ids)
    elif resplit:
        mode, parts, stored = expense.split_mode, _stored_parts(expense), True
        # Parts of people who have since left stay in the split they were part of.
        member_ids = sorted(set(member_ids) | {part["user"] for part in parts})
    if split is not None or new or split_reset or resplit:
        try:
            computed = split_compute(
                mode=mode,
                parts=parts,
                amount=Decimal(expense.amount),
                currency=expense.currency,
                base_amount=Decimal(expense.base_amount),
                base_currency=book.base_currency,
                member_ids=member_ids,
                rotation=expense.pk,
            )
        except SplitError as exc:
            if not stored:
                raise
            raise SplitError(
                f"The expense's {mode} split does not fit its new amount or currency "
                f"({exc.message}): send `split` with new parts, or `split: null` for the "
                "book's default split.",
                code=exc.code,
            ) from None
        _write_parts(expense, computed)
        expense.split_mode = mode
        changed = True
    if changed:
        Expense.objects.filter(pk=expense.pk).update(
            paid_by_id=expense.paid_by_id, split_mode=expense.split_mode
        )


def shares_recompute_base(*, book: Book, base_currency: str | None = None) -> int:
    """Re-allocate every share's `base_amount` from its expense's (new) `base_amount`,
    after a base-currency change of `book` to `base_currency` (default: the book's; the
    converters run before the book row takes the new code). Returns how many shares
    changed."""
    changed: list[ExpenseShare] = []
    places = minor_units(base_currency or book.base_currency)
    shares = (
        ExpenseShare.objects.filter(book=book)
        # The parts in `split_compute`'s order (deleted accounts' parts, user null, first
        # as its stand-ins below zero are) so the rotation lands on the same people.
        .order_by("expense_id", F("user_id").asc(nulls_first=True), "pk")
        .values_list("pk", "expense_id", "amount", "expense__base_amount")
    )
    group: list[tuple[int, Decimal]] = []
    current: tuple[int, Decimal] | None = None

    def flush() -> None:
        if current is None:
            return
        base = Decimal(current[1])
        parts = allocate(
            base,
            [amount for _, amount in group],
            max(places, decimal_places(base)),
            start=current[0],
        )
        changed.extend(
            ExpenseShare(pk=pk, base_amount=part)
            for (pk, _), part in zip(group, parts, strict=True)
        )

    for pk, expense_id, amount, expense_base in shares.iterator(chunk_size=5000):
        if current is None or current[0] != expense_id:
            flush()
            group, current = [], (expense_id, expense_base)
        group.append((pk, amount))
    flush()
    ExpenseShare.objects.bulk_update(changed, ["base_amount"], batch_size=1000)
    return len(changed)


def expenses_split_new(*, book: Book, by_user_id: int | None, expenses: Any) -> int:
    """Give every expense in `expenses` (a queryset of `book`'s, not yet split) the book's
    default split and payer, in bulk (imports: thousands of rows per commit). Returns how
    many were split; nothing in a personal book."""
    if book.is_personal:
        return 0
    member_ids = book_member_ids(book)
    mode, parts = default_split(book, member_ids)
    payer = _default_payer(book, by_user_id, member_ids)
    ids: list[int] = []
    shares: list[ExpenseShare] = []
    rows = expenses.order_by("pk").values_list("pk", "amount", "currency", "base_amount")
    for pk, amount, currency, base in rows.iterator(chunk_size=5000):
        ids.append(pk)
        for part in split_compute(
            mode=mode,
            parts=parts,
            amount=Decimal(amount),
            currency=currency,
            base_amount=Decimal(base),
            base_currency=book.base_currency,
            member_ids=member_ids,
            rotation=pk,
        ):
            shares.append(
                ExpenseShare(
                    expense_id=pk,
                    book_id=book.pk,
                    user_id=part.user_id,
                    value=part.value,
                    amount=part.amount,
                    base_amount=part.base_amount,
                )
            )
    ExpenseShare.objects.bulk_create(shares, batch_size=2000)
    for start in range(0, len(ids), 5000):
        Expense.objects.filter(pk__in=ids[start : start + 5000]).update(
            paid_by_id=payer, split_mode=mode
        )
    return len(ids)


def split_representation(expense: Expense) -> dict[str, Any] | None:
    """`split` as the API shows it (shares prefetched by the caller: no query here)."""
    if not expense.split_mode:
        return None
    base_currency = expense.book.base_currency
    return {
        "mode": expense.split_mode,
        "parts": [
            {
                "user": share.user_id,
                "value": (
                    format_amount(share.value, expense.currency)
                    if expense.split_mode == SplitMode.EXACT
                    else format(share.value.normalize(), "f")
                ),
                "amount": format_amount(share.amount, expense.currency),
                "base_amount": format_amount(share.base_amount, base_currency),
            }
            for share in expense.shares.all()
        ],
    }


def _kept_odd_cents(
    expense: Expense, base_currency: str, computed: list[Part], parts: list[dict[str, Any]]
) -> list[Part]:
    """`computed`, with the amounts `parts` were restored with when they are the same
    split with the odd cents elsewhere (see `expenses_split_restore`)."""
    given = {part["user"]: part.get("amount") for part in parts}
    if len(given) != len(computed) or any(given.get(p.user_id) is None for p in computed):
        return computed
    amount = Decimal(expense.amount)
    places = _places(amount, expense.currency)
    quantum = Decimal(1).scaleb(-places)
    amounts = [Decimal(given[part.user_id]) for part in computed]
    if sum(amounts, Decimal(0)) != amount or any(
        decimal_places(kept) > places or abs(kept - part.amount) > quantum
        for kept, part in zip(amounts, computed, strict=True)
    ):
        return computed
    base = Decimal(expense.base_amount)
    bases = allocate(base, amounts, _places(base, base_currency), start=expense.pk)
    return [
        Part(user_id=part.user_id, value=part.value, amount=kept, base_amount=part_base)
        for part, kept, part_base in zip(computed, amounts, bases, strict=True)
    ]


def expenses_split_restore(
    *,
    book: Book,
    by_user_id: int | None,
    items: list[tuple[Expense, int | None, dict[str, Any] | None]],
) -> dict[int, tuple[str, str]]:
    """Set the payer and parts of `book`'s restored expenses, in bulk (a backup restore).

    Each item is (saved expense, payer id or None, split or None); a split is
    `{"mode", "parts": [{"user": id or None, "value": Decimal or None, "amount": Decimal
    or None}]}`, a part whose user is None being someone whose account is gone (kept,
    without a user, so the others' parts stay as they were). With a split, the parts are
    computed by `split_compute` (the API's rules and odd-cent rule) and the payer is the
    one given (None: nobody, the payer's account is gone); the parts' `amount`s, when all
    given, sum to the amount and each within one minor unit of what was computed, are
    kept (the odd cents stay where they were, whatever the user ids here); the parts in
    the base currency follow them. Without a split, the expense takes the book's default
    split, paid by the payer given or else the restoring member (as an import). Payers
    and parts' users must be members.

    Returns the problems by item position, each (field, message) with field `split` or
    `paid_by`; when there is any, nothing is written. Nothing in a personal book.
    """
    if book.is_personal or not items:
        return {}
    member_ids = book_member_ids(book)
    default_mode, default_parts = default_split(book, member_ids)
    default_payer = _default_payer(book, by_user_id, member_ids)
    problems: dict[int, tuple[str, str]] = {}
    shares: list[ExpenseShare] = []
    groups: dict[tuple[int | None, str], list[int]] = {}
    for position, (expense, paid_by, split) in enumerate(items):
        try:
            if paid_by is not None and paid_by not in member_ids:
                raise SplitError(
                    f"User {paid_by} is not a member of this book.",
                    code="not_a_member",
                    field="paid_by",
                )
            if split is None:
                mode, parts, known = default_mode, default_parts, member_ids
                payer = paid_by if paid_by is not None else default_payer
            else:
                mode, parts, known, stand_in = split["mode"], [], list(member_ids), 0
                for part in split.get("parts") or []:
                    user_id = part.get("user")
                    if user_id is None:
                        stand_in -= 1
                        user_id = stand_in
                        known.append(user_id)
                    parts.append(
                        {"user": user_id, "value": part.get("value"), "amount": part.get("amount")}
                    )
                payer = paid_by
            computed = split_compute(
                mode=mode,
                parts=parts,
                amount=Decimal(expense.amount),
                currency=expense.currency,
                base_amount=Decimal(expense.base_amount),
                base_currency=book.base_currency,
                member_ids=known,
                rotation=expense.pk,
            )
        except SplitError as exc:
            problems[position] = (exc.field or "split", exc.message)
            continue
        if split is not None:
            computed = _kept_odd_cents(expense, book.base_currency, computed, parts)
        shares.extend(
            ExpenseShare(
                expense_id=expense.pk,
                book_id=book.pk,
                user_id=part.user_id if part.user_id > 0 else None,
                value=part.value,
                amount=part.amount,
                base_amount=part.base_amount,
            )
            for part in computed
        )
        groups.setdefault((payer, mode), []).append(expense.pk)
    if problems:
        return problems
    ExpenseShare.objects.bulk_create(shares, batch_size=2000)
    for (payer, mode), ids in groups.items():
        for start in range(0, len(ids), 5000):
            Expense.objects.filter(pk__in=ids[start : start + 5000]).update(
                paid_by_id=payer, split_mode=mode
            )
    return {}
