"""Reading a backup's bytes: JSON with exact decimals, within the upload size limit."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser

from core.uploads import FileTooLarge


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def load_json(raw: bytes) -> Any:
    """The JSON value in `raw` (UTF-8, -16 or -32, BOM or not); numbers with a fraction
    become Decimal, never float. Raises ValueError when it is not JSON."""
    try:
        return json.loads(raw, parse_float=Decimal, parse_constant=_reject_constant)
    except RecursionError:
        raise ValueError("nested too deeply") from None


def too_large(size: int) -> FileTooLarge:
    return FileTooLarge(
        f"The backup is {size} bytes; the limit is {settings.IMPORT_MAX_BYTES} bytes."
    )


class BackupJSONParser(BaseParser):
    """A backup sent as the JSON body; reads at most IMPORT_MAX_BYTES (413 beyond)."""

    media_type = "application/json"

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        limit = settings.IMPORT_MAX_BYTES
        raw = stream.read(limit + 1)
        if len(raw) > limit:
            raise too_large(len(raw))
        try:
            return load_json(raw)
        except ValueError as exc:
            raise ParseError(f"The body is not valid JSON: {exc}") from None
