"""The outbox: rows written with the incident, claimed once, retried, swept."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from alerts.models import Channel, Notification
from alerts.services import (
    backoff_seconds,
    notification_deliver,
    notification_retry,
    notifications_remind,
    notifications_sweep,
)
from monitors.models import Incident
from tests.alerts.conftest import record
from tests.alerts.servers import Receiver

pytestmark = pytest.mark.django_db


class Queue:
    """Stands in for Celery's apply_async: records what would be enqueued."""

    def __init__(self) -> None:
        self.sent: list[tuple[list[int], float | None]] = []

    def __call__(self, ids, countdown=None) -> None:
        self.sent.append((list(ids), countdown))


@pytest.fixture
def monitor(make_monitor, regions):
    return make_monitor(regions=regions[:1], failure_threshold=1, name="Shop")


@pytest.fixture
def hook(make_channel, monitor, receiver: Receiver, allow_private) -> Channel:
    return make_channel("webhook", receiver.url(), monitors=[monitor])


def test_opening_an_incident_writes_one_notification_per_channel(
    monitor,
    make_channel,
    open_incident,
    allow_private,
    receiver,
    django_capture_on_commit_callbacks,
) -> None:
    hook = make_channel("webhook", receiver.url(), monitors=[monitor])
    mail = make_channel("email", "ops@example.com", monitors=[monitor])
    make_channel("email", "other@example.com")  # not linked: nothing

    with django_capture_on_commit_callbacks() as callbacks:
        incident = open_incident(monitor)

    rows = Notification.objects.filter(incident=incident)
    assert {(n.channel_id, n.event, n.status) for n in rows} == {
        (hook.pk, "incident.opened", "pending"),
        (mail.pk, "incident.opened", "pending"),
    }
    # Enqueued only once the incident's transaction commits.
    assert len(callbacks) == 1


def test_notifications_roll_back_with_the_incident(monitor, hook, regions) -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        record(monitor, regions[0], "down")
        assert Notification.objects.count() == 1
        raise RuntimeError("the tick transaction fails")
    assert Incident.objects.count() == 0
    assert Notification.objects.count() == 0


def test_recovery_writes_a_resolved_notification(
    monitor, hook, open_incident, regions
) -> None:
    incident = open_incident(monitor)
    record(monitor, regions[0], "up")
    events = sorted(
        Notification.objects.filter(incident=incident).values_list("event", flat=True)
    )
    assert events == ["incident.opened", "incident.resolved"]
    resolved = Notification.objects.get(event="incident.resolved")
    assert resolved.payload["data"]["incident"]["status"] == "resolved"


def test_channel_event_switches_and_enabled_flag_are_respected(
    monitor, make_channel, open_incident, regions, receiver, allow_private
) -> None:
    down_only = make_channel(
        "webhook", receiver.url(), monitors=[monitor], notify_up=False
    )
    up_only = make_channel(
        "webhook", receiver.url(), monitors=[monitor], notify_down=False
    )
    make_channel("webhook", receiver.url(), monitors=[monitor], enabled=False)

    open_incident(monitor)
    record(monitor, regions[0], "up")

    got = set(Notification.objects.values_list("channel_id", "event"))
    assert got == {(down_only.pk, "incident.opened"), (up_only.pk, "incident.resolved")}


def test_the_same_event_twice_writes_one_row(monitor, hook, open_incident) -> None:
    from alerts.services import notifications_for_incident

    incident = open_incident(monitor)
    notifications_for_incident(incident=incident, event="incident.opened")
    assert Notification.objects.filter(incident=incident).count() == 1


def test_delivery_records_sent_and_channel_health(
    monitor, hook, open_incident, receiver
) -> None:
    open_incident(monitor)
    n = Notification.objects.get()
    assert notification_deliver(notification_id=n.pk) == "sent"
    n.refresh_from_db()
    hook.refresh_from_db()
    assert (n.status, n.attempts, n.last_error) == ("sent", 1, "")
    assert n.sent_at is not None
    assert hook.last_notified_at is not None
    assert len(receiver.requests) == 1
    # Sent rows are never sent again.
    assert notification_deliver(notification_id=n.pk) == "skipped"
    assert len(receiver.requests) == 1


