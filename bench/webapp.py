"""The web app for the bench heavy user (1M expenses, 100k income): how soon the dashboard
is usable and how the transaction list scrolls, by the browser's own performance timings.

    .venv/bin/python -m bench.webapp [--runs 5] [--pages 5]

Uses the bench data set (`bench.dataset`, built if missing) in PostgreSQL, served by
gunicorn in the production profile (2 sync workers, collected and compressed static
files through whitenoise, as deployed) on 127.0.0.1, and drives Debian's Chromium
(/usr/bin/chromium) with Playwright at 1440×900:

1. signs in as `bench_heavy` through the sign-in page;
2. opens the app `--runs` times, the first in a fresh browser context (nothing cached),
   then reloaded (static files from the browser cache, as on a second visit). Each time
   the access token is refreshed first (it lives in memory only). "Usable" is
   `performance.now()` when the dashboard's heading is shown and nothing on the page is
   loading any more (`[data-loading]` gone: every card drawn); the table lists every
   API request of the load with its duration from the Resource Timing entries;
3. opens Transactions and scrolls to the end of the list `--pages` times: the time to
   the first 50 rows, then to each further 50 (one cursor page of each stream when its
   buffer runs out), and the API requests made — the list is never loaded whole.

Results: a table on stdout and bench/results/webapp.json. Timings are measured, never
asserted (docs/benchmarks.md records a run with the machine it ran on).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import dataset
from tests.live_server import gunicorn, manage, production_env

CHROMIUM = "/usr/bin/chromium"
VIEWPORT = {"width": 1440, "height": 900}
RESULTS = Path(__file__).resolve().parent / "results" / "webapp.json"
TIMEOUT_MS = 60_000

SETTLED_JS = """() => document.querySelector('h1')?.textContent.trim() === 'Dashboard'
    && !document.querySelector('[data-loading]')"""
API_ENTRIES_JS = """(since) => performance.getEntriesByType('resource')
    .filter(e => e.name.includes('/api/v1/') && e.startTime >= since)
    .map(e => ({url: e.name.replace(location.origin, ''), start: e.startTime,
                ms: e.duration, bytes: e.encodedBodySize}))"""


def serve_static(env: dict[str, str]) -> None:
    """collectstatic as a deployment runs it (the admin's and docs' assets left out: they
    take minutes to compress and the app does not load them)."""
    manage(
        "collectstatic",
        "--noinput",
        *("--ignore", "admin", "--ignore", "rest_framework", "--ignore", "drf_spectacular_sidecar"),
        *("--ignore", "axe.min.js"),
        env=env,
    )


def dashboard_load(page: Any, base: str, *, reload: bool) -> dict[str, Any]:
    if reload:
        page.reload(wait_until="commit")
    else:
        page.goto(f"{base}/#/", wait_until="commit")
    page.wait_for_function(SETTLED_JS, timeout=TIMEOUT_MS)
    usable = page.evaluate("performance.now()")
    navigation = page.evaluate(
        "(() => { const n = performance.getEntriesByType('navigation')[0];"
        " return {html: n.responseEnd, dom: n.domContentLoadedEventEnd}; })()"
    )
    return {"usable_ms": usable, **navigation, "api": page.evaluate(API_ENTRIES_JS, 0)}


def transactions_scroll(page: Any, pages: int) -> dict[str, Any]:
    start = page.evaluate("performance.now()")
    page.evaluate("location.hash = '#/transactions'")
    rows = page.locator("tbody tr")
    marks = []
    for n in range(1, pages + 1):
        page.wait_for_function(
            "(n) => document.querySelectorAll('tbody tr').length >= n",
            arg=50 * n,
            timeout=TIMEOUT_MS,
        )
        marks.append(page.evaluate("performance.now()") - start)
        if n < pages:
            page.mouse.wheel(0, 50_000)  # near the end: the next page loads
    status = page.get_by_role("status").filter(has_text="transactions").inner_text()
    return {
        "page_ms": [marks[0]] + [b - a for a, b in itertools.pairwise(marks)],
        "rows": rows.count(),
        "status": status,
        "api": page.evaluate(API_ENTRIES_JS, start),
    }


def run(runs: int, pages: int) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    meta = dataset.ensure()
    url = dataset.database_url()
    with tempfile.TemporaryDirectory(prefix="bench-webapp-") as tmp:
        env = production_env(DATABASE_URL=url, STATIC_ROOT=str(Path(tmp) / "static"))
        serve_static(env)
        with gunicorn(env, workers=2, timeout=60) as base, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM)
            context = browser.new_context(viewport=VIEWPORT)
            page = context.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            page.goto(f"{base}/#/signin")
            page.get_by_label("Username or email").fill(dataset.HEAVY_USERNAME)
            page.get_by_label("Password").fill(dataset.HEAVY_PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_function(SETTLED_JS, timeout=TIMEOUT_MS)
            refresh = page.evaluate("localStorage.getItem('bt.refresh')")
            context.close()

            # A fresh context: no HTTP cache, the refresh token as a returning person has it.
            cold_context = browser.new_context(viewport=VIEWPORT)
            keep = "localStorage.getItem('bt.refresh') || localStorage.setItem('bt.refresh', {})"
            cold_context.add_init_script(keep.format(json.dumps(refresh)))
            page = cold_context.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            loads = [dashboard_load(page, base, reload=False)]
            for _ in range(runs - 1):
                loads.append(dashboard_load(page, base, reload=True))
            scrolls = []
            for _ in range(2):  # from the dashboard, freshly loaded
                page.evaluate("location.hash = '#/'")
                dashboard_load(page, base, reload=True)
                scrolls.append(transactions_scroll(page, pages))
            browser.close()
    return {
        "machine": f"{platform.node()} · {platform.processor() or platform.machine()} · "
        f"{_cpus()} CPUs",
        "measured_at": time.strftime("%Y-%m-%d %H:%M:%S"),
        "dataset": {k: meta.get(k) for k in ("built_on", "database", "database_size")},
        "dashboard": loads,
        "transactions": scrolls,
    }


def _cpus() -> int:
    return os.cpu_count() or 0


def report(result: dict[str, Any]) -> None:
    loads = result["dashboard"]
    print(f"\nWeb app, heavy user ({result['machine']}, {result['measured_at']})")
    print("\nDashboard usable (ms since navigation start; run 1 = empty browser cache)")
    print(
        f"{'run':>4} {'HTML':>7} {'DOM ready':>10} {'usable':>8} {'API calls':>10} "
        f"{'slowest API call':>40}"
    )
    for i, load in enumerate(loads, 1):
        slowest = max(load["api"], key=lambda e: e["ms"])
        name = slowest["url"].split("?")[0]
        print(
            f"{i:>4} {load['html']:7.0f} {load['dom']:10.0f} {load['usable_ms']:8.0f} "
            f"{len(load['api']):>10} {name[-30:]:>30} {slowest['ms']:7.0f} ms"
        )
    warm = [load["usable_ms"] for load in loads[1:]] or [loads[0]["usable_ms"]]
    print(
        f"cold {loads[0]['usable_ms']:.0f} ms; warm median {statistics.median(warm):.0f} ms, "
        f"max {max(warm):.0f} ms"
    )
    print("\nAPI requests of the last dashboard load")
    for entry in sorted(loads[-1]["api"], key=lambda e: e["start"]):
        print(f"  {entry['start']:7.0f} +{entry['ms']:5.0f} ms  {entry['url'][:90]}")
    for i, scroll in enumerate(result["transactions"], 1):
        pages = " / ".join(f"{ms:.0f}" for ms in scroll["page_ms"])
        print(
            f"\nTransactions, pass {i}: ms to each further 50 rows: {pages}; "
            f"{scroll['rows']} rows shown ({scroll['status']})"
        )
        for entry in scroll["api"]:
            print(f"  +{entry['ms']:5.0f} ms  {entry['bytes']:>7} B  {entry['url'][:100]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--pages", type=int, default=5)
    args = parser.parse_args()
    result = run(args.runs, args.pages)
    report(result)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2))
    print(f"\n{RESULTS}")


if __name__ == "__main__":
    main()
