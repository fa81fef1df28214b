"""Region health: silent, late and all-failing regions do not decide incidents.

Real ticks through ``ticks_record``, real heartbeat rows, the real recording
step beat runs every few seconds, and operator alerts delivered to a
loopback webhook receiver through the real transport.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from alerts.models import Event, Notification, OperatorNotification
from alerts.services import (
    channel_create,
    notification_deliver,
    operator_notification_deliver,
)
from monitors.checks.base import CheckResult
from monitors.models import (
    Incident,
    IncidentStatus,
    Monitor,
    Region,
    RegionHealthEvent,
    WorkerHeartbeat,
)
from monitors.regionhealth import (
    HeartbeatThread,
    monitor_coverage,
    regions_health,
    regions_health_record,
    worker_heartbeat,
)
from monitors.services import TickResult, ticks_record
from tests.alerts.servers import Receiver
from tests.conftest import api_client_for, client_for
from tests.e2e_support import wait_for

UP = CheckResult(status="up", response_time_ms=12, status_code=200)
DOWN = CheckResult(
    status="down", error="http_status", message="HTTP 503", status_code=503
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def receiver(allow_private):
    """The project's own webhook channel's receiver (incident alerts)."""
    server = Receiver()
    yield server
    server.stop()


@pytest.fixture
def operator_hook(settings, allow_private):
    server = Receiver()
    settings.UPTIME_OPERATOR_WEBHOOK_URL = server.url("/operator")
    settings.UPTIME_OPERATOR_EMAILS = []
    yield server
    server.stop()


def record(monitors, region: Region, at: datetime, result: CheckResult) -> None:
    ticks_record(
        region=region,
        scheduled_at=at,
        results=[
            TickResult(monitor_id=m.pk, checked_at=at, result=result) for m in monitors
        ],
        now=at + timedelta(seconds=1),
    )


def beat(regions: list[Region], at: datetime, lag_ms: int = 0) -> None:
    """What a live check worker writes: its heartbeat and a batch on time."""
    for region in regions:
        worker_heartbeat(
            worker=f"checks-{region.code}@host",
            regions=[region],
            now=at,
            lag_ms=lag_ms,
            started_at=at - timedelta(hours=1),
        )


def deliver_operator_alerts() -> list[str]:
    results = [
        operator_notification_deliver(notification_id=pk, enqueue=lambda *a: None)
        for pk in OperatorNotification.objects.order_by("pk").values_list(
            "pk", flat=True
        )
    ]
    return results


def open_incident_of(monitor: Monitor) -> Incident | None:
    return Incident.objects.filter(monitor=monitor, status=IncidentStatus.OPEN).first()


def test_two_silent_regions_of_three_hold_the_incident_open_until_they_return(
    make_monitor, regions, operator_hook, receiver, project
) -> None:
    alive, *dead = regions
    channel = channel_create(
        project=project, kind="webhook", target=receiver.url(), name="hook"
    )
    monitor = make_monitor(
        regions=regions,
        region_quorum=2,
        failure_threshold=1,
        recovery_threshold=1,
        interval_seconds=10,
    )
    channel.monitors.add(monitor)
    t = timezone.now() - timedelta(minutes=10)

    # All three regions alive and failing: the incident opens.
    beat(regions, t)
    assert regions_health_record(now=t) == []
    for region in regions:
        record([monitor], region, t, DOWN)
    incident = open_incident_of(monitor)
    assert incident is not None

    # Two regions die: no heartbeats, no ticks. The third keeps reporting UP.
    for step in range(1, 13):  # two minutes, well past every window
        t += timedelta(seconds=10)
        beat([alive], t)
        regions_health_record(now=t)
        record([monitor], alive, t, UP)
        assert open_incident_of(monitor) == incident, f"resolved at step {step}"

    changes = list(RegionHealthEvent.objects.order_by("region__code"))
    assert [(e.region.code, e.healthy) for e in changes] == [
        (r.code, False) for r in dead
    ]
    assert "heartbeat" in changes[0].reason
    monitor.refresh_from_db()
    assert monitor_coverage(monitor) == "insufficient"
    assert (
        api_client_for(monitor.project.owner)
        .get(f"/api/monitors/{monitor.pk}/")
        .json()["coverage"]
        == "insufficient"
    )

    # One operator message per region state change, never one per check.
    assert deliver_operator_alerts() == ["sent", "sent"]
    bodies = [json.loads(r.body) for r in operator_hook.requests]
    assert sorted((b["type"], b["data"]["region"]["code"]) for b in bodies) == [
        ("region.unhealthy", r.code) for r in dead
    ]
    assert all(r.path == "/operator" for r in operator_hook.requests)

    # They return: heartbeats, then UP ticks. It resolves once.
    t += timedelta(seconds=10)
    beat(regions, t)
    back = regions_health_record(now=t)
    assert sorted((e.region.code, e.healthy) for e in back) == [
        (r.code, True) for r in dead
    ]
    for region in regions:
        record([monitor], region, t, UP)
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.RESOLVED
    for _ in range(3):
        t += timedelta(seconds=10)
        beat(regions, t)
        assert regions_health_record(now=t) == []
        for region in regions:
            record([monitor], region, t, UP)
    assert Incident.objects.filter(monitor=monitor).count() == 1
    assert monitor_coverage(monitor) == "ok"

    ups = Notification.objects.filter(
        channel=channel, event=Event.INCIDENT_RESOLVED
    ).values_list("pk", flat=True)
    assert len(ups) == 1
    assert notification_deliver(notification_id=ups[0]) == "sent"
    up_posts = [
        r
        for r in receiver.requests
        if json.loads(r.body)["type"] == "incident.resolved"
    ]
    assert len(up_posts) == 1

    assert deliver_operator_alerts().count("sent") == 2  # the two "healthy" ones
    assert OperatorNotification.objects.count() == 4
    assert len(operator_hook.requests) == 4


def test_a_lone_region_cannot_resolve_an_incident_whose_quorum_is_two(
    make_monitor, regions
) -> None:
    """The breakage itself, without heartbeats: a region with no fresh
    ticks does not vote, so one UP region is not a quorum of two."""
    eu, us, _ = regions
    monitor = make_monitor(
        regions=regions, region_quorum=2, failure_threshold=1, interval_seconds=10
    )
    t = timezone.now() - timedelta(minutes=10)
    for region in regions:
        record([monitor], region, t, DOWN)
    assert open_incident_of(monitor) is not None
    for _ in range(12):
        t += timedelta(seconds=10)
        record([monitor], eu, t, UP)
    assert open_incident_of(monitor) is not None
    t += timedelta(seconds=10)
    record([monitor], us, t, UP)
    record([monitor], eu, t, UP)
    assert open_incident_of(monitor) is None


def test_a_region_where_most_monitors_fail_alone_is_unhealthy_and_opens_nothing(
    make_monitor, regions, operator_hook
) -> None:
    eu, us, _ = regions
    monitors = [
        make_monitor(
            name=f"m{i}",
            regions=[eu, us],
            region_quorum=1,
            failure_threshold=2,
            interval_seconds=10,
        )
        for i in range(6)
    ]
    t = timezone.now() - timedelta(minutes=5)
    beat([eu, us], t)
    for _ in range(3):
        t += timedelta(seconds=10)
        beat([eu, us], t)
        record(monitors, eu, t, DOWN)  # eu's own network is broken
        record(monitors, us, t, UP)
        regions_health_record(now=t)
    assert not Incident.objects.exists()
    health = regions_health(now=t)
    assert health[eu.pk].healthy is False
    assert "most of its monitors" in health[eu.pk].reason
    assert health[us.pk].healthy is True
    assert RegionHealthEvent.objects.filter(region=eu, healthy=False).count() == 1

    # eu's checks work again: healthy again, one event each way.
    for _ in range(2):
        t += timedelta(seconds=10)
        beat([eu, us], t)
        record(monitors, eu, t, UP)
        record(monitors, us, t, UP)
        regions_health_record(now=t)
    assert Region.objects.get(pk=eu.pk).healthy
    assert [
        e.healthy for e in RegionHealthEvent.objects.order_by("created_at", "pk")
    ] == [False, True]


def test_in_a_one_region_install_everything_failing_is_an_outage(
    make_monitor, regions
) -> None:
    eu = regions[0]
    monitors = [
        make_monitor(name=f"m{i}", regions=[eu], failure_threshold=2) for i in range(6)
    ]
    t = timezone.now() - timedelta(minutes=5)
    for _ in range(2):
        t += timedelta(seconds=60)
        beat([eu], t)
        record(monitors, eu, t, DOWN)
        regions_health_record(now=t)
    assert Region.objects.get(pk=eu.pk).healthy
    assert Incident.objects.filter(status=IncidentStatus.OPEN).count() == 6


def test_a_region_whose_batches_start_late_is_unhealthy(regions, settings) -> None:
    eu, us, _ = regions
    now = timezone.now()
    beat([eu], now, lag_ms=settings.UPTIME_REGION_MAX_LAG_SECONDS * 1000 + 2000)
    beat([us], now, lag_ms=300)
    health = regions_health(now=now)
    assert not health[eu.pk].healthy and "late" in health[eu.pk].reason
    assert health[us.pk].healthy
    # A region never heard from keeps its recorded state (healthy by default).
    assert health[regions[2].pk].healthy


def test_a_silent_region_is_unhealthy_after_the_bound_and_not_before(
    regions, settings
) -> None:
    eu = regions[0]
    t = timezone.now()
    beat([eu], t)
    bound = settings.UPTIME_REGION_SILENT_SECONDS
    later = t + timedelta(seconds=bound - 1)
    assert regions_health(now=later)[eu.pk].healthy
    assert not regions_health(now=t + timedelta(seconds=bound + 1))[eu.pk].healthy


def test_recording_twice_writes_one_event_per_change(regions, settings) -> None:
    eu = regions[0]
    t = timezone.now()
    beat([eu], t)
    gone = t + timedelta(seconds=settings.UPTIME_REGION_SILENT_SECONDS + 5)
    assert len(regions_health_record(now=gone)) == 1
    assert regions_health_record(now=gone + timedelta(seconds=5)) == []
    assert RegionHealthEvent.objects.count() == 1


def test_the_dashboard_shows_the_banner_and_insufficient_coverage(
    make_monitor, regions, owner, settings
) -> None:
    eu = regions[0]
    monitor = make_monitor(regions=regions, region_quorum=2)
    t = timezone.now()
    beat(regions, t)
    beat([eu], t + timedelta(seconds=settings.UPTIME_REGION_SILENT_SECONDS + 5))
    regions_health_record(
        now=t + timedelta(seconds=settings.UPTIME_REGION_SILENT_SECONDS + 5)
    )
    client = client_for(owner)
    page = client.get("/").content.decode()
    assert f"Unhealthy region {eu.code}" not in page  # eu is the one alive
    assert "Insufficient coverage" in page
    for region in regions[1:]:
        assert f"Unhealthy region {region.code}" in page
    detail = client.get(f"/monitors/{monitor.pk}/").content.decode()
    assert "Insufficient coverage" in detail
    assert "region unhealthy" in detail


@pytest.mark.django_db(transaction=True)
def test_a_worker_heartbeat_thread_writes_its_regions_rows(regions, settings) -> None:
    settings.UPTIME_WORKER_HEARTBEAT_SECONDS = 0.2
    thread = HeartbeatThread(worker="checks@box", region_codes=["eu", "us"])
    thread.start()
    try:
        wait_for(
            lambda: WorkerHeartbeat.objects.filter(worker="checks@box").count() == 2,
            timeout=10,
        )
        first = WorkerHeartbeat.objects.get(worker="checks@box", region__code="eu")
        wait_for(
            lambda: (
                WorkerHeartbeat.objects.get(pk=first.pk).last_seen_at
                > first.last_seen_at
            ),
            timeout=10,
        )
    finally:
        thread.stopped.set()
        thread.join(timeout=5)
    assert not thread.is_alive()


def test_a_batch_heartbeats_its_worker_with_how_late_it_started(
    make_monitor, regions, target, allow_private
) -> None:
    from monitors import runner

    eu = regions[0]
    monitor = make_monitor(url=target.url("/"), regions=[eu])
    slot = timezone.now().replace(microsecond=0) - timedelta(seconds=7)
    runner.run_checks(
        region_code=eu.code,
        scheduled_at=slot,
        monitor_ids=[monitor.pk],
        worker="checks-eu@box",
    )
    row = WorkerHeartbeat.objects.get(worker="checks-eu@box", region=eu)
    assert row.last_batch_at is not None and row.last_lag_ms is not None
    assert 7000 <= row.last_lag_ms < 30000
    # Seven seconds late is past the default bound: the region is late.
    health = regions_health()
    assert not health[eu.pk].healthy and "late" in health[eu.pk].reason


def test_a_region_whose_live_workers_get_no_batches_is_unhealthy(
    make_monitor, regions, settings
) -> None:
    """A worker whose consumer lost the broker still heartbeats (its thread
    writes to the database): no batch for an interval plus the bound."""
    eu = regions[0]
    make_monitor(regions=[eu], interval_seconds=30)
    t = timezone.now() - timedelta(minutes=5)
    beat([eu], t)  # a batch at t
    bound = settings.UPTIME_REGION_SILENT_SECONDS
    for seconds in range(5, 30 + bound + 10, 5):
        worker_heartbeat(
            worker=f"checks-{eu.code}@host",
            regions=[eu],
            now=t + timedelta(seconds=seconds),
            started_at=t - timedelta(hours=1),
        )
    assert regions_health(now=t + timedelta(seconds=30 + bound - 1))[eu.pk].healthy
    late = regions_health(now=t + timedelta(seconds=30 + bound + 5))[eu.pk]
    assert not late.healthy and "no batch" in late.reason
