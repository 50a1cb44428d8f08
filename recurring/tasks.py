"""Celery tasks: thin wrappers over the jobs in core.jobs (see the beat schedule in settings)."""

from celery import shared_task

from core.jobs import JOBS, resolve


def _make_task(name: str, path: str):  # type: ignore[no-untyped-def]
    @shared_task(name=f"jobs.{name}", ignore_result=True)
    def task() -> int:
        return resolve(path)()

    task.__doc__ = f"Run {path} once."
    return task


TASKS = {name: _make_task(name, path) for name, path in JOBS}
