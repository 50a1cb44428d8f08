"""A rates API on 127.0.0.1 for the provider tests: the suite never touches the internet."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from .fake_rates_api import FakeRatesServer


@pytest.fixture
def rates_server(settings, monkeypatch) -> Iterator[FakeRatesServer]:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")

    state: dict[str, FakeRatesServer] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            server = state["server"]
            parts = urlsplit(self.path)
            server.requests.append((parts.path, parse_qs(parts.query)))
            reply = server.replies.pop(0) if len(server.replies) > 1 else server.replies[0]
            if reply.delay:
                time.sleep(reply.delay)
            body = reply.body
            payload = body if isinstance(body, bytes) else json.dumps(body).encode()
            try:
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting (timeout test)

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    host, port = httpd.server_address[:2]
    state["server"] = FakeRatesServer(url=f"http://{host}:{port}")
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()

    settings.RATES_PROVIDER_URL = state["server"].url
    settings.RATES_PROVIDER_BASE = "EUR"
    settings.RATES_PROVIDER_TIMEOUT = 2
    settings.RATES_PROVIDER_RETRIES = 2
    settings.RATES_PROVIDER_CACHE_SECONDS = 3600
    try:
        yield state["server"]
    finally:
        httpd.shutdown()
        httpd.server_close()
