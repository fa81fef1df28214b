"""Flap damping: real ticks through ticks_record, counting the outbox rows.

Before flap detection, down 2 / up 2 at a failure threshold of 2 wrote an
open and a resolve alert every four checks (12 in 24 checks), and strict
alternation never alerted although half its checks failed.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from alerts.models import Channel, Event, Notification
from alerts.services import notifications_remind
from monitors.checks.base import CheckResult
from monitors.flapping import change_percent
from monitors.models import Incident, MaintenanceWindow, Monitor, Region
from monitors.services import TickResult, monitor_pause, ticks_record
from tests.alerts.helpers import email_text, notify
from tests.alerts.servers import Receiver, SMTPSink, slack_reply

pytestmark = pytest.mark.django_db

INTERVAL = 10
UP = CheckResult(status="up", response_time_ms=12, status_code=200)
DOWN = CheckResult(
    status="down",
    error="http_status",
    message="HTTP 503 Service Unavailable",
    status_code=503,
)

SLOW = CheckResult(status="degraded", response_time_ms=900, status_code=200)
RESULTS = {"u": UP, "d": DOWN, "s": SLOW}


class Slots:
    """One slot per check, INTERVAL apart, ending about now."""

    def __init__(self, count: int) -> None:
        self.next_at = timezone.now() - timedelta(seconds=INTERVAL * (count + 1))

    def take(self) -> datetime:
        self.next_at += timedelta(seconds=INTERVAL)
        return self.next_at


def play(monitor: Monitor, regions: list[Region], pattern: str, slots: Slots) -> None:
    """Record one check per character (u/d/s: up, down, slow), from every region at once
    unless ``pattern`` holds one column per region separated by '|'."""
    columns = pattern.split("|") if "|" in pattern else [pattern] * len(regions)
    for i in range(len(columns[0])):
        at = slots.take()
        for region, column in zip(regions, columns, strict=True):
            ticks_record(
                region=region,
                scheduled_at=at,
                results=[
                    TickResult(
                        monitor_id=monitor.pk,
                        checked_at=at,
                        result=RESULTS[column[i]],
                    )
                ],
                now=at + timedelta(seconds=1),
            )


def alerts(monitor: Monitor) -> list[str]:
    return list(
        Notification.objects.filter(monitor=monitor)
        .order_by("id")
        .values_list("event", flat=True)
    )


@pytest.fixture
def monitor(make_monitor, regions):
    return make_monitor(
        regions=regions[:1],
        interval_seconds=INTERVAL,
        failure_threshold=2,
        recovery_threshold=1,
    )


@pytest.fixture
def channel(make_channel, monitor) -> Channel:
    return make_channel("email", "ops@example.com", monitors=[monitor])


def test_the_weighted_change_percent_of_the_documented_patterns() -> None:
    alternating = [i % 2 == 0 for i in range(21)]
    two_two = [i % 4 < 2 for i in range(21)]
    one_outage = [False] * 5 + [True] * 5 + [False] * 11
    assert change_percent(alternating, 20) == 100.0
    assert 45 <= change_percent(two_two, 20) <= 55
    assert change_percent(one_outage, 20) <= 12.0
    assert change_percent([False] * 21, 20) == 0.0


def test_strict_alternation_alerts_once_when_it_starts_and_once_when_it_settles(
    monitor, regions, channel
) -> None:
    slots = Slots(60)
    play(monitor, regions[:1], "uuuu" + "du" * 9, slots)

    assert alerts(monitor) == ["monitor.flapping_started"]
    started = Notification.objects.get(event="monitor.flapping_started")
    flap = started.payload["data"]["flapping"]
    # Found at the fifth change (u u u u d u d u d), over the window as it
    # stood then: the four calm checks before it still count.
    assert flap["checks"] == 9
    assert flap["failure_rate_percent"] == 33.3
    assert flap["state_change_percent"] > 25
    assert flap["window_seconds"] == 8 * INTERVAL + 1
    monitor.refresh_from_db()
    assert monitor.flapping
    assert monitor.flapping_since is not None

    play(monitor, regions[:1], "u" * 25, slots)

    assert alerts(monitor) == ["monitor.flapping_started", "monitor.flapping_stopped"]
    stopped = Notification.objects.get(event="monitor.flapping_stopped")
    assert stopped.payload["data"]["flapping"]["settled"] == "up"
    assert stopped.payload["data"]["incident"] is None
    monitor.refresh_from_db()
    assert not monitor.flapping
    assert monitor.flapping_since is None


def test_down_two_up_two_alerts_one_pair_then_flapping_not_a_pair_per_cycle(
    monitor, regions, channel
) -> None:
    slots = Slots(60)
    play(monitor, regions[:1], "uuuu" + "dduu" * 6, slots)

    # The first outage is an outage; going down again within the window
    # after it resolved is the second pair of a storm: flapping instead.
    assert alerts(monitor) == [
        "incident.opened",
        "incident.resolved",
        "monitor.flapping_started",
    ]
    # The incidents still open and resolve (history), they just alert nobody.
    assert Incident.objects.filter(monitor=monitor).count() == 6

    play(monitor, regions[:1], "u" * 25, slots)

    assert alerts(monitor) == [
        "incident.opened",
        "incident.resolved",
        "monitor.flapping_started",
        "monitor.flapping_stopped",
    ]


def test_flapping_that_settles_down_sends_the_incidents_down_alert_then_up(
    monitor, regions, channel
) -> None:
    slots = Slots(80)
    play(monitor, regions[:1], "uuuu" + "du" * 9 + "d" * 25, slots)

    assert alerts(monitor) == [
        "monitor.flapping_started",
        "monitor.flapping_stopped",
        "incident.opened",
    ]
    incident = Incident.objects.get(monitor=monitor, status="open")
    stopped = Notification.objects.get(event="monitor.flapping_stopped")
    assert stopped.payload["data"]["flapping"]["settled"] == "down"
    assert stopped.payload["data"]["incident"]["id"] == incident.pk

    play(monitor, regions[:1], "uu", slots)

    assert alerts(monitor)[-1] == "incident.resolved"
    assert len(alerts(monitor)) == 4


def test_a_steady_outage_still_alerts_down_once_and_up_once(
    monitor, regions, channel
) -> None:
    slots = Slots(40)
    play(monitor, regions[:1], "uuuuu" + "d" * 10 + "u" * 10, slots)

    assert alerts(monitor) == ["incident.opened", "incident.resolved"]
    monitor.refresh_from_db()
    assert not monitor.flapping


def test_hysteresis_it_keeps_flapping_between_the_thresholds(
    monitor, regions, channel, settings
) -> None:
    slots = Slots(80)
    play(monitor, regions[:1], "uuuu" + "du" * 9, slots)
    assert alerts(monitor) == ["monitor.flapping_started"]

    # A blip every ten checks: two in the window, four changes, about 20 %,
    # under the start threshold (25) but above the stop threshold (10):
    # still flapping, nothing sent.
    play(monitor, regions[:1], ("u" * 9 + "d") * 3, slots)

    monitor.refresh_from_db()
    assert monitor.flapping
    assert alerts(monitor) == ["monitor.flapping_started"]


def test_hysteresis_a_calm_monitor_does_not_start_between_the_thresholds(
    make_monitor, regions, make_channel
) -> None:
    # A blip every ten checks never reaches the failure threshold of 3:
    # no incident, and about 20 % is not enough to start flapping.
    monitor = make_monitor(
        regions=regions[:1], interval_seconds=INTERVAL, failure_threshold=3
    )
    make_channel("email", "ops@example.com", monitors=[monitor])
    play(monitor, regions[:1], ("u" * 9 + "d") * 4, Slots(50))

    monitor.refresh_from_db()
    assert not monitor.flapping
    assert alerts(monitor) == []


def test_slow_and_fast_alternating_is_not_flapping(monitor, regions, channel) -> None:
    # Degraded is up with a latency note: it has its own alerts.
    play(monitor, regions[:1], "us" * 15, Slots(40))

    monitor.refresh_from_db()
    assert not monitor.flapping
    assert alerts(monitor) == []


def test_one_shaky_region_of_two_does_not_make_the_monitor_flap(
    make_monitor, regions, make_channel
) -> None:
    monitor = make_monitor(
        regions=regions[:2], interval_seconds=INTERVAL, failure_threshold=2
    )
    make_channel("email", "ops@example.com", monitors=[monitor])
    play(monitor, regions[:2], "du" * 10 + "|" + "u" * 20, Slots(40))

    monitor.refresh_from_db()
    assert not monitor.flapping
    assert alerts(monitor) == []


def test_a_flapping_monitors_open_incident_sends_no_reminders(
    monitor, regions, make_channel
) -> None:
    make_channel("email", "ops@example.com", monitors=[monitor], reminder_minutes=1)
    slots = Slots(60)
    play(monitor, regions[:1], "uuuu" + "du" * 9 + "dd", slots)
    assert Incident.objects.filter(monitor=monitor, status="open").exists()
    monitor.refresh_from_db()
    assert monitor.flapping

    assert notifications_remind(now=timezone.now() + timedelta(minutes=5)) == 0


def test_every_transport_renders_the_flapping_alerts(
    project,
    monitor,
    regions,
    make_channel,
    smtp: SMTPSink,
    receiver: Receiver,
    allow_private,
) -> None:
    receiver.default = slack_reply(200, "ok")
    channels = [
        make_channel("email", "ops@example.com", monitors=[monitor]),
        make_channel("slack", receiver.url("/services/x"), monitors=[monitor]),
        make_channel("webhook", receiver.url("/hook"), monitors=[monitor]),
    ]
    play(monitor, regions[:1], "uuuu" + "du" * 9 + "u" * 25, Slots(60))

    # The email channel's confirmation mail is in the outbox too: not ours.
    alerts = Notification.objects.exclude(event=Event.CONFIRMATION)
    for notification in alerts.order_by("id"):
        notify(notification.channel, notification)

    subjects = [m["Subject"] for m in smtp.messages]
    assert subjects == [
        "[FLAPPING] Shop (https://shop.example/)",
        "[STABLE] Shop (https://shop.example/)",
    ]
    text = email_text(smtp.messages[0])
    assert "Shop is flapping:" in text
    assert "checks failed" in text
    slack = [r for r in receiver.requests if r.path == "/services/x"]
    assert "Shop is flapping" in slack[0].body.decode()
    assert "stopped flapping and is up" in slack[1].body.decode()
    hooks = [r for r in receiver.requests if r.path == "/hook"]
    assert [json_type(r.body) for r in hooks] == [
        "monitor.flapping_started",
        "monitor.flapping_stopped",
    ]
    assert len(channels) == 3


def json_type(body: bytes) -> str:
    return json.loads(body)["type"]


def test_the_dashboard_and_the_api_show_flapping(
    monitor, regions, owner_client, api
) -> None:
    overview = reverse("dashboard:overview")
    page = owner_client.get(monitor.get_absolute_url()).content.decode()
    assert "status-flapping" not in page
    assert api.get(f"/api/monitors/{monitor.pk}/").json()["flapping"] is False

    play(monitor, regions[:1], "uuuu" + "du" * 9, Slots(30))
    monitor.refresh_from_db()

    page = owner_client.get(monitor.get_absolute_url()).content.decode()
    assert 'class="status status-flapping"' in page
    assert ">Flapping</span>" in page
    assert "Flapping since" in page
    listing = owner_client.get(overview).content.decode()
    assert 'class="status status-flapping"' in listing
    body = api.get(f"/api/monitors/{monitor.pk}/").json()
    assert body["flapping"] is True
    assert body["flapping_since"].startswith(
        monitor.flapping_since.strftime("%Y-%m-%dT%H:%M:%S")
    )
    # Read-only: a client cannot clear it.
    api.patch(f"/api/monitors/{monitor.pk}/", {"flapping": False}, format="json")
    monitor.refresh_from_db()
    assert monitor.flapping


def test_a_maintenance_window_holds_flapping_alerts_too(
    monitor, regions, channel
) -> None:
    now = timezone.now()
    MaintenanceWindow.objects.create(
        project=monitor.project,
        title="Deploy",
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(hours=1),
    )
    play(monitor, regions[:1], "uuuu" + "du" * 9, Slots(60))
    assert alerts(monitor) == []
    monitor.refresh_from_db()
    assert not monitor.flapping


def test_pausing_a_flapping_monitor_ends_the_episode_without_an_alert(
    monitor, regions, channel, owner
) -> None:
    play(monitor, regions[:1], "uuuu" + "du" * 9, Slots(60))
    assert alerts(monitor) == ["monitor.flapping_started"]
    monitor_pause(user=owner, monitor=monitor)
    monitor.refresh_from_db()
    assert not monitor.flapping and monitor.flapping_since is None
    assert alerts(monitor) == ["monitor.flapping_started"]
