"""Charts past the last hour read the rollups, not the raw ticks, and agree
with what the raw ticks say (percentiles within the histogram's precision)."""

from __future__ import annotations

import statistics
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from monitors.checks.base import CheckResult
from monitors.dashboard import selectors
from monitors.models import Tick
from monitors.services import TickResult, ticks_record

pytestmark = pytest.mark.django_db


def _record(monitor, region, at, result: CheckResult) -> None:
    ticks_record(
        region=region,
        scheduled_at=at,
        results=[TickResult(monitor.pk, at, result)],
        now=at,
    )


def test_the_24h_chart_reads_rollups_and_matches_the_raw_ticks(
    make_monitor, regions
) -> None:
    monitor = make_monitor(regions=regions[:2])
    now = timezone.now()
    times: dict[str, list[int]] = {regions[0].code: [], regions[1].code: []}
    for n in range(200):
        at = now - timedelta(hours=23) + timedelta(minutes=6 * n + 1)
        region = regions[n % 2]
        if n % 25 == 0:
            result = CheckResult(
                status="down",
                error="http_status",
                status_code=503,
                message=f"HTTP 503 number {n}",
            )
        elif n % 25 == 1:
            result = CheckResult(status="missed", error="checker_lag")
        else:
            ms = 40 + (n * 37) % 400
            times[region.code].append(ms)
            result = CheckResult(status="up", response_time_ms=ms, status_code=200)
        _record(monitor, region, at, result)
    # A raw tick stored without its rollup (as by hand) is not read by a
    # range past the last hour: the chart reads the rollups.
    stray = now - timedelta(hours=5)
    Tick.objects.create(
        monitor=monitor,
        region=regions[0],
        scheduled_at=stray,
        checked_at=stray,
        status="up",
        response_time_ms=99_000,
    )

    with CaptureQueriesContext(connection) as queries:
        chart = selectors.response_chart(monitor=monitor, range_key="24h", now=now)
    assert len(queries.captured_queries) == 1
    assert chart.total.checks == 200 - 8  # 8 missed slots are no data
    assert chart.total.failed == 8
    for series in chart.series:
        exact = times[series.region]
        assert series.checks == len(exact) + 4
        assert series.failed == 4
        assert series.p50 == pytest.approx(statistics.median(exact), rel=0.1)
        assert series.p95 == pytest.approx(
            statistics.quantiles(exact, n=20)[-1], rel=0.1
        )
        assert max(p95 or 0 for _, _, p95 in series.points) < 1000
        # Each failure keeps its reason, from the failed tick itself.
        reasons = sorted(f.reason for f in series.failures)
        assert len(reasons) == 4 and all(
            r.startswith("HTTP 503 number") for r in reasons
        )
        assert all(f.count == 1 and f.last_at is not None for f in series.failures)
    assert len(chart.series[0].points) == 96


def test_the_last_hour_still_reads_the_raw_ticks_exactly(make_monitor, regions) -> None:
    monitor = make_monitor(regions=regions[:1])
    now = timezone.now()
    for n, ms in enumerate([10, 20, 30, 40]):
        _record(
            monitor,
            regions[0],
            now - timedelta(minutes=30 - n),
            CheckResult(status="up", response_time_ms=ms),
        )
    chart = selectors.response_chart(monitor=monitor, range_key="1h", now=now)
    assert chart.total.p50 == pytest.approx(25.0)
    week = selectors.response_chart(monitor=monitor, range_key="7d", now=now)
    assert week.total.checks == 4
    assert week.total.p50 == pytest.approx(25.0, rel=0.15)
