"""The README and docs/ are checked, not trusted.

Every relative link (and its anchor) points at something that exists; every file path,
`manage.py` command, `make` target and `python -m` module they mention exists; the
configuration table lists exactly the environment variables the settings read; every
local URL they show resolves; and the README's curl walkthrough runs exactly as printed
against a live gunicorn on a throwaway database, each step answering the status its
comment states.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.core.management import get_commands, load_command_class
from django.urls import Resolver404, resolve

from tests.live_server import PROJECT, gunicorn, manage, production_env

DOCS = [PROJECT / "README.md", *sorted((PROJECT / "docs").glob("*.md"))]
DOC_IDS = [str(path.relative_to(PROJECT)) for path in DOCS]

FENCE = re.compile(r"^```([^\n]*)\n(.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)
INLINE_CODE = re.compile(r"`([^`\n]+)`")
LINK = re.compile(r"\[(?:[^\]\n]*)\]\(([^)\s]+)\)")
AUTOLINK = re.compile(r"<(https?://[^>\s]+)>")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)
LOCAL_BASE = "http://127.0.0.1:8000"
# Paths the docs name that are produced by running something, not kept in the repository.
GENERATED = ("bench/results/", ".venv/")


@dataclass
class Doc:
    path: Path
    text: str  # without fenced blocks
    fences: list[tuple[str, str]]  # (info string, body)

    @property
    def code(self) -> list[str]:
        """Every piece of code: inline spans and fenced blocks."""
        return INLINE_CODE.findall(self.text) + [body for _, body in self.fences]


def read(path: Path) -> Doc:
    raw = path.read_text(encoding="utf-8")
    fences = [(info.strip(), body) for info, body in FENCE.findall(raw)]
    return Doc(path, FENCE.sub("", raw), fences)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces → '-'."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).replace("`", "")
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    return {slug(heading) for heading in HEADING.findall(read(path).text)}


# --- links, paths, commands ---------------------------------------------------------------------


@pytest.mark.parametrize("path", DOCS, ids=DOC_IDS)
def test_every_relative_link_points_at_an_existing_file_and_anchor(path):
    doc = read(path)
    links = LINK.findall(doc.text)
    broken = []
    for target in links:
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
            continue
        file_part, _, anchor = target.partition("#")
        resolved = (path.parent / file_part).resolve() if file_part else path
        if not resolved.exists():
            broken.append(f"{target}: no such file")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            broken.append(f"{target}: no heading with anchor #{anchor}")
    assert not broken, f"{path.name}: {broken}"


def test_the_readme_links_every_document_under_docs():
    linked = {
        (PROJECT / target.partition("#")[0]).resolve()
        for target in LINK.findall(read(PROJECT / "README.md").text)
    }
    assert set(DOCS[1:]) <= linked, sorted(str(p) for p in set(DOCS[1:]) - linked)


def _path_like(token: str) -> bool:
    token = token.rstrip(".,;)")
    if "/" not in token or token.startswith("/") or token.endswith("/"):
        return False
    if re.search(r"[:{}?=<>*@$|]", token) or token.startswith(GENERATED):
        return False
    # a file (has an extension) or a dotted directory's file such as .ci/run
    return "." in token.rsplit("/", 1)[-1] or token.startswith(".")


@pytest.mark.parametrize("path", DOCS, ids=DOC_IDS)
def test_every_file_path_in_code_exists(path):
    tokens = {
        token.rstrip(".,;)")
        for code in read(path).code
        for token in code.split()
        if _path_like(token)
    }
    missing = sorted(token for token in tokens if not (PROJECT / token).exists())
    assert not missing, f"{path.name} names files that do not exist: {missing}"


@pytest.mark.parametrize("path", DOCS, ids=DOC_IDS)
def test_every_manage_py_command_exists(path):
    named = {
        name for code in read(path).code for name in re.findall(r"manage\.py[ \t]+(\w+)", code)
    }
    unknown = sorted(named - set(get_commands()))
    assert not unknown, f"{path.name} names manage.py commands that do not exist: {unknown}"


@pytest.mark.parametrize("path", DOCS, ids=DOC_IDS)
def test_every_manage_py_option_exists(path):
    """`manage.py load_rates --fetch [--date …]`: each --option on the line is the command's."""
    commands = get_commands()
    wrong = []
    for code in read(path).code:
        for name, rest in re.findall(r"manage\.py[ \t]+(\w+)([^\n`#]*)", code):
            if name not in commands:
                continue  # reported by the test above
            parser = load_command_class(commands[name], name).create_parser("manage.py", name)
            known = {option for action in parser._actions for option in action.option_strings}
            wrong += [
                f"{name} {option}"
                for option in re.findall(r"--[\w-]+", rest)
                if option not in known
            ]
    assert not wrong, f"{path.name} names options the commands do not have: {wrong}"


