"""Scheduled jobs: declared once by the app that owns them (core.jobs registry), and run
by Celery beat, `manage.py run_jobs` and the in-process scheduler of `manage.py run_dev`
(`make run`) — issue 13."""

from __future__ import annotations

import ast
import io
import logging
import threading
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.core.management import CommandError, call_command

from core import jobs
from core.jobs import DAY, HOUR, Job, JobScheduler, register_job
from expenses.models import Expense
from recurring.models import RecurringItem, RecurringOccurrence
from users.tests.factories import UserFactory

# What settings.CELERY_BEAT_SCHEDULE declared by hand before the registry.
SCHEDULE_BEFORE = {
    "create-due-occurrences": {"task": "jobs.create_due_occurrences", "schedule": 3600.0},
    "send-bill-reminders": {"task": "jobs.send_bill_reminders", "schedule": 3600.0},
    "send-monthly-summaries": {"task": "jobs.send_monthly_summaries", "schedule": 3600.0},
    "flush-expired-tokens": {"task": "jobs.flush_expired_tokens", "schedule": 86400.0},
    "train-categorisers": {"task": "jobs.train_categorisers", "schedule": 86400.0},
    "detect-category-anomalies": {"task": "jobs.detect_category_anomalies", "schedule": 86400.0},
    "sync-connections": {"task": "jobs.sync_connections", "schedule": 3600.0},
    "retry-webhook-deliveries": {"task": "jobs.retry_webhook_deliveries", "schedule": 60.0},
    "prune-webhook-deliveries": {"task": "jobs.prune_webhook_deliveries", "schedule": 86400.0},
}


@pytest.fixture
def registry(monkeypatch):
    """An empty job registry for the test; the apps' registrations come back after."""
    fresh: dict[str, Job] = {}
    monkeypatch.setattr(jobs, "_registry", fresh)
    return fresh


def due_bill(user) -> RecurringItem:
    return RecurringItem.objects.create(
        user=user,
        kind="expense",
        amount=Decimal("12.34"),
        currency="USD",
        description="Streaming service",
        frequency="daily",
        interval=1,
        start_date=date.today(),
        auto_create=True,
        active=True,
    )


def test_the_registry_gives_the_schedule_beat_had_before():
    from budget_tracker.celery import app

    assert jobs.beat_schedule() == SCHEDULE_BEFORE
    app.finalize()
    for key, entry in SCHEDULE_BEFORE.items():
        assert app.conf.beat_schedule[key] == entry
        assert entry["task"] in app.tasks


def test_each_job_is_declared_by_the_app_that_owns_it():
    owners = {job.name: job.func.__module__ for job in jobs.registered_jobs()}
    assert owners == {
        "create_due_occurrences": "recurring.services",
        "send_bill_reminders": "recurring.services",
        "send_monthly_summaries": "reports.services",
        "flush_expired_tokens": "users.services",
        "train_categorisers": "ai.training",
        "detect_category_anomalies": "ai.anomalies",
        "sync_connections": "connections.tasks",
        "retry_webhook_deliveries": "webhooks.tasks",
        "prune_webhook_deliveries": "webhooks.services",
    }


def test_a_job_name_is_declared_once(registry):
    def one() -> int:
        return 1

    def other() -> int:
        return 2

    register_job("cleanup", one, every=HOUR)
    register_job("cleanup", one, every=HOUR)  # the same declaration again (ready() twice)
    with pytest.raises(ValueError, match="'cleanup' is already registered"):
        register_job("cleanup", other, every=HOUR)
    with pytest.raises(ValueError, match="positive"):
        register_job("never", other, every=0)
    assert [job.name for job in jobs.registered_jobs()] == ["cleanup"]
    assert registry["cleanup"].func is one


def test_run_jobs_runs_each_registered_job_once(registry):
    calls: list[str] = []

    def job(name: str, result: int):
        def run() -> int:
            calls.append(name)
            return result

        return run

    register_job("first", job("first", 3), every=HOUR)
    register_job("second", job("second", 0), every=DAY)

    out = io.StringIO()
    call_command("run_jobs", stdout=out)
    assert calls == ["first", "second"]
    assert out.getvalue().splitlines() == ["first: 3", "second: 0"]

    calls.clear()
    call_command("run_jobs", "--only", "second", stdout=io.StringIO())
    assert calls == ["second"]
    with pytest.raises(CommandError, match="invalid choice: 'third'"):
        call_command("run_jobs", "--only", "third")


@pytest.mark.django_db
def test_a_tick_creates_the_due_occurrence_and_survives_a_failing_job(registry, caplog):
    from recurring import services

    def broken() -> int:
        raise RuntimeError("mail server down")

    register_job("broken", broken, every=HOUR)
    register_job("create_due_occurrences", services.create_due_occurrences, every=HOUR)
    user = UserFactory()
    item = due_bill(user)

    with caplog.at_level(logging.INFO, logger="core.jobs"):
        assert jobs.tick() == {"create_due_occurrences": 1}
    assert "Scheduled job broken failed" in caplog.text
    assert "mail server down" in caplog.text
    expense = Expense.objects.get(user=user)
    assert (expense.amount, expense.date) == (Decimal("12.34"), date.today())
    assert RecurringOccurrence.objects.filter(item=item, date=date.today()).count() == 1

    assert jobs.tick() == {"create_due_occurrences": 0}  # idempotent
    assert Expense.objects.filter(user=user).count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_scheduler_thread_creates_a_due_bill_without_manual_steps():
    user = UserFactory()
    due_bill(user)
    scheduler = JobScheduler(interval=0.05)
    scheduler.start()
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not Expense.objects.filter(user=user).exists():
            time.sleep(0.05)
        assert Expense.objects.filter(user=user, description="Streaming service").count() == 1
        while time.monotonic() < deadline and scheduler.ticks < 3:
            time.sleep(0.05)
        assert scheduler.ticks >= 3
    finally:
        scheduler.stop()
    assert not scheduler.running
    assert Expense.objects.filter(user=user).count() == 1  # later ticks created nothing more


