"""Bank connections: claim, list accounts, map them to books, sync (SPEC §17).

A sync never half-imports. It first fetches everything it needs from the bridge (the
account list, then the mapped accounts' transactions in date windows of at most
WINDOW_DAYS); only when every request succeeded does it store, in one transaction,
through the import pipeline (`imports.services.import_parsed`: rules, learned
categories, duplicates by the bank's transaction id, possible duplicates of
hand-entered records, budget alerts). Any failed request — HTTP error, timeout, a body
that is not the accounts document, `errors` from the bridge, a revoked access —
stores nothing from that sync: the error goes on the connection (shown by the API),
`revoked` stops scheduled syncs until a new setup token is given, and the owner is
notified once per error episode (a later success ends the episode).

The access URL is a secret: it is only ever handed to `connections.simplefin`, which
keeps it out of URLs, errors and logs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from books.models import Book, Role
from core.exceptions import ApplicationError, ConflictError
from core.money import is_currency
from core.outbound import OutboundError
from imports.parsers.base import ParsedRow, ParseResult, StatementError
from imports.services import import_parsed
from notifications.models import NotificationKind
from notifications.services import notify

from . import simplefin
from .models import (
    CONNECTION_NAME_MAX_LENGTH,
    Connection,
    ConnectionAccount,
    ConnectionStatus,
    SyncState,
)
from .simplefin import BridgeError, RemoteAccount, RemoteTransaction

logger = logging.getLogger(__name__)

# The bridge refuses long date ranges; every transactions request covers at most this.
WINDOW_DAYS = 60
# A queued or running sync older than this is taken for dead (its worker died).
SYNC_STALE_AFTER = timedelta(hours=1)
# Row problems a sync summary lists (all are counted).
SUMMARY_ERRORS_SHOWN = 20
BALANCE_PLACES = Decimal("0.000001")
BALANCE_LIMIT = Decimal(10) ** 18
ERROR_MAX_LENGTH = 2000
WRITE_ROLES = (Role.EDITOR, Role.OWNER)
Enqueue = Callable[[int], Any]


def writable_books(user: Any) -> QuerySet[Book]:
    """The books `user` may add records to (editor or owner): where accounts can go."""
    return Book.objects.for_member(user).filter(role__in=WRITE_ROLES)


def _api_error(failure: BridgeError) -> ApplicationError:
    return ApplicationError(failure.message, code=failure.code, status_code=failure.status_code)


def _default_name(claim_url: str) -> str:
    host = urlsplit(claim_url).hostname or "bridge"
    return f"SimpleFIN ({host})"[:CONNECTION_NAME_MAX_LENGTH]


def _claim(setup_token: str) -> tuple[str, str]:
    """(claim URL, access URL) for a setup token. Raises ApplicationError: 400 on
    `setup_token` (not a token, unsafe URL), 400 `token_already_claimed`, 502/504 when
    the bridge fails."""
    claim_url = simplefin.decode_setup_token(setup_token)
    try:
        return claim_url, simplefin.claim(claim_url)
    except BridgeError as failure:
        logger.warning("Claiming a SimpleFIN setup token failed: %s", failure.code)
        raise _api_error(failure) from None


def _list_accounts(access_url: str) -> tuple[list[RemoteAccount], BridgeError | None]:
    """The bridge's accounts with balances (no transactions), or the failure."""
    try:
        return simplefin.Client(access_url).accounts(balances_only=True), None
    except BridgeError as failure:
        return [], failure


def connection_create(*, user: Any, setup_token: str, name: str = "") -> Connection:
    """Claim the setup token, store the access URL (encrypted) and the accounts the
    bridge lists. Nothing is stored when the claim fails (ApplicationError: 400 on
    `setup_token`, 400 `token_already_claimed`, 502 `bridge_*`, 504 `bridge_timeout`).
    When the claim succeeds but listing the accounts fails, the connection is stored
    anyway — the setup token is used up, the access URL is the only way back — with
    the error recorded (status `error` or `revoked`); the next sync lists them."""
    claim_url, access_url = _claim(setup_token)
    remotes, failure = _list_accounts(access_url)
    with transaction.atomic():
        connection = Connection.objects.create(
            user=user, name=name or _default_name(claim_url), access_url=access_url
        )
        if failure is None:
            _store_accounts(connection, remotes)
    if failure is not None:
        _record_failure(connection.pk, failure, notify_owner=False)
        connection.refresh_from_db()
    return connection


