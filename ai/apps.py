from django.apps import AppConfig


class AiConfig(AppConfig):
    name = "ai"
    verbose_name = "Insights"

    def ready(self) -> None:
        from core.jobs import DAY, register_job

        from . import training

        # Daily: retrains only the books whose categorised records changed since their
        # model, a bounded number per run; imports call training.train_book at once.
        register_job("train_categorisers", training.train_due_books, every=DAY)

        from ledger.services import register_category_suggester

        from .suggestions import record_suggestion

        # Records created with no category (and no matching rule) get its suggestion.
        register_category_suggester(record_suggestion)

        from expenses.signals import expenses_written

        from . import anomalies

        # Unusual spending (SPEC §16): the written dates' expenses after each write commits
        # (one summary per import); categories far above their month, daily.
        expenses_written.connect(
            anomalies.anomalies_on_expenses_written, dispatch_uid="ai-anomalies-on-write"
        )
        register_job(
            "detect_category_anomalies", anomalies.detect_category_anomalies_due, every=DAY
        )
