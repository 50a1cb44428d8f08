"""/categories/, /tags/ and /rules/ (SPEC §5). Views validate and delegate to services.

Served at the top level (the caller's personal book) and under /books/{book_id}/
(SPEC §14); `books.scoping.BookScopedMixin` scopes every queryset to the book.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.filters import SearchFilter
from rest_framework.permissions import SAFE_METHODS, BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from books.scoping import BookScopedMixin
from core.filters import StrictOrderingFilter
from core.schema import crud_schema, operation_docs, request_example
from users.roles import is_admin

from . import services
from .filters import CategoryFilter, RuleFilter
from .models import Category, Rule, RuleApplication, Tag
from .serializers import (
    CategoryDeleteQuerySerializer,
    CategorySerializer,
    RuleApplicationSerializer,
    RulesApplyInputSerializer,
    RulesApplyResultSerializer,
    RuleSerializer,
    TagSerializer,
)
from .tasks import rules_apply_task

FILTER_BACKENDS = [DjangoFilterBackend, SearchFilter, StrictOrderingFilter]

NOT_FOUND = OpenApiResponse(description="No such object in this book (or the system's).")
VALIDATION_ERROR = OpenApiResponse(description='Validation error: `{"field": ["message"]}`.')
SYSTEM_FORBIDDEN = OpenApiResponse(
    description="System categories can only be changed by an Admin "
    '(`{"detail", "code": "permission_denied"}`).'
)


class SystemCategoryPermission(BasePermission):
    """Everyone reads system categories; only Admins change or delete them."""

    message = "System categories can only be changed by an administrator."

    def has_object_permission(self, request: Request, view: Any, obj: Category) -> bool:
        if request.method in SAFE_METHODS or not obj.is_system:
            return True
        return is_admin(request.user)


CATEGORY = {"name": "Coffee", "kind": "expense", "parent": 1, "icon": "coffee", "color": "#8B5A2B"}
SYSTEM_ADMIN_ONLY = (
    " A system category (`is_system: true`) can only be changed by an Admin: others get 403."
)


@extend_schema_view(
    list=operation_docs(
        "List system categories and the book's own",
        "The seeded system categories (shared, `is_system: true`) plus the book's, by kind then "
        "name. Filters: `kind`, `is_system`, `top_level`; `search` on the name; `ordering` "
        "by `name`, `kind` or `created_at`. Use these ids as `category` of expenses, "
        "income, budgets, rules and recurring items.",
    ),
    retrieve=operation_docs(
        "Get a category",
        "A system category or one of the book's; another book's category is 404.",
        responses={200: CategorySerializer, 404: NOT_FOUND},
    ),
    create=operation_docs(
        "Create a category",
        "Names are trimmed, 1–64 characters, unique per kind among the book's categories "
        "(case-insensitive, system names included). `parent` is an optional top-level "
        "category of the same kind (one level deep). `color` is `#RRGGBB`. Only an Admin "
        "may send `is_system: true` to add a shared category.",
        responses={201: CategorySerializer, 400: VALIDATION_ERROR},
        examples=[request_example(CATEGORY)],
    ),
    update=operation_docs(
        "Replace a category",
        "Same rules as `POST /categories/`; `kind` never changes (create a new category and "
        "delete this one with `?reassign_to=`)." + SYSTEM_ADMIN_ONLY,
        examples=[request_example(CATEGORY)],
        responses={
            200: CategorySerializer,
            400: VALIDATION_ERROR,
            403: SYSTEM_FORBIDDEN,
            404: NOT_FOUND,
        },
    ),
    partial_update=operation_docs(
        "Change some fields of a category",
        "Only the fields sent change, under the rules of `POST /categories/`." + SYSTEM_ADMIN_ONLY,
        examples=[request_example({"icon": "mug", "color": "#6F4E37"})],
        responses={
            200: CategorySerializer,
            400: VALIDATION_ERROR,
            403: SYSTEM_FORBIDDEN,
            404: NOT_FOUND,
        },
    ),
)
class CategoryViewSet(BookScopedMixin, viewsets.ModelViewSet):
    """System categories (no book, read-only except for Admins) plus the book's own."""

    queryset = Category.objects.all()
    serializer_class = CategorySerializer
    permission_classes = [IsAuthenticated, SystemCategoryPermission]
    filter_backends = FILTER_BACKENDS
    filterset_class = CategoryFilter
    search_fields = ["name"]
    ordering_fields = ["name", "kind", "created_at"]
    ordering = ["kind", "name"]
    # System categories (held by no book) are listed in every book, read-only.
    include_shared_rows = True

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        data = dict(serializer.validated_data)
        as_system = data.pop("is_system", False)
        serializer.instance = services.category_create(
            book=self.book, user=self.request.user, data=data, as_system=as_system
        )

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        serializer.instance = services.category_update(
            category=serializer.instance, data=serializer.validated_data
        )

    @extend_schema(
        summary="Delete a category",
        description=(
            "Its subcategories become top-level. A category that expenses, income, budgets "
            "or rules still use answers 409 `category_in_use`, unless `reassign_to` names "
            "the category to move them to first (all in one transaction)." + SYSTEM_ADMIN_ONLY
        ),
        parameters=[
            OpenApiParameter(
                "reassign_to",
                OpenApiTypes.INT,
                OpenApiParameter.QUERY,
                required=False,
                description=(
                    "Move the expenses, income and budgets (and rules) using this category "
                    "to this category first. It must be a visible category of the same "
                    "kind, not the category itself (a system category for a system one)."
                ),
            )
        ],
        responses={
            204: None,
            400: OpenApiResponse(description="`reassign_to` is not a suitable category."),
            403: SYSTEM_FORBIDDEN,
            404: NOT_FOUND,
            409: OpenApiResponse(
                description="The category is in use (`code: category_in_use`) or its records "
                "cannot be moved (`code: reassign_conflict`)."
            ),
        },
    )
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Delete a category; its subcategories become top-level. In use → 409."""
        category = self.get_object()
        query = CategoryDeleteQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        reassign_to = None
        if "reassign_to" in query.validated_data:
            reassign_to = self.get_queryset().filter(pk=query.validated_data["reassign_to"]).first()
            if reassign_to is None:
                raise serializers.ValidationError({"reassign_to": ["No such category."]})
        services.category_delete(category=category, reassign_to=reassign_to)
        return Response(status=status.HTTP_204_NO_CONTENT)


@crud_schema(
    TagSerializer,
    docs={
        "list": (
            "List the book's tags",
            "By name; `search` on the name, `ordering` by `name` or `created_at`. Filter "
            "records by one with `GET /expenses/?tag=<name>`.",
        ),
        "create": (
            "Create a tag",
            "Names are unique per book case-insensitively (at most 64 characters). Tags are "
            "also created on the fly by the `tags` of an expense or income.",
        ),
        "retrieve": ("Get a tag", "One of the book's tags; another book's is 404."),
        "update": (
            "Rename a tag",
            "Every record carrying the tag shows the new name; names stay unique.",
        ),
        "partial_update": (
            "Rename a tag",
            "Same as PUT: `name` is the only field.",
        ),
        "destroy": (
            "Delete a tag",
            "Removes it from every expense and income that carries it; the records stay.",
        ),
    },
    examples={
        "create": [request_example({"name": "holiday"})],
        "update": [request_example({"name": "vacation"})],
        "partial_update": [request_example({"name": "trip"})],
    },
)
class TagViewSet(BookScopedMixin, viewsets.ModelViewSet):
    """The book's tags; names are unique per book case-insensitively."""

    queryset = Tag.objects.all()
    serializer_class = TagSerializer
    filter_backends = FILTER_BACKENDS
    search_fields = ["name"]
    ordering_fields = ["name", "created_at"]
    ordering = ["name"]

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        serializer.instance = services.tag_create(
            book=self.book, user=self.request.user, name=serializer.validated_data["name"]
        )

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        if "name" in serializer.validated_data:
            services.tag_update(tag=serializer.instance, name=serializer.validated_data["name"])


