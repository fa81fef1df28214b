"""Pages cost a fixed number of queries, however many monitors and ticks."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from monitors.dashboard.context import CACHE_KEY

from .conftest import add_incident, add_ticks

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def pipeline_banner_cached() -> None:
    """The pipeline banner costs one query per few seconds, not per page."""
    cache.set(CACHE_KEY, [], 60)


def _seed(make_monitor, regions, n: int) -> list:
    now = timezone.now()
    monitors = []
    for i in range(n):
        m = make_monitor(name=f"Site {i}", status="up" if i % 3 else "down")
        for region in regions:
            add_ticks(m, region, start=now - timedelta(minutes=10), count=5)
        add_incident(m, now - timedelta(hours=i + 1), now - timedelta(hours=i))
        monitors.append(m)
    return monitors


def _count(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_the_overview_query_count_does_not_grow_with_monitors(
    owner_client, make_monitor, regions, django_assert_max_num_queries
) -> None:
    url = reverse("dashboard:overview")
    _seed(make_monitor, regions, 2)
    few = _count(owner_client, url)
    _seed(make_monitor, regions, 20)
    assert _count(owner_client, url) == few
    with django_assert_max_num_queries(10):
        owner_client.get(url)
    with django_assert_max_num_queries(9):
        owner_client.get(url + "?partial=1")


def test_the_monitor_page_runs_a_fixed_number_of_queries(
    owner_client, make_monitor, regions, django_assert_max_num_queries
) -> None:
    monitor = _seed(make_monitor, regions, 3)[0]
    for range_key in ("1h", "24h", "7d", "30d"):
        # 14: one of them lists the monitors that depend on this one.
        with django_assert_max_num_queries(14):
            owner_client.get(monitor.get_absolute_url() + f"?range={range_key}")


def test_the_status_page_query_count_does_not_grow_with_monitors(
    client, project, make_monitor, regions
) -> None:
    project.status_page_enabled = True
    project.save()
    url = reverse("dashboard:status_page", args=[project.slug])
    _seed(make_monitor, regions, 2)
    few = _count(client, url)
    _seed(make_monitor, regions, 10)
    # 6: one of them asks whether a status page (statuspages) has the slug.
    assert _count(client, url) == few <= 6


def test_the_incident_list_runs_a_fixed_number_of_queries(
    owner_client, make_monitor, regions, django_assert_max_num_queries
) -> None:
    _seed(make_monitor, regions, 12)
    with django_assert_max_num_queries(7):
        owner_client.get(reverse("dashboard:incidents"))