def connection_update(
    *, connection: Connection, name: str | None = None, setup_token: str | None = None
) -> Connection:
    """Rename, and/or reconnect with a new setup token: the new access replaces the old
    one, the status is `active` again and the accounts are listed anew (mappings are
    kept for the accounts the bridge still lists under the same ids). Raises as
    `connection_create` for the token; nothing changes when the claim fails."""
    if setup_token is not None:
        _, access_url = _claim(setup_token)
        remotes, failure = _list_accounts(access_url)
        with transaction.atomic():
            Connection.objects.filter(pk=connection.pk).update(
                access_url=access_url,
                status=ConnectionStatus.ACTIVE,
                last_error="",
                last_error_code="",
                updated_at=timezone.now(),
            )
            if failure is None:
                _store_accounts(connection, remotes)
        if failure is not None:
            _record_failure(connection.pk, failure, notify_owner=False)
    if name is not None:
        Connection.objects.filter(pk=connection.pk).update(name=name, updated_at=timezone.now())
    connection.refresh_from_db()
    return connection


def connection_delete(*, connection: Connection) -> None:
    """Forget the connection, its secret and its accounts. What it imported stays (each
    sync's batch can still be undone in /imports/)."""
    connection.delete()


def account_map(*, account: ConnectionAccount, book: Book | None) -> ConnectionAccount:
    """Map an account to a book the caller may write to (checked by the API), or unmap
    it (None). A new book starts over: the next sync imports SIMPLEFIN_INITIAL_DAYS of
    history into it. Raises ApplicationError (400 on `book`) for an account whose
    currency is not an ISO 4217 code."""
    if book is not None and not is_currency(account.currency):
        raise ApplicationError(
            f"This account's currency ({account.currency or 'none'}) is not an ISO 4217 code: "
            "its transactions cannot be imported.",
            field="book",
        )
    if account.book_id != (book.pk if book else None):
        account.book = book
        account.synced_until = None
        account.last_error = account.last_error_code = ""
        account.save(
            update_fields=["book", "synced_until", "last_error", "last_error_code", "updated_at"]
        )
    return account


# --- queueing ------------------------------------------------------------------------------


def _queue(connection_id: int, enqueue: Enqueue) -> bool:
    """Mark the connection `queued` and hand it to `enqueue` once that commits; False
    when a sync is already queued or running (and not stale)."""
    with transaction.atomic():
        now = timezone.now()
        updated = (
            Connection.objects.filter(pk=connection_id)
            .filter(
                Q(sync_state=SyncState.IDLE)
                | Q(sync_requested_at__isnull=True)
                | Q(sync_requested_at__lt=now - SYNC_STALE_AFTER)
            )
            .update(sync_state=SyncState.QUEUED, sync_requested_at=now, updated_at=now)
        )
        if updated:
            transaction.on_commit(lambda: enqueue(connection_id), robust=True)
    return bool(updated)


def connection_sync_request(*, connection: Connection, enqueue: Enqueue) -> Connection:
    """Queue a sync (the task queue runs it; eagerly in development). Returns the
    connection as it is now. Raises ConflictError (409 `sync_in_progress`) while one
    is queued or running."""
    if not _queue(connection.pk, enqueue):
        raise ConflictError(
            "A sync of this connection is already queued or running; poll the connection "
            "until `sync_state` is `idle`.",
            code="sync_in_progress",
        )
    connection.refresh_from_db()
    return connection


def sync_connections_due(*, enqueue: Enqueue) -> int:
    """Scheduled job: queue a sync of every connection not revoked whose last attempt is
    SIMPLEFIN_SYNC_INTERVAL_HOURS old (or that never synced). Idempotent: a connection
    already queued or running is skipped. Returns how many were queued."""
    now = timezone.now()
    interval = timedelta(hours=settings.SIMPLEFIN_SYNC_INTERVAL_HOURS)
    due = (
        Connection.objects.exclude(status=ConnectionStatus.REVOKED)
        .filter(Q(last_sync_at__isnull=True) | Q(last_sync_at__lte=now - interval))
        .order_by("last_sync_at", "pk")
        .values_list("pk", flat=True)
    )
    return sum(_queue(pk, enqueue) for pk in list(due))