def test_the_scheduler_keeps_ticking_after_a_failure_and_stops_cleanly(registry, caplog):
    runs: list[int] = []

    def flaky() -> int:
        runs.append(1)
        if len(runs) == 1:
            raise RuntimeError("first run fails")
        return 0

    register_job("flaky", flaky, every=HOUR)
    scheduler = JobScheduler(interval=0.01)
    with caplog.at_level(logging.ERROR, logger="core.jobs"):
        scheduler.start()
        with pytest.raises(RuntimeError, match="already running"):
            scheduler.start()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and len(runs) < 3:
            time.sleep(0.01)
        scheduler.stop()
    assert len(runs) >= 3
    assert "Scheduled job flaky failed" in caplog.text
    assert not scheduler.running
    count = len(runs)
    time.sleep(0.05)
    assert len(runs) == count  # stopped means no more runs


def test_the_scheduler_survives_a_tick_that_fails_outright(monkeypatch, caplog):
    calls: list[int] = []

    def tick() -> dict:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("database unreachable")
        return {}

    monkeypatch.setattr(jobs, "tick", tick)
    scheduler = JobScheduler(interval=0.01)
    with caplog.at_level(logging.ERROR, logger="core.jobs"):
        scheduler.start()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and len(calls) < 2:
            time.sleep(0.01)
        scheduler.stop()
    assert len(calls) >= 2
    assert "Job scheduler tick failed" in caplog.text


def test_no_scheduler_runs_in_tests():
    assert [t for t in threading.enumerate() if t.name == "job-scheduler"] == []


# --- manage.py run_dev --------------------------------------------------------------------


def test_only_the_serving_process_ticks_under_the_autoreloader():
    from core.management.commands.run_dev import serving_process

    assert serving_process(use_reloader=False, environ={}) is True
    assert serving_process(use_reloader=True, environ={}) is False  # the watching parent
    assert serving_process(use_reloader=True, environ={"RUN_MAIN": "true"}) is True


@pytest.mark.parametrize(
    ("argv", "environ", "ticks"),
    [
        (["--noreload"], {}, True),
        ([], {}, False),  # the reloader's parent only watches files
        ([], {"RUN_MAIN": "true"}, True),  # the reloader's child serves
        (["--noreload", "--no-jobs"], {}, False),
    ],
)
def test_run_dev_serves_with_the_scheduler_running_then_stops_it(monkeypatch, argv, environ, ticks):
    from django.utils import autoreload

    from core.management.commands import run_dev

    monkeypatch.delenv("RUN_MAIN", raising=False)
    for key, value in environ.items():
        monkeypatch.setenv(key, value)
    started: list[JobScheduler] = []
    seen: dict[str, object] = {}

    class RecordingScheduler(JobScheduler):
        def start(self) -> None:
            started.append(self)
            super().start()

    def serve(self, *args, **options):  # stands in for runserver's blocking serve loop
        seen["running"] = bool(started) and started[0].running
        seen["interval"] = started[0].interval if started else None

    monkeypatch.setattr(run_dev, "JobScheduler", RecordingScheduler)
    monkeypatch.setattr(run_dev.RunserverCommand, "inner_run", serve)
    monkeypatch.setattr(
        autoreload, "run_with_reloader", lambda main, **kw: main(None, **kw)
    )  # run the reloaded function here, in whichever process role `environ` says
    monkeypatch.setattr(jobs, "tick", lambda: {})  # no database in this test

    call_command("run_dev", "127.0.0.1:0", "--jobs-every", "30", "--skip-checks", *argv)

    assert seen["running"] is ticks
    assert seen["interval"] == (30.0 if ticks else None)
    assert all(not scheduler.running for scheduler in started)  # stopped on the way out


def test_run_dev_refuses_a_non_positive_interval():
    with pytest.raises(CommandError, match="--jobs-every must be a positive"):
        call_command("run_dev", "--noreload", "--jobs-every", "0")


# --- layering ----------------------------------------------------------------------------


def names_a_module(base: Path, parts: list[str]) -> bool:
    path = base.joinpath(*parts[:2])
    return path.is_dir() or path.with_suffix(".py").is_file()


def test_core_imports_no_app():
    """Core is the bottom layer (ARCHITECTURE.md): no import of a project app, and no
    dotted path naming one (the old `core.jobs` resolved "recurring.services.…")."""
    base = Path(settings.BASE_DIR)
    core = base / "core"
    project = {
        config.name.split(".")[0]
        for config in apps.get_app_configs()
        if Path(config.path).parent == base and config.name != "core"
    } | {"budget_tracker"}
    found = []
    for path in sorted(core.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                parts = node.value.split(".")
                if len(parts) > 1 and parts[0] in project and names_a_module(base, parts):
                    names = [node.value]
            for name in names:
                if name.split(".")[0] in project:
                    found.append(f"{path.relative_to(base)}:{node.lineno} {name}")
    assert len(project) > 5, project
    assert found == []
