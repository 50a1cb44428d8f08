"""What expenses tells the apps above it.

A lower app never imports the apps above it; they subscribe to its events instead
(docs/architecture.md). Budgets re-checks its thresholds on `expenses_written`.
"""

from django.dispatch import Signal

# Sent by `expense_create`, `expense_update` and `expenses_bulk_import` inside their
# transaction, once the expenses are stored, with `user` and `dates` (the expenses'
# dates), and `import_batch` when a statement import wrote them (one batch, many records).
# Receivers run before the write commits: one that raises undoes it.
expenses_written = Signal()
