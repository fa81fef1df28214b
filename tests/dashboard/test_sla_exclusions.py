"""Uptime leaves paused time and maintenance windows out: neither up nor down."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from monitors.dashboard import selectors
from monitors.models import MaintenanceWindow, Monitor, MonitorPause

from .conftest import add_incident

pytestmark = pytest.mark.django_db


def _created(monitor: Monitor, at: datetime) -> Monitor:
    Monitor.objects.filter(pk=monitor.pk).update(created_at=at)
    monitor.refresh_from_db()
    return monitor


def test_paused_time_counts_as_neither_up_nor_down(make_monitor) -> None:
    now = timezone.now()
    monitor = _created(make_monitor(), now - timedelta(days=2))
    # Down 1 h, then paused 10 h (the incident closed at the pause).
    add_incident(monitor, now - timedelta(hours=12), now - timedelta(hours=11))
    MonitorPause.objects.create(
        monitor=monitor,
        started_at=now - timedelta(hours=11),
        ended_at=now - timedelta(hours=1),
    )
    uptime = selectors.uptime_by_monitor(monitors=[monitor], now=now)
    observed = 24 * 3600 - 10 * 3600
    assert uptime[monitor.pk]["24h"] == pytest.approx(100 * (1 - 3600 / observed))


def test_downtime_inside_a_window_is_left_out(make_monitor, project) -> None:
    now = timezone.now()
    monitor = _created(make_monitor(), now - timedelta(days=2))
    # Down 2 h; the first hour was planned work.
    add_incident(monitor, now - timedelta(hours=4), now - timedelta(hours=2))
    MaintenanceWindow.objects.create(
        project=project,
        title="Upgrade",
        starts_at=now - timedelta(hours=5),
        ends_at=now - timedelta(hours=3),
    )
    uptime = selectors.uptime_by_monitor(monitors=[monitor], now=now)
    observed = 22 * 3600
    assert uptime[monitor.pk]["24h"] == pytest.approx(100 * (1 - 3600 / observed))


def test_a_monitor_paused_for_the_whole_period_has_no_figure(make_monitor) -> None:
    now = timezone.now()
    monitor = _created(make_monitor(), now - timedelta(days=40))
    MonitorPause.objects.create(monitor=monitor, started_at=now - timedelta(days=35))
    uptime = selectors.uptime_by_monitor(monitors=[monitor], now=now)
    assert uptime[monitor.pk] == {"24h": None, "7d": None, "30d": None}


def test_daily_bars_leave_out_a_weekly_window(make_monitor, project) -> None:
    now = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)  # a Wednesday
    monitor = _created(make_monitor(), datetime(2026, 5, 1, tzinfo=UTC))
    MaintenanceWindow.objects.create(
        project=project,
        title="Backups",
        starts_at=datetime(2026, 6, 1, 2, 0, tzinfo=UTC),
        ends_at=datetime(2026, 6, 1, 8, 0, tzinfo=UTC),
        recurrence="weekly",
        weekdays=[0],
    )
    # Down 4 h on Monday the 8th, half of it inside the window.
    add_incident(
        monitor,
        datetime(2026, 6, 8, 6, 0, tzinfo=UTC),
        datetime(2026, 6, 8, 10, 0, tzinfo=UTC),
    )
    bars = {
        b.day.isoformat(): b
        for b in selectors.daily_uptime(monitors=[monitor], days=14, now=now)[
            monitor.pk
        ]
    }
    monday = bars["2026-06-08"]
    assert monday.observed_seconds == 18 * 3600
    assert monday.down_seconds == 2 * 3600
    assert bars["2026-06-01"].observed_seconds == 18 * 3600
    assert bars["2026-06-02"].observed_seconds == 24 * 3600
