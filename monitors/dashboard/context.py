"""The banner every dashboard page shows while monitoring itself is broken."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import redis
from django.core.cache import cache
from django.http import HttpRequest

from ..health import pipeline_status

CACHE_KEY = "pipeline-problems"
CACHE_SECONDS = 10


def pipeline_problems() -> list[str]:
    """What is wrong with the pipeline, recomputed at most every few seconds
    (one query and two Redis round trips) whatever the page traffic."""
    try:
        cached = cache.get(CACHE_KEY)
        if cached is None:
            cached = pipeline_status().problems
            cache.set(CACHE_KEY, cached, CACHE_SECONDS)
        return list(cached)
    except redis.RedisError:
        return ["The broker (Redis) is unreachable: no checks are running."]


def pipeline(request: HttpRequest) -> dict[str, Callable[[], list[str]] | Any]:
    """``pipeline_problems`` for signed-in users; templates call it lazily,
    so a page that does not show it pays nothing."""
    if not request.user.is_authenticated:
        return {}
    return {"pipeline_problems": pipeline_problems}
