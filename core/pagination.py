"""Page-number pagination with validated `page`/`page_size` (SPEC §3)."""

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request


def _positive_int(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        raise ValidationError({name: ["A whole number is required."]}) from None
    if value < 1:
        raise ValidationError({name: ["Must be 1 or more."]})
    return value


class StandardPagination(PageNumberPagination):
    """Default 50 per page; `page_size` above 500 is capped at 500, not rejected."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def get_page_size(self, request: Request) -> int:
        requested = _positive_int(request, self.page_size_query_param)
        if requested is None:
            return self.page_size
        return min(requested, self.max_page_size)

    def paginate_queryset(self, queryset, request, view=None):  # type: ignore[no-untyped-def]
        _positive_int(request, self.page_query_param)
        return super().paginate_queryset(queryset, request, view)
