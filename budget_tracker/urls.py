"""Root URL configuration: the admin, the health probe, the versioned API and the web app."""

from django.contrib import admin
from django.urls import include, path, re_path

from core.views import HealthAliasView, api_not_found

urlpatterns = [
    path("admin/", admin.site.urls),
    # Un-versioned alias for load balancers; the documented path is /api/v1/health/.
    path("health/", HealthAliasView.as_view(), name="health-root"),
    path("api/v1/", include("budget_tracker.api_urls")),
    # Anything else under /api/ answers with a JSON 404, never an HTML page.
    re_path(r"^api/", api_not_found),
    # The web app (docs/webapp.md): one page at /, routed in the browser by the URL's hash.
    path("", include("frontend.urls")),
]

# JSON under /api/ for errors raised outside any view (a bad Host header), HTML elsewhere.
handler400 = "core.views.handler400"
handler403 = "core.views.handler403"
handler404 = "core.views.handler404"
handler500 = "core.views.handler500"
