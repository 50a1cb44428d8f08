"""The Celery app: a worker pool and beat run the scheduled jobs in production.

The jobs, their tasks (`jobs.<name>`) and beat's schedule all come from the registry
in `core.jobs`, which the apps fill from their `AppConfig.ready()`. Without
CELERY_BROKER_URL (the embedded default) tasks run eagerly in-process; then
`manage.py run_jobs` runs every job once, for cron, and `manage.py run_dev` (what
`make run` starts) ticks them in-process.
"""

import os
from typing import Any

from celery import Celery

from core.jobs import beat_schedule, registered_jobs

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "budget_tracker.settings")

app = Celery("budget_tracker")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_finalize.connect
def register_job_tasks(sender: Celery, **kwargs: Any) -> None:
    """One task and one beat entry per registered job.

    The app is finalized after `django.setup()` (the Django fixup sets Django up
    before a worker or beat imports its task modules; a Django process is set up
    before it sends any task), so every app has registered its jobs by now."""
    for job in registered_jobs():
        sender.task(name=job.task_name, ignore_result=True)(_job_runner(job.func, job.name))
    sender.conf.beat_schedule = {**(sender.conf.beat_schedule or {}), **beat_schedule()}


def _job_runner(func: Any, name: str) -> Any:
    def run() -> Any:
        return func()

    run.__name__ = run.__qualname__ = name
    run.__doc__ = f"Run the scheduled job {name} once."
    return run
