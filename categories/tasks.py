"""Celery tasks of categories: long rule runs off the request (see `rule_application_queue`)."""

from celery import shared_task

from . import services


@shared_task(name="categories.rules_apply", ignore_result=True)
def rules_apply_task(application_id: int) -> None:
    """Run one queued `POST /rules/apply/`; safe to deliver twice."""
    services.rule_application_run(application_id=application_id)