RULE = {
    "name": "Supermarkets",
    "field": "merchant",
    "operator": "contains",
    "value": "market",
    "case_sensitive": False,
    "category": 2,
    "add_tags": ["household"],
    "priority": 10,
    "active": True,
}


@crud_schema(
    RuleSerializer,
    docs={
        "list": (
            "List the book's auto-categorisation rules",
            "By `priority` (lowest first). Filters `active`, `field`, `operator`; `search` in "
            "name and value.",
        ),
        "create": (
            "Create a rule",
            "When an expense or income is stored without a category (by hand or by import), "
            "the first active rule by `priority` whose category has the record's kind and "
            "whose `operator` matches `value` against `field` sets the category and adds "
            "`add_tags`. Regexes are checked on save (at most 200 characters, run with a "
            "time bound). At most RULES_MAX_PER_USER rules per book (409). To apply rules to "
            "records "
            "already stored, `POST /rules/apply/`.",
        ),
        "retrieve": ("Get a rule", "One of the book's rules; another book's is 404."),
        "update": (
            "Replace a rule",
            "Same rules as `POST /rules/`; records stored before are not re-run.",
        ),
        "partial_update": (
            "Change some fields of a rule",
            "Only the fields sent change; `active: false` pauses a rule without losing it.",
        ),
        "destroy": ("Delete a rule", "Records it categorised keep their category and tags."),
    },
    examples={
        "create": [request_example(RULE)],
        "update": [request_example(RULE)],
        "partial_update": [request_example({"active": False})],
    },
    create={
        409: OpenApiResponse(
            description="The book already has RULES_MAX_PER_USER rules "
            "(`code: rule_limit_reached`)."
        )
    },
)
class RuleViewSet(BookScopedMixin, viewsets.ModelViewSet):
    """Auto-categorisation rules, tried by `priority` (lowest first), then by age."""

    queryset = Rule.objects.all()
    serializer_class = RuleSerializer
    filter_backends = FILTER_BACKENDS
    filterset_class = RuleFilter
    search_fields = ["name", "value"]
    ordering_fields = ["priority", "name", "created_at"]
    ordering = ["priority"]

    def safely_get_queryset(self, queryset: QuerySet) -> QuerySet:
        return queryset.prefetch_related("add_tags")

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        serializer.instance = services.rule_create(
            book=self.book, user=self.request.user, data=serializer.validated_data
        )

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        serializer.instance = services.rule_update(
            rule=serializer.instance, data=serializer.validated_data, user=self.request.user
        )

    @extend_schema(
        request=RulesApplyInputSerializer,
        responses={
            200: RulesApplyResultSerializer,
            202: OpenApiResponse(
                RuleApplicationSerializer,
                description="More than RULES_APPLY_SYNC_MAX_RECORDS records to look at: "
                "the run was queued; poll `GET /rules/apply/{id}/` until `status` is "
                "`done` or `failed`.",
            ),
            400: VALIDATION_ERROR,
        },
        summary="Apply the book's active rules to its expenses and income",
        description=(
            "Re-runs the book's active rules over its stored records (only the uncategorised ones "
            "unless `only_uncategorized` is false), all or nothing. Up to "
            "RULES_APPLY_SYNC_MAX_RECORDS records: 200 with how many changed; more: 202 "
            "with a run to poll at `GET /rules/apply/{id}/`."
        ),
        examples=[request_example({"only_uncategorized": True})],
    )
    @action(detail=False, methods=["post"], url_path="apply")
    def apply(self, request: Request, **kwargs: Any) -> Response:
        """Re-run the rules over stored records, all or nothing.

        Small runs answer 200 with how many records changed; larger ones go to the task
        queue and answer 202 with a run to poll.
        """
        serializer = RulesApplyInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        only_uncategorized = serializer.validated_data["only_uncategorized"]
        candidates = services.rules_apply_candidates(
            book=self.book, only_uncategorized=only_uncategorized
        )
        if candidates <= settings.RULES_APPLY_SYNC_MAX_RECORDS:
            result = services.rules_apply(book=self.book, only_uncategorized=only_uncategorized)
            return Response(RulesApplyResultSerializer(result).data)
        application = services.rule_application_queue(
            book=self.book,
            user=request.user,
            only_uncategorized=only_uncategorized,
            candidates=candidates,
            enqueue=rules_apply_task.delay,
        )
        application.refresh_from_db()  # an eager (in-process) queue may have run it already
        return Response(
            RuleApplicationSerializer(application).data, status=status.HTTP_202_ACCEPTED
        )


@extend_schema_view(
    retrieve=extend_schema(
        summary="Status of a queued rules run",
        description="Poll after a 202 from `POST /rules/apply/` until `status` is `done` "
        "(with how many records changed) or `failed` (nothing changed; `error` says why).",
        responses={200: RuleApplicationSerializer, 404: NOT_FOUND},
    )
)
class RuleApplicationViewSet(BookScopedMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Large `POST /rules/apply/` runs, visible to the members of their book."""

    queryset = RuleApplication.objects.all()
    serializer_class = RuleApplicationSerializer
    lookup_value_regex = "[0-9]+"
