"""Real processes for end-to-end checks: gunicorn over HTTP and a throwaway PostgreSQL.

Used by tests/test_faults.py and the CI smoke test (.ci/smoke.py). Every wait is
bounded; every process started here is stopped by the context manager that started it.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import re
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

import psycopg
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
    if "CACHE_URL" not in overrides:
        # Production refuses a per-process cache; a file cache is shared by the workers
        # of one machine, which is all these servers are (tests/scaleout/ uses Redis).
        env["CACHE_URL"] = f"filecache://{_scratch_dir('bt-cache-')}"
    env.update(overrides)
    return env


def _scratch_dir(prefix: str) -> str:
    """A temporary directory removed when this process exits."""
    path = tempfile.mkdtemp(prefix=prefix)
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


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

    # --- a streaming replica and databases restored from a dump (tests/scaleout/) ---------

    @staticmethod
    def replication_unavailable_reason() -> str | None:
        """Why a primary + streaming replica with restored databases cannot run, or None."""
        reason = PostgresCluster.unavailable_reason()
        for tool in ("pg_basebackup", "pg_dump", "pg_restore"):
            if reason is None and not (PG_BIN / tool).exists():
                reason = f"{PG_BIN / tool} not found (set PG_BIN to PostgreSQL's bin directory)"
        return reason

    def url_of(self, dbname: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{dbname}"

    def execute(self, sql: str, params: Any = (), *, dbname: str = "postgres") -> list[tuple]:
        """Run one statement on its own autocommit connection; its rows, if any."""
        with psycopg.connect(self.url_of(dbname), autocommit=True, connect_timeout=5) as conn:
            cursor = conn.execute(sql, params)
            return cursor.fetchall() if cursor.description else []

    def create_database(self, name: str, *, dump: Path | None = None) -> str:
        """A new database (restored from a `pg_dump -Fc` file, if given); its URL."""
        self.execute(f'CREATE DATABASE "{name}"')
        if dump is not None:
            subprocess.run(
                [str(PG_BIN / "pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error",
                 "-d", self.url_of(name), str(dump)],
                check=True, timeout=120, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            )  # fmt: skip
        return self.url_of(name)

    def init_replica_of(self, primary: PostgresCluster) -> None:
        """Instead of `init()`: copy `primary` with pg_basebackup -R, so `start()` runs this
        cluster as a hot standby streaming from it (PostgreSQL's defaults, wal_level=replica
        and 10 WAL senders, and initdb's trust rule for replication on 127.0.0.1 suffice)."""
        self._run(
            str(PG_BIN / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(primary.port),
            "-U", "postgres", "-D", str(self.data), "-R", "-X", "stream", "-c", "fast",
            "--no-sync",
        )  # fmt: skip


# --- shared services of scaled-out app servers: S3 (moto's emulator), a Celery worker ----------

# moto accepts any credentials; boto3 only needs some to sign requests.
S3_TEST_REGION = "us-east-1"
S3_TEST_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


def s3_env(endpoint: str, bucket: str) -> dict[str, str]:
    """The environment variables that put an app server's stored files in `bucket`."""
    return {
        "STORAGE_BACKEND": "s3",
        "AWS_STORAGE_BUCKET_NAME": bucket,
        "AWS_S3_ENDPOINT_URL": endpoint,
        "AWS_S3_REGION_NAME": S3_TEST_REGION,
        "AWS_S3_ADDRESSING_STYLE": "path",
        **S3_TEST_CREDENTIALS,
    }


def s3_client(endpoint: str) -> Any:
    """A boto3 S3 client of the emulator at `endpoint` (to create and inspect buckets)."""
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=S3_TEST_REGION,
        aws_access_key_id=S3_TEST_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=S3_TEST_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )


def s3_unavailable_reason() -> str | None:
    if not Path(sys.executable).with_name("moto_server").exists():
        return "moto_server not installed (pip install -r requirements-dev.txt)"
    return None


@contextmanager
def s3_server(*, ready_timeout: float = 30) -> Iterator[str]:
    """moto's S3 emulator (`moto_server`) on 127.0.0.1 and a free port; yields its URL.

    State lives in that process only: every bucket is gone once it stops.
    """
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    moto_bin = Path(sys.executable).with_name("moto_server")
    log = tempfile.NamedTemporaryFile(prefix="moto-", suffix=".log", delete=False)  # noqa: SIM115
    process = subprocess.Popen(
        [str(moto_bin), "-H", "127.0.0.1", "-p", str(port)],
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_until_answering(process, f"{base}/moto-api/", ready_timeout, log.name, "moto_server")
        yield base
    finally:
        _stop(process)
        log.close()
        os.unlink(log.name)


@contextmanager
def celery_worker(env: Mapping[str, str], *, queue: str = "celery") -> Iterator[subprocess.Popen]:
    """A real Celery worker (solo pool) with `env`'s broker, consuming `queue`.

    Not waited for: tasks wait in the broker until it consumes them. Its log is printed
    by `worker_log()` on a failure; stopped with SIGTERM (then SIGKILL).
    """
    log = tempfile.NamedTemporaryFile(prefix="celery-", suffix=".log", delete=False)  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "budget_tracker", "worker", "--pool=solo",
         "-Q", queue, "-n", f"{queue}-{os.getpid()}@localhost", "--without-heartbeat",
         "--without-mingle", "--without-gossip", "--loglevel=INFO"],
        cwd=PROJECT,
        env={"DJANGO_SETTINGS_MODULE": "budget_tracker.settings", **env},
        stdout=log,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    process.log_path = log.name  # type: ignore[attr-defined]
    try:
        yield process
    finally:
        _stop(process)
        log.close()
        os.unlink(log.name)


def worker_log(process: subprocess.Popen) -> str:
    """The last lines a process started by `celery_worker` wrote."""
    return _tail(process.log_path)  # type: ignore[attr-defined]


def _wait_until_answering(
    process: subprocess.Popen, url: str, timeout: float, log_path: str, what: str
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}:\n{_tail(log_path)}")
        try:
            http("GET", url, timeout=3)
            return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"{what} not answering after {timeout}s:\n{_tail(log_path)}"
                ) from None
            time.sleep(0.2)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


