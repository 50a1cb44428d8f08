"""In-app notifications and per-kind delivery preferences (SPEC §12)."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from core.models import OwnedModel


class NotificationKind(models.TextChoices):
    BUDGET_WARN = "budget_warn", "Budget warning"
    BUDGET_EXCEEDED = "budget_exceeded", "Budget exceeded"
    BILL_DUE = "bill_due", "Bill due"
    GOAL_ACHIEVED = "goal_achieved", "Goal achieved"
    UNUSUAL_SPENDING = "unusual_spending", "Unusual spending"
    MONTHLY_SUMMARY = "monthly_summary", "Monthly summary"
    CONNECTION_ERROR = "connection_error", "Bank connection error"
    WEBHOOK_DISABLED = "webhook_disabled", "Webhook disabled"


# Email is on by default only for what a user would not want to miss.
EMAIL_ON_BY_DEFAULT = frozenset(
    {
        NotificationKind.BUDGET_EXCEEDED,
        NotificationKind.BILL_DUE,
        NotificationKind.GOAL_ACHIEVED,
        NotificationKind.MONTHLY_SUMMARY,
        NotificationKind.CONNECTION_ERROR,
        NotificationKind.WEBHOOK_DISABLED,
    }
)


class NotificationQuerySet(models.QuerySet):
    def visible_to(self, user):  # type: ignore[no-untyped-def]
        return self.filter(user=user, in_app=True)


class Notification(OwnedModel):
    """One event told to a user. `dedupe_key` makes "once per budget, level and month" hold
    in the database: a second notification with the same key cannot be stored."""

    kind = models.CharField(max_length=32, choices=NotificationKind.choices)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True, default="")
    data = models.JSONField(default=dict, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    dedupe_key = models.CharField(max_length=200, blank=True, default="")
    in_app = models.BooleanField(default=True, help_text="Shown in the in-app list.")
    emailed_at = models.DateTimeField(null=True, blank=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "dedupe_key"],
                condition=~Q(dedupe_key=""),
                name="notifications_unique_dedupe_key",
            ),
        ]
        indexes = [
            models.Index(
                fields=["user", "in_app", "-created_at"], name="notifications_user_list_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind}: {self.title}"


class NotificationPreference(models.Model):
    """A user's choice for one kind; a missing row means the defaults."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=32, choices=NotificationKind.choices)
    in_app = models.BooleanField(default=True)
    email = models.BooleanField(default=False)

    class Meta:
        ordering = ["kind"]
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], name="notification_prefs_unique_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind}: in_app={self.in_app} email={self.email}"
