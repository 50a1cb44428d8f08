"""The scheduled jobs, registered by the apps that own them.

An app declares each job once, from its `AppConfig.ready()`:

    register_job("create_due_occurrences", services.create_due_occurrences, every=HOUR)

and everything that runs jobs derives from that one declaration: Celery beat's
schedule and the Celery tasks (`budget_tracker/celery.py`), `manage.py run_jobs`
(cron), and the in-process scheduler of `manage.py run_dev` (development).

Every job is idempotent and decides for itself what is due, so running one twice,
late, or on two machines at once does no harm. Core knows no app: the registry is
filled by whoever calls `register_job`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.db import close_old_connections, connections

logger = logging.getLogger(__name__)

MINUTE = 60.0
HOUR = 3600.0
DAY = 86400.0


@dataclass(frozen=True)
class Job:
    """One scheduled job: a callable taking no arguments and returning a count."""

    name: str
    func: Callable[[], Any]
    every: float  # seconds between runs under Celery beat

    @property
    def task_name(self) -> str:
        return f"jobs.{self.name}"

    @property
    def beat_key(self) -> str:
        return self.name.replace("_", "-")


_registry: dict[str, Job] = {}


def register_job(name: str, func: Callable[[], Any], *, every: float) -> Job:
    """Declare a scheduled job. Registering the same name twice is a mistake, unless it
    is the same declaration again (an app's `ready()` may run twice in tests)."""
    if every <= 0:
        raise ValueError(f"job {name!r}: every must be a positive number of seconds")
    job = Job(name=name, func=func, every=float(every))
    existing = _registry.get(name)
    if existing is not None and existing != job:
        raise ValueError(f"job {name!r} is already registered by {existing.func.__module__}")
    _registry[name] = job
    return job


def registered_jobs() -> list[Job]:
    """Every registered job, in registration order (INSTALLED_APPS order).

    Raises AppRegistryNotReady before Django is set up: an empty list then would
    silently schedule nothing."""
    apps.check_apps_ready()
    return list(_registry.values())


def beat_schedule() -> dict[str, dict[str, Any]]:
    """Celery beat's schedule, one entry per registered job."""
    return {
        job.beat_key: {"task": job.task_name, "schedule": job.every} for job in registered_jobs()
    }


def tick() -> dict[str, Any]:
    """Run every registered job once; a failing job is logged and the others still run.

    Returns {name: result} for the jobs that succeeded."""
    results: dict[str, Any] = {}
    for job in registered_jobs():
        try:
            results[job.name] = job.func()
            if results[job.name]:
                logger.info("Scheduled job %s: %s", job.name, results[job.name])
        except Exception:
            logger.exception("Scheduled job %s failed; the next tick retries it", job.name)
    return results


class JobScheduler:
    """Ticks every registered job in a background daemon thread, `interval` seconds
    apart, the first tick at once. For development (`manage.py run_dev`); production
    uses Celery beat. `stop()` lets a running tick finish, then ends the thread."""

    def __init__(self, *, interval: float = MINUTE) -> None:
        if interval <= 0:
            raise ValueError("interval must be a positive number of seconds")
        self.interval = interval
        self.ticks = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.running:
            raise RuntimeError("the job scheduler is already running")
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="job-scheduler", daemon=True)
        self._thread.start()
        logger.info(
            "Job scheduler started: %s every %ss",
            ", ".join(job.name for job in registered_jobs()),
            self.interval,
        )

    def stop(self, timeout: float | None = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                logger.warning("Job scheduler still busy after %ss; leaving it", timeout)
            self._thread = None

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                try:
                    # Fresh connections around each tick, as around a request, so this
                    # long-lived thread never holds a broken or stale one.
                    close_old_connections()
                    tick()
                    close_old_connections()
                except Exception:
                    logger.exception("Job scheduler tick failed; the next tick retries")
                self.ticks += 1
                self._stop.wait(self.interval)
        finally:
            connections.close_all()
