"""Validators for user identity and settings."""

from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.utils.deconstruct import deconstructible


@deconstructible
class UsernameValidator(RegexValidator):
    """Letters, digits and ./+/-/_ — never `@`.

    Login accepts a username or an email address and reads an identifier with `@` as
    an email only; a username that looked like an address could otherwise squat
    another person's email login. (Accounts created before this rule with `@` in the
    username keep working: they log in by email address.)
    """

    regex = r"^[\w.+-]+\Z"
    message = (
        "Enter a valid username: letters, digits and ./+/-/_ only "
        "(no @, so that a username never looks like an email address)."
    )


# Names the zone database ships that are not places: `localtime` is the host's own zone
# (a symlink some distributions add, so its meaning depends on the server), `Factory`
# the "zone not configured" placeholder, and posixrules/posix/right/SystemV are build
# artefacts or alternative copies of the same data. `UTC` (and `Etc/...`) are real zones.
PSEUDO_TIMEZONES = frozenset({"localtime", "Factory", "posixrules", "leapseconds"})
PSEUDO_TIMEZONE_PREFIXES = ("posix/", "right/", "SystemV/")


@cache
def supported_timezones() -> frozenset[str]:
    """IANA zone names a user may choose: every name `available_timezones()` lists and
    `ZoneInfo` loads, minus the pseudo-zones above."""
    zones = set()
    for name in available_timezones():
        if name in PSEUDO_TIMEZONES or name.startswith(PSEUDO_TIMEZONE_PREFIXES):
            continue
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            continue
        zones.add(name)
    return frozenset(zones)


def validate_timezone(value: str) -> None:
    if not isinstance(value, str) or value not in supported_timezones():
        raise ValidationError(
            "%(value)s is not a supported IANA time zone "
            "(a location such as Europe/Berlin, or UTC).",
            code="invalid_timezone",
            params={"value": value},
        )
