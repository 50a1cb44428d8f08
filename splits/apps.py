from django.apps import AppConfig


class SplitsConfig(AppConfig):
    name = "splits"
    verbose_name = "Splits and settlements"

    def ready(self) -> None:
        from books.services import MEMBER_REMOVAL_CHECKS
        from users.base_currency import register_converter

        from . import services
        from .models import Settlement

        # Books and users sit below splits and cannot name it: it declares itself. The
        # expenses converter (registered earlier) re-allocates the shares; this one
        # converts the settlements.
        register_converter("splits", services.settlements_convert_currency, records=Settlement)
        if services.member_removal_check not in MEMBER_REMOVAL_CHECKS:  # ready() may run twice
            MEMBER_REMOVAL_CHECKS.append(services.member_removal_check)
