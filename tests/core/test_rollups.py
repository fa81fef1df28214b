"""Rollups are written with the ticks, in one statement per batch whatever
its size, count a redelivered batch once, equal a rebuild from the raw
ticks, and answer percentiles and daily uptime."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from monitors.checks.base import CheckResult
from monitors.models import RollupResolution, Tick, TickRollup
from monitors.rollups import (
    HIST_SIZE,
    LATENCY_BOUNDS_MS,
    daily_uptime,
    percentile,
    rollups_prune,
    rollups_rebuild,
)
from monitors.services import TickResult, ticks_record

pytestmark = pytest.mark.django_db

FIELDS = (
    "monitor_id",
    "region_id",
    "resolution",
    "bucket",
    "count",
    "up",
    "down",
    "degraded",
    "missed",
    "latency_sum_ms",
    "latency_count",
    "latency_hist",
)


def _result(i: int) -> CheckResult:
    kind = i % 5
    if kind == 0:
        return CheckResult(status="down", error="timeout", message="Timed out")
    if kind == 1:
        return CheckResult(status="degraded", error="slow", response_time_ms=900 + i)
    if kind == 2:
        return CheckResult(status="missed", message="")
    return CheckResult(status="up", response_time_ms=10 + i, status_code=200)


def _batch(monitors, region, at: datetime, offset: int = 0) -> list[Tick]:
    return ticks_record(
        region=region,
        scheduled_at=at,
        results=[
            TickResult(m.pk, at, _result(n + offset)) for n, m in enumerate(monitors)
        ],
        now=at + timedelta(seconds=1),
    )


def _rollups() -> list[tuple]:
    return sorted(TickRollup.objects.values_list(*FIELDS))


def _hour(now: datetime) -> datetime:
    return now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def test_a_batch_adds_to_every_resolution_and_a_redelivery_adds_nothing(
    make_monitor, regions
) -> None:
    monitors = [make_monitor(name=f"m{i}") for i in range(5)]
    at = _hour(timezone.now()) - timedelta(hours=2) + timedelta(minutes=7)
    _batch(monitors, regions[0], at)
    _batch(monitors, regions[0], at + timedelta(minutes=1), offset=3)
    before = _rollups()
    # The same batch again (a redelivered task): its ticks exist, so nothing
    # is counted twice.
    ticks = _batch(monitors, regions[0], at + timedelta(minutes=1), offset=3)
    assert all(t.pk is None for t in ticks)
    assert _rollups() == before

    first = monitors[0]
    rows = {
        r.resolution: r
        for r in TickRollup.objects.filter(monitor=first, region=regions[0])
    }
    assert set(rows) == set(RollupResolution.values)
    # Monitor 0 had a down check then (offset 3) an up one of 13 ms.
    five = rows[RollupResolution.FIVE_MINUTES]
    assert five.bucket == at - timedelta(minutes=2)
    assert rows[RollupResolution.HOUR].bucket == _hour(at)
    assert rows[RollupResolution.DAY].bucket == _hour(at).replace(hour=0)
    for row in rows.values():
        assert (row.count, row.up, row.down, row.degraded, row.missed) == (
            2,
            1,
            1,
            0,
            0,
        )
        assert (row.latency_sum_ms, row.latency_count) == (13, 1)
        assert len(row.latency_hist) == HIST_SIZE
        assert sum(row.latency_hist) == 1
        # 13 ms lies in [13, 16).
        assert row.latency_hist[LATENCY_BOUNDS_MS.index(13) + 1] == 1


def test_live_rollups_equal_a_rebuild_from_the_raw_ticks(make_monitor, regions) -> None:
    monitors = [make_monitor(name=f"m{i}") for i in range(4)]
    start = timezone.now() - timedelta(days=2, hours=3)
    for n in range(60):
        # Every 37 minutes: crosses 5-minute, hour and day buckets.
        at = start + timedelta(minutes=37 * n)
        _batch(monitors, regions[n % 2], at, offset=n)
    live = _rollups()
    assert sum(r[4] for r in live if r[2] == RollupResolution.DAY) == 240
    TickRollup.objects.all().delete()
    assert rollups_rebuild() > 0
    assert _rollups() == live
    # A rebuild from a day on replaces that day on and keeps the rest.
    day = (start + timedelta(days=1)).astimezone(UTC).date()
    call_command("rollups_rebuild", since=day.isoformat())
    assert _rollups() == live
    with pytest.raises(CommandError, match="not a date"):
        call_command("rollups_rebuild", since="yesterday")


def test_the_rollup_write_is_one_statement_whatever_the_batch_size(
    make_monitor, regions
) -> None:
    def statements(size: int, at: datetime) -> list[str]:
        monitors = [make_monitor(name=f"{size}-{i}") for i in range(size)]
        with CaptureQueriesContext(connection) as queries:
            _batch(monitors, regions[0], at)
        return [q["sql"].replace('"', "") for q in queries.captured_queries]

    at = timezone.now() - timedelta(hours=1)
    small = statements(3, at)
    large = statements(60, at + timedelta(minutes=1))
    assert len(small) == len(large)
    for captured in (small, large):
        writes = [s for s in captured if "INSERT INTO monitors_tickrollup" in s]
        assert len(writes) == 1
        ticks = [s for s in captured if "INSERT INTO monitors_tick " in s]
        assert len(ticks) == 1
    assert TickRollup.objects.filter(resolution="1d").count() == 63


def test_percentiles_from_the_histogram_are_close_to_the_exact_ones() -> None:
    rng = random.Random(7)
    values = [int(rng.lognormvariate(5, 0.8)) for _ in range(5000)]
    hist = [0] * HIST_SIZE
    for v in values:
        hist[sum(1 for b in LATENCY_BOUNDS_MS if b <= v)] += 1
    values.sort()
    for q in (0.5, 0.95, 0.99):
        exact = values[int(q * len(values)) - 1]
        assert percentile(hist, q) == pytest.approx(exact, rel=0.1)
    assert percentile([0] * HIST_SIZE, 0.5) is None


def test_daily_uptime_reads_the_daily_rollups(make_monitor, regions) -> None:
    monitor = make_monitor()
    quiet = make_monitor(name="quiet")
    now = timezone.now()
    yesterday = now - timedelta(days=1)
    for n, status in enumerate(["up", "up", "up", "down", "missed", "degraded"]):
        ms = None if status in ("down", "missed") else 20
        ticks_record(
            region=regions[n % 2],
            scheduled_at=yesterday + timedelta(seconds=n),
            results=[
                TickResult(
                    monitor.pk,
                    yesterday,
                    CheckResult(status=status, response_time_ms=ms),
                )
            ],
            now=yesterday,
        )
    days = daily_uptime([monitor.pk, quiet.pk], 3, now=now)
    assert [d.day for d in days[monitor.pk]] == [
        (now - timedelta(days=n)).astimezone(UTC).date() for n in (2, 1, 0)
    ]
    old, mid, today = days[monitor.pk]
    assert old.uptime is None and today.uptime is None
    # 5 checks ran (the missed slot is no data), one failed.
    assert (mid.count, mid.checked, mid.down) == (6, 5, 1)
    assert mid.uptime == pytest.approx(80.0)
    assert all(d.uptime is None for d in days[quiet.pk])


def test_rollups_are_pruned_by_resolution(make_monitor, regions, settings) -> None:
    settings.UPTIME_ROLLUP_5M_RETENTION_DAYS = 35
    settings.UPTIME_ROLLUP_RETENTION_DAYS = 400
    monitor = make_monitor()
    now = timezone.now()
    for days in (500, 40, 1):
        at = now - timedelta(days=days)
        ticks_record(
            region=regions[0],
            scheduled_at=at,
            results=[TickResult(monitor.pk, at, CheckResult(status="up"))],
            now=at,
        )
    assert rollups_prune(now=now) == 3 + 1
    kept = sorted(
        (r, (now - b).days)
        for r, b in TickRollup.objects.values_list("resolution", "bucket")
    )
    assert [r for r, _ in kept] == ["1d", "1d", "1h", "1h", "5m"]
    assert max(d for _, d in kept) <= 41
