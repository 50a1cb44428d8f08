"""Reading exchange rates: the latest on or before a date, direct, inverse or via a pivot."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.db.models import OuterRef, Q, QuerySet, Subquery

from core.exceptions import ApplicationError
from core.money import quantize

from .models import ExchangeRate
from .providers import RatesProviderError, fetch_rates

logger = logging.getLogger(__name__)

# Enough precision for a cross rate of two 10-decimal rates.
RATE_PLACES = Decimal("1e-12")
PROVIDER_FAILURE_PAUSE_SECONDS = 60


class RateUnavailable(ApplicationError):
    """No rate connects the two currencies on or before the date; nothing is stored."""

    default_code = "rate_unavailable"

    def __init__(self, *, from_currency: str, to_currency: str, on: date) -> None:
        self.from_currency, self.to_currency, self.on = from_currency, to_currency, on
        super().__init__(
            f"No exchange rate for {from_currency}->{to_currency} on or before {on.isoformat()}."
        )


@dataclass(frozen=True)
class RateQuote:
    rate: Decimal
    date: date | None  # date of the (oldest) rate used; None for same-currency


def _latest(base: str, quote: str, on: date) -> ExchangeRate | None:
    return (
        ExchangeRate.objects.filter(base=base, quote=quote, date__lte=on)
        .only("rate", "date")
        .order_by("-date")
        .first()
    )


def _per_pivot(currency: str, pivot: str, on: date) -> tuple[Decimal, date] | None:
    """Units of `currency` that one unit of `pivot` buys, from a direct or inverse rate."""
    direct = _latest(pivot, currency, on)
    inverse = _latest(currency, pivot, on)
    best = max((r for r in (direct, inverse) if r is not None), key=lambda r: r.date, default=None)
    if best is None:
        return None
    value = best.rate if best is direct else Decimal(1) / best.rate
    return value, best.date


def _pivots(from_currency: str, to_currency: str, on: date) -> list[str]:
    """Currencies with a rate to both sides (EUR first: the ECB publishes against it)."""
    sides = (from_currency, to_currency)
    rows = (
        ExchangeRate.objects.filter(Q(base__in=sides) | Q(quote__in=sides), date__lte=on)
        .order_by()  # the model's ordering would make DISTINCT return one row per date
        .values_list("base", "quote")
        .distinct()
    )
    linked: dict[str, set[str]] = {}
    for base, quote in rows:
        for mine, other in ((base, quote), (quote, base)):
            if mine in sides:
                linked.setdefault(other, set()).add(mine)
    pivots = [c for c, reached in linked.items() if set(sides) <= reached]
    return sorted(pivots, key=lambda c: (c != "EUR", c != "USD", c))


def _find_rate(from_currency: str, to_currency: str, on: date) -> RateQuote | None:
    direct = _per_pivot(to_currency, from_currency, on)
    if direct is not None:
        return RateQuote(rate=direct[0].quantize(RATE_PLACES), date=direct[1])
    for pivot in _pivots(from_currency, to_currency, on):
        from_side = _per_pivot(from_currency, pivot, on)
        to_side = _per_pivot(to_currency, pivot, on)
        if from_side and to_side:
            rate = (to_side[0] / from_side[0]).quantize(RATE_PLACES)
            return RateQuote(rate=rate, date=min(from_side[1], to_side[1]))
    return None


def _fetch_from_provider(on: date) -> bool:
    """Ask the rates provider once for `on`; False (logged) if it fails.

    After a failure the provider is left alone for that date for a minute, so an
    outage does not add retries and timeouts to every write that needs a rate.
    """
    day = min(on, datetime.now(UTC).date())
    failed_key = f"currencies:provider-failed:{day.isoformat()}"
    if cache.get(failed_key):
        return False
    try:
        return fetch_rates(on=day) > 0
    except RatesProviderError as exc:
        logger.warning("Rates provider failed while looking up rates for %s: %s", day, exc)
        cache.set(failed_key, True, PROVIDER_FAILURE_PAUSE_SECONDS)
        return False


def get_rate(*, from_currency: str, to_currency: str, on: date) -> RateQuote:
    """The rate converting `from_currency` into `to_currency` for a transaction on `on`.

    Uses the latest rate on or before `on`: direct, inverse, or through a common
    currency. With RATES_FETCH_ON_MISS, a miss asks the rates provider once for
    `on` before giving up. Raises RateUnavailable when nothing connects the two.
    """
    if from_currency == to_currency:
        return RateQuote(rate=Decimal(1), date=None)
    found = _find_rate(from_currency, to_currency, on)
    if found is None and settings.RATES_FETCH_ON_MISS and _fetch_from_provider(on):
        found = _find_rate(from_currency, to_currency, on)
    if found is None:
        raise RateUnavailable(from_currency=from_currency, to_currency=to_currency, on=on)
    return found


def convert(
    *, amount: Decimal, from_currency: str, to_currency: str, on: date
) -> tuple[Decimal, RateQuote]:
    """`amount` in `to_currency`, rounded to its minor units, and the rate used."""
    quote = get_rate(from_currency=from_currency, to_currency=to_currency, on=on)
    return quantize(amount * quote.rate, to_currency), quote


def rates_as_of(queryset: QuerySet[ExchangeRate], on: date) -> QuerySet[ExchangeRate]:
    """For each pair in `queryset`, only its latest rate on or before `on`."""
    latest = (
        ExchangeRate.objects.filter(base=OuterRef("base"), quote=OuterRef("quote"), date__lte=on)
        .order_by("-date")
        .values("date")[:1]
    )
    return queryset.filter(date__lte=on, date=Subquery(latest))


def converter(*, from_currency: str, to_currency: str, on: date):  # type: ignore[no-untyped-def]
    """A function re-expressing amounts of `from_currency` in `to_currency` at one rate.

    Used when a user changes base currency for figures that have no date of their own
    (budgets, goals): they convert at the latest rate on or before `on`. Rounds half
    up to the target's minor units; a non-zero amount never rounds to zero (it keeps
    its sign and becomes the smallest unit), so positive-amount rules keep holding.
    Raises RateUnavailable when no rate connects the two.
    """
    from core.money import minor_units

    rate = get_rate(from_currency=from_currency, to_currency=to_currency, on=on).rate
    smallest = Decimal(1).scaleb(-minor_units(to_currency))

    def convert_amount(amount: Decimal) -> Decimal:
        result = quantize(amount * rate, to_currency)
        if result == 0 and amount != 0:
            return smallest if amount > 0 else -smallest
        return result

    return convert_amount
