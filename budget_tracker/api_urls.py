"""Everything under /api/v1/: one router for the domain viewsets plus explicit paths."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from core.views import HealthView

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False

urlpatterns = [
    path("health/", HealthView.as_view(), name="health"),
    path("auth/", include("users.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    path("", include(router.urls)),
]
