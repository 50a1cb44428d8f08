"""Read replicas (core/db_router.py, docs/scaling.md "Read replicas").

In-process, on both databases: which requests may read a replica (the report endpoints,
after authentication and the book check on the primary; never CRUD, never a user's own
fresh writes, never inside a transaction), how the replica's lag is judged and how often
it is measured, and the retry on the primary when the replica fails mid-report. A spy
router records where each read would go.

On the PostgreSQL pass (marked `postgres`): a real primary and a streaming replica made
with pg_basebackup, under gunicorn with two workers. With the replica's replay paused, a
report shows the replica's older figures while the expense list shows the new row; the
user's own write sends their reports to the primary; beyond DATABASE_REPLICA_MAX_LAG the
reports come from the primary; replay resumed, the replica catches up; replica down,
reports still answer.
"""

from __future__ import annotations

import os
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from unittest import mock

import pytest
from django.conf import settings
from django.db import OperationalError, transaction
from django.test import override_settings

from core import db_router
from core.db_router import (
    PRIMARY,
    REPLICA,
    ReplicaRouter,
    ReplicaStatus,
    current_read_alias,
    read_your_writes_seconds,
    replica_status,
    replica_status_from,
    wrote_recently,
)
from reports import services as report_services
from tests.live_server import PostgresCluster, gunicorn, http, migrated_dump, production_env

FRESH = ReplicaStatus(True, 0.0, "caught up")
LAGGING = ReplicaStatus(False, 9.0, "lag 9.0s over 5s")

# Every endpoint that opts in (ReplicaReadsMixin), and reads that must never.
REPORTS = [
    "/api/v1/summary/",
    "/api/v1/reports/summary/",
    "/api/v1/reports/monthly/",
    "/api/v1/reports/trends/",
    "/api/v1/reports/timeseries/",
    "/api/v1/reports/dashboard/",
    "/api/v1/reports/charts/monthly.svg",
    "/api/v1/budgets/status/",
    "/api/v1/ai/anomalies/",
    "/api/v1/ai/forecast/",
    "/api/v1/ai/cashflow/",
    "/api/v1/ai/insights/",
    "/api/v1/export/report.pdf",
]
PRIMARY_ONLY = [
    "/api/v1/expenses/",
    "/api/v1/budgets/",
    "/api/v1/categories/",
    "/api/v1/export/expenses.csv",
]


class SpyRouter(ReplicaRouter):
    """Records (model, the request's read alias) for every read; sends all to default."""

    def __init__(self) -> None:
        self.reads: list[tuple[str, str | None]] = []

    def db_for_read(self, model: Any, **hints: Any) -> str:
        self.reads.append((model._meta.label, current_read_alias()))
        return PRIMARY


@pytest.fixture
def spy():
    router = SpyRouter()
    db_router.forget_replica_status()
    with (
        override_settings(
            DATABASE_ROUTERS=[router],
            MIDDLEWARE=[*settings.MIDDLEWARE, "core.db_router.ReadYourWritesMiddleware"],
        ),
        mock.patch("core.db_router.replica_configured", return_value=True),
    ):
        yield router
    db_router.forget_replica_status()


def fresh_replica():
    return mock.patch("core.db_router.replica_status", return_value=FRESH)


def expense_body(amount: str, description: str) -> dict[str, str]:
    return {"amount": amount, "currency": "USD", "date": "2025-06-10", "description": description}


# --- which reads may go to the replica (in-process, both databases) ---------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("url", REPORTS)
def test_a_report_reads_the_replica_after_the_checks_on_the_primary(spy, auth_client, url):
    with fresh_replica():
        response = auth_client.get(url)
    assert response.status_code == 200, response.content
    labels = [label for label, _ in spy.reads]
    first = next(i for i, (_, alias) in enumerate(spy.reads) if alias == REPLICA)
    # The token's user and the book membership are read from the primary, before the report…
    assert {"users.User", "books.Book"} <= set(labels[:first])
    assert all(alias is None for _, alias in spy.reads[:first])
    # …and then every read of the report from the one database chosen: never a mix.
    assert all(alias == REPLICA for _, alias in spy.reads[first:])


@pytest.mark.django_db
@pytest.mark.parametrize("url", PRIMARY_ONLY)
def test_crud_lists_and_record_exports_read_the_primary(spy, auth_client, url):
    with fresh_replica():
        response = auth_client.get(url)
        if hasattr(response, "streaming_content"):
            b"".join(response.streaming_content)
    assert response.status_code == 200
    assert spy.reads and all(alias != REPLICA for _, alias in spy.reads)