@pytest.mark.django_db(transaction=True)
def test_two_deliver_tasks_racing_send_once(
    monitor, hook, open_incident, receiver
) -> None:
    open_incident(monitor)
    n = Notification.objects.get()
    # A slow receiver keeps the first worker inside its send.
    receiver.on_request = lambda req: time.sleep(0.3)
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def worker() -> None:
        try:
            start.wait()
            outcomes.append(notification_deliver(notification_id=n.pk))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)

    assert sorted(outcomes) == ["sent", "skipped"]
    assert len(receiver.requests) == 1
    n.refresh_from_db()
    assert (n.status, n.attempts) == ("sent", 1)


def test_receiver_down_for_a_while_gets_it_once_after_backoff(
    monitor, hook, open_incident, receiver, fast_retries
) -> None:
    open_incident(monitor)
    n = Notification.objects.get()
    receiver.stop()
    queue = Queue()

    assert notification_deliver(notification_id=n.pk, enqueue=queue) == "retry"
    n.refresh_from_db()
    assert n.status == "pending"
    assert n.attempts == 1
    assert "unreachable" in n.last_error
    wait = (n.next_attempt_at - timezone.now()).total_seconds()
    assert 0.3 < wait <= 1.0
    assert queue.sent == [([n.pk], pytest.approx(wait, abs=0.1))]

    receiver.start()  # back up, on the same address
    # The retry task arriving early (a duplicate) does nothing.
    assert notification_deliver(notification_id=n.pk) == "skipped"
    assert receiver.requests == []

    later = n.next_attempt_at + timedelta(milliseconds=1)
    assert notification_deliver(notification_id=n.pk, now=later) == "sent"
    assert notification_deliver(notification_id=n.pk, now=later) == "skipped"
    assert len(receiver.requests) == 1
    n.refresh_from_db()
    assert (n.status, n.attempts) == ("sent", 2)


def test_backoff_doubles_with_jitter_and_honours_retry_after(settings) -> None:
    settings.ALERTS_RETRY_BASE_SECONDS = 10
    settings.ALERTS_RETRY_MAX_DELAY_SECONDS = 3600
    for attempt, ceiling in [(1, 10), (2, 20), (3, 40), (10, 3600), (30, 3600)]:
        delays = {backoff_seconds(attempt) for _ in range(20)}
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(delays) > 1  # jittered
    assert backoff_seconds(1, retry_after=120) >= 120


def test_transient_failures_give_up_after_the_window(
    monitor, hook, open_incident, receiver, settings
) -> None:
    settings.ALERTS_RETRY_BASE_SECONDS = 60
    settings.ALERTS_RETRY_WINDOW_SECONDS = 100
    receiver.default = (503, b"down", {})
    open_incident(monitor)
    n = Notification.objects.get()
    queue = Queue()
    outcomes = []
    now = timezone.now()
    for _ in range(5):
        outcomes.append(
            notification_deliver(notification_id=n.pk, now=now, enqueue=queue)
        )
        n.refresh_from_db()
        now = n.next_attempt_at
        if n.status != "pending":
            break
    assert outcomes[0] == "retry"
    assert outcomes[-1] == "failed"
    assert n.status == "failed"
    assert n.last_error.startswith(f"Gave up after {n.attempts} attempts")
    hook.refresh_from_db()
    assert "503" in hook.last_error


def test_permanent_failure_stops_at_once_and_shows_on_the_channel(
    monitor, hook, open_incident, receiver
) -> None:
    receiver.default = (410, b"gone", {})
    open_incident(monitor)
    n = Notification.objects.get()
    queue = Queue()
    assert notification_deliver(notification_id=n.pk, enqueue=queue) == "failed"
    n.refresh_from_db()
    hook.refresh_from_db()
    assert (n.status, n.attempts) == ("failed", 1)
    assert "410" in n.last_error
    assert "410" in hook.last_error
    assert queue.sent == []


def test_a_disabled_channel_fails_its_pending_rows_visibly(
    monitor, hook, open_incident, receiver
) -> None:
    open_incident(monitor)
    Channel.objects.filter(pk=hook.pk).update(enabled=False)
    n = Notification.objects.get()
    assert notification_deliver(notification_id=n.pk) == "failed"
    n.refresh_from_db()
    assert n.last_error == "The channel was disabled."
    assert receiver.requests == []


