"""Two app servers that share nothing but PostgreSQL, Redis and object storage.

Real processes: moto's S3 emulator, two gunicorn instances on different ports with the
same production settings, and a Celery worker, all against one PostgreSQL database
(pytest's own test database, as tests/test_celery_worker.py does) and one Redis (database
10 for the cache, 11 as the broker). A client that lands on either server sees one
service: a JWT issued by A works on B (and a refresh rotated on B is revoked on A); a
receipt uploaded through A downloads through B and goes when B deletes it; login attempts
on A and B count against one limit; an import commit queued through A is polled to
completion through B. Nothing is written to either server's disk.

Runs on the PostgreSQL pass of .ci/run (marked `postgres`; the worker and servers cannot
see SQLite's in-memory test database) with Redis; REQUIRE_REDIS=1 (CI) turns a missing
Redis into a failure. One test function: the servers are started once, and pytest-xdist
never splits one module's checks over two stacks sharing the broker database.
"""

from __future__ import annotations

import os
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack

import pytest
from django.db import connection

from tests.live_server import (
    Reply,
    celery_worker,
    gunicorn,
    http,
    http_multipart,
    production_env,
    s3_client,
    s3_env,
    s3_server,
    s3_unavailable_reason,
    worker_log,
)

REDIS = os.environ.get("SCALEOUT_TEST_REDIS", "redis://127.0.0.1:6379")
CACHE_URL = f"{REDIS}/10"
BROKER_URL = f"{REDIS}/11"  # this test's alone: flushed before it starts

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00"
    b"\x00\x00IEND\xaeB`\x82"
)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n" + os.urandom(256)
PASSWORD = "Scale-out-pass-123"
LOGIN_LIMIT = 4  # per hour: a minute's window could slide on a slow machine


def _require_stack() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the servers cannot see SQLite's in-memory test database; runs on PostgreSQL")
    import redis

    try:
        redis.Redis.from_url(CACHE_URL, socket_connect_timeout=2).ping()
    except redis.RedisError:
        if os.environ.get("REQUIRE_REDIS") == "1":
            pytest.fail(f"REQUIRE_REDIS=1 but Redis is not reachable at {REDIS}")
        pytest.skip(f"Redis is not reachable at {REDIS}")
    reason = s3_unavailable_reason()
    if reason:
        pytest.skip(reason)


def _database_url() -> str:
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


