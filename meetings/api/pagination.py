from django.conf import settings
from django.utils.translation import gettext as _, gettext_lazy
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.response import Response

from meetings.filters import whole_number

# Far past any real page; a larger offset is a mistake or a probe, not a reader.
MAX_OFFSET = 10**9


class WholeNumberPagination(LimitOffsetPagination):
    """Limit/offset pages where a `limit` or `offset` that is not a whole
    number in range is a 400 naming it; a limit past the maximum reads the
    largest page, as in DRF."""

    # What an offset past the deepest page is told, after its range.
    too_deep = ""

    @property
    def max_offset(self) -> int:
        return MAX_OFFSET

    def _whole_number(self, request, name: str, *, low: int, high: int, default: int, hint: str = "") -> int:
        text = request.query_params.get(name)
        if text is None:
            return default
        value = whole_number(text)
        if value is None or not low <= value <= high:
            # In the sender's language, as the search's own messages (never kept).
            message = _("Use a whole number from %(low)d to %(high)d.") % {"low": low, "high": high}
            raise ValidationError({name: [f"{message} {hint}" if hint else message]})
        return value

    def get_limit(self, request) -> int:
        return min(self._whole_number(request, self.limit_query_param, low=1, high=MAX_OFFSET,
                                      default=self.default_limit), self.max_limit)

    def get_offset(self, request) -> int:
        return self._whole_number(request, self.offset_query_param, low=0, high=self.max_offset, default=0,
                                  hint=self.too_deep)


class CappedCountPagination(WholeNumberPagination):
    """Limit/offset pages whose total count never costs more than the page.

    - Listings count at most MEETINGS_COUNT_CAP matches, or as far as the
      end of the page asked for when that is further (in no particular order,
      so the count needs no sort).
    - Nearest-first searches (`selectors.SearchResults` with
      `counts_by_lookahead`) run no count query at all: the page is read with
      one row of lookahead, which is all the KNN scan needs, and `count` says
      how many there are up to the end of this page, plus one when more follow.

    `count_capped` is true when `count` is a floor rather than the total.
    A `limit` or `offset` that is not a whole number in range is a 400; a
    limit past the maximum reads the largest page.
    """

    default_limit = 25
    too_deep = gettext_lazy("Deeper pages cost more than any reader needs: narrow the search, or read the Meeting "
                            "Guide feed.")

    @property
    def max_limit(self) -> int:
        return settings.MEETINGS_MAX_PAGE_SIZE

    @property
    def max_offset(self) -> int:
        return settings.MEETINGS_MAX_OFFSET

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        self.limit = self.get_limit(request)
        self.offset = self.get_offset(request)
        if getattr(queryset, "counts_by_lookahead", False):
            page = list(queryset[self.offset : self.offset + self.limit + 1])
            more = len(page) > self.limit
            page = page[: self.limit]
            if page or self.offset == 0:
                self.count = self.offset + len(page) + (1 if more else 0)
                self.count_capped = more
                return page
        # Past the cap, the count reaches as far as the page: counting that far
        # (unsorted) costs less than reading the page (sorted up to its end),
        # and a page past the end is known empty without reading it.
        cap = max(settings.MEETINGS_COUNT_CAP, self.offset + self.limit)
        if hasattr(queryset, "count_up_to"):
            counted = queryset.count_up_to(cap + 1)
        else:
            counted = queryset.order_by()[: cap + 1].count()
        self.count_capped = counted > cap
        self.count = min(counted, cap)
        if self.count_capped:
            # More lie beyond the cap: keep "next" pointing on.
            self.count = max(self.count, self.offset + self.limit + 1)
        if self.offset >= counted and not self.count_capped:
            return []
        return list(queryset[self.offset : self.offset + self.limit])

    def get_paginated_response(self, data):
        return Response({
            "count": self.count,
            "count_capped": self.count_capped,
            "next": self.get_next_link(),
            "previous": self.get_previous_link(),
            "results": data,
        })

    def get_paginated_response_schema(self, schema):
        response = super().get_paginated_response_schema(schema)
        response["properties"]["count_capped"] = {
            "type": "boolean",
            "description": "True when count is a floor: there are more results than it says.",
        }
        response["required"] = ["count", "count_capped", "next", "previous", "results"]
        return response

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.limit_query_param:
                # Accepted up to MAX_OFFSET; past max_limit it reads the largest page.
                parameter["schema"].update(minimum=1, maximum=MAX_OFFSET)
                parameter["description"] = (f"Number of results to return per page, 1 or more; past "
                                            f"{self.max_limit}, {self.max_limit}.")
            elif parameter["name"] == self.offset_query_param:
                parameter["schema"].update(minimum=0, maximum=self.max_offset)
        return parameters
