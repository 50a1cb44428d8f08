"""The web app's server side (SPEC §18): the shell at /, its Content-Security-Policy, the
committed assets, and serving them in production (collectstatic + whitenoise, gunicorn).
What the pages do in a browser is tested by tests/e2e/."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from frontend.middleware import CONTENT_SECURITY_POLICY
from tests.live_server import gunicorn, http, manage, production_env

PROJECT = Path(__file__).resolve().parents[2]
STATIC = PROJECT / "frontend" / "static" / "frontend"
JS = STATIC / "js"

EXPECTED_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)


class ShellParser(HTMLParser):
    """Collects what a CSP without 'unsafe-inline' would refuse."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict[str, str | None]] = []
        self.stylesheets: list[str | None] = []
        self.inline: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "script":
            self.scripts.append(attributes)
            self._in_script = True
        if tag == "style":
            self.inline.append("<style>")
        if tag == "link" and attributes.get("rel") == "stylesheet":
            self.stylesheets.append(attributes.get("href"))
        for name in attributes:
            if name == "style" or name.startswith("on"):
                self.inline.append(f"<{tag} {name}=…>")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.inline.append(f"inline script: {data.strip()[:40]}")


def test_the_policy_is_the_documented_one():
    assert CONTENT_SECURITY_POLICY == EXPECTED_CSP


def test_the_shell_is_served_at_the_root_with_its_assets(client):
    response = client.get("/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert response["Content-Security-Policy"] == EXPECTED_CSP
    assert "no-cache" in response["Cache-Control"]
    parser = ShellParser()
    parser.feed(response.content.decode())
    assert parser.stylesheets == ["/static/frontend/app.css"]
    assert parser.scripts == [{"type": "module", "src": "/static/frontend/js/main.js"}]
    assert 'data-chartjs="/static/frontend/vendor/chart.umd.min.js"' in response.content.decode()


def test_the_shell_has_no_inline_script_style_or_handler(client):
    parser = ShellParser()
    parser.feed(client.get("/").content.decode())
    assert parser.inline == []


def test_the_shell_answers_only_reads(client):
    assert client.post("/").status_code == 405
    assert client.head("/").status_code == 200


def test_other_html_pages_get_the_policy_too(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    assert response["Content-Security-Policy"] == EXPECTED_CSP


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "status", "content_type"),
    [
        ("/api/v1/health/", 200, "application/json"),
        ("/health/", 200, "application/json"),
        ("/api/v1/expenses/", 401, "application/json"),
        ("/api/v1/no-such-thing/", 404, "application/json"),
        ("/api/v1/docs/", 200, "text/html"),
        ("/admin/login/", 200, "text/html"),
    ],
)
def test_the_api_admin_and_docs_keep_their_own_headers(client, path, status, content_type):
    # Swagger UI and the admin carry inline scripts of their own: the app's policy is not
    # put on them, and JSON needs none.
    response = client.get(path)
    assert response.status_code == status
    assert response["Content-Type"].startswith(content_type)
    assert "Content-Security-Policy" not in response


# --- the JavaScript modules and the committed assets ---------------------------------------

IMPORT = re.compile(
    r"""(?:^|\n)\s*(?:import|export)\b[^;]*?\bfrom\s+"([^"]+)";|(?:^|\n)\s*import\s+"([^"]+)";"""
)


def modules() -> list[Path]:
    return sorted(JS.rglob("*.js"))


def imports_of(path: Path) -> list[Path]:
    text = path.read_text()
    return [(path.parent / (a or b)).resolve() for a, b in IMPORT.findall(text)]


def test_every_module_import_names_a_module_that_exists():
    missing = [
        f"{path.relative_to(JS)} → {target.name}"
        for path in modules()
        for target in imports_of(path)
        if not target.exists()
    ]
    assert not missing


def test_every_module_is_reached_from_main_js():
    seen: set[Path] = set()
    todo = [(JS / "main.js").resolve()]
    while todo:
        path = todo.pop()
        if path not in seen:
            seen.add(path)
            todo += imports_of(path)
    orphans = sorted(str(path.relative_to(JS)) for path in modules() if path.resolve() not in seen)
    assert not orphans, f"modules no page loads (add them to pages/index.js?): {orphans}"


# What the CSP refuses, or what would turn API text into markup.
FORBIDDEN = {
    "innerHTML": re.compile(r"\.(?:inner|outer)HTML\b"),
    "insertAdjacentHTML": re.compile(r"insertAdjacentHTML"),
    "document.write": re.compile(r"document\.write"),
    "eval": re.compile(r"\beval\s*\("),
    "new Function": re.compile(r"new\s+Function\s*\("),
    "style attribute": re.compile(r"""setAttribute\(\s*["']style["']"""),
    "string timers": re.compile(r"""set(?:Timeout|Interval)\(\s*["'`]"""),
}


@pytest.mark.parametrize("name", sorted(FORBIDDEN))
def test_no_module_uses_what_the_policy_or_xss_safety_forbids(name):
    offenders = [
        str(path.relative_to(JS)) for path in modules() if FORBIDDEN[name].search(path.read_text())
    ]
    assert not offenders