class Client:
    """One user behind the load balancer: a client address of its own (the balancer is
    the one trusted proxy, NUM_PROXIES=1), and the tokens it was issued."""

    def __init__(self, address: str) -> None:
        self.headers = {"X-Forwarded-For": address}
        self.access = self.refresh = ""

    def call(self, method: str, url: str, body: object = None) -> Reply:
        return http(method, url, body=body, token=self.access, headers=self.headers)

    def upload(self, method: str, url: str, fields: dict, files: dict) -> Reply:
        return http_multipart(
            method, url, fields=fields, files=files, token=self.access, headers=self.headers
        )

    def sign_up(self, base: str, username: str) -> None:
        credentials = {"username": username, "password": PASSWORD}
        registered = http(
            "POST",
            f"{base}/api/v1/auth/register/",
            body={**credentials, "email": f"{username}@example.com"},
            headers=self.headers,
        )
        assert registered.status == 201, registered.body
        tokens = http("POST", f"{base}/api/v1/auth/token/", body=credentials, headers=self.headers)
        assert tokens.status == 200, tokens.body
        self.access, self.refresh = tokens.json()["access"], tokens.json()["refresh"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_app_servers_behave_as_one(tmp_path):
    _require_stack()
    import redis

    redis.Redis.from_url(BROKER_URL).flushdb()  # no task of an earlier run is delivered
    media = tmp_path / "media"
    with ExitStack() as stack:
        endpoint = stack.enter_context(s3_server())
        bucket = f"bt-scaleout-{uuid.uuid4().hex[:12]}"
        s3 = s3_client(endpoint)
        s3.create_bucket(Bucket=bucket)
        # One environment for every process, as a deployment would have: the same
        # SECRET_KEY and ENCRYPTION_KEYS, and only shared services.
        env = production_env(
            DATABASE_URL=_database_url(),
            CACHE_URL=CACHE_URL,
            CACHE_KEY_PREFIX=f"scaleout-{uuid.uuid4().hex}",  # counts of this run only
            CELERY_BROKER_URL=BROKER_URL,
            CELERY_TASK_ALWAYS_EAGER="false",
            IMPORT_ASYNC_ROWS="1",  # any commit of two rows or more goes to the worker
            THROTTLE_LOGIN_RATE=f"{LOGIN_LIMIT}/hour",
            NUM_PROXIES="1",
            STATIC_ROOT=str(tmp_path / "static"),
            MEDIA_ROOT=str(media),
            RATES_BUNDLED_AUTOLOAD="false",
            **s3_env(endpoint, bucket),
        )
        worker = stack.enter_context(celery_worker(env))
        a, b = _start_servers(stack, env, 2)
        assert a != b

        alice = Client("198.51.100.1")
        alice.sign_up(a, "alice")
        _tokens_issued_by_a_work_on_b(a, b, alice)
        _a_receipt_uploaded_through_a_is_served_and_deleted_through_b(a, b, alice, s3, bucket)
        _login_attempts_on_a_and_b_count_against_one_limit(a, b)
        _an_import_queued_through_a_completes_as_seen_through_b(a, b, alice, worker)

    # Neither server wrote a stored file to its own disk.
    assert not media.exists() or not any(p.is_file() for p in media.rglob("*"))


def _start_servers(stack: ExitStack, env: dict[str, str], count: int) -> list[str]:
    """`count` gunicorn servers with the same environment, booted side by side (one worker
    each keeps a 2-core machine responsive; several servers are the point); each is
    stopped by `stack`, whichever of them failed to start."""
    servers = [gunicorn(env, workers=1, ready_timeout=90) for _ in range(count)]
    with ThreadPoolExecutor(count) as pool:
        starting = [pool.submit(server.__enter__) for server in servers]
    bases = []
    for server, started in zip(servers, starting, strict=True):
        if started.exception() is None:
            stack.push(server.__exit__)
            bases.append(started.result())
    for started in starting:
        if started.exception() is not None:
            raise started.exception()
    return bases


def _tokens_issued_by_a_work_on_b(a: str, b: str, alice: Client) -> None:
    me = alice.call("GET", f"{b}/api/v1/auth/me/")
    assert me.status == 200 and me.json()["username"] == "alice", me.body

    # A refresh rotated on B blacklists the old refresh token for A too (one database).
    old_refresh = alice.refresh
    rotated = http(
        "POST",
        f"{b}/api/v1/auth/token/refresh/",
        body={"refresh": old_refresh},
        headers=alice.headers,
    )
    assert rotated.status == 200, rotated.body
    replayed = http(
        "POST",
        f"{a}/api/v1/auth/token/refresh/",
        body={"refresh": old_refresh},
        headers=alice.headers,
    )
    assert replayed.status == 401, replayed.body


def _a_receipt_uploaded_through_a_is_served_and_deleted_through_b(
    a: str, b: str, owner: Client, s3, bucket: str
) -> None:
    outsider = Client("198.51.100.3")
    outsider.sign_up(b, "outsider")

    fields = {"amount": "12.50", "date": "2026-03-10", "description": "Taxi"}
    created = owner.upload(
        "POST", f"{a}/api/v1/expenses/", fields, {"receipt": ("taxi.png", PNG, "image/png")}
    )
    assert created.status == 201, created.body
    expense_id = created.json()["id"]
    keys = [item["Key"] for item in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert len(keys) == 1 and keys[0].startswith("receipts/expense/"), keys

    download = owner.call("GET", f"{b}/api/v1/expenses/{expense_id}/receipt/")
    assert download.status == 200, download.body
    assert download.body == PNG and download.headers["Content-Type"] == "image/png"
    refused = outsider.call("GET", f"{b}/api/v1/expenses/{expense_id}/receipt/")
    assert refused.status == 404 and refused.json()["code"] == "not_found"

    # Replaced through B: A serves the new file, and the old object is gone.
    replaced = owner.upload(
        "PATCH",
        f"{b}/api/v1/expenses/{expense_id}/",
        {},
        {"receipt": ("taxi.pdf", PDF, "application/pdf")},
    )
    assert replaced.status == 200, replaced.body
    again = owner.call("GET", f"{a}/api/v1/expenses/{expense_id}/receipt/")
    assert again.status == 200 and again.body == PDF
    [new_key] = [item["Key"] for item in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert new_key != keys[0]

    deleted = owner.call("DELETE", f"{b}/api/v1/expenses/{expense_id}/")
    assert deleted.status == 204, deleted.body
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount") == 0
    gone = owner.call("GET", f"{a}/api/v1/expenses/{expense_id}/receipt/")
    assert gone.status == 404


def _login_attempts_on_a_and_b_count_against_one_limit(a: str, b: str) -> None:
    # One client guessing passwords, its requests spread over both servers by the load
    # balancer: the limit is the deployment's, not a server's.
    guesser = Client("203.0.113.9")
    wrong = {"username": "alice", "password": "not-the-password"}
    answers = [
        http("POST", f"{base}/api/v1/auth/token/", body=wrong, headers=guesser.headers)
        for base in (a, b) * (LOGIN_LIMIT // 2)
    ]
    assert [reply.status for reply in answers] == [401] * LOGIN_LIMIT, [r.body for r in answers]
    for base in (a, b):
        throttled = http("POST", f"{base}/api/v1/auth/token/", body=wrong, headers=guesser.headers)
        assert throttled.status == 429, throttled.body
        assert throttled.json()["code"] == "throttled"
        assert int(throttled.headers["Retry-After"]) > 0
    # Another client is not affected.
    other = http(
        "POST",
        f"{b}/api/v1/auth/token/",
        body=wrong,
        headers={"X-Forwarded-For": "203.0.113.10"},
    )
    assert other.status == 401, other.body


def _an_import_queued_through_a_completes_as_seen_through_b(
    a: str, b: str, importer: Client, worker
) -> None:
    statement = b"Date,Description,Amount\n2026-03-01,Rent,-900\n2026-03-02,Coffee,-3.50\n"
    statement += b"2026-03-03,Salary,2500\n"
    uploaded = importer.upload(
        "POST", f"{a}/api/v1/imports/", {}, {"file": ("march.csv", statement, "text/csv")}
    )
    assert uploaded.status == 201, uploaded.body
    batch_id = uploaded.json()["id"]

    queued = importer.call("POST", f"{a}/api/v1/imports/{batch_id}/commit/", {})
    assert queued.status == 202, queued.body
    assert queued.json()["status"] == "committing"

    deadline = time.monotonic() + 60
    status = "committing"
    while status == "committing" and time.monotonic() < deadline:
        assert worker.poll() is None, f"the worker exited:\n{worker_log(worker)}"
        time.sleep(0.3)
        polled = importer.call("GET", f"{b}/api/v1/imports/{batch_id}/")
        assert polled.status == 200, polled.body
        status = polled.json()["status"]
    assert status == "committed", f"import still {status}; worker log:\n{worker_log(worker)}"

    expenses = importer.call("GET", f"{b}/api/v1/expenses/?ordering=date")
    incomes = importer.call("GET", f"{a}/api/v1/incomes/")
    assert [e["description"] for e in expenses.json()["results"]] == ["Rent", "Coffee"]
    assert [i["description"] for i in incomes.json()["results"]] == ["Salary"]
