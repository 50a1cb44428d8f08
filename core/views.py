"""Shared views: health, the JSON 404 under /api/, and Django's error handlers.

Who may see which records is decided in one place, `books.scoping.BookScopedMixin`.
"""

from __future__ import annotations

import copy
from typing import Any, ClassVar

from django.core.exceptions import BadRequest, PermissionDenied
from django.db import DatabaseError, connection
from django.dispatch import receiver
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.test.signals import setting_changed
from django.utils import translation
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import extend_schema, inline_serializer
from drf_spectacular.views import SpectacularAPIView
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .exceptions import ServerError, json_error_response
from .middleware import is_api_request


class HealthView(APIView):
    """Liveness and database reachability, for load balancers and monitors."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="health",
        summary="Is the service up?",
        description='200 `{"status": "ok", "database": "ok"}` when the database answers, '
        "503 otherwise; no authentication, for load balancers and monitors (also at `/health/`).",
        responses={
            200: inline_serializer(
                "Health",
                {"status": serializers.CharField(), "database": serializers.CharField()},
            ),
            503: inline_serializer(
                "HealthDown",
                {"status": serializers.CharField(), "database": serializers.CharField()},
            ),
        },
        auth=[],
    )
    def get(self, request: Request) -> Response:
        try:
            connection.ensure_connection()
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
                cursor.fetchone()
        except DatabaseError:
            return Response({"status": "unavailable", "database": "unreachable"}, status=503)
        return Response({"status": "ok", "database": "ok"})


@csrf_exempt
def api_not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    # Exempt so an unknown API path answers 404 for every method, not a CSRF 403 page.
    return json_error_response(Http404(), log=False)


# Django's error handlers (budget_tracker/urls.py): JSON under /api/ through the one error
# path (core.exceptions.error_response), the usual pages elsewhere. They answer what
# escapes every view and middleware, e.g. a Host header not in ALLOWED_HOSTS
# (DisallowedHost, raised before any view runs). Django has logged the error already.


def handler400(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if is_api_request(request):
        return json_error_response(exception or BadRequest(), log=False)
    return defaults.bad_request(request, exception)


def handler403(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if is_api_request(request):
        return json_error_response(exception or PermissionDenied(), log=False)
    return defaults.permission_denied(request, exception)


def handler404(request: HttpRequest, exception: Exception) -> HttpResponse:
    if is_api_request(request):
        return json_error_response(exception or Http404(), log=False)
    return defaults.page_not_found(request, exception)


def handler500(request: HttpRequest) -> HttpResponse:
    if is_api_request(request):
        return json_error_response(ServerError(), log=False)
    return defaults.server_error(request)


@extend_schema(exclude=True)
class HealthAliasView(HealthView):
    """`/health/` at the root for load balancers; documented once as /api/v1/health/."""


class SchemaView(SpectacularAPIView):
    """`GET /api/v1/schema/`, generated once per process and version and language.

    The schema is public (`SERVE_PUBLIC`) and depends only on the code, so it is the same
    for every caller; generating it walks every view and serializer (~3 s of CPU), which
    an anonymous client could otherwise make the server repeat at will. A settings change
    of what it reads (tests' `override_settings`) drops the cache."""

    _cache: ClassVar[dict[tuple[Any, ...], Any]] = {}

    def _get_schema_response(self, request: Request) -> Response:
        version = self.api_version or request.version or self._get_version_parameter(request)
        key = (version, translation.get_language(), self.serve_public)
        if key not in self._cache:
            generator = self.generator_class(
                urlconf=self.urlconf, api_version=version, patterns=self.patterns
            )
            self._cache[key] = generator.get_schema(request=request, public=self.serve_public)
        filename = self._get_filename(request, version)
        return Response(
            data=copy.deepcopy(self._cache[key]),
            headers={"Content-Disposition": f'inline; filename="{filename}"'},
        )


# Settings the generated schema reads; a change of any other leaves it as it is.
SCHEMA_SETTINGS = {"SPECTACULAR_SETTINGS", "REST_FRAMEWORK", "ROOT_URLCONF", "USE_I18N"}


@receiver(setting_changed)
def _schema_settings_changed(*, setting: str, **kwargs: Any) -> None:
    if setting in SCHEMA_SETTINGS:
        SchemaView._cache.clear()