def connection_sync_queued(*, connection_id: int) -> dict[str, Any] | None:
    """Run a queued sync (the task's body): `queued` → `running` → `idle`. Safe to
    deliver twice: a connection that is not `queued` is left alone. Returns the sync's
    summary, or None when it did not run or failed (the failure is on the connection)."""
    now = timezone.now()
    claimed = Connection.objects.filter(pk=connection_id, sync_state=SyncState.QUEUED).update(
        sync_state=SyncState.RUNNING, sync_requested_at=now
    )
    if not claimed:
        return None
    try:
        return connection_sync(connection_id=connection_id)
    finally:
        Connection.objects.filter(pk=connection_id).update(
            sync_state=SyncState.IDLE, sync_requested_at=None
        )


# --- the sync ------------------------------------------------------------------------------


@dataclass
class _Pull:
    account: ConnectionAccount
    start: datetime
    currency: str
    transactions: dict[str, RemoteTransaction] = field(default_factory=dict)
    unidentified: list[RemoteTransaction] = field(default_factory=list)


@dataclass
class _Fetched:
    now: datetime
    listing: list[RemoteAccount]
    pulls: list[_Pull]
    problems: dict[int, tuple[str, str]]  # account pk → (code, message)
    requests: int


def windows(start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """[start, end) cut into consecutive ranges of at most WINDOW_DAYS, oldest first."""
    cuts = []
    while start < end:
        stop = min(start + timedelta(days=WINDOW_DAYS), end)
        cuts.append((start, stop))
        start = stop
    return cuts


def connection_sync(*, connection_id: int) -> dict[str, Any] | None:
    """Fetch, then store (see the module docstring). Failures are recorded on the
    connection, never raised; returns the summary of a successful sync, else None."""
    connection = Connection.objects.select_related("user").filter(pk=connection_id).first()
    if connection is None:
        return None
    try:
        fetched = _fetch(connection)
        return _store(connection, fetched)
    except BridgeError as failure:
        logger.warning("Sync of connection %s failed: %s", connection_id, failure.code)
        _record_failure(connection_id, failure)
    except Exception as exc:
        _log_unexpected(connection_id, exc)
        _record_failure(
            connection_id,
            BridgeError(
                "internal_error",
                "The sync failed on our side and stored nothing; the next sync retries.",
            ),
        )
    return None


def _fetch(connection: Connection) -> _Fetched:
    if not connection.access_url:
        raise BridgeError(
            "secret_unreadable",
            "The stored access cannot be decrypted (the server's encryption keys changed); "
            "reconnect with a new setup token.",
        )
    client = simplefin.Client(connection.access_url)
    now = timezone.now().replace(microsecond=0)
    listing = client.accounts(balances_only=True)
    remotes = {remote.id: remote for remote in listing}
    writable = set(writable_books(connection.user).values_list("pk", flat=True))
    problems: dict[int, tuple[str, str]] = {}
    pulls: list[_Pull] = []
    initial = now - timedelta(days=settings.SIMPLEFIN_INITIAL_DAYS)
    overlap = timedelta(days=settings.SIMPLEFIN_OVERLAP_DAYS)
    for account in connection.accounts.filter(book__isnull=False).select_related("book"):
        remote = remotes.get(account.remote_id)
        if account.book_id not in writable:
            problems[account.pk] = (
                "book_not_writable",
                "You can no longer add records to the book this account is mapped to; map "
                "it to another book.",
            )
        elif remote is None:
            problems[account.pk] = (
                "account_missing",
                "The SimpleFIN Bridge no longer lists this account.",
            )
        elif not is_currency(remote.currency):
            problems[account.pk] = (
                "currency_unsupported",
                f"The account's currency ({remote.currency or 'none'}) is not an ISO 4217 "
                "code: its transactions cannot be imported.",
            )
        else:
            start = account.synced_until - overlap if account.synced_until else initial
            pulls.append(_Pull(account=account, start=min(start, now), currency=remote.currency))
    if pulls:
        by_id = {pull.account.remote_id: pull for pull in pulls}
        # The end date is exclusive: one second more takes in what posted this second.
        end = now + timedelta(seconds=1)
        for window_start, window_end in windows(min(p.start for p in pulls), end):
            answer = client.accounts(
                start=window_start, end=window_end, account_ids=list(by_id), pending=True
            )
            for remote in answer:
                pull = by_id.get(remote.id)
                if pull is None:
                    continue
                for txn in remote.transactions:
                    if txn.id:
                        pull.transactions[txn.id] = txn
                    else:
                        pull.unidentified.append(txn)
    return _Fetched(
        now=now, listing=listing, pulls=pulls, problems=problems, requests=client.requests_made
    )


def _rows(pull: _Pull) -> tuple[list[ParsedRow], list[dict[str, str]], int]:
    """(rows for the pipeline, rejected rows, pending count) of one account's fetched
    transactions posted since its start. Pending ones are only counted: they import
    once posted, under their final id."""
    rows: list[ParsedRow] = []
    rejected = [
        {"transaction": "", "message": f"Not imported: {txn.problem}."} for txn in pull.unidentified
    ]
    pending = 0
    since = int(pull.start.timestamp())
    ordered = sorted(pull.transactions.values(), key=lambda t: (t.posted, t.id))
    for txn in ordered:
        if txn.problem:
            rejected.append({"transaction": txn.id, "message": f"Not imported: {txn.problem}."})
            continue
        if txn.pending:
            pending += 1
            continue
        if txn.posted < since:
            continue
        try:
            day = datetime.fromtimestamp(txn.posted, tz=UTC).date()
        except (OverflowError, OSError, ValueError):
            rejected.append({"transaction": txn.id, "message": "Not imported: bad `posted`."})
            continue
        assert txn.amount is not None  # a row without a readable amount has a problem
        rows.append(
            ParsedRow(
                line=len(rows) + 1,
                date=day,
                description=txn.description or txn.payee or txn.memo,
                amount=txn.amount,
                currency=pull.currency,
                merchant=txn.payee,
                fitid=f"simplefin:{pull.account.remote_id}:{txn.id}",
                memo=txn.memo,
            )
        )
    return rows, rejected, pending


def _store(connection: Connection, fetched: _Fetched) -> dict[str, Any] | None:
    summary: dict[str, Any] = {
        "accounts": len(fetched.pulls),
        "requests": fetched.requests,
        "expenses": 0,
        "incomes": 0,
        "duplicates": 0,
        "possible_duplicates": 0,
        "rejected": 0,
        "pending": 0,
        "imports": [],
        "errors": [],
    }
    with transaction.atomic():
        locked = (
            Connection.objects.select_for_update()
            .select_related("user")
            .filter(pk=connection.pk)
            .first()
        )
        if locked is None:  # deleted while the bridge was answering
            return None
        _store_accounts(locked, fetched.listing)
        for pull in fetched.pulls:
            account = pull.account
            current = (
                ConnectionAccount.objects.filter(pk=account.pk)
                .values_list("book_id", flat=True)
                .first()
            )
            if current != account.book_id:  # remapped (or gone) meanwhile: the next sync
                continue
            rows, rejected, pending = _rows(pull)
            summary["pending"] += pending
            summary["rejected"] += len(rejected)
            summary["errors"] += [{"account": account.pk, **r} for r in rejected]
            if rows:
                _import(locked, account, rows, summary)
            ConnectionAccount.objects.filter(pk=account.pk).update(
                synced_until=fetched.now, last_error="", last_error_code=""
            )
        for account_id, (code, message) in fetched.problems.items():
            _record_account_problem(locked, account_id, code, message)
        summary["errors"] = summary["errors"][:SUMMARY_ERRORS_SHOWN]
        Connection.objects.filter(pk=locked.pk).update(
            status=ConnectionStatus.ACTIVE,
            last_sync_at=fetched.now,
            last_success_at=fetched.now,
            last_error="",
            last_error_code="",
            last_sync_summary=summary,
            updated_at=timezone.now(),
        )
    return summary


def _import(
    connection: Connection, account: ConnectionAccount, rows: list[ParsedRow], summary: dict
) -> None:
    by_line = {row.line: row.fitid.rsplit(":", 1)[-1] for row in rows}
    label = " — ".join(part for part in (account.org_name, account.name) if part)
    try:
        outcome = import_parsed(
            user=connection.user,
            book=account.book,  # type: ignore[arg-type]  # mapped: checked by the caller
            result=ParseResult(format="simplefin", rows=rows, currency=rows[0].currency),
            filename=f"SimpleFIN: {label or account.remote_id}",
        )
    except StatementError as exc:  # more rows than IMPORT_MAX_ROWS
        summary["rejected"] += len(rows)
        summary["errors"].append({"account": account.pk, "transaction": "", "message": exc.message})
        return
    counts = outcome.counts
    summary["expenses"] += counts["expenses"]
    summary["incomes"] += counts["incomes"]
    summary["duplicates"] += counts["duplicates_skipped"]
    summary["possible_duplicates"] += counts["possible_duplicates_skipped"]
    summary["rejected"] += counts["errors_skipped"]
    summary["errors"] += [
        {"account": account.pk, "transaction": by_line.get(e["line"], ""), "message": e["message"]}
        for e in outcome.errors
    ]
    if outcome.batch is not None:
        summary["imports"].append(outcome.batch.pk)


def _money(value: Decimal | None) -> Decimal | None:
    if value is None or abs(value) >= BALANCE_LIMIT:
        return None
    return value.quantize(BALANCE_PLACES)


def _store_accounts(connection: Connection, remotes: Iterable[RemoteAccount]) -> None:
    """Create or update the accounts the bridge listed; those it no longer lists stay
    (with their mapping) but are marked `listed: false`."""
    existing = {account.remote_id: account for account in connection.accounts.all()}
    for remote in remotes:
        fields = {
            "name": remote.name,
            "org_name": remote.org_name,
            "org_domain": remote.org_domain,
            "currency": remote.currency,
            "balance": _money(remote.balance),
            "available_balance": _money(remote.available_balance),
            "balance_date": remote.balance_date,
            "listed": True,
        }
        account = existing.pop(remote.id, None)
        if account is None:
            ConnectionAccount.objects.create(connection=connection, remote_id=remote.id, **fields)
        else:
            ConnectionAccount.objects.filter(pk=account.pk).update(
                **fields, updated_at=timezone.now()
            )
    gone = [account.pk for account in existing.values()]
    if gone:
        ConnectionAccount.objects.filter(pk__in=gone).update(listed=False)


# --- errors --------------------------------------------------------------------------------


def _record_failure(connection_id: int, failure: BridgeError, *, notify_owner: bool = True) -> None:
    """Put the failure on the connection (`revoked` for a refused access, else `error`);
    the first failure of an episode starts a new one, and the owner is told once per
    episode (the notification's dedupe key names it)."""
    now = timezone.now()
    with transaction.atomic():
        connection = (
            Connection.objects.select_for_update()
            .select_related("user")
            .filter(pk=connection_id)
            .first()
        )
        if connection is None:
            return
        if not connection.last_error_code:
            connection.error_episode += 1
        connection.status = ConnectionStatus.REVOKED if failure.revoked else ConnectionStatus.ERROR
        connection.last_error = failure.message[:ERROR_MAX_LENGTH]
        connection.last_error_code = failure.code
        connection.last_sync_at = now
        connection.save(
            update_fields=[
                "status",
                "last_error",
                "last_error_code",
                "error_episode",
                "last_sync_at",
                "updated_at",
            ]
        )
        if notify_owner:
            notify(
                user=connection.user,
                kind=NotificationKind.CONNECTION_ERROR,
                title=f"Bank connection “{connection.name}” is not syncing"[:200],
                body=(
                    f"{failure.message} Nothing from that sync was imported. You will not be "
                    "told again until a sync has succeeded."
                ),
                data={"connection": connection.pk, "code": failure.code},
                dedupe_key=f"connection:{connection.pk}:error:{connection.error_episode}",
            )


def _record_account_problem(
    connection: Connection, account_id: int, code: str, message: str
) -> None:
    """An account that could not be pulled (its book, its currency, gone from the
    bridge): the error goes on the account and the owner is told once per episode."""
    account = ConnectionAccount.objects.select_for_update().filter(pk=account_id).first()
    if account is None:
        return
    if not account.last_error_code:
        account.error_episode += 1
    account.last_error, account.last_error_code = message, code
    account.save(update_fields=["last_error", "last_error_code", "error_episode", "updated_at"])
    notify(
        user=connection.user,
        kind=NotificationKind.CONNECTION_ERROR,
        title=f"Bank account “{account}” is not syncing"[:200],
        body=f"{message} The connection's other accounts still sync.",
        data={"connection": connection.pk, "account": account.pk, "code": code},
        dedupe_key=f"connection-account:{account.pk}:error:{account.error_episode}",
    )


def _log_unexpected(connection_id: int, exc: BaseException) -> None:
    """Log a failure nobody expected, with its traceback unless the exception chain
    came from an HTTP request (whose text may carry the access URL)."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(chain) < 20:
        chain.append(current)
        current = current.__cause__ or current.__context__
    if any(isinstance(e, requests.RequestException | OutboundError) for e in chain):
        logger.error("Sync of connection %s failed: %s", connection_id, type(exc).__name__)
    else:
        logger.error("Sync of connection %s failed", connection_id, exc_info=exc)
