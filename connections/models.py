"""Bank connections (SPEC §17): a user's SimpleFIN Bridge access and the accounts behind it.

A connection belongs to a user, not to a book: it holds one secret (the access URL, with
the bridge's basic-auth credentials in it) that reaches every account the user linked
at the bridge. Each account is mapped to at most one book, chosen by the user among the
books they may write to; a sync imports a mapped account's transactions into that book.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from core.crypto import EncryptedTextField
from core.models import OwnedModel, TimeStampedModel

CONNECTION_NAME_MAX_LENGTH = 100


class ConnectionKind(models.TextChoices):
    SIMPLEFIN = "simplefin", "SimpleFIN Bridge"


class ConnectionStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    ERROR = "error", "Error"  # the last sync failed; `last_error` says why, the next retries
    REVOKED = "revoked", "Revoked"  # the bridge refused the access: reconnect with a new token


class SyncState(models.TextChoices):
    IDLE = "idle", "Idle"
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"


class Connection(OwnedModel):
    """One claimed SimpleFIN access. `access_url` is the secret: encrypted at rest
    (`core.crypto`), never serialized, never logged, excluded from the admin.

    Errors come in episodes: the first failure after a success (or after creation)
    starts one (`error_episode` + 1) and notifies the owner once; later failures of the
    same episode only update `last_error`; a successful sync ends it."""

    kind = models.CharField(
        max_length=16, choices=ConnectionKind.choices, default=ConnectionKind.SIMPLEFIN
    )
    name = models.CharField(max_length=CONNECTION_NAME_MAX_LENGTH)
    access_url = EncryptedTextField()
    status = models.CharField(
        max_length=10, choices=ConnectionStatus.choices, default=ConnectionStatus.ACTIVE
    )
    sync_state = models.CharField(max_length=10, choices=SyncState.choices, default=SyncState.IDLE)
    # When the current sync was queued or started: a queued/running state older than
    # `services.SYNC_STALE_AFTER` (a worker died) no longer blocks a new sync.
    sync_requested_at = models.DateTimeField(null=True, blank=True)
    last_sync_at = models.DateTimeField(null=True, blank=True)  # end of the last attempt
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    last_error_code = models.CharField(max_length=40, blank=True, default="")
    error_episode = models.PositiveIntegerField(default=0)
    # What the last successful sync did: counts per outcome (see serializers.SyncSummary).
    last_sync_summary = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=~Q(name=""), name="connections_name_not_empty"),
            models.CheckConstraint(
                condition=Q(status__in=ConnectionStatus.values), name="connections_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(sync_state__in=SyncState.values), name="connections_sync_state_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["user", "created_at"], name="connections_user_created_idx"),
            models.Index(fields=["status", "last_sync_at"], name="connections_due_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"


class ConnectionAccount(TimeStampedModel):
    """An account the bridge lists for a connection. Unmapped (`book` null) accounts are
    listed but never pulled; a mapped one is imported into its book. `synced_until` is
    the sync cursor: the end of the last imported date range (the next sync starts
    SIMPLEFIN_OVERLAP_DAYS before it)."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="accounts")
    remote_id = models.CharField(max_length=255)
    name = models.CharField(max_length=255, blank=True, default="")
    org_name = models.CharField(max_length=255, blank=True, default="")
    org_domain = models.CharField(max_length=255, blank=True, default="")
    # As the bridge gives it: an ISO 4217 code, or a URL for a custom currency (such an
    # account cannot be imported).
    currency = models.CharField(max_length=255, blank=True, default="")
    balance = models.DecimalField(max_digits=24, decimal_places=6, null=True, blank=True)
    available_balance = models.DecimalField(max_digits=24, decimal_places=6, null=True, blank=True)
    balance_date = models.DateTimeField(null=True, blank=True)
    book = models.ForeignKey(
        "books.Book", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    synced_until = models.DateTimeField(null=True, blank=True)
    # Whether the bridge listed the account at the last successful listing.
    listed = models.BooleanField(default=True)
    last_error = models.TextField(blank=True, default="")
    last_error_code = models.CharField(max_length=40, blank=True, default="")
    error_episode = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["connection_id", "org_name", "name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "remote_id"], name="connections_account_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.org_name} {self.name}".strip() or self.remote_id
