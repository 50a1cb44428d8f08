"""Fewest-transfers settle-up over balances that sum to zero.

Hand-rolled: no maintained PyPI package computes it (ihatemoney and Splitwise keep
theirs inside their apps). Finding the true minimum is NP-hard (it is splitting the
balances into the most zero-sum groups), so this does it exactly where that is cheap
and greedily elsewhere:

1. Pairs that cancel exactly (one owes what another is owed) settle first, one
   transfer each.
2. The rest: the largest debtor pays the largest creditor as much as can be cleared,
   repeatedly; each step zeroes at least one balance, so a group of n people needs at
   most n − 1 transfers.

Every input is an exact Decimal; the transfers bring every balance to exactly zero.
Ties are broken by user id, so the same balances always give the same transfers.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Transfer:
    from_user: int
    to_user: int
    amount: Decimal


def settle_up(balances: dict[int, Decimal]) -> list[Transfer]:
    """Transfers that bring every balance (positive: is owed; negative: owes) to zero,
    at most (people with a non-zero balance − 1) of them. Raises ValueError when the
    balances do not sum to zero."""
    if sum(balances.values(), Decimal(0)) != 0:
        raise ValueError("Balances must sum to zero.")
    open_: dict[int, Decimal] = {user: value for user, value in balances.items() if value}
    transfers: list[Transfer] = []
    for debtor in sorted(user for user, value in open_.items() if value < 0):
        owed = -open_[debtor]
        creditor = next(
            (user for user in sorted(open_) if open_[user] == owed and open_[debtor] < 0), None
        )
        if creditor is not None:
            transfers.append(Transfer(debtor, creditor, owed))
            del open_[debtor], open_[creditor]
    while open_:
        debtor = min(open_, key=lambda user: (open_[user], user))
        creditor = max(open_, key=lambda user: (open_[user], -user))
        amount = min(-open_[debtor], open_[creditor])
        transfers.append(Transfer(debtor, creditor, amount))
        for user, change in ((debtor, amount), (creditor, -amount)):
            open_[user] += change
            if not open_[user]:
                del open_[user]
    return transfers
