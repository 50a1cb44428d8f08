"""How browsers may cache the web app's static files (whitenoise's
`WHITENOISE_ADD_HEADERS_FUNCTION`; no Django imports, so settings can import it).

Files with a content hash in their name (`main.<hash>.js`, `app.<hash>.css`, Chart.js)
are cached for good by whitenoise itself. The JavaScript modules the entry point imports
are fetched by their plain names (`../api.js`: an ES module import cannot name the
hashed file without an import map, which the CSP's `script-src 'self'` would have to
allow inline), so they must never be served from a stale cache: after a deploy a
browser would mix new modules with old ones. They are `no-cache` — revalidated on
every load, which costs a 304 when nothing changed.
"""

from __future__ import annotations

import re

MODULES_URL = "/static/frontend/js/"
# `name.<12 hex>.js`: a hashed copy made by collectstatic (main.js's is the one loaded).
HASHED = re.compile(r"\.[0-9a-f]{12}\.js$")


def add_headers(headers: dict[str, str], path: str, url: str) -> None:
    if url.startswith(MODULES_URL) and not HASHED.search(url):
        headers["Cache-Control"] = "no-cache"
