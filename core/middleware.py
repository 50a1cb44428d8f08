"""Makes sure nothing under /api/ ever answers with Django's HTML error pages, and refuses
requests no endpoint can use before any view reads them."""

from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from rest_framework.exceptions import ValidationError

from core.exceptions import ApplicationError, json_error_response

NUL = "\x00"
NUL_MESSAGE = "Null characters are not allowed."


def is_api_request(request: HttpRequest) -> bool:
    return request.path.startswith("/api/") or request.path.startswith("/health/")


def _content_length(request: HttpRequest) -> int:
    try:
        return max(int(request.META.get("CONTENT_LENGTH") or 0), 0)
    except ValueError:
        return 0


def _refuse_before_reading(request: HttpRequest) -> None:
    """Raises a 413 for a body over REQUEST_BODY_MAX_BYTES (by its Content-Length, before
    a byte is read: Django bounds form fields but not files, which would otherwise stream
    to disk whatever their size), a 400 for NUL characters in the path or the query
    (PostgreSQL cannot store or compare them; no parameter has a use for them)."""
    limit = settings.REQUEST_BODY_MAX_BYTES
    if _content_length(request) > limit:
        raise ApplicationError(
            f"The request body is over the limit of {limit} bytes.",
            code="too_large",
            status_code=413,
        )
    if NUL in request.path:
        raise ApplicationError(f"URL path: {NUL_MESSAGE}", code="null_character")
    # Reading GET may raise TooManyFieldsSent, answered like any other error.
    bad = sorted(
        {
            name
            for name, values in request.GET.lists()
            if NUL in name or any(NUL in v for v in values)
        }
    )
    if bad:
        raise ValidationError({name.replace(NUL, "\\u0000"): [NUL_MESSAGE] for name in bad})


class ApiJsonErrorsMiddleware:
    """Answers an exception escaping any /api/ view in JSON through the one error path
    (core.exceptions.error_response), as the DRF exception handler would, DEBUG or not.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if is_api_request(request):
            try:
                _refuse_before_reading(request)
            except Exception as exc:
                return json_error_response(exc, request=request)
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not is_api_request(request) or isinstance(exception, (Http404, PermissionDenied)):
            return None  # Django answers these through handler404/403: JSON under /api/
        return json_error_response(exception, request=request)
