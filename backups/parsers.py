"""Reading a backup's bytes: the project's strict JSON, within the upload size limit."""

from __future__ import annotations

from django.conf import settings

from core.parsers import StrictJSONParser, load_json
from core.uploads import FileTooLarge

__all__ = ["BackupJSONParser", "load_json", "too_large"]


def too_large(size: int) -> FileTooLarge:
    return FileTooLarge(
        f"The backup is {size} bytes; the limit is {settings.IMPORT_MAX_BYTES} bytes."
    )


class BackupJSONParser(StrictJSONParser):
    """A backup sent as the JSON body; reads at most IMPORT_MAX_BYTES (413 beyond)."""

    def max_bytes(self) -> int:
        return settings.IMPORT_MAX_BYTES

    def too_large(self, size: int) -> FileTooLarge:
        return too_large(size)
