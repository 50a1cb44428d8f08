from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Webhooks"

    def ready(self) -> None:
        from core.events import register_listener
        from core.jobs import DAY, MINUTE, register_job

        from . import services, tasks

        # Every book event becomes a pending delivery per subscribed hook, in the
        # write's transaction (the outbox); sends are queued once it commits.
        register_listener(tasks.on_book_event)
        # Every minute: retries that are due, and any delivery whose task was lost.
        register_job("retry_webhook_deliveries", tasks.retry_webhook_deliveries, every=MINUTE)
        # Daily: the delivery log keeps WEBHOOKS_LOG_DAYS days.
        register_job("prune_webhook_deliveries", services.deliveries_prune, every=DAY)
