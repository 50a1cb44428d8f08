"""A webhook receiver for the tests: an HTTP server on 127.0.0.1 in a thread.

It verifies every request's `X-Signature` the way docs/webhooks.md tells receivers to
(HMAC-SHA256 of "<t>.<body>" with a secret it was given, timestamp within 5 minutes),
records what arrived, and answers as told: `plan` lists the statuses of the next
requests (500 to fail on purpose), `delay` makes it slow (it answers after that many
seconds, or at once when the test ends).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TOLERANCE_SECONDS = 300


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    timestamp: int | None
    signatures: list[str]
    verified_with: list[str] = field(default_factory=list)  # the secrets that verify it

    @property
    def verified(self) -> bool:
        return bool(self.verified_with)

    @property
    def json(self) -> Any:
        return json.loads(self.body)


def parse_signature(header: str) -> tuple[int | None, list[str]]:
    timestamp, signatures = None, []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1":
            signatures.append(value)
    return timestamp, signatures


def verifying_secrets(
    secrets: list[str], header: str, body: bytes, *, now: float | None = None
) -> list[str]:
    """The secrets among `secrets` one of the header's signatures was made with, if its
    timestamp is within the tolerance."""
    timestamp, signatures = parse_signature(header)
    now = time.time() if now is None else now
    if timestamp is None or abs(now - timestamp) > TOLERANCE_SECONDS:
        return []
    message = str(timestamp).encode() + b"." + body
    return [
        secret
        for secret in secrets
        if any(
            hmac.compare_digest(
                hmac.new(secret.encode(), message, hashlib.sha256).hexdigest(), signature
            )
            for signature in signatures
        )
    ]


class Receiver:
    def __init__(self) -> None:
        self.secrets: list[str] = []
        self.received: list[Received] = []
        self.plan: list[int] = []
        self.status = 200
        self.delay = 0.0
        self.answer = b'{"ok": true}'
        self._release = threading.Event()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._server.handle_error = lambda request, address: None  # a client that gave up
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()

    def _next_status(self) -> int:
        with self._lock:
            return self.plan.pop(0) if self.plan else self.status

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                header = self.headers.get("X-Signature", "")
                timestamp, signatures = parse_signature(header)
                received = Received(
                    path=self.path,
                    headers=dict(self.headers.items()),
                    body=body,
                    timestamp=timestamp,
                    signatures=signatures,
                    verified_with=verifying_secrets(list(receiver.secrets), header, body),
                )
                with receiver._lock:
                    receiver.received.append(received)
                status = receiver._next_status()
                if receiver.delay:
                    receiver._release.wait(receiver.delay)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(receiver.answer)))
                self.end_headers()
                self.wfile.write(receiver.answer)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler
