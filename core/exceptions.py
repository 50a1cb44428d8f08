"""One error path for the whole API (SPEC §3).

Validation errors keep DRF's `{"field": ["message"]}` shape; every other error is
`{"detail": "...", "code": "..."}`. Services raise `ApplicationError` (or one of
its subclasses) for domain failures so they need not know about HTTP.

`error_response` is the only place an exception becomes a status, a body and headers:
the DRF exception handler, the /api/ middleware and Django's handler400/403/404/500
all answer through it, so the same error reads the same wherever it surfaces. Views
let exceptions propagate to it instead of translating them by hand.
"""

from __future__ import annotations

import logging
from typing import Any, NamedTuple

from django.conf import settings
from django.core.exceptions import (
    BadRequest,
    DisallowedHost,
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, JsonResponse, UnreadablePostError
from django.http.multipartparser import MultiPartParserError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

logger = logging.getLogger("budget_tracker.errors")


class ApplicationError(Exception):
    """A domain rule was broken; carries the HTTP status and code clients see.

    With `field` set, the error is about one request field and answers in DRF's
    validation shape `{field: [message]}`, as a serializer would have.
    """

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "invalid"
    # Seconds after which retrying may succeed (sent as Retry-After), for passing conflicts.
    retry_after: int | None = None
    field: str | None = None
    # A whole error tree in DRF's validation shape, nested by path (e.g. a backup document
    # checked as a whole: {"expenses": {"12": {"amount": ["..."]}}}); answered as it is.
    errors: dict[str, Any] | None = None

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status_code: int | None = None,
        field: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        if status_code is not None:
            self.status_code = status_code
        if field is not None:
            self.field = field


class NotFoundError(ApplicationError):
    status_code = status.HTTP_404_NOT_FOUND
    default_code = "not_found"


class ConflictError(ApplicationError):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


class ForbiddenError(ApplicationError):
    status_code = status.HTTP_403_FORBIDDEN
    default_code = "permission_denied"


SERVER_ERROR_MESSAGE = "A server error occurred."


class ServerError(ApplicationError):
    """What any unexpected exception answers (its details stay in the log)."""

    status_code = status.HTTP_500_INTERNAL_SERVER_ERROR
    default_code = "server_error"

    def __init__(self, message: str = SERVER_ERROR_MESSAGE) -> None:
        super().__init__(message)


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


class ErrorResponse(NamedTuple):
    status: int
    body: dict[str, Any]
    headers: dict[str, str]


def _refused_request(exc: BaseException) -> tuple[int, dict[str, str]] | None:
    """(status, body) for a request Django could not read, or None if `exc` is no such error.

    Django raises these while parsing a request (body over DATA_UPLOAD_MAX_MEMORY_SIZE,
    more than DATA_UPLOAD_MAX_NUMBER_FIELDS / _FILES, a broken multipart body, a client
    that vanished mid-body, a Host not in ALLOWED_HOSTS, any other SuspiciousOperation):
    the client's fault, so a 4xx, wherever it surfaces.
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
    if isinstance(exc, SuspiciousOperation | BadRequest):
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


def _as_drf_exception(exc: BaseException) -> BaseException:
    """Django's own errors as the DRF exceptions that answer them."""
    if isinstance(exc, DjangoValidationError):
        detail = (
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
        return exceptions.ValidationError(detail)
    if isinstance(exc, Http404):
        return exceptions.NotFound()
    if isinstance(exc, DjangoPermissionDenied):
        return exceptions.PermissionDenied()
    return exc


def _api_exception(exc: exceptions.APIException) -> ErrorResponse:
    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait))
    detail = exc.detail
    if isinstance(exc, exceptions.ValidationError):
        body = {"non_field_errors": detail} if isinstance(detail, list) else detail
        return ErrorResponse(exc.status_code, body, headers)
    code = _first_code(exc.get_codes())
    if isinstance(detail, dict) and "detail" in detail:
        body = {**detail}
        body.setdefault("code", code)
    elif isinstance(detail, list | dict):
        body = {"detail": str(detail), "code": code}
    else:
        body = {"detail": detail, "code": code}
    return ErrorResponse(exc.status_code, body, headers)


def _application_error(exc: ApplicationError) -> ErrorResponse:
    headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after is not None else {}
    if exc.errors is not None:
        return ErrorResponse(exc.status_code, exc.errors, headers)
    if exc.field is not None:
        return ErrorResponse(exc.status_code, {exc.field: [exc.message]}, headers)
    return ErrorResponse(exc.status_code, {"detail": exc.message, "code": exc.code}, headers)


def error_response(
    exc: BaseException, *, request: HttpRequest | None = None, log: bool = True
) -> ErrorResponse:
    """The status, body and headers that answer `exc`, whatever raised it and wherever it
    surfaced; an exception no rule knows is a 500 `server_error` (logged with its
    traceback unless `log` is false, e.g. when Django has logged it already)."""
    where = f" on {request.method} {request.path}" if request is not None else ""
    refused = _refused_request(exc)
    if refused is not None:
        if log:
            logger.warning("Refused request%s: %s: %s", where, type(exc).__name__, exc)
        return ErrorResponse(refused[0], refused[1], {})
    if isinstance(exc, ApplicationError):
        return _application_error(exc)
    if is_lock_timeout(exc):
        return ErrorResponse(409, dict(RECORDS_BUSY), {"Retry-After": RETRY_AFTER_SECONDS})
    if isinstance(exc, DATABASE_OUTAGE_ERRORS):
        if log:
            logger.error("Database unavailable%s: %s", where, exc)
        return ErrorResponse(503, dict(DATABASE_UNAVAILABLE), {"Retry-After": RETRY_AFTER_SECONDS})
    exc = _as_drf_exception(exc)
    if isinstance(exc, exceptions.APIException):
        return _api_exception(exc)
    if log:
        logger.error("Unhandled error%s", where, exc_info=exc)
    return _application_error(ServerError())


def json_error_response(
    exc: BaseException, *, request: HttpRequest | None = None, log: bool = True
) -> JsonResponse:
    """`error_response` for plain Django code (middleware, the 4xx/500 handlers)."""
    error = error_response(exc, request=request, log=log)
    response = JsonResponse(error.body, status=error.status)
    for name, value in error.headers.items():
        response[name] = value
    return response


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """DRF's EXCEPTION_HANDLER: `error_response` for everything an API view raises."""
    request = context.get("request")
    error = error_response(exc, request=request)
    status_code, headers = error.status, error.headers
    if status_code == status.HTTP_401_UNAUTHORIZED and "WWW-Authenticate" not in headers:
        # As DRF does for its own authentication errors: a 401 names the scheme the
        # view accepts, and a view that accepts none answers 403.
        view = context.get("view")
        scheme = view.get_authenticate_header(request) if view and request else None
        if scheme:
            headers = {**headers, "WWW-Authenticate": scheme}
        else:
            status_code = status.HTTP_403_FORBIDDEN
    set_rollback()
    return Response(error.body, status=status_code, headers=headers)
