"""Statement import batches: preview → commit → undo (SPEC §11)."""

from django.db import models

from core.models import OwnedModel


class BatchStatus(models.TextChoices):
    PREVIEW = "preview", "Preview"
    COMMITTING = "committing", "Committing"  # a big commit running on the task queue
    COMMITTED = "committed", "Committed"
    UNDOING = "undoing", "Undoing"  # a big undo running on the task queue
    UNDONE = "undone", "Undone"  # what a queued undo leaves: records gone, batch kept
    FAILED = "failed", "Failed"  # a queued commit or undo failed; `error` says why


class ImportFormat(models.TextChoices):
    CSV = "csv", "CSV"
    OFX = "ofx", "OFX"
    QFX = "qfx", "QFX"
    QIF = "qif", "QIF"
    XLSX = "xlsx", "Excel (XLSX)"


class ImportBatch(OwnedModel):
    """One uploaded statement. Its parsed rows live in `rows` (a JSON list) until commit,
    which stores them as expenses and income that point back here, so the batch can be
    undone. A JSON document instead of a row table keeps 100 000-row previews fast."""

    status = models.CharField(
        max_length=10, choices=BatchStatus.choices, default=BatchStatus.PREVIEW
    )
    format = models.CharField(max_length=4, choices=ImportFormat.choices)
    filename = models.CharField(max_length=255, blank=True, default="")
    default_currency = models.CharField(max_length=3)
    total_rows = models.PositiveIntegerField(default=0)
    new_rows = models.PositiveIntegerField(default=0)
    duplicate_rows = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    rows = models.JSONField(default=list, blank=True)
    expense_count = models.PositiveIntegerField(default=0)
    income_count = models.PositiveIntegerField(default=0)
    committed_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True, default="")  # why a queued commit or undo failed

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "import batches"
        indexes = [models.Index(fields=["user", "-created_at"], name="imports_user_created_idx")]

    def __str__(self) -> str:
        return f"{self.filename or self.format} ({self.status})"
