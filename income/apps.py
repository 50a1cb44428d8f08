from django.apps import AppConfig


class IncomeConfig(AppConfig):
    name = "income"
    verbose_name = "Income"

    def ready(self) -> None:
        from categories.services import register_category_reassign, register_rule_target
        from users.base_currency import register_converter

        from . import services
        from .models import Income

        # Users and categories sit below income and cannot name it: it declares itself.
        register_converter("income", services.incomes_recompute_base, records=Income)
        register_rule_target("incomes", model=Income, apply=services.incomes_apply_rules)
        register_category_reassign(Income, reassign=services.incomes_reassign_category)
