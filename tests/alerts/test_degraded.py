"""Slow-but-up (degraded) is alertable on its own, once per turn."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from alerts.models import Notification
from alerts.services import notification_deliver
from monitors.checks.base import CheckResult
from monitors.services import TickResult, ticks_record

pytestmark = pytest.mark.django_db

FAST = CheckResult(status="up", response_time_ms=40, status_code=200)
SLOW = CheckResult(status="degraded", response_time_ms=900, status_code=200)


def tick(monitor, region, result, minutes: int) -> datetime:
    at = timezone.now() - timedelta(minutes=10 - minutes)
    ticks_record(
        region=region,
        scheduled_at=at,
        results=[TickResult(monitor_id=monitor.pk, checked_at=at, result=result)],
    )
    return at


@pytest.fixture
def monitor(make_monitor, regions):
    return make_monitor(name="Shop", regions=regions[:2], degraded_threshold_ms=500)


def test_a_slow_monitor_alerts_once_and_again_when_fast(
    monitor, regions, make_channel, receiver, allow_private
) -> None:
    hook = make_channel(
        "webhook", receiver.url(), monitors=[monitor], notify_degraded=True
    )
    quiet = make_channel("webhook", receiver.url(), monitors=[monitor], name="quiet")
    ap, eu = regions[:2]
    tick(monitor, ap, FAST, 0)
    turned_slow_at = tick(monitor, ap, SLOW, 1)
    tick(monitor, eu, SLOW, 1)  # a second region turning slow: no second alert
    tick(monitor, ap, SLOW, 2)
    slow = list(Notification.objects.filter(event="monitor.degraded"))
    assert [n.channel_id for n in slow] == [hook.pk]
    assert quiet.notifications.count() == 0

    tick(monitor, ap, FAST, 3)
    tick(monitor, eu, FAST, 3)
    fast = list(Notification.objects.filter(event="monitor.degraded_resolved"))
    assert [n.channel_id for n in fast] == [hook.pk]

    assert notification_deliver(notification_id=slow[0].pk) == "sent"
    body = json.loads(receiver.requests[0].body)
    assert body["type"] == "monitor.degraded"
    # The check that turned the monitor slow: the first slow tick, in UTC.
    assert body["data"]["check"] == {
        "region": "ap",
        "scheduled_at": turned_slow_at.astimezone(UTC)
        .isoformat()
        .replace("+00:00", "Z"),
        "response_time_ms": 900,
        "threshold_ms": 500,
    }


def test_degraded_ticks_never_open_an_incident(monitor, regions) -> None:
    for minute in range(6):
        tick(monitor, regions[0], SLOW, minute)
        tick(monitor, regions[1], SLOW, minute)
    assert not monitor.incidents.exists()
    monitor.refresh_from_db()
    assert monitor.status == "up"
