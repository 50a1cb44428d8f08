from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = "Reports"

    def ready(self) -> None:
        from core.jobs import HOUR, register_job

        from . import services

        # Hourly, in every user's own time zone: the first run of their new month sends
        # the summary of the last one; the dedupe key makes it once a month.
        register_job("send_monthly_summaries", services.send_monthly_summaries, every=HOUR)
