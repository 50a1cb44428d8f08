from django.apps import AppConfig


class ConnectionsConfig(AppConfig):
    name = "connections"
    verbose_name = "Bank connections"

    def ready(self) -> None:
        from core.jobs import HOUR, register_job

        from . import tasks

        # Hourly: each connection decides whether it is due (SIMPLEFIN_SYNC_INTERVAL_HOURS
        # since its last attempt), so a late or repeated run does no harm.
        register_job("sync_connections", tasks.sync_due_connections, every=HOUR)
