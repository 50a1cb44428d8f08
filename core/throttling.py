"""Per-client-address throttles for the anonymous auth endpoints."""

from rest_framework.settings import api_settings
from rest_framework.throttling import ScopedRateThrottle


class ScopedAuthThrottle(ScopedRateThrottle):
    """A scoped throttle whose rate is read at request time.

    DRF copies `DEFAULT_THROTTLE_RATES` into the class when it is imported, so a
    rate changed by settings/env overrides (load tests, test suite) would be
    ignored; reading `api_settings` each time honours them. Counts live in the
    default cache, so set `CACHE_URL` to Redis when running several processes.
    """

    def get_rate(self) -> str | None:
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)