@pytest.mark.django_db
def test_after_their_own_write_a_users_reports_read_the_primary(spy, auth_client, user):
    with fresh_replica():
        created = auth_client.post("/api/v1/expenses/", expense_body("12.00", "Lunch"))
        assert created.status_code == 201, created.content
        assert wrote_recently(user.pk)
        spy.reads.clear()
        summary = auth_client.get("/api/v1/reports/summary/?start=2025-06-01&end=2025-06-30")
    assert summary.status_code == 200
    assert summary.json()["total_expenses"] == "12.00"
    assert spy.reads and all(alias != REPLICA for _, alias in spy.reads)


@pytest.mark.django_db
def test_reads_do_not_mark_a_write_and_anonymous_writes_mark_no_one(spy, auth_client, user):
    auth_client.get("/api/v1/expenses/")
    assert not wrote_recently(user.pk)
    registered = auth_client.__class__().post(
        "/api/v1/auth/register/",
        {"username": "newcomer", "email": "n@example.com", "password": "Newcomer-pass-123"},
    )
    assert registered.status_code == 201, registered.content
    assert not wrote_recently(registered.json()["id"])


@pytest.mark.django_db
def test_a_lagging_or_missing_replica_sends_reports_to_the_primary(spy, auth_client):
    with mock.patch("core.db_router.replica_status", return_value=LAGGING):
        assert auth_client.get("/api/v1/reports/dashboard/").status_code == 200
    with mock.patch("core.db_router.replica_configured", return_value=False):
        assert auth_client.get("/api/v1/reports/monthly/").status_code == 200
    assert spy.reads and all(alias != REPLICA for _, alias in spy.reads)


@pytest.mark.django_db
def test_a_replica_failing_mid_report_is_answered_again_from_the_primary(spy, auth_client):
    seen: list[str | None] = []
    real_summary = report_services.summary

    def summary_failing_on_the_replica(**kwargs: Any) -> dict[str, Any]:
        seen.append(current_read_alias())
        if current_read_alias() == REPLICA:
            raise OperationalError("terminating connection due to conflict with recovery")
        return real_summary(**kwargs)

    with (
        fresh_replica(),
        mock.patch.object(report_services, "summary", summary_failing_on_the_replica),
    ):
        response = auth_client.get("/api/v1/reports/summary/")
    assert response.status_code == 200, response.content
    assert seen == [REPLICA, None]  # answered again, reading the primary
    status = replica_status(measure=lambda: pytest.fail("measured within the back-off"))
    assert not status.usable and not status.reachable


@pytest.mark.django_db(transaction=True)
def test_inside_a_transaction_reads_stay_on_the_primary():
    router = ReplicaRouter()
    token = db_router._reads_from.set(REPLICA)
    try:
        assert router.db_for_read(None) == REPLICA
        with transaction.atomic():
            assert router.db_for_read(None) == PRIMARY
        assert router.db_for_write(None) == PRIMARY
    finally:
        db_router._reads_from.reset(token)
    assert router.db_for_read(None) == PRIMARY
    assert router.allow_migrate(PRIMARY, "expenses") and not router.allow_migrate(REPLICA, "x")


# --- judging the lag ---------------------------------------------------------------------------

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


def judge(**overrides: Any) -> ReplicaStatus:
    facts = {
        "primary_lsn": "1/A0000000",
        "primary_now": NOW,
        "in_recovery": True,
        "replay_lsn": "1/9F000000",
        "replay_at": NOW - timedelta(seconds=2),
        "max_lag": 5.0,
    }
    return replica_status_from(**{**facts, **overrides})


def test_the_lag_is_zero_when_caught_up_however_old_the_last_commit():
    status = judge(replay_lsn="1/A0000000", replay_at=NOW - timedelta(hours=3))
    assert status.usable and status.lag_seconds == 0
    # LSNs compare as numbers, not text ("F/…" < "10/…").
    assert judge(primary_lsn="F/FFFFFFFF", replay_lsn="10/0").usable


def test_behind_the_lag_is_the_age_of_the_last_replayed_commit():
    assert judge().usable and judge().lag_seconds == 2.0
    status = judge(replay_at=NOW - timedelta(seconds=6))
    assert not status.usable and status.lag_seconds == 6.0


def test_a_server_that_is_no_standby_or_has_replayed_nothing_is_not_used():
    assert not judge(in_recovery=False, replay_lsn=None).usable
    assert not judge(replay_at=None).usable


