"""The SQL aggregates give the numbers a person would compute by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from monitors.dashboard import selectors
from monitors.models import Monitor

from .conftest import add_incident, add_ticks

pytestmark = pytest.mark.django_db


def _created(monitor: Monitor, at: datetime) -> Monitor:
    Monitor.objects.filter(pk=monitor.pk).update(created_at=at)
    monitor.refresh_from_db()
    return monitor


def test_uptime_counts_incident_time_within_each_window(make_monitor) -> None:
    now = timezone.now()
    monitor = _created(make_monitor(), now - timedelta(days=60))
    # 1 h down 2 h ago (in all windows), 3 h down 3 days ago (7 d and 30 d),
    # one still open for the last 6 minutes.
    add_incident(monitor, now - timedelta(hours=3), now - timedelta(hours=2))
    add_incident(monitor, now - timedelta(days=3, hours=3), now - timedelta(days=3))
    add_incident(monitor, now - timedelta(minutes=6), None)
    other = _created(make_monitor(name="Fine"), now - timedelta(days=60))

    uptime = selectors.uptime_by_monitor(monitors=[monitor, other], now=now)

    day, week, month = 86400, 7 * 86400, 30 * 86400
    assert uptime[monitor.pk]["24h"] == pytest.approx(100 * (1 - 3960 / day))
    assert uptime[monitor.pk]["7d"] == pytest.approx(100 * (1 - 14760 / week))
    assert uptime[monitor.pk]["30d"] == pytest.approx(100 * (1 - 14760 / month))
    assert uptime[other.pk] == {"24h": 100.0, "7d": 100.0, "30d": 100.0}


def test_uptime_only_counts_time_since_the_monitor_was_created(make_monitor) -> None:
    now = timezone.now()
    monitor = _created(make_monitor(), now - timedelta(hours=2))
    add_incident(monitor, now - timedelta(hours=1), now - timedelta(minutes=30))
    uptime = selectors.uptime_by_monitor(monitors=[monitor], now=now)
    assert uptime[monitor.pk]["24h"] == pytest.approx(75.0)
    assert uptime[monitor.pk]["30d"] == pytest.approx(75.0)


def test_daily_bars_split_an_incident_across_midnight(make_monitor) -> None:
    now = datetime(2026, 5, 10, 12, 0, tzinfo=UTC)
    monitor = _created(make_monitor(), datetime(2026, 5, 1, tzinfo=UTC))
    add_incident(
        monitor,
        datetime(2026, 5, 8, 23, 30, tzinfo=UTC),
        datetime(2026, 5, 9, 0, 45, tzinfo=UTC),
    )
    add_incident(
        monitor,
        datetime(2026, 5, 5, 10, 0, tzinfo=UTC),
        datetime(2026, 5, 5, 10, 10, tzinfo=UTC),
    )
    bars = selectors.daily_uptime(monitors=[monitor], days=90, now=now)[monitor.pk]
    by_day = {b.day.isoformat(): b for b in bars}
    assert len(bars) == 90
    assert bars[-1].day.isoformat() == "2026-05-10"
    assert by_day["2026-05-08"].down_seconds == pytest.approx(1800)
    assert by_day["2026-05-09"].down_seconds == pytest.approx(2700)
    assert by_day["2026-05-09"].level == "major"  # 96.9%
    assert by_day["2026-05-05"].level == "minor"  # 99.3%
    assert by_day["2026-05-07"].level == "ok"
    assert by_day["2026-04-30"].level == "nodata"
    assert by_day["2026-05-10"].observed_seconds == pytest.approx(12 * 3600)


def test_chart_gives_p50_and_p95_per_region_and_bucket(make_monitor, regions) -> None:
    monitor = make_monitor()
    now = timezone.now()
    start = now - timedelta(minutes=59, seconds=30)
    # 20 ticks at 1..20 * 10 ms in the first region.
    add_ticks(
        monitor,
        regions[0],
        start=start,
        count=20,
        every=timedelta(seconds=1),
        ms=[10 * i for i in range(1, 21)],
    )
    add_ticks(
        monitor,
        regions[1],
        start=start,
        count=4,
        every=timedelta(seconds=1),
        status="down",
    )
    chart = selectors.response_chart(monitor=monitor, range_key="1h", now=now)
    first = next(s for s in chart.series if s.region == regions[0].code)
    second = next(s for s in chart.series if s.region == regions[1].code)
    assert first.p50 == pytest.approx(105.0)
    assert first.p95 == pytest.approx(190.5)
    assert (first.checks, first.failed) == (20, 0)
    assert (second.checks, second.failed, second.p50) == (4, 4, None)
    assert second.ok_percent == 0
    assert len(first.points) == 60
    filled = [p for p in first.points if p[1] is not None]
    assert filled and filled[0][1] == pytest.approx(105.0)
    assert chart.total.checks == 24


def test_sparklines_and_region_states_take_the_latest_ticks(
    make_monitor, regions
) -> None:
    monitor = make_monitor()
    now = timezone.now()
    add_ticks(monitor, regions[0], start=now - timedelta(hours=1), count=40, ms=50)
    add_ticks(
        monitor, regions[1], start=now - timedelta(minutes=1), count=1, status="down"
    )
    sparks = selectors.sparklines(monitor_ids=[monitor.pk])[monitor.pk]
    assert len(sparks) == selectors.SPARKLINE_POINTS
    assert sparks[-1] == (None, "down")
    states = {
        s.code: s.status
        for s in selectors.region_states(monitor_ids=[monitor.pk])[monitor.pk]
    }
    assert states == {
        regions[0].code: "up",
        regions[1].code: "down",
        regions[2].code: "nodata",
    }


def test_overview_lists_down_monitors_first(make_monitor) -> None:
    make_monitor(name="A up", status="up")
    make_monitor(name="B down", status="down")
    make_monitor(name="C paused", status="paused", enabled=False)
    make_monitor(name="D pending")
    first = Monitor.objects.first()
    assert first is not None
    project_id = first.project_id
    names = [m.name for m in selectors.monitors_for_overview(project_id=project_id)]
    assert names == ["B down", "D pending", "A up", "C paused"]
    found = selectors.monitors_for_overview(project_id=project_id, search="paus")
    assert [m.name for m in found] == ["C paused"]
    found = selectors.monitors_for_overview(project_id=project_id, status="up")
    assert [m.name for m in found] == ["A up"]
