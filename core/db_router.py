"""Read replicas: which reads may go to a PostgreSQL streaming replica, and when not.

Django's router API (`DATABASE_ROUTERS`) is the mechanism Django gives for picking a
database per query, so the router itself is small; what this module decides is *which*
reads may be stale, which no package can know. Only the read-heavy report endpoints opt
in (`ReplicaReadsMixin`: reports, charts, budget status, insights, the PDF report); every
other read, every write and everything inside `transaction.atomic` uses the primary, so
ordinary CRUD reads its own writes. Within an opted-in request:

- authentication and the book/membership checks run first, on the primary (a revoked
  membership or a deleted account takes effect at once); then the handler's reads all go
  to one database, decided once, so a report never mixes replica and primary figures;
- the replica is used only while its lag behind the primary is at most
  `DATABASE_REPLICA_MAX_LAG` seconds (LSNs compared, then the age of the last replayed
  commit; measured at most once a second per process) and while it answers; otherwise
  the primary (bounded staleness); a replica failing mid-report (down, or a query
  cancelled by replay) gets the request answered again from the primary;
- a user who wrote through the API in the last `read_your_writes_seconds()` has their
  reports read from the primary (`ReadYourWritesMiddleware`, a key in the shared cache),
  so nobody sees their own write missing from a report.

docs/scaling.md ("Read replicas") has the deployment side.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from contextlib import suppress
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, InterfaceError, OperationalError, connections
from django.http import HttpRequest, HttpResponse
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request

logger = logging.getLogger(__name__)

PRIMARY = DEFAULT_DB_ALIAS
REPLICA = "replica"
# How long one lag measurement is trusted, per process (so it is not a query per request),
# and how long an unreachable replica is left alone before it is tried again (a replica
# host that drops packets costs a connect timeout per try).
CHECK_SECONDS = 1.0
RETRY_UNREACHABLE_SECONDS = 10.0

# Where the current request's reads go: None outside an opted-in handler (→ the primary).
_reads_from: ContextVar[str | None] = ContextVar("reads_from", default=None)


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


def read_your_writes_seconds() -> int:
    """How long after a user's write their reports stay on the primary. A replica used
    at lag ≤ MAX_LAG, measured at most CHECK_SECONDS ago, has replayed every commit older
    than MAX_LAG + CHECK_SECONDS; one more second covers commit timestamps that are not
    quite in WAL order."""
    return math.ceil(settings.DATABASE_REPLICA_MAX_LAG + CHECK_SECONDS + 1)


# --- the replica's lag ------------------------------------------------------------------------


@dataclass(frozen=True)
class ReplicaStatus:
    usable: bool
    lag_seconds: float | None  # None: unknown (unreachable, not a standby, nothing replayed)
    reason: str
    reachable: bool = True


def _lsn(text: str) -> int:
    high, low = text.split("/")
    return (int(high, 16) << 32) + int(low, 16)


def replica_status_from(
    *,
    primary_lsn: str,
    primary_now: datetime,
    in_recovery: bool,
    replay_lsn: str | None,
    replay_at: datetime | None,
    max_lag: float,
) -> ReplicaStatus:
    """Judge a replica from the primary's WAL position and clock (read first) and the
    replica's replay position and last replayed commit time (read second).

    Caught up (replayed at least the primary's position) is lag 0, however long ago the
    last commit was, so an idle primary does not look lagged. Behind, the lag is the age
    of the last replayed commit by the primary's clock (no clock skew between the hosts):
    the replica has every commit older than that, and may miss any newer one.
    """
    if not in_recovery or replay_lsn is None:
        return ReplicaStatus(False, None, "not a standby in recovery")
    if _lsn(replay_lsn) >= _lsn(primary_lsn):
        return ReplicaStatus(True, 0.0, "caught up")
    if replay_at is None:
        return ReplicaStatus(False, None, "nothing replayed yet")
    lag = max(0.0, (primary_now - replay_at).total_seconds())
    if lag > max_lag:
        return ReplicaStatus(False, lag, f"lag {lag:.1f}s over {max_lag:g}s")
    return ReplicaStatus(True, lag, f"lag {lag:.1f}s")


def measure_replica() -> ReplicaStatus:
    """Ask the primary, then the replica. Any failure means "use the primary": a replica
    that is down, restarting or misconfigured must never fail a report."""
    try:
        with connections[PRIMARY].cursor() as cursor:
            cursor.execute("SELECT pg_current_wal_lsn()::text, clock_timestamp()")
            primary_lsn, primary_now = cursor.fetchone()
    except Exception as exc:  # the report's own queries will tell if the primary is down
        return ReplicaStatus(False, None, f"primary position unknown: {exc}")
    replica = connections[REPLICA]
    try:
        with replica.cursor() as cursor:
            cursor.execute(
                "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text, "
                "pg_last_xact_replay_timestamp()"
            )
            in_recovery, replay_lsn, replay_at = cursor.fetchone()
    except Exception as exc:
        replica.close()  # the next try opens a fresh connection
        return ReplicaStatus(False, None, f"unreachable: {exc}", reachable=False)
    return replica_status_from(
        primary_lsn=primary_lsn,
        primary_now=primary_now,
        in_recovery=in_recovery,
        replay_lsn=replay_lsn,
        replay_at=replay_at,
        max_lag=settings.DATABASE_REPLICA_MAX_LAG,
    )


# (valid until, by time.monotonic(); status) of this process's last measurement.
_last: tuple[float, ReplicaStatus] | None = None


def replica_status(*, measure: Callable[[], ReplicaStatus] = measure_replica) -> ReplicaStatus:
    """The replica's status, measured at most once per CHECK_SECONDS in this process
    (RETRY_UNREACHABLE_SECONDS after it could not be reached). Threads may measure at
    the same moment now and then; that costs a query, never a wrong answer."""
    global _last
    now = time.monotonic()
    cached = _last
    if cached is not None and now < cached[0]:
        return cached[1]
    status = measure()
    _last = (now + (CHECK_SECONDS if status.reachable else RETRY_UNREACHABLE_SECONDS), status)
    if cached is None or cached[1].usable != status.usable:
        log = logger.info if status.usable else logger.warning
        log("read replica %s: %s", "in use" if status.usable else "not used", status.reason)
    return status


def replica_failed(exc: BaseException) -> None:
    """A query on the replica failed: leave it alone as if found unreachable."""
    global _last
    with suppress(Exception):
        connections[REPLICA].close()
    status = ReplicaStatus(False, None, f"failed during a request: {exc}", reachable=False)
    _last = (time.monotonic() + RETRY_UNREACHABLE_SECONDS, status)
    logger.warning("read replica not used: %s", status.reason)


def forget_replica_status() -> None:
    """Measure again at the next request (tests; after reconfiguring)."""
    global _last
    _last = None


# --- read your writes -------------------------------------------------------------------------


def _wrote_key(user_id: Any) -> str:
    return f"db-router:wrote:{user_id}"


def note_write(user_id: Any) -> None:
    """Keep `user_id`'s report reads on the primary for `read_your_writes_seconds()`."""
    try:
        cache.set(_wrote_key(user_id), 1, timeout=read_your_writes_seconds())
    except Exception:
        logger.exception("could not note a write for read-your-writes; reports may lag it")


def wrote_recently(user_id: Any) -> bool:
    try:
        return cache.get(_wrote_key(user_id)) is not None
    except Exception:
        logger.exception("could not read the read-your-writes key; reading the primary")
        return True


class ReadYourWritesMiddleware:
    """Notes every unsafe request (POST, PUT, PATCH, DELETE) of an authenticated user
    before its response leaves, so the user's next report cannot come from a replica that
    has not replayed it yet. DRF authenticates in the view and sets `request.user` on the
    Django request too, so the JWT user is seen here. Installed with a replica only."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.method not in SAFE_METHODS:
            user = getattr(request, "user", None)
            if user is not None and user.is_authenticated:
                note_write(user.pk)
        return response


# --- the opt-in and the router --------------------------------------------------------------


def read_alias_for(user: Any) -> str:
    """The database an opted-in handler of `user`'s request reads from."""
    if not replica_configured() or wrote_recently(user.pk):
        return PRIMARY
    return REPLICA if replica_status().usable else PRIMARY


class ReplicaReadsMixin:
    """Put first in a read-only view's bases (before `BookScopedMixin`): its GET handler
    reads from the replica when `read_alias_for` allows. Authentication, permissions and
    the book lookup in `initial()` have run on the primary by then.

    `replica_read_actions` limits it to some actions of a viewset (e.g. `{"status"}`);
    None: every safe request of the view.
    """

    replica_read_actions: ClassVar[frozenset[str] | None] = None
    _replica_failure: BaseException | None = None

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        token = _reads_from.set(None)
        self._replica_failure = None
        try:
            response = super().dispatch(request, *args, **kwargs)  # type: ignore[misc]
            if self._replica_failure is not None:
                # The replica went away (or cancelled a query replaying WAL) mid-report:
                # a GET is safe to answer again, from the primary.
                replica_failed(self._replica_failure)
                _reads_from.set(None)
                response = super().dispatch(request, *args, **kwargs)  # type: ignore[misc]
            return response
        finally:
            _reads_from.reset(token)

    def handle_exception(self, exc: Exception) -> Any:
        if isinstance(exc, OperationalError | InterfaceError) and _reads_from.get() == REPLICA:
            self._replica_failure = exc
        return super().handle_exception(exc)  # type: ignore[misc]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # type: ignore[misc]
        actions = self.replica_read_actions
        if (
            request.method in SAFE_METHODS
            and (actions is None or getattr(self, "action", None) in actions)
            and self._replica_failure is None  # answering again after a replica failure
        ):
            _reads_from.set(read_alias_for(request.user))


def current_read_alias() -> str | None:
    """The database this request's handler was given (None: not an opted-in handler)."""
    return _reads_from.get()


class ReplicaRouter:
    """Reads of opted-in handlers go where `ReplicaReadsMixin` decided; everything else,
    and everything inside a transaction on the primary, to the primary."""

    def db_for_read(self, model: Any, **hints: Any) -> str:
        alias = _reads_from.get()
        if alias is None or connections[PRIMARY].in_atomic_block:
            return PRIMARY
        return alias

    def db_for_write(self, model: Any, **hints: Any) -> str:
        return PRIMARY

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        # Both aliases hold the same rows: a book read from the primary may be the
        # foreign key of a query on the replica.
        if {obj1._state.db, obj2._state.db} <= {PRIMARY, REPLICA}:
            return True
        return None

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return db == PRIMARY  # a replica is read-only; it gets the schema by replication
