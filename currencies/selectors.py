"""Reading exchange rates: the latest on or before a date, direct, inverse or via a pivot."""

from __future__ import annotations

import logging
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal, localcontext

from django.conf import settings
from django.core.cache import cache
from django.db.models import OuterRef, Q, QuerySet, Subquery

from core.exceptions import ApplicationError
from core.money import MAX_AMOUNT, minor_units, quantize

from .bundled import ecb_currencies
from .models import ExchangeRate
from .providers import RatesProviderError, fetch_rates

logger = logging.getLogger(__name__)

# Enough precision for a cross rate of two 10-decimal rates.
RATE_PLACES = Decimal("1e-12")
# The common currency tried first for a cross rate: the base of every ECB rate.
PREFERRED_PIVOT = "EUR"
PROVIDER_FAILURE_PAUSE_SECONDS = 60
# A rate used for a conversion (possibly a cross rate) must fit `exchange_rate`
# (24 digits, 12 decimals) and not round to 0; a result must fit base_amount.
MAX_CONVERSION_RATE = Decimal(10) ** 12
MAX_BASE_AMOUNT = Decimal(10) ** 20
# Exact products: an amount (16 digits) times a rate (24 digits) fits 40 digits.
_EXACT = 60


class RateUnavailable(ApplicationError):
    """No rate connects the two currencies on or before the date; nothing is stored.

    The message names the pair and the date; `hint` (when given) says why, e.g. that a
    currency is not among the ECB rates and how an admin adds its rates.
    """

    default_code = "rate_unavailable"

    def __init__(self, *, from_currency: str, to_currency: str, on: date, hint: str = "") -> None:
        self.from_currency, self.to_currency, self.on = from_currency, to_currency, on
        self.hint = hint
        message = (
            f"No exchange rate for {from_currency}->{to_currency} on or before {on.isoformat()}."
        )
        super().__init__(f"{message} {hint}" if hint else message)


class ConversionOutOfRange(ApplicationError):
    """Converting between the two currencies gives a rate or figure too large to store."""

    default_code = "conversion_out_of_range"

    def __init__(self, *, from_currency: str, to_currency: str, reason: str) -> None:
        self.from_currency, self.to_currency = from_currency, to_currency
        super().__init__(f"Cannot convert {from_currency}->{to_currency}: {reason}")


@dataclass(frozen=True)
class RateQuote:
    rate: Decimal
    date: date | None  # date of the (oldest) rate used; None for same-currency


ADD_RATES_HELP = (
    "an admin can add rates with POST /api/v1/rates/, in the Django admin "
    "(Exchange rates), or with `manage.py load_rates FILE` (an ECB-format CSV or XML file)."
)


def _missing_rate_hint(currencies: Iterable[str], on: date) -> str:
    """Why a conversion between `currencies` found no rate on or before `on`: a currency
    whose rates start later, or one the ECB rates do not cover and no admin has added.

    Only asked once a conversion has failed (these queries are not the indexed ones).
    """
    later: dict[str, date] = {}
    uncovered: list[str] = []
    for currency in currencies:
        linked = ExchangeRate.objects.filter(Q(base=currency) | Q(quote=currency))
        if linked.filter(date__lte=on).exists():
            continue
        first = linked.order_by("date").values_list("date", flat=True).first()
        if first is not None:
            later[currency] = first
        elif currency not in ecb_currencies():
            uncovered.append(currency)
    starts: dict[date, list[str]] = {}
    for code, first in later.items():
        starts.setdefault(first, []).append(code)
    hints = [
        f"The exchange rates for {' and '.join(codes)} start on {first.isoformat()}."
        for first, codes in starts.items()
    ]
    if uncovered:
        names = " and ".join(uncovered)
        hints.append(
            f"The ECB reference rates do not cover {names} and no rate for "
            f"{'it' if len(uncovered) == 1 else 'them'} is stored: {ADD_RATES_HELP}"
        )
    return " ".join(hints)


def rate_unavailable(*, from_currency: str, to_currency: str, on: date) -> RateUnavailable:
    """The RateUnavailable for a failed conversion, with what is known of the cause."""
    return RateUnavailable(
        from_currency=from_currency,
        to_currency=to_currency,
        on=on,
        hint=_missing_rate_hint(dict.fromkeys((from_currency, to_currency)), on),
    )


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


def _via(pivot: str, from_currency: str, to_currency: str, on: date) -> RateQuote | None:
    from_side = _per_pivot(from_currency, pivot, on)
    to_side = _per_pivot(to_currency, pivot, on) if from_side else None
    if from_side and to_side:
        rate = (to_side[0] / from_side[0]).quantize(RATE_PLACES)
        return RateQuote(rate=rate, date=min(from_side[1], to_side[1]))
    return None