def test_the_status_is_measured_at_most_once_a_second_per_process(monkeypatch):
    clock = [100.0]
    monkeypatch.setattr(db_router.time, "monotonic", lambda: clock[0])
    measured: list[ReplicaStatus] = []

    def measure(status: ReplicaStatus):
        return lambda: measured.append(status) or status

    db_router.forget_replica_status()
    try:
        assert replica_status(measure=measure(FRESH)) == FRESH
        clock[0] += 0.9
        assert replica_status(measure=measure(LAGGING)) == FRESH
        clock[0] += 0.2
        assert replica_status(measure=measure(LAGGING)) == LAGGING
        down = ReplicaStatus(False, None, "unreachable: refused", reachable=False)
        clock[0] += 1.1
        assert replica_status(measure=measure(down)) == down
        clock[0] += 5  # an unreachable replica is left alone for RETRY_UNREACHABLE_SECONDS
        assert replica_status(measure=measure(FRESH)) == down
        clock[0] += db_router.RETRY_UNREACHABLE_SECONDS
        assert replica_status(measure=measure(FRESH)) == FRESH
    finally:
        db_router.forget_replica_status()
    assert measured == [FRESH, LAGGING, down, FRESH]


# --- a real primary and streaming replica under gunicorn (PostgreSQL pass) ---------------------

MAX_LAG = 3.0  # DATABASE_REPLICA_MAX_LAG of the servers below
SUMMARY = "/api/v1/reports/summary/?start=2025-06-01&end=2025-06-30"


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true: the replica test must run, but {reason}")
    pytest.skip(reason)


@pytest.fixture
def clusters():
    """(primary, replica, database name): a migrated database streamed to a hot standby."""
    if not settings.DATABASES["default"]["ENGINE"].startswith("django.db.backends.postgresql"):
        pytest.skip("runs on the PostgreSQL pass (.ci/run), where PostgreSQL tooling is present")
    reason = PostgresCluster.replication_unavailable_reason()
    if reason:
        _unavailable(f"cannot run a throwaway primary and replica: {reason}")
    dump = migrated_dump()
    primary, replica = PostgresCluster(), PostgresCluster()
    try:
        primary.init()
        primary.start()
        primary.create_database("bt", dump=dump)
        primary.execute("CREATE TABLE heartbeat (at timestamptz)", dbname="bt")
        replica.init_replica_of(primary)
        replica.start()
        yield primary, replica, "bt"
    finally:
        replica.destroy()
        primary.destroy()


class Pair:
    """The test's own view of the two servers, read directly (not through the app)."""

    def __init__(self, primary: PostgresCluster, replica: PostgresCluster, db: str) -> None:
        self.primary, self.replica, self.db = primary, replica, db

    def status(self) -> ReplicaStatus:
        ((lsn, now),) = self.primary.execute(
            "SELECT pg_current_wal_lsn()::text, clock_timestamp()", dbname=self.db
        )
        ((recovering, replayed, replayed_at),) = self.replica.execute(
            "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text, "
            "pg_last_xact_replay_timestamp()",
            dbname=self.db,
        )
        return replica_status_from(
            primary_lsn=lsn,
            primary_now=now,
            in_recovery=recovering,
            replay_lsn=replayed,
            replay_at=replayed_at,
            max_lag=MAX_LAG,
        )

    def wait(self, condition: Any, what: str, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            assert time.monotonic() < deadline, f"timed out waiting until {what}"
            time.sleep(0.05)

    def wait_caught_up(self) -> None:
        self.wait(lambda: self.status().lag_seconds == 0, "the replica caught up")

    def expenses(self, server: PostgresCluster) -> int:
        return server.execute("SELECT count(*) FROM expenses_expense", dbname=self.db)[0][0]

    def pause(self) -> None:
        self.replica.execute("SELECT pg_wal_replay_pause()", dbname=self.db)
        self.wait(
            lambda: (
                self.replica.execute("SELECT pg_get_wal_replay_pause_state()")[0][0] != "not paused"
            ),
            "replay paused",
        )

    def resume(self) -> None:
        self.replica.execute("SELECT pg_wal_replay_resume()", dbname=self.db)

    def insert_copy(self, expense_id: int, **changed: Any) -> None:
        """A new expense written straight into the primary (no app, so no read-your-writes
        mark): a copy of `expense_id` with the `changed` columns."""
        columns = [
            name
            for (name,) in self.primary.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_name = 'expenses_expense' AND column_name <> 'id' "
                "ORDER BY ordinal_position",
                dbname=self.db,
            )
        ]
        names = ", ".join(f'"{name}"' for name in columns)
        select = ", ".join("%s" if name in changed else f'"{name}"' for name in columns)
        self.primary.execute(
            f"INSERT INTO expenses_expense ({names}) "
            f"SELECT {select} FROM expenses_expense WHERE id = %s",
            [*(changed[name] for name in columns if name in changed), expense_id],
            dbname=self.db,
        )


