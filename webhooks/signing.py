"""The signature a delivery carries, and the body it signs (docs/webhooks.md, Signatures).

`X-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>` — the scheme
Stripe made familiar: the timestamp is signed with the body, so a captured request
cannot be replayed later than the receiver's tolerance, and a receiver verifies with
nothing but `hmac` and its secret. During a secret rotation's grace a second `v1=`
signed with the previous secret follows the first; a receiver accepts any one of them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder

SIGNATURE_HEADER = "X-Signature"
USER_AGENT = "BudgetTracker-Webhooks/1.0"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of `"<timestamp>.<body>"` keyed by the whole secret (prefix
    included), as UTF-8."""
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(secrets: Iterable[str], timestamp: int, body: bytes) -> str:
    """`t=<timestamp>,v1=<sig>[,v1=<sig>…]`, one `v1` per secret, in the order given."""
    parts = [f"t={timestamp}"]
    parts += [f"v1={signature(secret, timestamp, body)}" for secret in secrets]
    return ",".join(parts)


def event_body(
    *, event_id: str, event: str, created_at: datetime, book_id: int, data: dict[str, Any]
) -> str:
    """The JSON text a delivery sends: `{"id", "event", "created_at", "book", "data"}`,
    compact and ASCII-only (non-ASCII characters escaped), so the bytes signed are the
    bytes stored and every shell tool sees the same ones."""
    document = {
        "id": event_id,
        "event": event,
        "created_at": created_at.isoformat(),
        "book": book_id,
        "data": data,
    }
    return json.dumps(document, cls=DjangoJSONEncoder, separators=(",", ":"))