@pytest.mark.django_db(transaction=True)
def test_sweeper_requeues_lost_and_lapsed_rows_once_per_grace(
    monitor, hook, open_incident, settings
) -> None:
    settings.ALERTS_SWEEP_GRACE_SECONDS = 60
    open_incident(monitor)
    n = Notification.objects.get()
    now = timezone.now()
    queue = Queue()

    assert notifications_sweep(now=now, enqueue=queue) == []
    later = now + timedelta(seconds=61)
    assert notifications_sweep(now=later, enqueue=queue) == [n.pk]
    assert queue.sent == [([n.pk], None)]
    # Re-enqueued: not again until another grace period passes.
    assert notifications_sweep(now=later + timedelta(seconds=5), enqueue=queue) == []

    # A worker holds the claim: the sweeper leaves it alone until it lapses.
    Notification.objects.filter(pk=n.pk).update(
        locked_until=later + timedelta(seconds=200), enqueued_at=None
    )
    assert notifications_sweep(now=later + timedelta(seconds=100), enqueue=queue) == []
    assert notifications_sweep(now=later + timedelta(seconds=201), enqueue=queue) == [
        n.pk
    ]

    # Sent and failed rows are never swept.
    Notification.objects.filter(pk=n.pk).update(status="sent", enqueued_at=None)
    assert notifications_sweep(now=later + timedelta(days=1), enqueue=queue) == []


def test_long_retries_wait_for_the_sweeper_instead_of_a_countdown(
    monitor, hook, open_incident, receiver, settings
) -> None:
    settings.ALERTS_RETRY_BASE_SECONDS = 3000
    settings.ALERTS_RETRY_MAX_DELAY_SECONDS = 3000
    receiver.default = (503, b"down", {})
    open_incident(monitor)
    n = Notification.objects.get()
    queue = Queue()
    assert notification_deliver(notification_id=n.pk, enqueue=queue) == "retry"
    n.refresh_from_db()
    assert queue.sent == []
    assert n.enqueued_at is None  # the sweeper picks it up once due


def test_admin_retry_requeues_a_failed_notification(
    monitor, hook, open_incident, receiver, django_capture_on_commit_callbacks
) -> None:
    receiver.replies = [(404, b"nope", {})]
    open_incident(monitor)
    n = Notification.objects.get()
    assert notification_deliver(notification_id=n.pk) == "failed"
    n.refresh_from_db()
    with django_capture_on_commit_callbacks() as callbacks:
        assert notification_retry(notification=n)
    assert len(callbacks) == 1
    assert notification_deliver(notification_id=n.pk) == "sent"
    assert len(receiver.requests) == 2


def test_reminders_repeat_every_n_minutes_while_open(
    monitor, make_channel, open_incident, receiver, allow_private, regions
) -> None:
    hook = make_channel(
        "webhook", receiver.url(), monitors=[monitor], reminder_minutes=5
    )
    quiet = make_channel("webhook", receiver.url(), monitors=[monitor])
    incident = open_incident(monitor)
    opened = timezone.now()

    assert notifications_remind(now=opened + timedelta(minutes=4)) == 0
    assert notifications_remind(now=opened + timedelta(minutes=5, seconds=1)) == 1
    assert notifications_remind(now=opened + timedelta(minutes=6)) == 0  # same slot
    assert notifications_remind(now=opened + timedelta(minutes=10, seconds=1)) == 1
    reminders = Notification.objects.filter(event="incident.reminder")
    assert {n.channel_id for n in reminders} == {hook.pk}
    assert quiet.pk not in {n.channel_id for n in reminders}
    incident.refresh_from_db()
    assert incident.last_reminded_at is not None

    record(monitor, regions[0], "up")
    assert notifications_remind(now=opened + timedelta(minutes=30)) == 0


def test_new_monitors_are_linked_to_default_channels(
    make_channel, make_monitor, receiver, allow_private
) -> None:
    default = make_channel("email", "ops@example.com", is_default=True)
    make_channel("email", "other@example.com")
    monitor = make_monitor()
    assert list(monitor.channels.all()) == [default]


def test_certificate_warnings_from_the_check_reach_the_channels(
    monitor, hook, receiver
) -> None:
    from monitors.models import Monitor
    from monitors.signals import certificate_expiring

    not_after = timezone.now() + timedelta(days=7)
    for _ in range(2):  # a repeated announcement writes one row
        certificate_expiring.send(
            sender=Monitor, monitor=monitor, days_left=7, not_after=not_after
        )
    n = Notification.objects.get(event="certificate.expiring")
    assert n.incident is None
    assert n.monitor == monitor
    assert notification_deliver(notification_id=n.pk) == "sent"
    body = receiver.requests[0].body.decode()
    assert '"type":"certificate.expiring"' in body
    assert '"days_left":7' in body


