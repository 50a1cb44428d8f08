from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CurrenciesConfig(AppConfig):
    name = "currencies"
    verbose_name = "Currencies and exchange rates"

    def ready(self) -> None:
        from .bundled import autoload_bundled_rates

        # Sent after every `migrate` (and `flush`): a fresh install gets the ECB rates.
        post_migrate.connect(
            autoload_bundled_rates, sender=self, dispatch_uid="currencies-bundled-rates"
        )