def _make_targets() -> set[str]:
    makefile = (PROJECT / "Makefile").read_text()
    return set(re.findall(r"^([a-zA-Z][\w-]*)\s*:(?!=)", makefile, re.MULTILINE))


@pytest.mark.parametrize("path", DOCS, ids=DOC_IDS)
def test_every_make_target_exists(path):
    named = {
        target
        for code in read(path).code
        for target in re.findall(r"(?:^|[\s;&|(])make\s+([a-z][\w-]*)", code)
    }
    unknown = sorted(named - _make_targets())
    assert not unknown, f"{path.name} names make targets the Makefile lacks: {unknown}"


@pytest.mark.parametrize("path", DOCS, ids=DOC_IDS)
def test_every_python_module_run_with_dash_m_exists(path):
    named = {
        module
        for code in read(path).code
        for module in re.findall(r"python3?\s+-m\s+([\w.]+)", code)
    }
    missing = sorted(module for module in named if importlib.util.find_spec(module) is None)
    assert not missing, f"{path.name} runs modules that do not exist: {missing}"


def test_the_command_checks_see_what_the_docs_name():
    """The extractors above find something, so a regex gone wrong cannot pass silently."""
    code = [piece for path in DOCS for piece in read(path).code]
    text = "\n".join(code)
    assert {"run", "test", "test-pg", "bench", "smoke"} <= set(re.findall(r"make\s+([\w-]+)", text))
    assert {"seed_demo", "load_rates", "run_jobs"} <= set(re.findall(r"manage\.py\s+(\w+)", text))
    paths = {token for token in text.split() if _path_like(token)}
    assert {".ci/run", "tests/test_contract.py", "bench/limits.py"} <= paths


@pytest.mark.parametrize("path", DOCS, ids=DOC_IDS)
def test_every_local_url_is_served(path):
    doc = read(path)
    urls = [url for url in AUTOLINK.findall(doc.text) if url.startswith(LOCAL_BASE)]
    urls += [
        url for code in doc.code for url in re.findall(re.escape(LOCAL_BASE) + r"[^\s'\"]*", code)
    ]
    unresolved = []
    for url in urls:
        try:
            path_ = urlsplit(url).path
            if path_:  # the bare server address is not a page
                resolve(path_)
        except Resolver404:
            unresolved.append(url)
    assert not unresolved, f"{path.name}: {unresolved}"


# --- configuration ------------------------------------------------------------------------------


def _variables_read() -> set[str]:
    settings_py = (PROJECT / "budget_tracker" / "settings.py").read_text()
    names = set(re.findall(r"\benv(?:\.\w+)?\(\s*\"([A-Z][A-Z0-9_]*)\"", settings_py))
    names |= set(re.findall(r"_required_in_production\(\"([A-Z][A-Z0-9_]*)\"", settings_py))
    gunicorn_conf = (PROJECT / "gunicorn.conf.py").read_text()
    names |= set(re.findall(r"os\.environ\.get\(\s*\"([A-Z][A-Z0-9_]*)\"", gunicorn_conf))
    return names


def _variables_documented() -> set[str]:
    table_rows = [
        line
        for line in read(PROJECT / "docs" / "configuration.md").text.splitlines()
        if line.startswith("| `")
    ]
    return {
        name for row in table_rows for name in re.findall(r"`([A-Z][A-Z0-9_]*)`", row.split("|")[1])
    }


