"""The custom user: identity plus the settings every money figure depends on."""

from django.contrib.auth.models import AbstractUser, UserManager
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Lower

from books.models import Book
from core.money import default_currency, validate_currency_code

from .validators import UsernameValidator, validate_timezone


class User(AbstractUser):
    username_validator = UsernameValidator()

    username = models.CharField(
        "username",
        max_length=150,
        unique=True,
        help_text="Required. 150 characters or fewer. Letters, digits and ./+/-/_ only (no @).",
        validators=[username_validator],
        error_messages={"unique": "A user with that username already exists."},
    )
    email = models.EmailField("email address")
    base_currency = models.CharField(
        max_length=3,
        default=default_currency,
        validators=[validate_currency_code],
        help_text="ISO 4217 code every report and budget is expressed in.",
    )
    timezone = models.CharField(
        max_length=64,
        default="UTC",
        validators=[validate_timezone],
        help_text="IANA time zone deciding what 'today' and 'this month' mean.",
    )
    month_start_day = models.PositiveSmallIntegerField(
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(28)],
        help_text="Day (1-28) on which the user's budget month starts.",
    )

    objects = UserManager()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(Lower("username"), name="users_user_username_ci_unique"),
            models.UniqueConstraint(Lower("email"), name="users_user_email_ci_unique"),
            models.CheckConstraint(
                condition=models.Q(month_start_day__gte=1, month_start_day__lte=28),
                name="users_user_month_start_day_1_28",
            ),
        ]

    def __str__(self) -> str:
        return self.username


class BaseCurrencyChangeStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


PENDING_STATUSES = (BaseCurrencyChangeStatus.QUEUED, BaseCurrencyChangeStatus.RUNNING)


class BaseCurrencyChange(models.Model):
    """A base-currency change of a book too big to convert within a request.

    Handed to the task queue and shown until the next one: on `/auth/me/` for the
    personal book, on `/books/{id}/` for any book. A `failed` change converted nothing
    (it runs in one transaction); `error` says why. At most one change per book is
    queued or running, which the database enforces. `user` asked for it (kept null when
    they delete their account; the change of a shared book stays).
    """

    book = models.ForeignKey(Book, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(
        User,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="base_currency_changes",
    )
    from_currency = models.CharField(max_length=3)
    to_currency = models.CharField(max_length=3, validators=[validate_currency_code])
    status = models.CharField(
        max_length=7,
        choices=BaseCurrencyChangeStatus.choices,
        default=BaseCurrencyChangeStatus.QUEUED,
    )
    error = models.CharField(max_length=300, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["book"],
                condition=models.Q(status__in=["queued", "running"]),
                name="users_currency_change_one_pending_per_book",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=["queued", "running", "done", "failed"]),
                name="users_currency_change_status_valid",
            ),
        ]
        indexes = [models.Index(fields=["book", "-id"], name="users_currency_change_book_idx")]

    def __str__(self) -> str:
        return f"{self.from_currency}→{self.to_currency} ({self.status})"
