"""Real processes for end-to-end checks: gunicorn over HTTP and a throwaway PostgreSQL.

Used by tests/test_faults.py and the CI smoke test (.ci/smoke.py). Every wait is
bounded; every process started here is stopped by the context manager that started it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

PROJECT = Path(__file__).resolve().parents[1]
PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Reply:
    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def http(
    method: str,
    url: str,
    *,
    body: Any = None,
    token: str | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = 15,
) -> Reply:
    """One HTTP request; error statuses are returned, not raised."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return Reply(response.status, dict(response.headers), response.read())
    except urllib.error.HTTPError as error:
        return Reply(error.code, dict(error.headers), error.read())


def production_env(**overrides: str) -> dict[str, str]:
    """The environment of a production app server on 127.0.0.1 over plain HTTP."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DEBUG", "CONN_MAX_AGE", "LOG_FORMAT", "CACHE_URL"}
    }
    env.update(
        {
            "DJANGO_ENV": "production",
            "SECRET_KEY": "live-" + os.urandom(32).hex(),
            "ENCRYPTION_KEYS": Fernet.generate_key().decode(),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "TLS_TERMINATED": "false",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(overrides)
    return env


def manage(*args: str, env: Mapping[str, str], timeout: float = 300) -> None:
    subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT,
        env=dict(env),
        check=True,
        timeout=timeout,
        stdout=subprocess.DEVNULL,
    )


@contextmanager
def gunicorn(
    env: Mapping[str, str], *, workers: int = 2, ready_timeout: float = 30, timeout: int = 60
) -> Iterator[str]:
    """Serve the project with gunicorn on a free port; yields the base URL.

    Waits until /health/ answers (any status); stops with SIGTERM (then SIGKILL).
    Its log goes to a temporary file, printed if the server fails to come up.
    """
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    gunicorn_bin = Path(sys.executable).with_name("gunicorn")
    log = tempfile.NamedTemporaryFile(prefix="gunicorn-", suffix=".log", delete=False)  # noqa: SIM115
    process = subprocess.Popen(
        [
            str(gunicorn_bin),
            "budget_tracker.wsgi",
            "--workers",
            str(workers),
            "--bind",
            f"127.0.0.1:{port}",
            "--timeout",
            str(timeout),
            "--graceful-timeout",
            "10",
        ],
        cwd=PROJECT,
        env=dict(env),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + ready_timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {process.returncode}:\n{_tail(log.name)}")
            try:
                http("GET", f"{base}/health/", timeout=3)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"gunicorn not answering after {ready_timeout}s:\n{_tail(log.name)}"
                    ) from None
                time.sleep(0.2)
        yield base
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        log.close()
        os.unlink(log.name)


def _tail(path: str, lines: int = 40) -> str:
    with open(path, errors="replace") as handle:
        return "".join(handle.readlines()[-lines:])


class PostgresCluster:
    """A private PostgreSQL cluster in a temporary directory, on a free port.

    initdb refuses to run as root, so as root the server runs as the `postgres`
    system user (via runuser). `stop()` / `start()` really stop and start the server.
    """

    def __init__(self) -> None:
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="bt-pg-"))
        self.data = self.root / "data"
        self.prefix: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.root, user="postgres")
            self.prefix = ["runuser", "-u", "postgres", "--"]

    @staticmethod
    def unavailable_reason() -> str | None:
        for tool in ("initdb", "pg_ctl"):
            if not (PG_BIN / tool).exists():
                return f"{PG_BIN / tool} not found (set PG_BIN to PostgreSQL's bin directory)"
        if os.geteuid() == 0 and not shutil.which("runuser"):
            return "running as root without runuser, and initdb refuses to run as root"
        return None

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, timeout: float = 60) -> None:
        subprocess.run(
            [*self.prefix, *args],
            check=True,
            timeout=timeout,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def init(self) -> None:
        self._run(
            str(PG_BIN / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "--no-sync",
            "-E",
            "UTF8",
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            str(PG_BIN / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.root / "server.log"),
            "-w",
            "-t",
            "30",
            "start",
        )

    def stop(self) -> None:
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def destroy(self) -> None:
        if (self.data / "postmaster.pid").exists():
            with suppress(subprocess.SubprocessError):
                self._run(
                    str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"
                )
        shutil.rmtree(self.root, ignore_errors=True)
