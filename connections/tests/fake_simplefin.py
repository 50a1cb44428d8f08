"""A fake SimpleFIN Bridge on 127.0.0.1 that follows the protocol, for the tests.

- `setup_token()` makes a one-time claim URL (base64); POSTing it answers the access URL
  `http://<user>:<pass>@127.0.0.1:<port>/simplefin` once, and 403 after.
- `GET /simplefin/accounts` checks basic auth (403 otherwise), filters transactions by
  `start-date` <= posted < `end-date`, includes pending ones only with `pending=1`,
  honours `balances-only=1` and repeated `account=`, and refuses a date range longer
  than `max_days` (so a client must paginate).
- `mode` makes it misbehave: "errors" (an `errors` entry), "revoked" (403), "slow" (no
  answer until `stop()` or `slow_seconds`), "bad_json", "http500"; `fail_after = n`
  answers n account requests, then fails every later one (a sync broken mid-way).
- `requests` records every request (method, path, query parameters) for assertions.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

DAY = 86400


class FakeBridge:
    def __init__(self) -> None:
        self.username = f"sfin-{secrets.token_hex(4)}"
        self.password = f"pw-{secrets.token_hex(12)}"
        self.accounts: list[dict[str, Any]] = []
        self.claims: dict[str, bool] = {}  # claim token → claimed
        self.mode = "ok"
        self.max_days = 90
        self.slow_seconds = 10.0
        # Answer this many GET /accounts, then fail every later one with a 500.
        self.fail_after: int | None = None
        self.error_message = "Connection to Test Bank may need attention."
        self.answered = 0
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ----------------------------------------------------------------------

    def start(self) -> FakeBridge:
        bridge = self

        class Handler(_Handler):
            fake = bridge

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(5)

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.server_address[1]

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def access_url(self) -> str:
        return f"http://{self.username}:{self.password}@127.0.0.1:{self.port}/simplefin"

    # --- data ---------------------------------------------------------------------------

    def setup_token(self) -> str:
        token = secrets.token_urlsafe(12)
        with self._lock:
            self.claims[token] = False
        return base64.b64encode(f"{self.base}/claim/{token}".encode()).decode()

    def add_account(
        self,
        account_id: str,
        *,
        name: str = "Checking",
        currency: str = "USD",
        balance: str = "1000.00",
        org: str = "Test Bank",
    ) -> dict[str, Any]:
        account = {
            "org": {"domain": "testbank.example", "name": org, "sfin-url": f"{self.base}/"},
            "id": account_id,
            "name": name,
            "currency": currency,
            "balance": balance,
            "available-balance": balance,
            "balance-date": int(time.time()),
            "transactions": [],
        }
        with self._lock:
            self.accounts.append(account)
        return account

    def add_transaction(
        self,
        account_id: str,
        txn_id: str,
        *,
        days_ago: float,
        amount: str,
        description: str,
        pending: bool = False,
        **extra: Any,
    ) -> dict[str, Any]:
        when = int(time.time() - days_ago * DAY)
        txn = {
            "id": txn_id,
            "posted": 0 if pending else when,
            "amount": amount,
            "description": description,
            "transacted_at": when,
            **extra,
        }
        if pending:
            txn["pending"] = True
        with self._lock:
            self._account(account_id)["transactions"].append(txn)
        return txn

    def remove_transaction(self, account_id: str, txn_id: str) -> None:
        with self._lock:
            account = self._account(account_id)
            account["transactions"] = [t for t in account["transactions"] if t["id"] != txn_id]

    def _account(self, account_id: str) -> dict[str, Any]:
        return next(a for a in self.accounts if a["id"] == account_id)

    def transaction_requests(self) -> list[dict[str, Any]]:
        """The GET /accounts requests that asked for transactions."""
        return [
            r
            for r in self.requests
            if r["path"].endswith("/accounts") and "balances-only" not in r["params"]
        ]

    # --- answers ------------------------------------------------------------------------

    def answer_claim(self, token: str) -> tuple[int, bytes]:
        with self._lock:
            if self.claims.get(token) is not False:
                return 403, b"Forbidden"
            self.claims[token] = True
        return 200, self.access_url.encode()

    def answer_accounts(self, authorization: str, query: str) -> tuple[int, bytes]:
        expected = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        if self.mode == "revoked" or authorization != f"Basic {expected}":
            return 403, b"Forbidden"
        if self.mode == "slow":
            self._release.wait(self.slow_seconds)
        with self._lock:
            self.answered += 1
            exhausted = self.fail_after is not None and self.answered > self.fail_after
        if self.mode == "http500" or exhausted:
            return 500, b"Internal Server Error"
        if self.mode == "bad_json":
            return 200, b"<html>maintenance</html>"
        params = parse_qs(query)
        start = int(params["start-date"][0]) if "start-date" in params else None
        end = int(params["end-date"][0]) if "end-date" in params else int(time.time()) + 1
        if start is not None and end - start > self.max_days * DAY:
            return 400, f"Date range longer than {self.max_days} days".encode()
        wanted = set(params.get("account", []))
        pending = params.get("pending") == ["1"]
        balances_only = params.get("balances-only") == ["1"]
        accounts = []
        with self._lock:
            for account in self.accounts:
                if wanted and account["id"] not in wanted:
                    continue
                shown = {k: v for k, v in account.items() if k != "transactions"}
                if not balances_only:
                    shown["transactions"] = [
                        dict(t)
                        for t in account["transactions"]
                        if (pending and t.get("pending"))
                        or (
                            not t.get("pending")
                            and (start is None or t["posted"] >= start)
                            and t["posted"] < end
                        )
                    ]
                accounts.append(shown)
        errors = [self.error_message] if self.mode == "errors" else []
        return 200, json.dumps({"errors": errors, "accounts": accounts}).encode()


class _Handler(BaseHTTPRequestHandler):
    fake: FakeBridge
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: the tests assert on `requests`

    def _record(self) -> tuple[str, str]:
        parts = urlsplit(self.path)
        self.fake.requests.append(
            {"method": self.command, "path": parts.path, "params": parse_qs(parts.query)}
        )
        return parts.path, parts.query

    def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test)

    def do_POST(self) -> None:
        path, _ = self._record()
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        if path.startswith("/claim/"):
            status, body = self.fake.answer_claim(path.removeprefix("/claim/"))
            self._send(status, body, "text/plain")
        else:
            self._send(404, b"Not Found", "text/plain")

    def do_GET(self) -> None:
        path, query = self._record()
        if path == "/simplefin/accounts":
            status, body = self.fake.answer_accounts(self.headers.get("Authorization", ""), query)
            self._send(status, body)
        else:
            self._send(404, b"Not Found", "text/plain")
