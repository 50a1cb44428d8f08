"""Makes sure nothing under /api/ ever answers with Django's HTML error pages, and refuses
requests no endpoint can use before any view reads them."""

import logging
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse

from core.exceptions import (
    DATABASE_OUTAGE_ERRORS,
    DATABASE_UNAVAILABLE,
    RECORDS_BUSY,
    RETRY_AFTER_SECONDS,
    is_lock_timeout,
    request_error,
)

logger = logging.getLogger("budget_tracker.errors")

NUL = "\x00"
NUL_MESSAGE = "Null characters are not allowed."


def is_api_request(request: HttpRequest) -> bool:
    return request.path.startswith("/api/") or request.path.startswith("/health/")


def request_error_response(exception: BaseException) -> JsonResponse | None:
    """The JSON 4xx for a request Django could not read (core.exceptions.request_error)."""
    refused = request_error(exception)
    if refused is None:
        return None
    status, body = refused
    return JsonResponse(body, status=status)


def _content_length(request: HttpRequest) -> int:
    try:
        return max(int(request.META.get("CONTENT_LENGTH") or 0), 0)
    except ValueError:
        return 0


def _refuse_before_reading(request: HttpRequest) -> JsonResponse | None:
    """A 413 for a body over REQUEST_BODY_MAX_BYTES (by its Content-Length, before a byte
    is read: Django bounds form fields but not files, which would otherwise stream to
    disk whatever their size), a 400 for NUL characters in the path or the query
    (PostgreSQL cannot store or compare them; no parameter has a use for them)."""
    limit = settings.REQUEST_BODY_MAX_BYTES
    if _content_length(request) > limit:
        return JsonResponse(
            {
                "detail": f"The request body is over the limit of {limit} bytes.",
                "code": "too_large",
            },
            status=413,
        )
    if NUL in request.path:
        return JsonResponse(
            {"detail": f"URL path: {NUL_MESSAGE}", "code": "null_character"}, status=400
        )
    # Reading GET may raise TooManyFieldsSent; the caller answers it like any other.
    bad = sorted(
        {
            name
            for name, values in request.GET.lists()
            if NUL in name or any(NUL in v for v in values)
        }
    )
    if bad:
        return JsonResponse(
            {name.replace(NUL, "\\u0000"): [NUL_MESSAGE] for name in bad}, status=400
        )
    return None


class ApiJsonErrorsMiddleware:
    """Turns an exception escaping any /api/ view into JSON: a 4xx for a request Django
    could not read (core.exceptions.request_error), a 503 `database_unavailable` for a
    lost database connection (as in the DRF exception handler), else a 500, DEBUG or not.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if is_api_request(request):
            try:
                refused = _refuse_before_reading(request)
            except Exception as exc:
                refused = request_error_response(exc)
                if refused is None:
                    raise
            if refused is not None:
                return refused
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not is_api_request(request) or isinstance(exception, (Http404, PermissionDenied)):
            return None  # Django answers these through handler404/403: JSON under /api/
        refused = request_error_response(exception)
        if refused is not None:
            logger.warning(
                "Refused %s %s: %s: %s",
                request.method,
                request.path,
                type(exception).__name__,
                exception,
            )
            return refused
        if is_lock_timeout(exception):
            response = JsonResponse(RECORDS_BUSY, status=409)
            response["Retry-After"] = RETRY_AFTER_SECONDS
            return response
        if isinstance(exception, DATABASE_OUTAGE_ERRORS):
            logger.error(
                "Database unavailable on %s %s: %s", request.method, request.path, exception
            )
            response = JsonResponse(DATABASE_UNAVAILABLE, status=503)
            response["Retry-After"] = RETRY_AFTER_SECONDS
            return response
        logger.error("Unhandled error on %s %s", request.method, request.path, exc_info=exception)
        return JsonResponse(
            {"detail": "A server error occurred.", "code": "server_error"}, status=500
        )
