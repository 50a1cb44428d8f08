"""Celery tasks of users: base-currency changes of big accounts, off the request."""

from celery import shared_task

from . import services


@shared_task(name="users.base_currency_change", ignore_result=True)
def base_currency_change_task(change_id: int) -> None:
    """Carry out one queued base-currency change; safe to deliver twice."""
    services.base_currency_change_run(change_id=change_id)
