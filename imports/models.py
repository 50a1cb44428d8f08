"""Statement import batches: preview → commit → undo (SPEC §11)."""

from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower

from books.models import BookOwnedModel

MAX_PROFILES_PER_BOOK = 100
# The parsed rows an import's answer shows (the first ones; `rows_truncated` says so).
PREVIEW_ROWS_SHOWN = 1000


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
    CAMT = "camt", "ISO 20022 camt.052/camt.053"
    MT940 = "mt940", "SWIFT MT940"
    # Not an upload format: the batches a bank connection's sync imports (connections/).
    SIMPLEFIN = "simplefin", "SimpleFIN bank sync"


class ImportBatch(BookOwnedModel):
    """One uploaded statement. Its parsed rows live in `rows` (a JSON list) until commit,
    which stores them as expenses and income that point back here, so the batch can be
    undone. A JSON document instead of a row table keeps 100 000-row previews fast."""

    status = models.CharField(
        max_length=10, choices=BatchStatus.choices, default=BatchStatus.PREVIEW
    )
    # Room for longer format names (camt.053, mt940) without widening the column again.
    format = models.CharField(max_length=16, choices=ImportFormat.choices)
    filename = models.CharField(max_length=255, blank=True, default="")
    default_currency = models.CharField(max_length=3)
    total_rows = models.PositiveIntegerField(default=0)
    new_rows = models.PositiveIntegerField(default=0)
    duplicate_rows = models.PositiveIntegerField(default=0)
    # Rows that look like a record entered by hand (not imported); skipped on commit
    # unless the commit lists their line in `keep_lines` (SPEC §11).
    possible_duplicate_rows = models.PositiveIntegerField(default=0)
    keep_lines = models.JSONField(default=list, blank=True)
    # The CSV/XLSX options the preview used (a profile's, then the request's) and the
    # header row it found, so a profile can be made from the batch.
    options = models.JSONField(default=dict, blank=True)
    header = models.JSONField(null=True, blank=True)
    profile = models.ForeignKey(
        "imports.ImportProfile", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    profile_matched_by = models.CharField(max_length=12, blank=True, default="")
    errors = models.JSONField(default=list, blank=True)
    rows = models.JSONField(default=list, blank=True)
    expense_count = models.PositiveIntegerField(default=0)
    income_count = models.PositiveIntegerField(default=0)
    committed_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True, default="")  # why a queued commit or undo failed

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "import batches"
        indexes = [models.Index(fields=["book", "-created_at"], name="imports_book_created_idx")]

    def __str__(self) -> str:
        return f"{self.filename or self.format} ({self.status})"


class ImportProfile(BookOwnedModel):
    """A saved CSV/XLSX mapping: upload options under a name, plus the fingerprint of the
    header row it was made for, so a file with that header uses it automatically."""

    name = models.CharField(max_length=100)
    options = models.JSONField(default=dict, blank=True)
    header = models.JSONField(null=True, blank=True)  # the header cells, normalised
    header_fingerprint = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint("book", Lower("name"), name="imports_profile_name_unique_ci"),
            # One profile per header: the automatic choice is never ambiguous.
            models.UniqueConstraint(
                fields=["book", "header_fingerprint"],
                condition=~Q(header_fingerprint=""),
                name="imports_profile_fingerprint_unique",
            ),
            models.CheckConstraint(condition=~Q(name=""), name="imports_profile_name_not_empty"),
        ]

    def __str__(self) -> str:
        return self.name
