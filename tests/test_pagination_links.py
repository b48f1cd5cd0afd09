"""The search's page links are DRF's LimitOffsetPagination links, built with
one parse of the query instead of two (meetings/api/pagination.py)."""

from __future__ import annotations

import pytest
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from meetings.api.pagination import CappedCountPagination

QUERIES = [
    {},
    {"limit": "10"},
    {"limit": "10", "offset": "0"},
    {"limit": "10", "offset": "5"},
    {"limit": "10", "offset": "10"},
    {"limit": "10", "offset": "35"},
    {"offset": "50", "day": ["1", "3"], "q": "step & tradition", "near": "Costa Mesa, CA"},
    {"lat": "33.6", "lng": "-117.8", "radius": "5", "tz": "America/Los_Angeles", "offset": "25", "empty": ""},
    {"z": "last", "a": "first", "limit": "25", "offset": "26", "type": "O,D", "name": "café"},
    {"weird key": "1+1=2", "slash/path": "a/b?c#d", "tilde~": "~x-y_z.", "offset": "99"},
]


@pytest.mark.parametrize("query", QUERIES)
@pytest.mark.parametrize("count", [0, 9, 30, 1000])
def test_links_equal_drfs(query, count):
    factory = APIRequestFactory()
    links = []
    for paginator in (CappedCountPagination(), LimitOffsetPagination()):
        request = Request(factory.get("/api/v1/meetings/", query))
        paginator.request = request
        paginator.limit = CappedCountPagination().get_limit(request)
        paginator.offset = paginator.get_offset(request)
        paginator.count = count
        links.append((paginator.get_next_link(), paginator.get_previous_link()))
    assert links[0] == links[1]
    if count == 1000:
        assert links[0][0] is not None  # a next page to link to
