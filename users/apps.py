from django.apps import AppConfig


class UsersConfig(AppConfig):
    name = "users"
    verbose_name = "Users"

    def ready(self) -> None:
        from books.services import register_base_currency_changes
        from core.jobs import DAY, register_job

        from . import services, signals, tasks  # noqa: F401

        register_job("flush_expired_tokens", services.flush_expired_tokens, every=DAY)
        # Books sits below users: a shared book's new currency (PATCH /books/{id}/) is
        # converted here, as the personal book's (PATCH /auth/me/), queued when big.
        register_base_currency_changes(
            change=lambda **kwargs: services.book_base_currency_change(
                **kwargs, enqueue=lambda pk: tasks.base_currency_change_task.delay(pk)
            ),
            latest=services.base_currency_changes_latest,
        )
