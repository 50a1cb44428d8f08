"""Browser tests of the web app (SPEC §18, docs/webapp.md): Playwright for Python driving
Debian's Chromium against the app served on 127.0.0.1 by a live server in this process.

Without chromium the tests skip with the reason, except under CI=true, where they fail.
One browser serves every test of this package (a context per test or per viewport), and
the server handles one request at a time (see serial_static_handler).
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.core.servers.basehttp import ThreadedWSGIServer
from django.db import connections
from django.test.testcases import LiveServerThread as DjangoLiveServerThread

DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}
VIEWPORTS = {"desktop": DESKTOP, "phone": PHONE}


HERE = Path(__file__).resolve().parent


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "e2e: drives the web app in Chromium (tests/e2e/)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test of this folder is marked e2e (`-m "not e2e"` leaves them all out)."""
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.e2e)


def _chromium() -> str | None:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    return found or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: the browser tests are required)", pytrace=False)
    pytest.skip(reason)


def serial_static_handler(application):
    """The live server's app: static files, then Django, one request at a time.

    Connections are still accepted on threads (browsers open idle ones ahead of need),
    but requests are handled in turn: the SQLite test database is one in-memory
    connection shared with the server, which concurrent requests would trip over."""
    handler = StaticFilesHandler(application)
    lock = threading.Lock()

    def serve(environ, start_response):
        with lock:
            return handler(environ, start_response)

    return serve


class LiveServer(ThreadedWSGIServer):
    def _close_connections(self):
        # After each request Django closes the thread's connections; the in-memory SQLite
        # one shared with the tests is left alone (closing it is a no-op that still
        # checks thread sharing, which fails for requests ending after the tests).
        for conn in connections.all(initialized_only=True):
            if conn.alias not in (self.connections_override or {}):
                conn.close()


class LiveServerThread(DjangoLiveServerThread):
    server_class = LiveServer


@pytest.fixture(scope="package")
def app_url(django_db_setup, django_db_blocker) -> Iterator[str]:
    """The app's base URL on 127.0.0.1, static files served from the app directories."""
    with django_db_blocker.unblock():
        shared = {
            conn.alias: conn
            for conn in connections.all()
            if conn.vendor == "sqlite" and conn.is_in_memory_db()
        }
        for conn in shared.values():
            conn.inc_thread_sharing()
        thread = LiveServerThread("127.0.0.1", serial_static_handler, connections_override=shared)
        thread.daemon = True
        thread.start()
        thread.is_ready.wait()
        if thread.error:
            raise thread.error
    try:
        yield f"http://127.0.0.1:{thread.port}"
    finally:
        thread.terminate()
        for conn in shared.values():
            conn.dec_thread_sharing()


@pytest.fixture(scope="package")
def browser() -> Iterator[object]:
    executable = _chromium()
    if not executable:
        _unavailable("Debian's chromium is not installed (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (pip install -r requirements-dev.txt)")
    # Playwright's sync API keeps an asyncio loop running on this thread, which Django
    # takes for an async context; the ORM calls of these tests are synchronous, so they
    # are allowed for as long as the browser is open (and only then).
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    # While a loop runs on the thread, Django hands out other connection objects (it keeps
    # them per async context then): they get the test database's serialized contents, so
    # serialized_rollback restores the migrated rows (system categories, roles) as usual.
    serialized = {
        conn.alias: conn._test_serialized_contents
        for conn in connections.all()
        if hasattr(conn, "_test_serialized_contents")
    }
    try:
        with sync_playwright() as playwright:
            for alias, contents in serialized.items():
                connections[alias]._test_serialized_contents = contents
            browser = playwright.chromium.launch(executable_path=executable)
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="session")
def screenshot_dir(tmp_path_factory) -> Path:
    """Where screenshots go: $E2E_SCREENSHOTS, or a temporary directory (never the repo)."""
    configured = os.environ.get("E2E_SCREENSHOTS")
    path = Path(configured) if configured else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


# Records Content-Security-Policy violations the page reports (the init script runs in the
# page through the DevTools protocol, which the policy does not govern).
CSP_PROBE = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI || "inline"}`);
});
"""


@dataclass
class Tab:
    """A page in its own browser context, with what went wrong in it."""

    page: object
    base: str
    screenshots: Path
    errors: list[str] = field(default_factory=list)

    def goto(self, route: str = "") -> None:
        """Opens a route ("#/transactions"); within the loaded app only the hash changes."""
        if route.startswith("#") and self.page.url.startswith(f"{self.base}/"):
            self.page.evaluate("hash => { location.hash = hash; }", route)
        else:
            self.page.goto(f"{self.base}/{route}")

    def heading(self, text: str) -> None:
        self.page.get_by_role("heading", name=text, level=1).wait_for()

    def sign_in(self, username: str, password: str) -> None:
        self.goto("#/signin")
        self.heading("Sign in")
        self.page.get_by_label("Username or email").fill(username)
        self.page.get_by_label("Password").fill(password)
        self.page.get_by_role("button", name="Sign in").click()
        self.heading("Dashboard")

    def settled(self) -> None:
        """Waits until nothing on the page is loading any more."""
        self.page.wait_for_function("() => !document.querySelector('[data-loading]')")

    def csp_violations(self) -> list[str]:
        return self.page.evaluate("window.__cspViolations || []")

    def axe(self) -> list[str]:
        """Serious and critical accessibility violations on the page as it is now."""
        if not self.page.evaluate("Boolean(window.axe)"):
            # Same origin, so the page's script-src 'self' allows it: the policy stays on.
            self.page.add_script_tag(url=f"{self.base}/static/frontend/vendor/axe.min.js")
        results = self.page.evaluate(
            "axe.run(document, {resultTypes: ['violations']}).then(r => r.violations.map("
            "v => ({id: v.id, impact: v.impact, help: v.help,"
            " nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))})))"
        )
        return [
            f"{v['impact']}: {v['id']} ({v['help']}) at {v['nodes']}"
            for v in results
            if v["impact"] in ("serious", "critical")
        ]

    def shot(self, name: str) -> Path:
        path = self.screenshots / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def open_tab(browser, app_url, screenshot_dir) -> Iterator[Callable[..., Tab]]:
    """open_tab(viewport="desktop"|"phone", dark=False) → a Tab in a fresh context."""
    contexts = []

    def make(viewport: str = "desktop", dark: bool = False) -> Tab:
        context = browser.new_context(
            viewport=VIEWPORTS[viewport],
            color_scheme="dark" if dark else "light",
            locale="en-US",
            timezone_id="UTC",
            # No colour transitions: axe must never measure a colour halfway (app.css).
            reduced_motion="reduce",
        )
        context.set_default_timeout(15_000)
        context.add_init_script(CSP_PROBE)
        contexts.append(context)
        page = context.new_page()
        tab = Tab(page=page, base=app_url, screenshots=screenshot_dir)
        page.on("pageerror", lambda error: tab.errors.append(f"uncaught: {error}"))
        page.on(
            "console",
            lambda message: (
                message.type == "error"
                and "Content Security Policy" in message.text
                and tab.errors.append(f"console: {message.text}")
            ),
        )
        return tab

    yield make
    for context in contexts:
        context.close()


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path) -> None:
    """Receipts uploaded by the tests stay out of the project's media/."""
    settings.MEDIA_ROOT = tmp_path / "media"
