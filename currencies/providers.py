"""Exchange rates from a Frankfurter-compatible HTTP API (SPEC §7).

`GET {RATES_PROVIDER_URL}/{YYYY-MM-DD|latest}?base=EUR` answers
`{"base": "EUR", "date": "2026-11-20", "rates": {"USD": 1.05, ...}}`. Every call
has a timeout, connection failures and 429/5xx answers are retried with backoff,
and good answers are cached so repeated look-ups do not hit the network.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

import requests
from django.conf import settings
from django.core.cache import cache
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from core.money import is_currency

from .services import RateRow, clean_rate, rates_bulk_upsert

logger = logging.getLogger(__name__)

PROVIDER_SOURCE = "provider"
RETRY_STATUSES = (429, 500, 502, 503, 504)


class RatesProviderError(Exception):
    """The rates provider could not be reached or gave an unusable answer."""


@dataclass(frozen=True)
class ProviderRates:
    base: str
    date: date
    rates: dict[str, Decimal]


class RatesProvider:
    """One configured client of the rates API; defaults come from the RATES_PROVIDER_* settings."""

    def __init__(
        self,
        *,
        url: str | None = None,
        timeout: float | None = None,
        retries: int | None = None,
        cache_seconds: int | None = None,
        backoff_factor: float = 0.5,
    ) -> None:
        self.url = (url or settings.RATES_PROVIDER_URL).rstrip("/")
        self.timeout = settings.RATES_PROVIDER_TIMEOUT if timeout is None else timeout
        self.retries = settings.RATES_PROVIDER_RETRIES if retries is None else retries
        self.cache_seconds = (
            settings.RATES_PROVIDER_CACHE_SECONDS if cache_seconds is None else cache_seconds
        )
        self.session = requests.Session()
        retry = Retry(
            total=self.retries,
            connect=self.retries,
            status=self.retries,
            read=False,  # a slow answer is reported as a timeout, not retried for minutes
            other=0,
            backoff_factor=backoff_factor,
            status_forcelist=RETRY_STATUSES,
            allowed_methods=frozenset({"GET"}),
            respect_retry_after_header=True,
            raise_on_status=False,  # the last answer is returned and reported below
        )
        adapter = HTTPAdapter(max_retries=retry)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers["Accept"] = "application/json"

    def get_rates(self, *, on: date | None = None, base: str | None = None) -> ProviderRates:
        """Rates for one unit of `base` on `on` (None: the latest the provider has)."""
        base = (base or settings.RATES_PROVIDER_BASE).upper()
        if not is_currency(base):
            raise ValueError(f"{base} is not a supported ISO 4217 currency code.")
        url = f"{self.url}/{on.isoformat() if on else 'latest'}"
        cache_key = (
            "currencies:provider:" + hashlib.sha256(f"{url}?base={base}".encode()).hexdigest()
        )
        payload = cache.get(cache_key)
        if payload is None:
            payload = self._get_json(url, params={"base": base})
            result = self._parse(payload, base=base, url=url)
            if self.cache_seconds > 0:
                cache.set(cache_key, payload, self.cache_seconds)
            return result
        return self._parse(payload, base=base, url=url)

    def _get_json(self, url: str, *, params: dict[str, str]) -> Any:
        try:
            response = self.session.get(url, params=params, timeout=self.timeout)
        except requests.Timeout:
            raise RatesProviderError(
                f"The rates provider at {url} did not answer within {self.timeout} s."
            ) from None
        except requests.RequestException as exc:
            raise RatesProviderError(
                f"Could not reach the rates provider at {url} (after {self.retries} retries): {exc}"
            ) from None
        if response.status_code != 200:
            raise RatesProviderError(
                f"The rates provider answered {response.status_code} {response.reason} "
                f"for {response.url}."
            )
        try:
            return response.json()
        except ValueError:
            raise RatesProviderError(
                f"The rates provider at {response.url} did not answer with valid JSON."
            ) from None

    @staticmethod
    def _parse(payload: Any, *, base: str, url: str) -> ProviderRates:
        def bad(reason: str) -> RatesProviderError:
            return RatesProviderError(
                f"Unusable answer from the rates provider at {url}: {reason}."
            )

        if not isinstance(payload, dict) or not isinstance(payload.get("rates"), dict):
            raise bad('expected an object with "base", "date" and "rates"')
        answered_base = str(payload.get("base") or base).upper()
        if answered_base != base:
            raise bad(f"asked for base {base}, got {answered_base}")
        try:
            day = date.fromisoformat(str(payload.get("date")))
        except ValueError:
            raise bad(f'"date" is {payload.get("date")!r}, not YYYY-MM-DD') from None
        try:
            # Frankfurter may quote for `amount` units of the base (1 unless asked otherwise).
            amount = Decimal(str(payload.get("amount", 1)))
            rates = {}
            for code, value in payload["rates"].items():
                if isinstance(value, bool) or not isinstance(value, int | float | str):
                    raise ValueError(f"{code}: {value!r}")
                rates[str(code).upper()] = clean_rate(Decimal(str(value)) / amount)
        except (InvalidOperation, ValueError, ZeroDivisionError) as exc:
            raise bad(f"a rate is not a positive number ({exc})") from None
        return ProviderRates(base=base, date=day, rates=rates)


def fetch_rates(*, on: date | None = None, base: str | None = None) -> int:
    """Fetch the provider's rates for `on` (default: latest) and store them; returns how many.

    Rates are stored for the date the provider reports (its latest business day on
    or before `on`), with source "provider". Currencies unknown to ISO 4217 are
    skipped. Raises RatesProviderError when the provider fails.
    """
    answer = RatesProvider().get_rates(on=on, base=base)
    rows = [
        RateRow(base=answer.base, quote=code, date=answer.date, rate=rate)
        for code, rate in answer.rates.items()
        if code != answer.base and is_currency(code)
    ]
    written = rates_bulk_upsert(rows=rows, source=PROVIDER_SOURCE)
    logger.info(
        "Stored %s %s rates for %s from the rates provider", written, answer.base, answer.date
    )
    return written
