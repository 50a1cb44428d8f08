"""The Content-Security-Policy of the web app's pages (docs/webapp.md).

Only this server's own scripts, styles, fonts and API; no inline script or style, no
plugins, no framing, no <base> rewriting. It is the web app's main defence against XSS,
which matters because the refresh token lives in localStorage. Chart.js sizes its canvases
through the CSSOM (`element.style.width = …`), which `style-src 'self'` allows.
"""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

# JSON under /api/ and /health/ needs no policy; the Django admin (and Swagger UI under
# /api/) rely on inline scripts and styles of their own, so they keep their headers.
EXEMPT_PREFIXES = ("/api/", "/health/", "/admin/")


class ContentSecurityPolicyMiddleware:
    """Adds CONTENT_SECURITY_POLICY to every HTML response outside EXEMPT_PREFIXES: the
    shell at `/`, and Django's own error pages for other paths."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            not request.path.startswith(EXEMPT_PREFIXES)
            and response.get("Content-Type", "").startswith("text/html")
            and "Content-Security-Policy" not in response
        ):
            response["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        return response
