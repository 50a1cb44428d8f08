from django.apps import AppConfig


class ExpensesConfig(AppConfig):
    name = "expenses"
    verbose_name = "Expenses"

    def ready(self) -> None:
        from categories.services import register_category_reassign, register_rule_target
        from users.base_currency import register_converter

        from . import services
        from .models import Expense

        # Users and categories sit below expenses and cannot name it: it declares itself.
        register_converter("expenses", services.expenses_recompute_base, records=Expense)
        register_rule_target("expenses", model=Expense, apply=services.expenses_apply_rules)
        register_category_reassign(Expense, reassign=services.expenses_reassign_category)
