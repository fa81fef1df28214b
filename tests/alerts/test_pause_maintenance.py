"""Pausing and maintenance windows: what they do to incidents and alerts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from alerts.models import Notification
from alerts.services import notifications_remind
from monitors.models import (
    Incident,
    MaintenanceWindow,
    MonitorPause,
    MonitorStatus,
)
from monitors.services import monitor_pause, monitor_resume, monitor_update
from tests.alerts.conftest import record

pytestmark = pytest.mark.django_db


@pytest.fixture
def monitor(make_monitor, regions):
    return make_monitor(regions=regions[:1], failure_threshold=1, name="Shop")


@pytest.fixture
def hook(make_channel, monitor, receiver, allow_private):
    return make_channel(
        "webhook", receiver.url(), monitors=[monitor], reminder_minutes=5
    )


def _window(monitor, *, minutes_ago=10, minutes_left=50, **kwargs):
    now = timezone.now()
    window = MaintenanceWindow.objects.create(
        project=monitor.project,
        title="Deploy",
        starts_at=now - timedelta(minutes=minutes_ago),
        ends_at=now + timedelta(minutes=minutes_left),
        **kwargs,
    )
    return window


def test_pausing_closes_the_open_incident_as_paused_without_any_alert(
    monitor, hook, open_incident, owner
) -> None:
    incident = open_incident(monitor)
    opened = Notification.objects.count()
    assert opened == 1  # the DOWN alert

    monitor_pause(user=owner, monitor=monitor)

    incident.refresh_from_db()
    assert incident.status == "paused"
    assert incident.resolved_at is not None
    assert Notification.objects.count() == opened  # no UP alert, nothing at all
    monitor.refresh_from_db()
    assert monitor.status == MonitorStatus.PAUSED
    pause = MonitorPause.objects.get(monitor=monitor)
    assert pause.started_at == incident.resolved_at and pause.ended_at is None


def test_pausing_through_an_edit_of_enabled_closes_the_incident_too(
    monitor, hook, open_incident, owner
) -> None:
    incident = open_incident(monitor)
    monitor_update(user=owner, monitor=monitor, fields={"enabled": False})
    incident.refresh_from_db()
    assert incident.status == "paused"
    assert Notification.objects.filter(event="incident.resolved").count() == 0


def test_reminders_stop_once_the_monitor_is_paused(
    monitor, hook, open_incident, owner
) -> None:
    incident = open_incident(monitor)
    later = timezone.now() + timedelta(minutes=5, seconds=1)
    assert notifications_remind(now=later) == 1

    monitor_pause(user=owner, monitor=monitor)

    assert notifications_remind(now=later + timedelta(minutes=5)) == 0
    assert notifications_remind(now=later + timedelta(hours=3)) == 0
    assert Notification.objects.filter(incident=incident).count() == 2


def test_resuming_ends_the_pause_and_a_late_tick_after_pausing_opens_nothing(
    monitor, hook, owner, regions
) -> None:
    monitor_pause(user=owner, monitor=monitor)
    # A batch that was already running when the monitor was paused.
    record(monitor, regions[0], "down")
    assert not Incident.objects.filter(monitor=monitor).exists()

    monitor_resume(user=owner, monitor=monitor)
    pause = MonitorPause.objects.get(monitor=monitor)
    assert pause.ended_at is not None
    record(monitor, regions[0], "down")
    assert Incident.objects.get(monitor=monitor).status == "open"


def test_a_window_holds_the_incident_and_its_alerts_while_checks_are_stored(
    monitor, hook, regions
) -> None:
    _window(monitor)
    for seconds in (180, 120, 60, 0):
        record(monitor, regions[0], "down", timezone.now() - timedelta(seconds=seconds))

    assert monitor.ticks.filter(status="down").count() == 4  # stored and shown
    assert not Incident.objects.filter(monitor=monitor).exists()
    assert Notification.objects.count() == 0


def test_after_the_window_a_target_still_down_opens_one_incident_with_one_alert(
    monitor, hook, regions
) -> None:
    window = _window(monitor)
    record(monitor, regions[0], "down", timezone.now() - timedelta(seconds=60))
    assert Notification.objects.count() == 0

    window.ends_at = timezone.now() - timedelta(seconds=1)
    window.save()
    record(monitor, regions[0], "down", timezone.now() - timedelta(seconds=30))
    record(monitor, regions[0], "down")

    assert Incident.objects.filter(monitor=monitor).count() == 1
    assert list(Notification.objects.values_list("event", flat=True)) == [
        "incident.opened"
    ]


def test_a_window_for_another_monitor_holds_nothing_here(
    monitor, hook, make_monitor, regions
) -> None:
    other = make_monitor(regions=regions[:1], name="Other")
    _window(monitor).monitors.set([other])
    record(monitor, regions[0], "down")
    assert Incident.objects.get(monitor=monitor).status == "open"
    assert Notification.objects.filter(event="incident.opened").count() == 1


def test_a_window_holds_the_reminders_of_an_incident_already_open(
    monitor, hook, open_incident, regions
) -> None:
    incident = open_incident(monitor)
    opened = timezone.now()
    _window(monitor, minutes_ago=0, minutes_left=20)

    assert notifications_remind(now=opened + timedelta(minutes=5, seconds=1)) == 0
    assert notifications_remind(now=opened + timedelta(minutes=10, seconds=1)) == 0
    # The window over, only the reminder due then goes out (not the backlog).
    assert notifications_remind(now=opened + timedelta(minutes=25, seconds=1)) == 1
    assert (
        Notification.objects.filter(
            incident=incident, event="incident.reminder"
        ).count()
        == 1
    )
    # An incident open before the window still resolves, with its UP alert.
    record(monitor, regions[0], "up")
    incident.refresh_from_db()
    assert incident.status == "resolved"


def test_a_recovery_during_a_window_still_tells_those_who_got_the_down_alert(
    monitor, hook, open_incident, regions
) -> None:
    incident = open_incident(monitor)
    _window(monitor, minutes_ago=0)
    record(monitor, regions[0], "up")
    incident.refresh_from_db()
    assert incident.status == "resolved"
    assert Notification.objects.filter(event="incident.resolved").count() == 1
