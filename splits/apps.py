from django.apps import AppConfig


class SplitsConfig(AppConfig):
    name = "splits"
    verbose_name = "Splits and settlements"