def test_the_configuration_table_lists_exactly_the_variables_the_settings_read():
    read_, documented = _variables_read(), _variables_documented()
    assert len(read_) > 40, "the settings scan found too few variables; has settings.py moved?"
    assert not read_ - documented, (
        f"read but not in docs/configuration.md: {sorted(read_ - documented)}"
    )
    assert not documented - read_, f"documented but never read: {sorted(documented - read_)}"


# --- the curl walkthrough, executed -------------------------------------------------------------


def walkthrough_blocks() -> list[str]:
    blocks = [body for info, body in read(PROJECT / "README.md").fences if info == "sh walkthrough"]
    assert blocks, "README.md has no ```sh walkthrough block"
    return blocks


def expected_statuses(block: str) -> list[int]:
    """The statuses the block's comments promise, in order: '# Register (201) ...'."""
    return [
        int(code)
        for line in block.splitlines()
        if line.lstrip().startswith("#")
        for code in re.findall(r"\((\d{3})\)", line)
    ]


def test_every_walkthrough_step_states_its_status():
    for block in walkthrough_blocks():
        calls = len(re.findall(r"(?:^|\$\(|\s)curl\s", block))
        assert calls and calls == len(expected_statuses(block)), block


# Observes each curl call: its status line goes to stderr, the output is untouched.
CURL_WATCH = (
    "curl() { command curl --write-out '%{stderr}STATUS %{http_code} %{url_effective}\\n' "
    '"$@"; }\n'
    "set -euo pipefail\n"
)


@pytest.fixture
def live_database(tmp_path):
    """A throwaway database of the kind this pass runs on (SQLite file or PostgreSQL)."""
    if not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        yield f"sqlite:///{tmp_path / 'walkthrough.sqlite3'}"
        return
    import psycopg

    server = os.environ["DATABASE_URL"].rsplit("/", 1)[0]
    name = f"bt_docs_{uuid.uuid4().hex[:12]}"
    admin = f"{server}/postgres"  # the maintenance database, as Django's test runner uses
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    try:
        yield f"{server}/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.mark.skipif(not shutil.which("curl"), reason="curl is not installed")
def test_the_readme_walkthrough_runs_as_printed_against_a_live_server(live_database, tmp_path):
    # The development profile, as under `make run`; the bundled rates are left out (the
    # walkthrough converts nothing) to keep the test fast.
    env = production_env(
        DJANGO_ENV="development",
        DATABASE_URL=live_database,
        MEDIA_ROOT=str(tmp_path / "media"),
        RATES_BUNDLED_AUTOLOAD="false",
    )
    env.pop("CELERY_BROKER_URL", None)
    # What `make run` does before serving (seed_roles is left out: a migration creates the
    # roles too), in one process to save interpreter start-ups.
    manage(
        "shell",
        "-c",
        "from django.core.management import call_command as run; "
        "run('migrate', '--noinput', verbosity=0); run('seed_demo')",
        env=env,
    )
    outputs = []
    with gunicorn(env, workers=1) as base:
        for block in walkthrough_blocks():
            script = CURL_WATCH + block.replace(LOCAL_BASE, base)
            done = subprocess.run(
                ["bash", "-c", script],
                cwd=PROJECT,
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            report = f"stdout:\n{done.stdout[-3000:]}\nstderr:\n{done.stderr[-3000:]}"
            statuses = [int(code) for code in re.findall(r"^STATUS (\d{3}) ", done.stderr, re.M)]
            assert done.returncode == 0, report
            assert statuses == expected_statuses(block), report
            outputs.append(done.stdout)

    demo, walk = outputs
    assert '"access"' in demo and '"refresh"' in demo
    # What the steps did: the import stored the statement's four rows, and the export has
    # the expense typed by hand and those four.
    assert '"expenses": 4,' in walk
    csv_lines = [line for line in walk.splitlines() if line.count(",") > 5]
    descriptions = [line.split(",")[2] for line in csv_lines[1:]]
    assert sorted(descriptions) == sorted(
        [
            "Groceries",
            "Payee Name - Note Text",
            "Payee Name Only",
            "Note Only Text",
            "(no description)",
        ]
    ), csv_lines
