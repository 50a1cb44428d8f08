"""The production profile (DJANGO_ENV=production): deploy checks, required env, JSON out.

Each test starts a fresh interpreter, because settings are read once at startup.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

PROJECT = Path(__file__).resolve().parents[1]
REQUIRED = ("SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "ENCRYPTION_KEYS", "CACHE_URL")


@pytest.fixture
def prod_env(tmp_path) -> dict[str, str]:
    (tmp_path / "static").mkdir()
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DEBUG", "TLS_TERMINATED", "LOG_FORMAT", "CONN_MAX_AGE", "CACHE_URL"}
        and not key.startswith(("SECURE_", "DJANGO_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="budget_tracker.settings",
        DJANGO_ENV="production",
        SECRET_KEY=secrets.token_urlsafe(64),
        ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        ALLOWED_HOSTS="api.example.com,testserver",
        DATABASE_URL=f"sqlite:///{tmp_path / 'prod.sqlite3'}",
        STATIC_ROOT=str(tmp_path / "static"),
        CACHE_URL=f"filecache://{tmp_path / 'cache'}",
    )
    return env


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=PROJECT, env=env, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_is_clean(prod_env):
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], prod_env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNING" not in result.stdout + result.stderr


def test_plain_http_deployments_are_flagged_by_check_deploy(prod_env):
    result = run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        {**prod_env, "TLS_TERMINATED": "false"},
    )
    assert result.returncode != 0
    for check in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert check in result.stderr


@pytest.mark.parametrize("name", REQUIRED)
def test_each_required_variable_is_named_when_missing(prod_env, name):
    env = {key: value for key, value in prod_env.items() if key != name}
    result = run(["manage.py", "check"], env)
    assert result.returncode != 0
    assert f"ImproperlyConfigured: {name} must be set when DJANGO_ENV=production." in result.stderr


@pytest.mark.parametrize("url", ["locmemcache://", "dummycache://"])
def test_a_per_process_cache_is_refused_in_production(prod_env, url):
    # Throttle counts live in the cache: per process, every worker would allow the limit.
    result = run(["manage.py", "check"], {**prod_env, "CACHE_URL": url})
    assert result.returncode != 0
    assert "CACHE_URL must name a cache every app process shares" in result.stderr


def test_debug_cannot_be_switched_on_in_production(prod_env):
    result = run(["manage.py", "check"], {**prod_env, "DEBUG": "true"})
    assert result.returncode != 0
    assert "DEBUG must be off when DJANGO_ENV=production." in result.stderr


# Runs inside the production interpreter; prints one JSON object with what it saw.
PROBE = textwrap.dedent(
    """
    import json
    import django
    django.setup()
    from django.conf import settings
    from django.test import Client, override_settings

    client = Client(raise_request_exception=False)
    seen = {"debug": settings.DEBUG, "conn_max_age": settings.DATABASES["default"]["CONN_MAX_AGE"],
            "conn_health_checks": settings.DATABASES["default"]["CONN_HEALTH_CHECKS"],
            "storage": settings.STORAGES["staticfiles"]["BACKEND"]}
    plain = client.get("/api/v1/expenses/")
    seen["plain_http"] = [plain.status_code, plain.get("Location")]
    seen["plain_health"] = client.get("/health/").status_code
    missing = client.get("/api/v1/does-not-exist/", secure=True)
    seen["404"] = [missing.status_code, missing["Content-Type"], missing.json()]
    seen["hsts"] = missing.get("Strict-Transport-Security")
    seen["headers"] = {h: missing.get(h) for h in
                       ("X-Frame-Options", "X-Content-Type-Options", "Referrer-Policy")}
    bad_host = client.get("/api/v1/expenses/", HTTP_HOST="evil.example")
    seen["bad_host"] = [bad_host.status_code, bad_host["Content-Type"], bad_host.json()]
    with override_settings(ROOT_URLCONF="tests.test_errors"):
        boom = client.get("/api/v1/boom/", secure=True)
    seen["500"] = [boom.status_code, boom["Content-Type"], boom.json()]
    print(json.dumps(seen))
    """
)


def test_production_errors_are_json_and_logs_are_json_lines(prod_env):
    result = run(["-c", PROBE], prod_env)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)

    assert seen["debug"] is False
    assert seen["conn_max_age"] == 60 and seen["conn_health_checks"] is True
    assert seen["storage"] == "whitenoise.storage.CompressedManifestStaticFilesStorage"
    assert seen["plain_http"] == [301, "https://testserver/api/v1/expenses/"]
    assert seen["plain_health"] == 200  # load balancers may probe over plain HTTP
    assert seen["404"] == [
        404,
        "application/json",
        {"detail": "Not found.", "code": "not_found"},
    ]
    assert seen["bad_host"] == [
        400,
        "application/json",
        {"detail": "The Host header is not allowed.", "code": "disallowed_host"},
    ]
    assert seen["hsts"] == "max-age=31536000; includeSubDomains; preload"
    assert seen["headers"] == {
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
    }
    assert seen["500"] == [
        500,
        "application/json",
        {"detail": "A server error occurred.", "code": "server_error"},
    ]

    records = [json.loads(line) for line in result.stderr.splitlines() if line.strip()]
    assert records, "the 500 should have been logged"
    error = next(r for r in records if r["message"].startswith("Unhandled error on GET"))
    assert error["levelname"] == "ERROR" and error["name"] == "budget_tracker.errors"
    assert "RuntimeError: kaboom" in error["exc_info"]
