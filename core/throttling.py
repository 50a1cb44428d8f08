"""Per-client-address throttles for the anonymous auth endpoints.

Every throttle of the project identifies an anonymous client with `client_address()`:
REMOTE_ADDR unless `NUM_PROXIES` (trusted reverse proxies in front of the app) is at
least 1. DRF's own `get_ident` treats an unset `NUM_PROXIES` as "trust the whole
X-Forwarded-For header", which lets a client pick a new identity on every request.
"""

from __future__ import annotations

from django.http import HttpRequest
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle, ScopedRateThrottle


def trusted_proxies() -> int:
    """How many reverse proxies in front of the app append to X-Forwarded-For (≥ 0).

    Unset (None), zero or a negative number mean none: the header is ignored.
    """
    configured = api_settings.NUM_PROXIES
    return configured if isinstance(configured, int) and configured > 0 else 0


def client_address(request: HttpRequest) -> str:
    """The address a client is throttled by.

    With N ≥ 1 trusted proxies, each of which appends the address it received the
    request from, the client is the N-th entry from the right of X-Forwarded-For
    (everything left of it was written by the client and is not trusted). A header with
    fewer than N entries did not pass through every proxy, so REMOTE_ADDR is used.
    """
    remote_addr = request.META.get("REMOTE_ADDR") or ""
    proxies = trusted_proxies()
    if proxies == 0:
        return remote_addr
    xff = request.META.get("HTTP_X_FORWARDED_FOR") or ""
    entries = [entry.strip() for entry in xff.split(",")]
    if not xff.strip() or len(entries) < proxies:
        return remote_addr
    return entries[-proxies] or remote_addr


class ClientAddressMixin(BaseThrottle):
    """Identify anonymous clients by `client_address()`; mix into every throttle."""

    def get_ident(self, request: HttpRequest) -> str:  # type: ignore[override]
        return client_address(request)


class ScopedAuthThrottle(ClientAddressMixin, ScopedRateThrottle):
    """A scoped throttle whose rate is read at request time.

    DRF copies `DEFAULT_THROTTLE_RATES` into the class when it is imported, so a
    rate changed by settings/env overrides (load tests, test suite) would be
    ignored; reading `api_settings` each time honours them. Counts live in the
    default cache, so set `CACHE_URL` to Redis when running several processes.
    """

    def get_rate(self) -> str | None:
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)
