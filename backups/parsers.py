"""Reading a backup's bytes: the project's strict JSON, within the upload size limit."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from core.exceptions import ApplicationError
from core.parsers import StrictJSONParser, load_json
from core.uploads import FileTooLarge


def load_document(raw: bytes) -> Any:
    """The JSON value of an uploaded backup file; a 400 on its `file` field when the
    bytes are not the project's strict JSON."""
    try:
        return load_json(raw)
    except ValueError as exc:
        raise ApplicationError(f"Not a JSON document: {exc}", field="file") from None


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
