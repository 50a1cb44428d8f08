"""The application's URLs plus `/bench/ping/`, the framework's own ceiling.

`/bench/ping/` is a DRF APIView with no authentication, permission, throttle or
database access: whatever it costs is routing, middleware, DRF and JSON rendering.
Used only through `bench.settings_load`, never by the public API.
"""

from typing import Any

from django.urls import path
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from budget_tracker.urls import handler404, handler500
from budget_tracker.urls import urlpatterns as app_urlpatterns


class PingView(APIView):
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes: list[Any] = []

    def get(self, request: Request) -> Response:
        return Response({"ok": True})


urlpatterns = [
    path("bench/ping/", PingView.as_view(), name="bench-ping"),
    *app_urlpatterns,
]

__all__ = ["handler404", "handler500", "urlpatterns"]