@pytest.mark.postgres
def test_reports_read_a_streaming_replica_within_its_lag_bound(clusters, tmp_path):
    primary, replica, db = clusters
    pair = Pair(primary, replica, db)
    env = production_env(
        DATABASE_URL=primary.url_of(db),
        DATABASE_REPLICA_URL=replica.url_of(db),
        DATABASE_REPLICA_MAX_LAG=str(MAX_LAG),
        CONN_MAX_AGE="60",
        DB_CONNECT_TIMEOUT="2",
        RATES_BUNDLED_AUTOLOAD="false",
        # Shared by the two workers: a write noted by one is seen by the other.
        CACHE_URL=f"filecache://{tmp_path / 'cache'}",
        CACHE_KEY_PREFIX=uuid.uuid4().hex,
        STATIC_ROOT=str(tmp_path / "static"),
    )
    window = read_your_writes_seconds_for(MAX_LAG)
    with gunicorn(env, workers=2) as base:
        api = f"{base}/api/v1"

        def sign_up(username: str) -> str:
            credentials = {"username": username, "password": "Replica-pass-123"}
            body = {**credentials, "email": f"{username}@example.com", "base_currency": "USD"}
            assert http("POST", f"{api}/auth/register/", body=body).status == 201
            return http("POST", f"{api}/auth/token/", body=credentials).json()["access"]

        # Another user makes the row the direct inserts copy; the user of the reports starts
        # with no write through the app (none to read back), so no read-your-writes wait.
        template = http(
            "POST", f"{api}/expenses/", token=sign_up("helper"), body=expense_body("1.00", "t")
        )
        assert template.status == 201, template.body
        token = sign_up("reader")
        ((reader_id, book_id),) = primary.execute(
            "SELECT u.id, b.id FROM users_user u JOIN books_book b ON b.personal_owner_id = u.id "
            "WHERE u.username = 'reader'",
            dbname=db,
        )

        def insert_direct(amount: str, description: str) -> None:
            pair.insert_copy(
                template.json()["id"],
                amount=amount,
                base_amount=amount,
                description=description,
                user_id=reader_id,
                book_id=book_id,
            )

        def get(path: str) -> Any:
            reply = http("GET", f"{api}{path}", token=token)
            assert reply.status == 200, reply.body
            return reply.json()

        def report_total() -> Decimal:
            return Decimal(get(SUMMARY.removeprefix("/api/v1"))["total_expenses"])

        def listed() -> set[str]:
            return {row["description"] for row in get("/expenses/?page_size=500")["results"]}

        def create(amount: str, description: str) -> float:
            reply = http(
                "POST", f"{api}/expenses/", token=token, body=expense_body(amount, description)
            )
            assert reply.status == 201, reply.body
            return time.monotonic()

        insert_direct("10.00", "first")
        total, last_write = Decimal("10.00"), time.monotonic() - window

        # 1. Replay paused: the report comes from the replica (its older figures), the list
        #    from the primary; then the user's own write sends their report to the primary.
        #    Each attempt must finish well within MAX_LAG of the replica's last replayed
        #    commit (the heartbeat), or the replica is (rightly) not used: then again.
        for attempt in range(3):
            time.sleep(max(0.0, last_write + window + 0.2 - time.monotonic()))
            started = time.monotonic()
            primary.execute("INSERT INTO heartbeat VALUES (now())", dbname=db)
            pair.wait_caught_up()
            pair.pause()
            replica_rows = pair.expenses(replica)
            insert_direct("25.00", f"direct {attempt}")
            assert pair.expenses(replica) == replica_rows  # the replica has not seen it

            from_replica = report_total()
            in_list = f"direct {attempt}" in listed()
            last_write = create("5.00", f"own {attempt}")
            after_own_write = report_total()
            in_time = time.monotonic() - started < MAX_LAG - 0.5

            assert in_list, "the expense list reads the primary"
            assert after_own_write == total + 30, f"own write missing: {after_own_write}, {total}"
            if in_time:
                assert from_replica == total, f"not from the paused replica: {from_replica}"
                total += 30
                break
            total += 30
            pair.resume()
            pair.wait_caught_up()
        else:
            pytest.fail("three attempts each took longer than MAX_LAG - 0.5 s")

        # 2. Lag beyond DATABASE_REPLICA_MAX_LAG (and the user's write long enough ago):
        #    the report comes from the primary, though the replica still lacks two rows.
        time.sleep(max(0.0, last_write + window + 0.2 - time.monotonic()))
        pair.wait(lambda: (pair.status().lag_seconds or 0) > MAX_LAG + 1, "the lag is over")
        assert pair.expenses(replica) == pair.expenses(primary) - 2
        assert report_total() == total

        # 3. Replay resumed: the replica catches up and serves the same figures.
        pair.resume()
        pair.wait_caught_up()
        assert pair.expenses(replica) == pair.expenses(primary)
        assert report_total() == total

        # 4. The replica down: reports still answer, from the primary.
        replica.stop()
        for _ in range(4):  # both workers
            assert report_total() == total
            assert f"own {attempt}" in listed()


def read_your_writes_seconds_for(max_lag: float) -> int:
    with override_settings(DATABASE_REPLICA_MAX_LAG=max_lag):
        return read_your_writes_seconds()
