"""Celery tasks of connections: syncs run on the task queue (eagerly in development)."""

from celery import shared_task

from . import services


@shared_task(name="connections.sync", ignore_result=True)
def connection_sync_task(connection_id: int) -> None:
    """Run one queued sync; safe to deliver twice (only a `queued` connection runs)."""
    services.connection_sync_queued(connection_id=connection_id)


def sync_due_connections() -> int:
    """The scheduled job `sync_connections`: queue every connection due for a sync."""
    return services.sync_connections_due(enqueue=connection_sync_task.delay)