def test_recovery_never_overtakes_a_down_message_still_retrying(
    monitor, hook, open_incident, receiver, regions, fast_retries
) -> None:
    receiver.replies = [(503, b"busy", {})]
    incident = open_incident(monitor)
    record(monitor, regions[0], "up")
    opened = Notification.objects.get(incident=incident, event="incident.opened")
    resolved = Notification.objects.get(incident=incident, event="incident.resolved")
    queue = Queue()

    assert notification_deliver(notification_id=opened.pk, enqueue=queue) == "retry"
    assert (
        notification_deliver(notification_id=resolved.pk, enqueue=queue) == "deferred"
    )
    resolved.refresh_from_db()
    opened.refresh_from_db()
    assert resolved.attempts == 0  # handed back untried
    assert resolved.next_attempt_at > opened.next_attempt_at

    now = resolved.next_attempt_at
    assert notification_deliver(notification_id=opened.pk, now=now) == "sent"
    assert notification_deliver(notification_id=resolved.pk, now=now) == "sent"
    types = [r.body.split(b'"type":"')[1].split(b'"')[0] for r in receiver.requests]
    assert types == [b"incident.opened", b"incident.opened", b"incident.resolved"]


def test_alerts_carry_the_failing_checks_evidence(
    make_monitor, regions, make_channel, receiver, smtp, target, allow_private
) -> None:
    from django.utils import timezone

    from monitors.runner import run_checks
    from tests.targets import respond

    target.routes["/"] = respond(503, b"<h1>maintenance</h1>", {"X-Trace": "abc"})
    monitor = make_monitor(
        url=target.url("/"), regions=regions[:1], failure_threshold=1
    )
    hook = make_channel("webhook", receiver.url(), monitors=[monitor])
    mail = make_channel("email", "ops@example.com", monitors=[monitor], name="Mail")
    run_checks(
        region_code=regions[0].code,
        scheduled_at=timezone.now(),
        monitor_ids=[monitor.pk],
    )
    opened = Notification.objects.filter(event="incident.opened")
    assert opened.count() == 2
    for n in opened:
        assert notification_deliver(notification_id=n.pk) == "sent"
    body = json.loads(receiver.requests[0].body)
    evidence = body["data"]["incident"]["evidence"]
    assert evidence["resolved_ip"] == "127.0.0.1"
    assert evidence["status_code"] == 503
    assert "maintenance" in evidence["body"]
    assert hook.notifications.get().status == "sent"
    assert mail.notifications.get(event="incident.opened").status == "sent"
    text = smtp.messages[0].get_payload()[0].get_payload(decode=True).decode()
    assert "Resolved IP: 127.0.0.1" in text
    assert "HTTP status: 503" in text


def test_it_marks_only_the_incidents_that_got_a_reminder(
    make_monitor, make_channel, open_incident, receiver, allow_private, regions
) -> None:
    # Opened first, so the reminder run visits it after the newer incident.
    hourly_monitor = make_monitor(regions=regions[:1], failure_threshold=1)
    make_channel(
        "webhook", receiver.url(), monitors=[hourly_monitor], reminder_minutes=60
    )
    hourly = open_incident(hourly_monitor)
    often_monitor = make_monitor(regions=regions[:1], failure_threshold=1)
    make_channel(
        "webhook", receiver.url(), monitors=[often_monitor], reminder_minutes=5
    )
    often = open_incident(often_monitor)
    now = timezone.now() + timedelta(minutes=5, seconds=1)

    assert notifications_remind(now=now) == 1

    often.refresh_from_db()
    hourly.refresh_from_db()
    assert often.last_reminded_at == now
    assert hourly.last_reminded_at is None


def test_a_receiver_answer_with_nul_and_bad_utf8_is_stored_escaped(
    monitor, hook, open_incident, receiver
) -> None:
    receiver.default = (410, b"gone\x00\xff", {})
    open_incident(monitor)
    n = Notification.objects.get()
    assert notification_deliver(notification_id=n.pk, enqueue=Queue()) == "failed"
    n.refresh_from_db()
    hook.refresh_from_db()
    assert n.status == "failed"
    assert "\x00" not in n.last_error and "410" in n.last_error
    assert "\x00" not in hook.last_error and "410" in hook.last_error
