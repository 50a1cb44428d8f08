"""A fake Ollama on 127.0.0.1 speaking `POST /api/chat` (non-streaming) like the real one, so
the suite tests the LLM path with no model and no network. Use the `fake_ollama` fixture
(ai/tests/conftest.py): it points the settings at the server and yields it.

`server.mode` picks the behaviour:

- "good": a valid answer for the task in the request: the first candidate (choose_category),
  a one-sentence rationale, two tips. `server.content` (a str) replaces the model's content
  verbatim (hostile answers), `server.category` only the chosen category.
- "slow": answers well, but only after `server.delay` seconds (longer than the timeout).
- "drip": sends the headers at once, then the body a few bytes at a time, `server.delay`
  seconds in all (each pause shorter than the timeout, the whole longer).
- "error": HTTP 500 `{"error": "..."}`; "missing_model": HTTP 404 like an unpulled model;
  "redirect": HTTP 302 to another path.
- "malformed": HTTP 200 whose body is not JSON; "not_done": a reply with `done: false`.
- "huge": a valid reply whose content pads it past 1 MB.

Every request body is kept, parsed, in `server.requests`.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from ai.llm import reset_llm

MODES = (
    "good",
    "slow",
    "drip",
    "error",
    "missing_model",
    "redirect",
    "malformed",
    "not_done",
    "huge",
)
GOOD_RATIONALE = "Groceries are 40% above a typical month because of two large shops."
GOOD_TIPS = ["Set a weekly grocery limit.", "Review subscriptions you no longer use."]


@dataclass
class FakeOllama:
    url: str
    mode: str = "good"
    delay: float = 2.0
    content: str | None = None
    category: str | None = None
    requests: list[dict[str, Any]] = field(default_factory=list)

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "mode":
            if value not in MODES:
                raise ValueError(f"unknown fake Ollama mode {value!r}; one of {MODES}")
            # A new mode is a new server as far as the client knows: forget its cool-down.
            reset_llm()
        super().__setattr__(name, value)

    @property
    def last_document(self) -> dict[str, Any]:
        """The JSON document of the last request's user message."""
        user = [m for m in self.requests[-1]["messages"] if m["role"] == "user"]
        return json.loads(user[-1]["content"])

    def answer_content(self, body: dict[str, Any]) -> str:
        if self.content is not None:
            return self.content
        try:
            user = [m for m in body["messages"] if m["role"] == "user"][-1]
            document = json.loads(user["content"])
        except (KeyError, IndexError, TypeError, ValueError):
            return json.dumps({"error": "unexpected request"})
        task = document.get("task")
        if task == "choose_category":
            choice = self.category if self.category is not None else document["candidates"][0]
            return json.dumps({"category": choice})
        if task == "rationale":
            return json.dumps({"rationale": GOOD_RATIONALE})
        if task == "tips":
            return json.dumps({"tips": GOOD_TIPS})
        return json.dumps({"answer": "unknown task"})

    def reply(self, body: dict[str, Any], *, done: bool = True, padding: int = 0) -> bytes:
        payload = {
            "model": body.get("model", "unknown"),
            "created_at": "2026-11-27T12:00:00.000000Z",
            "message": {"role": "assistant", "content": self.answer_content(body)},
            "done_reason": "stop" if done else None,
            "done": done,
            "total_duration": 123456789,
            "load_duration": 1234567,
            "prompt_eval_count": 42,
            "eval_count": 12,
        }
        if padding:
            payload["message"]["content"] += " " * padding
        return json.dumps(payload).encode()


def _handler(server: FakeOllama) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            if self.path != "/api/chat":
                return self._send(404, b"404 page not found", "text/plain")
            try:
                body = json.loads(raw)
            except ValueError:
                return self._send(400, b'{"error":"invalid JSON"}')
            server.requests.append(body)
            mode = server.mode
            if mode == "slow":
                time.sleep(server.delay)
                return self._send(200, server.reply(body))
            if mode == "drip":
                return self._drip(server.reply(body), server.delay)
            if mode == "error":
                return self._send(500, b'{"error":"llama runner process has terminated"}')
            if mode == "missing_model":
                message = f'model "{body.get("model")}" not found, try pulling it first'
                return self._send(404, json.dumps({"error": message}).encode())
            if mode == "redirect":
                self.send_response(302)
                self.send_header("Location", "/elsewhere")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return None
            if mode == "malformed":
                return self._send(200, b'{"model": "x", "message": {"role": "assistant", "con')
            if mode == "not_done":
                return self._send(200, server.reply(body, done=False))
            if mode == "huge":
                return self._send(200, server.reply(body, padding=1024 * 1024))
            return self._send(200, server.reply(body))

        def _send(self, status: int, payload: bytes, kind: str = "application/json") -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", f"{kind}; charset=utf-8")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout and size-cap tests)

        def _drip(self, payload: bytes, seconds: float) -> None:
            steps = 10
            size = -(-len(payload) // steps)
            try:
                self.send_response(200)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                for start in range(0, len(payload), size):
                    self.wfile.write(payload[start : start + size])
                    self.wfile.flush()
                    time.sleep(seconds / steps)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


class RunningFakeOllama:
    """Starts and stops one FakeOllama (a context manager)."""

    def __init__(self) -> None:
        self._state = FakeOllama(url="")
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self._state))
        self._httpd.daemon_threads = True
        host, port = self._httpd.server_address[:2]
        self._state.url = f"http://{host}:{port}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self) -> FakeOllama:
        self._thread.start()
        return self._state

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