def _find_rate(from_currency: str, to_currency: str, on: date) -> RateQuote | None:
    direct = _per_pivot(to_currency, from_currency, on)
    if direct is not None:
        return RateQuote(rate=direct[0].quantize(RATE_PLACES), date=direct[1])
    # EUR first, through the (base, quote, date) index: the ECB rates are all EUR-based,
    # and `_pivots` would put EUR first anyway, so the answer is the same, without the
    # scan `_pivots` needs (tens of ms over the ~190 000 bundled rates).
    if PREFERRED_PIVOT not in (from_currency, to_currency):
        found = _via(PREFERRED_PIVOT, from_currency, to_currency, on)
        if found is not None:
            return found
    for pivot in _pivots(from_currency, to_currency, on):
        if pivot != PREFERRED_PIVOT and (found := _via(pivot, from_currency, to_currency, on)):
            return found
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


def _checked(quote: RateQuote, from_currency: str, to_currency: str) -> RateQuote:
    if quote.rate >= MAX_CONVERSION_RATE:
        raise ConversionOutOfRange(
            from_currency=from_currency,
            to_currency=to_currency,
            reason=f"the rate {quote.rate.normalize():f} is too large to store.",
        )
    if quote.rate <= 0:
        raise ConversionOutOfRange(
            from_currency=from_currency,
            to_currency=to_currency,
            reason="the rate is too small to store (below 10^-12).",
        )
    return quote


def get_rate(*, from_currency: str, to_currency: str, on: date) -> RateQuote:
    """The rate converting `from_currency` into `to_currency` for a transaction on `on`.

    Uses the latest rate on or before `on`: direct, inverse, or through a common
    currency. With RATES_FETCH_ON_MISS, a miss asks the rates provider once for
    `on` before giving up. Raises RateUnavailable when nothing connects the two, and
    ConversionOutOfRange when the (cross) rate does not fit `exchange_rate`.
    """
    if from_currency == to_currency:
        return RateQuote(rate=Decimal(1), date=None)
    found = _find_rate(from_currency, to_currency, on)
    if found is None and settings.RATES_FETCH_ON_MISS and _fetch_from_provider(on):
        found = _find_rate(from_currency, to_currency, on)
    if found is None:
        raise rate_unavailable(from_currency=from_currency, to_currency=to_currency, on=on)
    return _checked(found, from_currency, to_currency)


class _RateBook:
    """Every stored rate between two currencies and EUR, loaded once; answers like
    `_find_rate` where a direct rate or EUR connects them, and None otherwise (the caller
    then asks `get_rate`, which also tries every other common currency).

    Converting thousands of dates then costs one indexed query instead of several per
    date, and never loads the other ECB series (with EUR on one side, the ~190 000 bundled
    rates would otherwise all match). `rates_on` is tested to give exactly what
    `get_rate` gives for every date.
    """

    def __init__(self, from_currency: str, to_currency: str, until: date) -> None:
        self.series: dict[tuple[str, str], tuple[list[date], list[Decimal]]] = {}
        linked = {from_currency, to_currency, PREFERRED_PIVOT}
        rows = (
            ExchangeRate.objects.filter(base__in=linked, quote__in=linked, date__lte=until)
            .order_by("date")
            .values_list("base", "quote", "date", "rate")
        )
        for base, quote, day, rate in rows.iterator(chunk_size=5000):
            dates, rates = self.series.setdefault((base, quote), ([], []))
            dates.append(day)
            rates.append(rate)

    def _latest(self, base: str, quote: str, on: date) -> tuple[Decimal, date] | None:
        series = self.series.get((base, quote))
        if series is None:
            return None
        position = bisect_right(series[0], on) - 1
        return None if position < 0 else (series[1][position], series[0][position])

    def _per_pivot(self, currency: str, pivot: str, on: date) -> tuple[Decimal, date] | None:
        direct = self._latest(pivot, currency, on)
        inverse = self._latest(currency, pivot, on)
        if direct is not None and (inverse is None or direct[1] >= inverse[1]):
            return direct
        if inverse is not None:
            return Decimal(1) / inverse[0], inverse[1]
        return None

    def find(self, from_currency: str, to_currency: str, on: date) -> RateQuote | None:
        direct = self._per_pivot(to_currency, from_currency, on)
        if direct is not None:
            return RateQuote(rate=direct[0].quantize(RATE_PLACES), date=direct[1])
        if PREFERRED_PIVOT in (from_currency, to_currency):
            return None
        from_side = self._per_pivot(from_currency, PREFERRED_PIVOT, on)
        to_side = self._per_pivot(to_currency, PREFERRED_PIVOT, on)
        if from_side and to_side:
            rate = (to_side[0] / from_side[0]).quantize(RATE_PLACES)
            return RateQuote(rate=rate, date=min(from_side[1], to_side[1]))
        return None


