"""Reading JSON request bodies: one grammar for every endpoint (settings
`DEFAULT_PARSER_CLASSES`, and the backup restore with its own size limit)."""

from __future__ import annotations

import codecs
import json
import re
from decimal import Decimal
from typing import Any

from django.conf import settings
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import JSONParser

# No request body of this API nests deeper than a few levels (a backup document is the
# deepest, at about 5); 32 leaves room without letting a client make the server recurse.
MAX_JSON_DEPTH = 32


class BodyTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


# A lone surrogate ("\ud800") is valid JSON but not Unicode text: it can be neither
# stored (PostgreSQL) nor echoed back in an error (the JSON renderer encodes UTF-8).
_SURROGATE = re.compile("[\ud800-\udfff]")


def _problem(value: Any, limit: int) -> str | None:
    """Why `value` is refused: nesting deeper than `limit`, or a string (key or value)
    that is not Unicode text. Iterative, so a hostile document cannot make it recurse."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return "a string contains an unpaired surrogate (\\ud800-\\udfff)"
            continue
        if isinstance(item, dict):
            children: list[Any] = [*item.keys(), *item.values()]
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return f"nested deeper than {limit} levels"
        stack.extend((child, depth + 1) for child in children)
    return None


def load_json(raw: bytes | str) -> Any:
    """The JSON value in `raw` (UTF-8, -16 or -32, BOM or not): numbers with a fraction
    become Decimal, never float; NaN/Infinity and nesting deeper than MAX_JSON_DEPTH are
    refused, and so are unpaired surrogates. Raises ValueError with a message fit for a client."""
    try:
        data = json.loads(raw, parse_float=Decimal, parse_constant=_reject_constant)
    except RecursionError:
        raise ValueError(f"nested deeper than {MAX_JSON_DEPTH} levels") from None
    problem = _problem(data, MAX_JSON_DEPTH)
    if problem:
        raise ValueError(problem)
    return data


class StrictJSONParser(JSONParser):
    """JSON bodies with exact decimals, bounded depth and a bounded size (413 beyond
    DATA_UPLOAD_MAX_MEMORY_SIZE: DRF reads JSON from the raw stream, which Django's own
    limit does not cover)."""

    def max_bytes(self) -> int:
        return settings.DATA_UPLOAD_MAX_MEMORY_SIZE

    def too_large(self, size: int) -> APIException:
        return BodyTooLarge(f"The request body is over the limit of {self.max_bytes()} bytes.")

    def parse(self, stream, media_type=None, parser_context=None):  # type: ignore[no-untyped-def]
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise ParseError(f"Unknown character set {encoding!r}; send UTF-8.") from None
        limit = self.max_bytes()
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise self.too_large(len(raw))
        try:
            text = raw.decode(encoding) if encoding.lower().replace("-", "") != "utf8" else raw
            return load_json(text)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ParseError(f"The body is not valid JSON: {exc}") from None
