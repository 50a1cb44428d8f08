"""Celery tasks of imports: big commits and undos off the request (IMPORT_ASYNC_ROWS)."""

from celery import shared_task

from . import services


@shared_task(name="imports.commit", ignore_result=True)
def import_commit_task(batch_id: int, skip_errors: bool = False) -> None:
    """Run one queued commit; safe to deliver twice. `skip_errors` was checked when the
    commit was queued and is kept for the record."""
    services.import_commit_queued(batch_id=batch_id)


@shared_task(name="imports.undo", ignore_result=True)
def import_undo_task(batch_id: int) -> None:
    """Run one queued undo; safe to deliver twice."""
    services.import_undo_queued(batch_id=batch_id)