def test_the_built_css_is_committed_minified_with_dark_mode():
    css = (STATIC / "app.css").read_text()
    assert css.startswith("/*! tailwindcss v4.")
    assert css.count("\n") < 10  # minified
    # The classes the modules use are compiled in (a few from each kind of place).
    for selector in (
        ".btn-primary",
        ".xl\\:flex",
        ".sm\\:table-cell",
        ".lg\\:col-span-2",
        ".sr-only",
    ):
        assert selector in css, selector
    assert "prefers-color-scheme:dark" in css and "data-theme=dark" in css


def test_chart_js_is_vendored_without_a_source_map_reference():
    chart = (STATIC / "vendor" / "chart.umd.min.js").read_text()
    assert chart.startswith("/*!\n * Chart.js v4.")
    assert "sourceMappingURL" not in chart  # collectstatic would look for the map
    assert (STATIC / "vendor" / "chart.js.LICENSE.md").exists()


def test_axe_core_is_only_for_the_tests():
    assert (STATIC / "vendor" / "axe.min.js").exists()
    shipped = [PROJECT / "frontend" / "templates" / "frontend" / "shell.html", *modules()]
    assert not [str(path) for path in shipped if re.search(r"axe[.-]", path.read_text())]


def test_npm_packages_are_pinned_exactly_and_locked():
    package = json.loads((PROJECT / "package.json").read_text())
    lock = json.loads((PROJECT / "package-lock.json").read_text())
    pinned = package["devDependencies"]
    assert set(pinned) == {"@tailwindcss/cli", "tailwindcss", "chart.js", "axe-core"}
    for name, version in pinned.items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", version), f"{name} {version} is not an exact version"
        assert lock["packages"][f"node_modules/{name}"]["version"] == version
    assert pinned["tailwindcss"].startswith("4.") and pinned["chart.js"].startswith("4.")


# --- production: collectstatic, whitenoise, gunicorn ------------------------------------------


def test_production_serves_the_app_from_collected_static_files(tmp_path):
    env = production_env(
        DATABASE_URL=f"sqlite:///{tmp_path / 'prod.sqlite3'}",
        STATIC_ROOT=str(tmp_path / "static"),
    )
    # Only the web app's files (the admin's, DRF's and Swagger UI's take minutes to
    # compress); axe-core is for the browser tests and need not be collected.
    manage(
        "collectstatic",
        "--noinput",
        *("--ignore", "admin", "--ignore", "rest_framework", "--ignore", "drf_spectacular_sidecar"),
        *("--ignore", "axe.min.js"),
        env=env,
    )
    with gunicorn(env, workers=1) as base:
        shell = http("GET", f"{base}/")
        assert shell.status == 200
        assert shell.headers["Content-Security-Policy"] == EXPECTED_CSP
        html = shell.body.decode()
        css = re.search(r'href="(/static/frontend/app\.[0-9a-f]{12}\.css)"', html)
        main = re.search(r'src="(/static/frontend/js/main\.[0-9a-f]{12}\.js)"', html)
        chart = re.search(
            r'data-chartjs="(/static/frontend/vendor/chart\.umd\.min\.[0-9a-f]{12}\.js)"', html
        )
        assert css and main and chart, html

        for url, kind in ((css[1], "text/css"), (main[1], "javascript"), (chart[1], "javascript")):
            asset = http("GET", f"{base}{url}", headers={"Accept-Encoding": "gzip"})
            assert asset.status == 200, url
            assert kind in asset.headers["Content-Type"]
            assert "immutable" in asset.headers["Cache-Control"]  # hashed: cached for good
            assert asset.headers.get("Content-Encoding") == "gzip"
        # Modules import each other by their plain names, which are collected too.
        module = http("GET", f"{base}/static/frontend/js/pages/dashboard.js")
        assert module.status == 200 and "javascript" in module.headers["Content-Type"]
        assert b'from "../api.js"' in module.body
        # Loaded by its plain name, so revalidated on every load: after a deploy no browser
        # mixes new modules with cached old ones. Hashed files stay cached for good.
        assert module.headers["Cache-Control"] == "no-cache"
        assert "immutable" in http("GET", f"{base}{main[1]}").headers["Cache-Control"]
        # The API is unchanged beside it.
        assert http("GET", f"{base}/api/v1/health/").status == 200
        assert http("GET", f"{base}/api/v1/expenses/").status == 401


def test_the_apps_own_js_and_css_stay_under_300_kb_compressed():
    # Issue 18's budget for what the app itself ships (Chart.js, vendored, is apart).
    # gzip level 6, as whitenoise's compressor (brotli, also served, is smaller still).
    import gzip

    own = [*modules(), STATIC / "app.css"]
    compressed = sum(len(gzip.compress(path.read_bytes(), compresslevel=6)) for path in own)
    assert len(own) > 30  # every module is counted, not an empty glob
    assert compressed < 300 * 1024, f"{compressed / 1024:.0f} KB"
