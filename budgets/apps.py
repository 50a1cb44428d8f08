from django.apps import AppConfig


class BudgetsConfig(AppConfig):
    name = "budgets"
    verbose_name = "Budgets"

    def ready(self) -> None:
        from categories.services import register_category_reassign
        from expenses.signals import expenses_written
        from users.base_currency import register_converter

        from . import services
        from .models import Budget

        # Expenses sit below budgets: they announce their writes, budgets alerts on them.
        expenses_written.connect(
            services.budget_alerts_on_expenses_written, dispatch_uid="budgets-expense-alerts"
        )
        register_converter("budgets", services.budgets_convert_currency)
        register_category_reassign(Budget, reassign=services.budgets_reassign_category)
