"""The SimpleFIN protocol, client side (https://www.simplefin.org/protocol.html).

- A setup token is the base64 of a claim URL. POSTing to the claim URL (once: a second
  claim is refused with 403) answers the access URL, `https://user:pass@host/path`.
- `GET {access}/accounts` with HTTP basic auth from the access URL answers
  `{"errors": [...], "accounts": [...]}`; `start-date` / `end-date` (unix seconds,
  end exclusive), `pending=1`, `balances-only=1` and repeated `account=<id>` narrow it.
  Amounts are decimal strings, `posted` is unix seconds (0 while pending), transaction
  ids are unique per account.

Every request goes through `core.outbound` (SSRF-safe, bounded time and size). The
credentials never appear in a URL this module builds, in an error it raises or in a log
line: requests get them as `auth=`, and every message taken from the bridge is redacted.
Errors are `BridgeError`s with a stable `code` the connection stores and the API shows.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import unquote, urlencode, urlsplit, urlunsplit

import requests
from django.conf import settings

from core.exceptions import ApplicationError
from core.outbound import OutboundError, UnsafeURL, check_url, request

logger = logging.getLogger(__name__)

SETUP_TOKEN_MAX_LENGTH = 2000
CLAIM_MAX_BYTES = 8 * 1024
ACCOUNTS_MAX_BYTES = 32 * 1024 * 1024
MESSAGE_MAX_LENGTH = 300
BANK_ERRORS_SHOWN = 5


class BridgeError(Exception):
    """A request to the bridge failed. `code` is stable (stored and shown by the API),
    `message` is safe to show (no credentials), `status_code` is what an API request
    that met it answers, and `revoked` marks a refused access (403)."""

    def __init__(
        self, code: str, message: str, *, status_code: int = 502, revoked: bool = False
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status_code = status_code
        self.revoked = revoked


def _allow_private() -> bool:
    return bool(settings.SIMPLEFIN_ALLOW_PRIVATE)


def _timeout() -> float:
    return float(settings.SIMPLEFIN_TIMEOUT_SECONDS)


def _schemes() -> tuple[str, ...]:
    # Basic-auth credentials travel in every request: plain http only where private
    # addresses are allowed too (the tests, a bridge on the operator's own network).
    return ("https", "http") if _allow_private() else ("https",)


def decode_setup_token(token: str) -> str:
    """The claim URL inside a setup token. Raises ApplicationError (400 on `setup_token`)
    when the token is not base64 of an http(s) URL the server may call."""
    compact = "".join(token.split())
    padded = compact + "=" * (-len(compact) % 4)
    text = None
    for decode in (base64.b64decode, base64.urlsafe_b64decode):
        try:
            text = decode(padded.encode("ascii"), validate=True).decode("utf-8")
            break
        except (binascii.Error, ValueError, UnicodeError, TypeError):
            continue
    if text is None or not text.strip():
        raise ApplicationError(
            "This is not a SimpleFIN setup token (it must be the base64 text the SimpleFIN "
            "Bridge shows when you create a setup token).",
            field="setup_token",
            code="invalid_setup_token",
        )
    url = text.strip()
    try:
        scheme = urlsplit(url).scheme
    except ValueError:
        scheme = ""
    if scheme not in _schemes():
        raise ApplicationError(
            "This setup token does not hold a claim URL "
            + ("(https://…)." if _schemes() == ("https",) else "(http(s)://…)."),
            field="setup_token",
            code="invalid_setup_token",
        )
    check_url(url, allow_private=_allow_private(), field="setup_token")
    return url


@dataclass(frozen=True)
class Access:
    """An access URL split into the URL requests go to and the basic-auth credentials."""

    base_url: str
    username: str
    password: str

    @property
    def secrets(self) -> tuple[str, ...]:
        return tuple(s for s in (self.username, self.password) if s)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text


def parse_access_url(access_url: str) -> Access | None:
    """`Access` for a well-formed access URL, else None."""
    try:
        parts = urlsplit(access_url.strip())
        host = parts.hostname
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in _schemes() or not host or not parts.username or not parts.password:
        return None
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc = f"{netloc}:{port}"
    base = urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))
    return Access(base_url=base, username=unquote(parts.username), password=unquote(parts.password))


def _call(method: str, url: str, *, max_bytes: int, **kwargs: Any) -> requests.Response:
    """One request through core.outbound, failures as BridgeError. Never logs or raises
    the underlying exception chain: its text may carry the URL."""
    try:
        return request(
            method,
            url,
            allow_private=_allow_private(),
            timeout=_timeout(),
            max_bytes=max_bytes,
            **kwargs,
        )
    except UnsafeURL as exc:
        raise BridgeError("unsafe_url", exc.message, status_code=502) from None
    except OutboundError as exc:
        if isinstance(exc.__cause__, requests.Timeout) or "within" in str(exc):
            raise BridgeError(
                "bridge_timeout",
                f"The SimpleFIN Bridge did not answer within {_timeout():g} seconds.",
                status_code=504,
            ) from None
        if "larger than" in str(exc):
            raise BridgeError(
                "bridge_invalid_response", "The SimpleFIN Bridge's answer was too large."
            ) from None
        raise BridgeError(
            "bridge_unreachable",
            "The SimpleFIN Bridge could not be reached (connection failed); try again later.",
        ) from None


def claim(claim_url: str) -> str:
    """POST the claim URL; returns the access URL. Raises ApplicationError 400
    `token_already_claimed` when the bridge refuses (403: claimed before, or unknown),
    BridgeError otherwise."""
    response = _call("POST", claim_url, max_bytes=CLAIM_MAX_BYTES, data=b"")
    if response.status_code == 403:
        raise ApplicationError(
            "The SimpleFIN Bridge refused this setup token: a setup token can be claimed only "
            "once. Create a new setup token at your SimpleFIN Bridge and send it as "
            "`setup_token`.",
            code="token_already_claimed",
        )
    if response.status_code != 200:
        raise BridgeError(
            "bridge_error",
            f"The SimpleFIN Bridge answered the claim with HTTP {response.status_code}.",
        )
    try:
        access_url = response.content.decode("utf-8").strip()
    except UnicodeError:
        access_url = ""
    access = parse_access_url(access_url)
    if access is None:
        raise BridgeError(
            "bridge_invalid_response",
            "The SimpleFIN Bridge's answer to the claim is not an access URL with credentials.",
        )
    try:
        check_url(access.base_url, allow_private=_allow_private())
    except UnsafeURL as exc:
        raise BridgeError("unsafe_url", exc.message) from None
    return access_url


# --- the accounts document ---------------------------------------------------------------


@dataclass
class RemoteTransaction:
    id: str
    posted: int  # unix seconds; 0 while pending
    amount: Decimal | None  # None: unreadable (the row is rejected)
    description: str
    payee: str = ""
    memo: str = ""
    pending: bool = False
    problem: str = ""  # why the row cannot be imported, if it cannot


@dataclass
class RemoteAccount:
    id: str
    name: str
    org_name: str
    org_domain: str
    currency: str
    balance: Decimal | None
    available_balance: Decimal | None
    balance_date: datetime | None
    transactions: list[RemoteTransaction] = field(default_factory=list)


def _text(value: Any, limit: int = 255) -> str:
    return value.strip()[:limit] if isinstance(value, str) else ""


def _identifier(value: Any) -> str:
    """An id as text (the protocol says string; some servers send numbers)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return _text(value)


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _unix(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def _timestamp(value: Any) -> datetime | None:
    seconds = _unix(value)
    if seconds is None or seconds <= 0:
        return None
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _transaction(raw: Any) -> RemoteTransaction:
    if not isinstance(raw, dict):
        return RemoteTransaction(
            id="", posted=0, amount=None, description="", problem="not an object"
        )
    txn = RemoteTransaction(
        id=_identifier(raw.get("id"))[:200],
        posted=_unix(raw.get("posted")) or 0,
        amount=_decimal(raw.get("amount")),
        description=_text(raw.get("description"), 1000),
        payee=_text(raw.get("payee")),
        memo=_text(raw.get("memo"), 1000),
        pending=raw.get("pending") is True,
    )
    if not txn.id:
        txn.problem = "the transaction has no id"
    elif txn.amount is None:
        txn.problem = "the amount is not a number"
    elif _unix(raw.get("posted")) is None:
        txn.problem = "`posted` is not a unix time"
    if txn.posted <= 0:
        txn.pending = True
    return txn


def _account(raw: Any) -> RemoteAccount:
    if not isinstance(raw, dict) or not _identifier(raw.get("id")):
        raise BridgeError(
            "bridge_invalid_response", "The SimpleFIN Bridge listed an account without an id."
        )
    org = raw.get("org") if isinstance(raw.get("org"), dict) else {}
    transactions = raw.get("transactions")
    return RemoteAccount(
        id=_identifier(raw.get("id")),
        name=_text(raw.get("name")),
        org_name=_text(org.get("name")) or _text(org.get("domain")),
        org_domain=_text(org.get("domain")),
        currency=_text(raw.get("currency")),
        balance=_decimal(raw.get("balance")),
        available_balance=_decimal(raw.get("available-balance")),
        balance_date=_timestamp(raw.get("balance-date")),
        transactions=[_transaction(t) for t in transactions]
        if isinstance(transactions, list)
        else [],
    )


def _bank_errors(document: dict[str, Any]) -> list[str]:
    """The messages of the document's `errors` (protocol 1: strings) and `errlist`
    (protocol 2: objects with `msg`)."""
    messages: list[str] = []
    errors = document.get("errors")
    if isinstance(errors, list):
        messages += [str(e) for e in errors if e not in (None, "")]
    errlist = document.get("errlist")
    if isinstance(errlist, list):
        for entry in errlist:
            if isinstance(entry, dict):
                messages.append(str(entry.get("msg") or entry.get("message") or entry))
            elif entry not in (None, ""):
                messages.append(str(entry))
    return messages


class Client:
    """Requests to one access URL; `requests_made` counts them (the bridge asks apps to
    stay under about 24 a day)."""

    def __init__(self, access_url: str) -> None:
        access = parse_access_url(access_url)
        if access is None:
            raise BridgeError(
                "invalid_access_url",
                "The stored access URL is not usable; reconnect with a new setup token.",
            )
        self.access = access
        self.requests_made = 0

    def accounts(
        self,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        account_ids: Iterable[str] = (),
        balances_only: bool = False,
        pending: bool = False,
    ) -> list[RemoteAccount]:
        """GET /accounts. Raises BridgeError for any failure: HTTP error (403 → revoked),
        timeout, a body that is not the accounts document, or `errors` from the bridge."""
        params: list[tuple[str, str]] = []
        if start is not None:
            params.append(("start-date", str(int(start.timestamp()))))
        if end is not None:
            params.append(("end-date", str(int(end.timestamp()))))
        if pending:
            params.append(("pending", "1"))
        if balances_only:
            params.append(("balances-only", "1"))
        params += [("account", account_id) for account_id in account_ids]
        url = f"{self.access.base_url}/accounts"
        if params:
            url = f"{url}?{urlencode(params)}"
        self.requests_made += 1
        response = _call(
            "GET",
            url,
            max_bytes=ACCOUNTS_MAX_BYTES,
            auth=(self.access.username, self.access.password),
            headers={"Accept": "application/json"},
        )
        return self._document(response)

    def _document(self, response: requests.Response) -> list[RemoteAccount]:
        status = response.status_code
        if status in (401, 403):
            raise BridgeError(
                "access_revoked",
                "The SimpleFIN Bridge refused the access (it was revoked or disabled there). "
                "Reconnect with a new setup token (PATCH `setup_token`).",
                revoked=True,
            )
        if status == 402:
            raise BridgeError(
                "bridge_payment_required",
                "The SimpleFIN Bridge refused the request: the subscription there needs payment.",
            )
        if status != 200:
            raise BridgeError("bridge_error", f"The SimpleFIN Bridge answered HTTP {status}.")
        try:
            document = json.loads(response.content)
        except (ValueError, UnicodeError):
            document = None
        if not isinstance(document, dict) or not isinstance(document.get("accounts", []), list):
            raise BridgeError(
                "bridge_invalid_response", "The SimpleFIN Bridge's answer is not an accounts list."
            )
        messages = _bank_errors(document)
        if messages:
            shown = "; ".join(
                self.access.redact(m)[:MESSAGE_MAX_LENGTH] for m in messages[:BANK_ERRORS_SHOWN]
            )
            raise BridgeError("bank_error", f"The SimpleFIN Bridge reported: {shown}")
        return [_account(raw) for raw in document.get("accounts", [])]
