"""Everything under /api/v1/: one router for the domain viewsets plus explicit paths.

Each domain app's `urls.py` offers `routes` — (prefix, viewset, basename) triples
registered on the single router — and optionally `urlpatterns` for non-viewset
paths, which are mounted before the router so `budgets/status/` is not read as a pk.

The apps of `BOOK_APPS` hold records in books (SPEC §14): their routes are served twice,
at the top level (the caller's personal book) and under `/books/{book_id}/` (that book),
with the same views — `books.scoping.BookScopedMixin` reads `book_id` from the URL.
Routes only a book has (members, invitations, settlements) are an app's `book_routes`
(viewsets) and `book_urlpatterns` (plain paths: balances, settle-up, their CSV exports).
"""

from importlib import import_module

from django.urls import include, path
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from core.views import HealthView, SchemaView

API_APPS = [
    "books",
    "currencies",
    "categories",
    "expenses",
    "income",
    "notifications",
    "budgets",
    "goals",
    "splits",
    "reports",
    "ai",
    "imports",
    "exports",
    "backups",
    "recurring",
    "connections",
    "webhooks",
]

# Apps whose records live in books, served again under /books/{book_id}/.
BOOK_APPS = [
    "books",
    "expenses",
    "income",
    "categories",
    "reports",
    "exports",
    "recurring",
    "backups",
    "budgets",
    "goals",
    "imports",
    "splits",
    "ai",
    "webhooks",
]


def _router() -> DefaultRouter:
    router = DefaultRouter(trailing_slash=True)
    router.include_root_view = False
    # No `.json` twins of every route: the API speaks JSON only, and several @actions take
    # no `format` argument, so a suffixed URL answered 500 instead of a JSON 404.
    router.include_format_suffixes = False
    return router


router = _router()
book_router = _router()
app_paths = []
book_paths = []
for app in API_APPS:
    module = import_module(f"{app}.urls")
    for prefix, viewset, basename in getattr(module, "routes", []):
        router.register(prefix, viewset, basename=basename)
    app_paths += getattr(module, "urlpatterns", [])
    if app in BOOK_APPS:
        for prefix, viewset, basename in getattr(module, "book_routes", []):
            book_router.register(prefix, viewset, basename=basename)
        book_paths += getattr(module, "book_urlpatterns", [])
        if app != "books":
            for prefix, viewset, basename in getattr(module, "routes", []):
                book_router.register(prefix, viewset, basename=basename)
            book_paths += getattr(module, "urlpatterns", [])

urlpatterns = [
    path("health/", HealthView.as_view(), name="health"),
    path("auth/", include("users.urls")),
    path("schema/", SchemaView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path(
        "redoc/",
        SpectacularRedocView.as_view(url_name="schema", template_name="core/redoc.html"),
        name="redoc",
    ),
    *app_paths,
    path("books/<int:book_id>/", include([*book_paths, *book_router.urls])),
    path("", include(router.urls)),
]
