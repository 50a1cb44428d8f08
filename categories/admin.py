from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from .models import Category, Rule, Tag


class SystemCategoryFilter(admin.SimpleListFilter):
    title = "system category"
    parameter_name = "is_system"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple]:
        return [("yes", "System"), ("no", "A book's own")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "yes":
            return queryset.filter(book__isnull=True)
        if self.value() == "no":
            return queryset.filter(book__isnull=False)
        return queryset


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "book", "user", "parent", "is_system", "created_at")
    list_filter = ("kind", SystemCategoryFilter)
    search_fields = ("name", "book__name", "user__username")
    list_select_related = ("book", "user", "parent")
    raw_id_fields = ("user", "parent")
    ordering = ("kind", "name")

    @admin.display(boolean=True, description="system", ordering="book")
    def is_system(self, obj: Category) -> bool:
        return obj.is_system


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ("name", "book", "user", "created_at")
    search_fields = ("name", "book__name", "user__username")
    list_select_related = ("book", "user")
    raw_id_fields = ("user",)


@admin.register(Rule)
class RuleAdmin(admin.ModelAdmin):
    list_display = ("name", "book", "condition", "category", "priority", "active")
    list_filter = ("active", "field", "operator", "case_sensitive", "category__kind")
    search_fields = ("name", "value", "book__name", "user__username", "category__name")
    list_select_related = ("book", "category")
    raw_id_fields = ("user", "category")
    filter_horizontal = ("add_tags",)
    ordering = ("book", "priority", "id")

    @admin.display(description="condition", ordering="field")
    def condition(self, obj: Rule) -> str:
        """`merchant contains "coffee"`: field, operator and value in one short cell."""
        value = obj.value if len(obj.value) <= 30 else obj.value[:29] + "…"
        return f'{obj.field} {obj.get_operator_display().lower()} "{value}"'
