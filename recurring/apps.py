from django.apps import AppConfig


class RecurringConfig(AppConfig):
    name = "recurring"
    verbose_name = "Recurring bills and income"

    def ready(self) -> None:
        from categories.services import register_category_reassign
        from core.jobs import HOUR, register_job

        from . import services
        from .models import RecurringItem

        # Hourly: each job works in every user's own time zone and catches up after
        # an outage, so this keeps "today" right for everyone.
        register_job("create_due_occurrences", services.create_due_occurrences, every=HOUR)
        register_job("send_bill_reminders", services.send_bill_reminders, every=HOUR)
        register_category_reassign(
            RecurringItem, reassign=services.recurring_items_reassign_category
        )
