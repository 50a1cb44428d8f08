"""Content negotiation for endpoints that return files (images, CSV, XLSX, PDF)."""

from __future__ import annotations

from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request


class JSONErrorsNegotiation(DefaultContentNegotiation):
    """Success is a file the view builds itself and errors are always JSON, so an Accept
    header such as `image/png` or `text/csv` never earns a 406."""

    def select_renderer(
        self, request: Request, renderers: list[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderer = renderers[0]
        return renderer, renderer.media_type
