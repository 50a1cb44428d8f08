"""Splitting an amount into parts that add up to it exactly (largest remainder).

Hand-rolled on purpose: the rule is a dozen lines of exact integer arithmetic, and the
money libraries on PyPI that offer `allocate` (py-moneyed has none; `money`/`prices`
round per part or give the remainder to the first part) do not give the rule we
document and test: every part gets the floor of its exact share in minor units, and the
units left over — fewer than the number of parts — go one each to the parts with the
largest dropped fractions; among equal fractions, starting from the part at position
`start` (mod the number of parts) and going round. Callers order parts by user id and
pass the expense id as `start`, so the same expense always gives the same cents to the
same people, and over many expenses of the same split the odd cents fall evenly on
everybody (with a fixed start the lowest user id would pay every odd cent, forever).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction


def allocate(
    total: Decimal, weights: Sequence[Decimal], places: int, *, start: int = 0
) -> list[Decimal]:
    """`total` (≥ 0, with at most `places` decimals) split in proportion to `weights`
    (each ≥ 0, at least one > 0) into parts with `places` decimals that sum to `total`.

    Each part gets the floor of its exact share in minor units; the units left over go
    one each to the largest dropped fractions and, among equal fractions, to the parts
    in cyclic order from index `start % len(weights)` (0: the earlier part first; any
    integer, negative too, is taken mod the number of parts). A zero weight always gets
    exactly zero.
    """
    if not weights:
        raise ValueError("Nothing to allocate to.")
    if any(weight < 0 for weight in weights):
        raise ValueError("Weights cannot be negative.")
    whole = sum((Fraction(weight) for weight in weights), Fraction(0))
    if whole <= 0:
        raise ValueError("At least one weight must be positive.")
    scale = 10**places
    units = Fraction(total) * scale
    if units.denominator != 1:
        raise ValueError(f"{total} has more than {places} decimal places.")
    exact = [units * Fraction(weight) / whole for weight in weights]
    floors = [int(part) for part in exact]  # parts are ≥ 0: int() is the floor
    left = int(units) - sum(floors)
    # Largest dropped fraction first; among equals, cyclic order from `start`.
    first = start % len(exact)
    order = sorted(
        range(len(exact)),
        key=lambda index: (-(exact[index] - floors[index]), (index - first) % len(exact)),
    )
    for index in order[:left]:
        floors[index] += 1
    quantum = Decimal(1).scaleb(-places)
    return [(Decimal(units_) / scale).quantize(quantum) for units_ in floors]
