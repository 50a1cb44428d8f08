"""Validators for user settings."""

from functools import cache
from zoneinfo import available_timezones

from django.core.exceptions import ValidationError


@cache
def _timezones() -> frozenset[str]:
    return frozenset(available_timezones())


def validate_timezone(value: str) -> None:
    if value not in _timezones():
        raise ValidationError(
            "%(value)s is not a known IANA time zone (e.g. Europe/Berlin).",
            code="invalid_timezone",
            params={"value": value},
        )
