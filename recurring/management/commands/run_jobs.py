from django.core.management.base import BaseCommand

from core.jobs import JOBS, resolve


class Command(BaseCommand):
    help = (
        "Run every scheduled job once (create due recurring transactions, bill reminders, "
        "monthly summaries, flush expired tokens). Idempotent: safe from cron at any interval."
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--only", choices=[name for name, _ in JOBS], action="append")

    def handle(self, *args: object, **options: object) -> None:
        wanted = options.get("only") or [name for name, _ in JOBS]
        for name, path in JOBS:
            if name in wanted:
                result = resolve(path)()
                self.stdout.write(f"{name}: {result}")
