"""Makes sure nothing under /api/ ever answers with Django's HTML error pages."""

import logging
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse

from core.exceptions import DATABASE_OUTAGE_ERRORS, DATABASE_UNAVAILABLE, RETRY_AFTER_SECONDS

logger = logging.getLogger("budget_tracker.errors")


def is_api_request(request: HttpRequest) -> bool:
    return request.path.startswith("/api/") or request.path.startswith("/health/")


class ApiJsonErrorsMiddleware:
    """Turns an exception escaping any /api/ view into a JSON 500, DEBUG or not.

    A lost database connection becomes a 503 `database_unavailable` instead, as in
    the DRF exception handler, so a database outage reads the same everywhere.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not is_api_request(request):
            return None
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
