from __future__ import annotations

from typing import Any

from rest_framework import serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request


def whole_number(
    request: Request, name: str, *, maximum: int | None = None
) -> int | None:
    """A query parameter that must be a whole number of at least 1, or absent.

    Anything else is a 400 naming the parameter; above ``maximum`` it is
    clamped (page sizes are documented as "up to").
    """
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise serializers.ValidationError({name: "Must be a whole number from 1."})
    return value if maximum is None else min(value, maximum)


class Pagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def get_page_size(self, request: Request) -> int:
        size = whole_number(
            request, self.page_size_query_param, maximum=self.max_page_size
        )
        return size or self.page_size

    def get_page_number(self, request: Request, paginator: Any) -> Any:
        raw = request.query_params.get(self.page_query_param)
        if raw in self.last_page_strings:
            return raw
        # A page past the end stays DRF's 404; a non-number is a bad request.
        return whole_number(request, self.page_query_param) or 1
