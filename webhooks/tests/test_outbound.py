"""core/outbound.py, the SSRF-safe HTTP every webhook send goes through: what it refuses,
and what it does with a real server on 127.0.0.1 (Host header, body bound, timeout, no
redirects, the checked address pinned against DNS rebinding). No test leaves the machine:
names are resolved by a patched `socket.getaddrinfo` where a name is needed."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from core import outbound

REAL_GETADDRINFO = socket.getaddrinfo


class Server:
    """A tiny HTTP server: `/ok`, `/big` (10 KB), `/slow`, `/redirect`; records each
    request's path and Host header."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.seen: list[tuple[str, str]] = []
        self.release = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.seen.append((self.path, self.headers.get("Host", "")))
                if self.path == "/slow":
                    server.release.wait(30)
                if self.path == "/redirect":
                    self.send_response(302)
                    self.send_header("Location", "/ok")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                payload = b"x" * 10_000 if self.path == "/big" else b"hello"
                self.send_response(200)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_POST = do_GET

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer((host, port), Handler)
        self.httpd.daemon_threads = True
        self.httpd.handle_error = lambda request, address: None
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    def __enter__(self) -> Server:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[Server]:
    with Server() as running:
        yield running


def fake_dns(monkeypatch, answers: dict[str, list[str]]) -> list[str]:
    """Resolve the names in `answers` to their next address (the last one repeats);
    anything else (IP literals) as the system does. Returns the names looked up."""
    asked: list[str] = []

    def resolve(host, port, *args, **kwargs):
        if host in answers:
            asked.append(host)
            queue = answers[host]
            address = queue.pop(0) if len(queue) > 1 else queue[0]
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            return [(family, socket.SOCK_STREAM, 6, "", (address, port))]
        return REAL_GETADDRINFO(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    return asked


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://localhost:8000/hook",
        "http://10.0.0.1/",
        "http://192.168.0.10/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://100.64.0.1/",
        "http://0.0.0.0:8000/",
        "http://172.16.5.4/",
        "http://[fe80::1]/",
        "http://224.0.0.1/",
    ],
)
def test_non_public_addresses_are_refused(url):
    with pytest.raises(outbound.UnsafeURL, match="non-public address") as refused:
        outbound.check_url(url, allow_private=False, field="url")
    assert refused.value.field == "url"
    assert refused.value.status_code == 400


@pytest.mark.parametrize(
    "url, message",
    [
        ("ftp://93.184.215.14/file", "must start with http:// or https://"),
        ("file:///etc/passwd", "must start with http:// or https://"),
        ("http:///path-only", "must start with http:// or https://"),
        ("https://", "must start with http:// or https://"),
        ("http://93.184.215.14:99999/", "not a valid URL"),
    ],
)
def test_other_schemes_and_hostless_urls_are_refused(url, message):
    with pytest.raises(outbound.UnsafeURL, match=message):
        outbound.check_url(url, allow_private=True)


def test_a_name_resolving_to_a_private_address_is_refused(monkeypatch):
    monkeypatch.setattr(
        socket,
        "getaddrinfo",
        lambda host, port, *a, **k: [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", port)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.7", port)),
        ],
    )
    # One private address among the answers is enough to refuse.
    with pytest.raises(outbound.UnsafeURL, match=r"10\.0\.0\.7"):
        outbound.check_url("https://intranet.example.com/", allow_private=False)


def test_a_public_literal_passes_without_a_request():
    target = outbound.check_url("https://93.184.215.14:8443/hook", allow_private=False)
    assert (target.scheme, target.host, target.port, target.address) == (
        "https",
        "93.184.215.14",
        8443,
        "93.184.215.14",
    )


def test_private_addresses_are_refused_by_request_before_connecting(server):
    with pytest.raises(outbound.UnsafeURL):
        outbound.request(
            "GET", f"http://127.0.0.1:{server.port}/ok", allow_private=False, timeout=2
        )
    assert server.seen == []


def test_allow_private_lets_127_0_0_1_through(server):
    response = outbound.request(
        "GET", f"http://127.0.0.1:{server.port}/ok", allow_private=True, timeout=2
    )
    assert (response.status_code, response.content) == (200, b"hello")
    assert server.seen == [("/ok", f"127.0.0.1:{server.port}")]


def test_the_host_header_keeps_the_name(server, monkeypatch):
    fake_dns(monkeypatch, {"hooks.example.test": ["127.0.0.1"]})
    outbound.request(
        "GET", f"http://hooks.example.test:{server.port}/ok", allow_private=True, timeout=2
    )
    assert server.seen == [("/ok", f"hooks.example.test:{server.port}")]


def test_the_body_is_bounded(server):
    with pytest.raises(outbound.OutboundError, match="larger than 1000 bytes"):
        outbound.request(
            "GET",
            f"http://127.0.0.1:{server.port}/big",
            allow_private=True,
            timeout=2,
            max_bytes=1000,
        )


def test_a_slow_server_times_out(server):
    with pytest.raises(outbound.OutboundError, match=r"No answer within 0.2 seconds"):
        outbound.request(
            "GET", f"http://127.0.0.1:{server.port}/slow", allow_private=True, timeout=0.2
        )


def test_redirects_are_not_followed(server):
    response = outbound.request(
        "POST", f"http://127.0.0.1:{server.port}/redirect", allow_private=True, timeout=2
    )
    assert response.status_code == 302
    assert [path for path, _ in server.seen] == ["/redirect"]  # /ok never asked


def test_a_refused_connection_is_an_outbound_error():
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(outbound.OutboundError, match="ConnectionError"):
        outbound.request("GET", f"http://127.0.0.1:{port}/", allow_private=True, timeout=2)


def test_dns_rebinding_cannot_move_the_connection(server, monkeypatch):
    # The name answers 127.0.0.1 once, then 127.0.0.2 (where another server listens on
    # the same port): the request still goes to the address that was checked.
    try:
        elsewhere = Server("127.0.0.2", server.port)
    except OSError:
        pytest.skip("127.0.0.2 is not a loopback address on this machine")
    with elsewhere:
        asked = fake_dns(monkeypatch, {"rebind.example.test": ["127.0.0.1", "127.0.0.2"]})
        response = outbound.request(
            "GET", f"http://rebind.example.test:{server.port}/ok", allow_private=True, timeout=2
        )
        assert response.status_code == 200
        assert server.seen == [("/ok", f"rebind.example.test:{server.port}")]
        assert elsewhere.seen == []
        assert asked == ["rebind.example.test"]  # looked up once, by the check


def test_dns_rebinding_to_a_private_address_is_refused_at_request_time(monkeypatch):
    # Public when a URL was saved, private when it is called: the request-time check
    # (its own lookup, then pinned) refuses it before connecting.
    fake_dns(monkeypatch, {"shifty.example.test": ["93.184.215.14", "127.0.0.1"]})
    outbound.check_url("http://shifty.example.test/hook", allow_private=False)
    with pytest.raises(outbound.UnsafeURL, match=r"127\.0\.0\.1"):
        outbound.request("POST", "http://shifty.example.test/hook", allow_private=False, timeout=2)
