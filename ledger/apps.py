from django.apps import AppConfig


class LedgerConfig(AppConfig):
    """Abstract bases shared by expenses and income (no tables of its own)."""

    name = "ledger"
    verbose_name = "Ledger"
