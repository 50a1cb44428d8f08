from django.apps import AppConfig


class GoalsConfig(AppConfig):
    name = "goals"
    verbose_name = "Savings goals"

    def ready(self) -> None:
        from users.base_currency import register_converter

        from . import services

        register_converter("goals", services.goals_convert_currency)