def _each_rate(
    from_currency: str, to_currency: str, dates: Iterable[date]
) -> Iterator[tuple[date, RateQuote | RateUnavailable | ConversionOutOfRange]]:
    """(date, its quote or the error `get_rate` would raise for it), oldest date first."""
    days = sorted(set(dates))
    if not days:
        return
    if from_currency == to_currency:
        for day in days:
            yield day, RateQuote(rate=Decimal(1), date=None)
        return
    book = _RateBook(from_currency, to_currency, days[-1])
    for day in days:
        try:
            found = book.find(from_currency, to_currency, day)
            if found is None:
                yield day, get_rate(from_currency=from_currency, to_currency=to_currency, on=day)
            else:
                yield day, _checked(found, from_currency, to_currency)
        except (RateUnavailable, ConversionOutOfRange) as exc:
            yield day, exc


def rates_on_each(
    *, from_currency: str, to_currency: str, dates: Iterable[date]
) -> dict[date, RateQuote | RateUnavailable | ConversionOutOfRange]:
    """`get_rate` for many dates of one pair, each date answered on its own: its quote, or
    the error `get_rate` would raise for it (a statement preview lists those per row).

    One query for every date that a direct rate or EUR connects; any other date goes
    through `get_rate` (other common currencies, then the provider).
    """
    return dict(_each_rate(from_currency, to_currency, dates))


def rates_on(
    *, from_currency: str, to_currency: str, dates: Iterable[date]
) -> dict[date, RateQuote]:
    """`get_rate` for many dates of one pair, with one query for all of them.

    Same answers as `get_rate` date by date (see `rates_on_each`); raises the
    RateUnavailable or ConversionOutOfRange of the earliest date that has one, without
    looking further.
    """
    quotes: dict[date, RateQuote] = {}
    for day, answer in _each_rate(from_currency, to_currency, dates):
        if isinstance(answer, ApplicationError):
            raise answer
        quotes[day] = answer
    return quotes


def base_amount(*, amount: Decimal, rate: Decimal, from_currency: str, to_currency: str) -> Decimal:
    """`amount × rate` in `to_currency`: the one rule every stored conversion follows.

    The product is exact, then rounded half up to the target's minor units. A non-zero
    amount never becomes 0: it keeps its sign as the smallest unit of the target (so a
    positive amount always has a positive base amount). Raises ConversionOutOfRange if
    the result would not fit a base_amount column (10^20).
    """
    places = minor_units(to_currency)
    with localcontext(prec=_EXACT, rounding=ROUND_HALF_UP):
        result = (amount * rate).quantize(Decimal(1).scaleb(-places))
    if result == 0 and amount != 0:
        smallest = Decimal(1).scaleb(-places)
        result = smallest if amount > 0 else -smallest
    if abs(result) >= MAX_BASE_AMOUNT:
        raise ConversionOutOfRange(
            from_currency=from_currency,
            to_currency=to_currency,
            reason=f"{amount:f} {from_currency} is more than the largest figure stored.",
        )
    return result


def convert(
    *, amount: Decimal, from_currency: str, to_currency: str, on: date
) -> tuple[Decimal, RateQuote]:
    """`amount` in `to_currency`, rounded half up to its minor units, and the rate used.

    Raises ConversionOutOfRange when the result is beyond what could be stored.
    """
    quote = get_rate(from_currency=from_currency, to_currency=to_currency, on=on)
    with localcontext(prec=_EXACT):
        result = quantize(amount * quote.rate, to_currency)
    if result >= MAX_BASE_AMOUNT:
        raise ConversionOutOfRange(
            from_currency=from_currency,
            to_currency=to_currency,
            reason=f"{amount:f} {from_currency} is more than the largest figure stored.",
        )
    return result, quote


def rates_as_of(queryset: QuerySet[ExchangeRate], on: date) -> QuerySet[ExchangeRate]:
    """For each pair in `queryset`, only its latest rate on or before `on`."""
    latest = (
        ExchangeRate.objects.filter(base=OuterRef("base"), quote=OuterRef("quote"), date__lte=on)
        .order_by("-date")
        .values("date")[:1]
    )
    return queryset.filter(date__lte=on, date=Subquery(latest))


def converter(*, from_currency: str, to_currency: str, on: date) -> Callable[[Decimal], Decimal]:
    """A function re-expressing amounts of `from_currency` in `to_currency` at one rate.

    Used for figures that have no date of their own (budgets, goals): they convert at
    the latest rate on or before `on`, by the `base_amount` rule (half up, a non-zero
    amount never becomes 0). The function raises ConversionOutOfRange when a result is
    beyond MAX_AMOUNT, the largest budget or goal figure. Raises RateUnavailable when
    no rate connects the two.
    """
    rate = get_rate(from_currency=from_currency, to_currency=to_currency, on=on).rate

    def convert_amount(amount: Decimal) -> Decimal:
        result = base_amount(
            amount=amount, rate=rate, from_currency=from_currency, to_currency=to_currency
        )
        if abs(result) > MAX_AMOUNT:
            raise ConversionOutOfRange(
                from_currency=from_currency,
                to_currency=to_currency,
                reason=f"{amount:f} {from_currency} would be more than {MAX_AMOUNT} {to_currency}.",
            )
        return result

    return convert_amount
