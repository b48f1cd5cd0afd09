from django.conf import settings
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.response import Response


class CappedCountPagination(LimitOffsetPagination):
    """Limit/offset pages with a total count that stops at MEETINGS_COUNT_CAP:
    counting a dense search exactly can cost more than the search itself.
    `count_capped` says when `count` is a floor rather than the total."""

    default_limit = 25

    @property
    def max_limit(self) -> int:
        return settings.MEETINGS_MAX_PAGE_SIZE

    def get_count(self, queryset) -> int:
        cap = settings.MEETINGS_COUNT_CAP
        counted = queryset[: cap + 1].count() if hasattr(queryset, "count") else len(queryset[: cap + 1])
        self.count_capped = counted > cap
        return min(counted, cap) if self.count_capped else counted

    def paginate_queryset(self, queryset, request, view=None):
        self.count_capped = False
        page = super().paginate_queryset(queryset, request, view)
        if self.count_capped and self.offset + self.limit >= self.count and len(page) == self.limit:
            # There is more beyond the cap: keep "next" pointing on.
            self.count = self.offset + self.limit + 1
        return page

    def get_paginated_response(self, data):
        return Response({
            "count": min(self.count, settings.MEETINGS_COUNT_CAP) if self.count_capped else self.count,
            "count_capped": self.count_capped,
            "next": self.get_next_link(),
            "previous": self.get_previous_link(),
            "results": data,
        })

    def get_paginated_response_schema(self, schema):
        response = super().get_paginated_response_schema(schema)
        response["properties"]["count_capped"] = {
            "type": "boolean",
            "description": "True when count stopped at the cap and more meetings match.",
        }
        return response
