"""`manage.py run_jobs`: every job the apps registered (core.jobs), once, for cron."""

from django.core.management.base import BaseCommand

from core.jobs import registered_jobs


class Command(BaseCommand):
    help = (
        "Run every registered scheduled job once (create due recurring transactions, bill "
        "reminders, monthly summaries, flush expired tokens). Idempotent: safe from cron "
        "at any interval."
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument(
            "--only", choices=[job.name for job in registered_jobs()], action="append"
        )

    def handle(self, *args: object, **options: object) -> None:
        wanted = options.get("only") or [job.name for job in registered_jobs()]
        for job in registered_jobs():
            if job.name in wanted:
                self.stdout.write(f"{job.name}: {job.func()}")