# --- a migrated database in seconds, and PgBouncer (tests/scaleout/) -----------------------------


def _migration_fingerprint() -> str:
    """What a freshly migrated database depends on: the migrations, the models, the project
    modules the migrations import (e.g. ledger/totals.py's trigger SQL), Django's version."""
    import django

    files = set(PROJECT.glob("*/migrations/*.py")) | set(PROJECT.glob("*/models.py"))
    imported = re.compile(r"^\s*(?:from|import) ([a-z_]+(?:\.[a-z_]+)*)", re.MULTILINE)
    for migration in list(PROJECT.glob("*/migrations/*.py")):
        for module in imported.findall(migration.read_text()):
            path = PROJECT / (module.replace(".", "/") + ".py")
            if path.is_file():
                files.add(path)
    digest = hashlib.sha256(django.__version__.encode())
    for path in sorted(files):
        digest.update(str(path.relative_to(PROJECT)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:20]


def migrated_dump() -> Path:
    """A `pg_dump -Fc` of a freshly migrated database (without the bundled exchange rates).

    `migrate` takes half a minute or more on this project, restoring the dump a second or
    two, so it is made once per state of the migrations (`_migration_fingerprint`) and
    kept in the temporary directory; concurrent makers each write their own and rename.
    """
    target = Path(tempfile.gettempdir()) / f"bt-migrated-{_migration_fingerprint()}.dump"
    if target.exists():
        return target
    cluster = PostgresCluster()
    try:
        cluster.init()
        cluster.start()
        env = production_env(
            DATABASE_URL=cluster.url,
            RATES_BUNDLED_AUTOLOAD="false",
            STATIC_ROOT=str(cluster.root / "static"),
        )
        manage("migrate", "--noinput", env=env)
        partial = target.with_suffix(f".{os.getpid()}.partial")
        subprocess.run(
            [str(PG_BIN / "pg_dump"), "-Fc", "-f", str(partial), cluster.url],
            check=True, timeout=120, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        os.replace(partial, target)
    finally:
        cluster.destroy()
    return target


PGBOUNCER_BIN = Path(
    os.environ.get("PGBOUNCER_BIN", shutil.which("pgbouncer") or "/usr/sbin/pgbouncer")
)


def pgbouncer_unavailable_reason() -> str | None:
    if not PGBOUNCER_BIN.exists():
        return f"{PGBOUNCER_BIN} not found (apt-get install pgbouncer, or set PGBOUNCER_BIN)"
    return None


@contextmanager
def pgbouncer(
    cluster: PostgresCluster,
    dbname: str,
    *,
    pool_mode: str = "transaction",
    pool_size: int = 2,
    ready_timeout: float = 15,
) -> Iterator[str]:
    """PgBouncer on 127.0.0.1 and a free port, pooling `cluster`'s database `dbname` for
    user postgres without a password; yields that database's URL through it. Its admin
    console is the database `pgbouncer` at the same address. As root it drops to the
    `postgres` user (-u), since PgBouncer refuses to run as root. Stopped with SIGTERM."""
    port = free_port()
    root = Path(tempfile.mkdtemp(prefix="bt-pgbouncer-"))
    (root / "users.txt").write_text('"postgres" ""\n')
    (root / "pgbouncer.ini").write_text(
        f"[databases]\n"
        f"{dbname} = host=127.0.0.1 port={cluster.port} dbname={dbname}\n"
        f"[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        f"auth_type = trust\nauth_file = {root / 'users.txt'}\n"
        f"admin_users = postgres\nstats_users = postgres\n"
        f"pool_mode = {pool_mode}\ndefault_pool_size = {pool_size}\nmax_client_conn = 200\n"
        f"logfile = {root / 'pgbouncer.log'}\npidfile = {root / 'pgbouncer.pid'}\n"
    )
    command = [str(PGBOUNCER_BIN), str(root / "pgbouncer.ini")]
    if os.geteuid() == 0:
        shutil.chown(root, user="postgres")
        for path in root.iterdir():
            shutil.chown(path, user="postgres")
        command[1:1] = ["-u", "postgres"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + ready_timeout
        while True:
            if process.poll() is not None:
                log = root / "pgbouncer.log"
                detail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
                raise RuntimeError(f"pgbouncer exited with {process.returncode}:\n{detail}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"pgbouncer not listening after {ready_timeout}s") from None
                time.sleep(0.1)
        yield f"postgres://postgres@127.0.0.1:{port}/{dbname}"
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        shutil.rmtree(root, ignore_errors=True)


def http_multipart(
    method: str,
    url: str,
    *,
    fields: Mapping[str, str],
    files: Mapping[str, tuple[str, bytes, str]],
    token: str | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = 15,
) -> Reply:
    """One multipart/form-data request (`files`: name → (filename, bytes, content type));
    error statuses are returned, not raised."""
    boundary = "bt-" + os.urandom(12).hex()
    parts: list[bytes] = []
    for name, value in fields.items():
        head = f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
        parts.append(f"{head}{value}\r\n".encode())
    for name, (filename, content, content_type) in files.items():
        head = (
            f"--{boundary}\r\nContent-Disposition: form-data; "
            f'name="{name}"; filename="{filename}"\r\nContent-Type: {content_type}\r\n\r\n'
        )
        parts.append(head.encode() + content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    all_headers = {"Content-Type": f"multipart/form-data; boundary={boundary}", **(headers or {})}
    if token:
        all_headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=b"".join(parts), method=method, headers=all_headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return Reply(response.status, dict(response.headers), response.read())
    except urllib.error.HTTPError as error:
        return Reply(error.code, dict(error.headers), error.read())
