"""Categories (system and per-book), tags and auto-categorisation rules (SPEC §5, §14).

Which of them a request sees is decided by `books.scoping` (the book's own plus the
system categories), never here.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower

from books.models import BookOwnedModel, fill_personal_book
from core.models import TimeStampedModel


class Kind(models.TextChoices):
    EXPENSE = "expense", "Expense"
    INCOME = "income", "Income"


class Category(TimeStampedModel):
    """A system category is held by no book (`book` is null) and is visible in every book."""

    book = models.ForeignKey(
        "books.Book",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
        help_text="The book holding it; empty for system categories.",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The member who created it; empty for system categories.",
    )
    name = models.CharField(max_length=64)
    kind = models.CharField(max_length=7, choices=Kind.choices)
    parent = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="children"
    )
    icon = models.CharField(max_length=64, blank=True, default="")
    color = models.CharField(max_length=7, blank=True, default="")

    class Meta:
        ordering = ["kind", "name", "id"]
        verbose_name_plural = "categories"
        constraints = [
            models.UniqueConstraint(
                Lower("name"),
                "kind",
                "book",
                condition=Q(book__isnull=False),
                name="categories_unique_name_per_book_kind_ci",
            ),
            models.UniqueConstraint(
                Lower("name"),
                "kind",
                condition=Q(book__isnull=True),
                name="categories_unique_system_name_per_kind_ci",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=["expense", "income"]), name="categories_kind_valid"
            ),
            models.CheckConstraint(condition=~Q(name=""), name="categories_name_not_empty"),
        ]
        indexes = [models.Index(fields=["book", "kind"], name="categories_book_kind_idx")]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"

    def save(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        fill_personal_book(self)
        super().save(*args, **kwargs)

    @property
    def is_system(self) -> bool:
        return self.book_id is None


class Tag(BookOwnedModel):
    name = models.CharField(max_length=64)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(Lower("name"), "book", name="tags_unique_name_per_book_ci"),
            models.CheckConstraint(condition=~Q(name=""), name="tags_name_not_empty"),
        ]

    def __str__(self) -> str:
        return self.name


class RuleField(models.TextChoices):
    DESCRIPTION = "description", "Description"
    MERCHANT = "merchant", "Merchant"
    ANY = "any", "Any"


class RuleOperator(models.TextChoices):
    CONTAINS = "contains", "Contains"
    EQUALS = "equals", "Equals"
    STARTS_WITH = "starts_with", "Starts with"
    REGEX = "regex", "Regular expression"


class Rule(BookOwnedModel):
    """Sets the category (and adds tags) of a new uncategorised record that matches."""

    name = models.CharField(max_length=100)
    field = models.CharField(max_length=11, choices=RuleField.choices, default=RuleField.ANY)
    operator = models.CharField(
        max_length=11, choices=RuleOperator.choices, default=RuleOperator.CONTAINS
    )
    value = models.CharField(max_length=200)
    case_sensitive = models.BooleanField(default=False)
    category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="rules")
    add_tags = models.ManyToManyField(Tag, blank=True, related_name="rules")
    priority = models.IntegerField(default=100, help_text="Lower numbers are tried first.")
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["priority", "id"]
        indexes = [
            models.Index(fields=["book", "active", "priority"], name="rules_book_active_idx")
        ]

    def __str__(self) -> str:
        return self.name


class RuleApplicationStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class RuleApplication(BookOwnedModel):
    """One large run of `POST /rules/apply/`, handed to the task queue and polled by its owner.

    Counts are filled in when the run is `done`; a `failed` run changed nothing (it runs
    in one transaction).
    """

    only_uncategorized = models.BooleanField(default=True)
    status = models.CharField(
        max_length=7, choices=RuleApplicationStatus.choices, default=RuleApplicationStatus.QUEUED
    )
    candidates = models.PositiveIntegerField(
        default=0, help_text="Records the run looks at (counted when it was queued)."
    )
    changed = models.PositiveIntegerField(default=0)
    expenses = models.PositiveIntegerField(default=0)
    incomes = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=200, blank=True, default="")
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["queued", "running", "done", "failed"]),
                name="rule_applications_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(changed=models.F("expenses") + models.F("incomes")),
                name="rule_applications_changed_is_sum",
            ),
        ]
        indexes = [models.Index(fields=["book", "-created_at"], name="rule_applications_book_idx")]

    def __str__(self) -> str:
        return f"Rule application {self.pk} ({self.status})"
