from django.apps import AppConfig


class UsersConfig(AppConfig):
    name = "users"
    verbose_name = "Users"

    def ready(self) -> None:
        from core.jobs import DAY, register_job

        from . import services, signals  # noqa: F401

        register_job("flush_expired_tokens", services.flush_expired_tokens, every=DAY)
