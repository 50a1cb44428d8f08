"""One error shape for the whole API (SPEC §3).

Validation errors keep DRF's `{"field": ["message"]}` shape; every other error is
`{"detail": "...", "code": "..."}`. Services raise `ApplicationError` (or one of
its subclasses) for domain failures so they need not know about HTTP.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import (
    DisallowedHost,
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.http import Http404, UnreadablePostError
from django.http.multipartparser import MultiPartParserError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger("budget_tracker.errors")


class ApplicationError(Exception):
    """A domain rule was broken; carries the HTTP status and code clients see."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "invalid"
    # Seconds after which retrying may succeed (sent as Retry-After), for passing conflicts.
    retry_after: int | None = None

    def __init__(
        self, message: str, *, code: str | None = None, status_code: int | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        if status_code is not None:
            self.status_code = status_code


class ConflictError(ApplicationError):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


class ForbiddenError(ApplicationError):
    status_code = status.HTTP_403_FORBIDDEN
    default_code = "permission_denied"


DATABASE_UNAVAILABLE = {"detail": "The database is unavailable.", "code": "database_unavailable"}
# A lost or refused connection (not a bad query): the request may succeed once the
# database is back, so clients and load balancers see a retryable 503.
DATABASE_OUTAGE_ERRORS = (OperationalError, InterfaceError)
RETRY_AFTER_SECONDS = "5"

# PostgreSQL's SQLSTATE for a lock wait ended by `lock_timeout` (DB_LOCK_TIMEOUT_MS) or
# NOWAIT: the rows are held by a long write (a base-currency change, an import), so the
# request is refused as a passing conflict, not reported as an outage.
LOCK_NOT_AVAILABLE = "55P03"
RECORDS_BUSY = {
    "detail": "These records are being changed by another operation (for example a "
    "base-currency change or an import); retry shortly.",
    "code": "records_busy",
}


def is_lock_timeout(exc: BaseException) -> bool:
    return (
        isinstance(exc, OperationalError)
        and getattr(exc.__cause__, "sqlstate", None) == LOCK_NOT_AVAILABLE
    )


def database_unavailable_response() -> Response:
    return Response(
        dict(DATABASE_UNAVAILABLE),
        status=status.HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": RETRY_AFTER_SECONDS},
    )


def request_error(exc: BaseException) -> tuple[int, dict[str, str]] | None:
    """(status, body) for a request Django could not read, or None if `exc` is no such error.

    Django raises these while parsing a request (body over DATA_UPLOAD_MAX_MEMORY_SIZE,
    more than DATA_UPLOAD_MAX_NUMBER_FIELDS / _FILES, a broken multipart body, a client
    that vanished mid-body, a Host not in ALLOWED_HOSTS, any other SuspiciousOperation):
    the client's fault, so a 4xx, wherever it surfaces (DRF views, plain views,
    middleware, Django's handler400).
    """
    if isinstance(exc, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return 413, {
            "detail": f"The request body is over the limit of {limit} bytes "
            "(uploaded files are limited separately).",
            "code": "too_large",
        }
    if isinstance(exc, TooManyFieldsSent):
        limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
        return 400, {
            "detail": f"The request has more than {limit} parameters or form fields.",
            "code": "too_many_fields",
        }
    if isinstance(exc, TooManyFilesSent):
        limit = settings.DATA_UPLOAD_MAX_NUMBER_FILES
        return 400, {
            "detail": f"The request has more than {limit} files.",
            "code": "too_many_files",
        }
    if isinstance(exc, UnreadablePostError):
        return 400, {"detail": "The request body could not be read.", "code": "unreadable_body"}
    if isinstance(exc, MultiPartParserError):
        return 400, {"detail": f"Multipart form parse error - {exc}", "code": "parse_error"}
    if isinstance(exc, DisallowedHost):
        return 400, {"detail": "The Host header is not allowed.", "code": "disallowed_host"}
    if isinstance(exc, SuspiciousOperation):
        return 400, {"detail": "The request was refused as malformed.", "code": "bad_request"}
    return None


def _first_code(codes: Any) -> str:
    if isinstance(codes, str):
        return codes
    if isinstance(codes, list) and codes:
        return _first_code(codes[0])
    if isinstance(codes, dict) and codes:
        return _first_code(next(iter(codes.values())))
    return "error"


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    refused = request_error(exc)
    if refused is not None:
        logger.warning("Refused request: %s: %s", type(exc).__name__, exc)
        return Response(refused[1], status=refused[0])
    if isinstance(exc, ApplicationError):
        headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after is not None else None
        return Response(
            {"detail": exc.message, "code": exc.code}, status=exc.status_code, headers=headers
        )
    if is_lock_timeout(exc):
        return Response(
            dict(RECORDS_BUSY),
            status=status.HTTP_409_CONFLICT,
            headers={"Retry-After": RETRY_AFTER_SECONDS},
        )
    if isinstance(exc, DATABASE_OUTAGE_ERRORS):
        logger.error("Database unavailable: %s", exc)
        return database_unavailable_response()
    if isinstance(exc, DjangoValidationError):
        detail = (
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
        exc = exceptions.ValidationError(detail)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        logger.exception("Unhandled error in API view", exc_info=exc)
        return Response(
            {"detail": "A server error occurred.", "code": "server_error"},
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )

    if isinstance(exc, exceptions.ValidationError):
        if isinstance(response.data, list):
            response.data = {"non_field_errors": response.data}
        return response

    data = response.data
    if isinstance(data, dict) and "detail" in data:
        data.setdefault(
            "code",
            _first_code(exc.get_codes()) if isinstance(exc, exceptions.APIException) else "error",
        )
    else:
        code = _first_code(exc.get_codes()) if isinstance(exc, exceptions.APIException) else "error"
        response.data = {"detail": str(data), "code": code}
    return response
