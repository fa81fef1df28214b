"""Channels and the notification outbox: create, deliver, retry, sweep.

The outbox (DESIGN.md step 5): rows are written in the transaction that opens
or resolves the incident, and ``alerts.deliver`` is enqueued only after that
commits. A worker claims a row with a conditional UPDATE (pending, due, not
leased by another worker) and checks the row count, so two tasks for one row
send once. The lease (``locked_until``) lapses if the worker dies mid-send;
the sweeper then re-enqueues the row, and the resend carries the same
``uid``: the only way a message repeats.
"""

from __future__ import annotations

import base64
import binascii
import logging
import random
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import F, Q
from django.urls import NoReverseMatch
from django.utils import timezone

from monitors.models import Incident, IncidentStatus, Monitor, Project, Tick
from monitors.validators import validate_target_url

from .models import (
    DEGRADED_EVENTS,
    SECRET_PREFIX,
    Channel,
    ChannelKind,
    Event,
    Notification,
    NotificationStatus,
    generate_secret,
)
from .transports import REGISTRY, TransportError

log = logging.getLogger(__name__)

# Longest retry we hand to Celery as a countdown. Redis redelivers unacked
# tasks after the broker's visibility timeout (an hour), so longer waits are
# left to the sweeper, which picks the row up once it is due.
MAX_COUNTDOWN_SECONDS = 600

Enqueue = Callable[[Sequence[int], float | None], None]


# --- channels ---------------------------------------------------------------


def channel_validate(*, kind: str, target: str, secret: str | None) -> None:
    """Raise ``ValidationError({field: message})`` for a bad channel."""
    if kind not in ChannelKind.values:
        raise ValidationError({"kind": f"Must be one of {', '.join(ChannelKind)}."})
    target = (target or "").strip()
    if not target:
        raise ValidationError({"target": "This field is required."})
    if kind == ChannelKind.EMAIL:
        try:
            validate_email(target)
        except ValidationError:
            raise ValidationError({"target": "Enter a valid email address."}) from None
    else:
        try:
            # The address guard, up front: it runs again on every send.
            validate_target_url(target)
        except ValidationError as exc:
            raise ValidationError({"target": exc.messages}) from None
    if secret:
        if kind != ChannelKind.WEBHOOK:
            raise ValidationError({"secret": "Only webhook channels have a secret."})
        if not secret.startswith(SECRET_PREFIX):
            raise ValidationError(
                {"secret": f"Must start with {SECRET_PREFIX} (Standard Webhooks)."}
            )
        try:
            raw = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
        except (binascii.Error, ValueError):
            raise ValidationError(
                {"secret": f"After {SECRET_PREFIX}, must be base64."}
            ) from None
        if not 24 <= len(raw) <= 64:
            raise ValidationError(
                {"secret": "Must encode between 24 and 64 random bytes."}
            )


def channel_create(
    *,
    project: Project,
    name: str,
    kind: str,
    target: str,
    secret: str | None = None,
    monitors: Iterable[Monitor] = (),
    **fields: Any,
) -> Channel:
    """Create a channel; a webhook without a secret gets a generated one."""
    target = target.strip()
    channel_validate(kind=kind, target=target, secret=secret)
    if kind == ChannelKind.WEBHOOK and not secret:
        secret = generate_secret()
    with transaction.atomic():
        channel = Channel.objects.create(
            project=project,
            name=name,
            kind=kind,
            target=target,
            secret=secret or "",
            **fields,
        )
        monitors = list(monitors)
        if monitors:
            channel.monitors.set(monitors)
    return channel


def monitor_link_default_channels(*, monitor: Monitor) -> None:
    """New monitors start linked to their project's default channels."""
    defaults = Channel.objects.filter(project_id=monitor.project_id, is_default=True)
    for channel in defaults:
        channel.monitors.add(monitor)


def channel_send_test(*, channel: Channel) -> Notification:
    """Send a test message now (no retries) and return its log row."""
    now = timezone.now()
    payload = {
        "type": Event.TEST,
        "timestamp": _iso(now),
        "data": {
            "incident": None,
            "monitor": None,
            "message": f'A test message for the channel "{channel.name}".',
        },
    }
    notification = Notification.objects.create(
        channel=channel,
        event=Event.TEST,
        dedupe_key=f"test:{now.timestamp()}:{random.getrandbits(32)}",
        payload=payload,
        next_attempt_at=now,
        enqueued_at=now,
        # A person is waiting on the result: one attempt, no backoff.
        give_up_at=now,
    )
    notification_deliver(notification_id=notification.pk)
    notification.refresh_from_db()
    return notification


# --- payloads -----------------------------------------------------------------


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _absolute(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def monitor_data(monitor: Monitor) -> dict[str, Any]:
    try:
        link = _absolute(monitor.get_absolute_url())
    except NoReverseMatch:
        link = ""
    return {
        "id": monitor.pk,
        "name": monitor.name,
        "url": monitor.url,
        "project": monitor.project_id,
        "link": link,
    }


def incident_data(incident: Incident) -> dict[str, Any]:
    details = incident.details or {}
    try:
        link = _absolute(incident.get_absolute_url())
    except NoReverseMatch:
        link = ""
    return {
        "id": incident.pk,
        "status": incident.status,
        "started_at": _iso(incident.started_at),
        "resolved_at": _iso(incident.resolved_at),
        "duration_seconds": incident.duration_seconds,
        "cause": incident.cause,
        "error": details.get("error", ""),
        "status_code": details.get("status_code"),
        "regions": sorted((details.get("regions") or {}).keys()),
        "url": link,
        # The failing tick's bounded evidence (resolved IP, timings, status,
        # headers, first 4 KB of the body, certificate), as the check saw it.
        "evidence": details.get("evidence"),
    }


def incident_payload(
    *, incident: Incident, event: str, now: datetime
) -> dict[str, Any]:
    return {
        "type": event,
        "timestamp": _iso(now),
        "data": {
            "incident": incident_data(incident),
            "monitor": monitor_data(incident.monitor),
        },
    }


# --- writing the outbox ---------------------------------------------------------


def enqueue_deliveries(ids: Sequence[int], countdown: float | None = None) -> None:
    from .tasks import deliver

    for pk in ids:
        deliver.apply_async(args=(pk,), countdown=countdown)


def _write(
    *,
    channels: Iterable[Channel],
    event: str,
    dedupe_key: str,
    payload: dict[str, Any],
    incident: Incident | None = None,
    monitor: Monitor | None = None,
    now: datetime,
) -> list[int]:
    """Insert outbox rows (skipping ones that exist), enqueue the new ones after
    commit, and return their ids."""
    channels = [c for c in channels if c.enabled and c.wants(event)]
    if not channels:
        return []
    window = timedelta(seconds=settings.ALERTS_RETRY_WINDOW_SECONDS)
    rows = [
        Notification(
            channel=channel,
            incident=incident,
            monitor=monitor,
            event=event,
            dedupe_key=dedupe_key,
            payload=payload,
            created_at=now,
            next_attempt_at=now,
            enqueued_at=now,
            give_up_at=now + window,
        )
        for channel in channels
    ]
    ours = Notification.objects.filter(channel__in=channels, dedupe_key=dedupe_key)
    with transaction.atomic():
        before = set(ours.values_list("pk", flat=True))
        # ON CONFLICT DO NOTHING: a repeated event (a redelivered task, two
        # reminder runs) finds its rows already there and adds nothing.
        Notification.objects.bulk_create(rows, ignore_conflicts=True)
        ids = sorted(set(ours.values_list("pk", flat=True)) - before)
        if not ids:
            return []
        # robust: a broker outage at commit must not fail the incident's
        # transaction callbacks; the sweeper sends these rows later.
        transaction.on_commit(lambda: enqueue_deliveries(ids), robust=True)
    return ids


def notifications_for_incident(
    *, incident: Incident, event: str, now: datetime | None = None
) -> list[int]:
    """Called inside the incident's transaction (signal receivers)."""
    now = now or timezone.now()
    if event == Event.INCIDENT_RESOLVED and incident.resolved_at:
        now = incident.resolved_at
    suffix = event.split(".", 1)[1]
    return _write(
        channels=incident.monitor.channels.all(),
        event=event,
        dedupe_key=f"incident:{incident.pk}:{suffix}",
        payload=incident_payload(incident=incident, event=event, now=now),
        incident=incident,
        monitor=incident.monitor,
        now=now,
    )


def notifications_for_certificate(
    *, monitor: Monitor, days_left: int, not_after: Any, now: datetime | None = None
) -> list[int]:
    """The check announces each expiry threshold once per certificate; the
    key (certificate, days left) keeps a repeated announcement to one row."""
    now = now or timezone.now()
    expires = _iso(not_after) if isinstance(not_after, datetime) else str(not_after)
    payload = {
        "type": Event.CERTIFICATE_EXPIRING,
        "timestamp": _iso(now),
        "data": {
            "incident": None,
            "monitor": monitor_data(monitor),
            "certificate": {"days_left": days_left, "not_after": expires},
        },
    }
    return _write(
        channels=monitor.channels.all(),
        event=Event.CERTIFICATE_EXPIRING,
        dedupe_key=f"certificate:{monitor.pk}:{expires}:{days_left}",
        payload=payload,
        monitor=monitor,
        now=now,
    )


def notifications_for_degraded(
    *, monitor: Monitor, tick: Tick, degraded: bool, now: datetime | None = None
) -> list[int]:
    """A monitor turned slow (or fast again) in a region.

    Regions turn one by one; the monitor's last degraded-family message says
    where it stands, so "slow" is sent once until "fast again" follows, not
    once per region or per slot.
    """
    now = now or timezone.now()
    event = Event.MONITOR_DEGRADED if degraded else Event.MONITOR_DEGRADED_RESOLVED
    last = (
        Notification.objects.filter(monitor=monitor, event__in=DEGRADED_EVENTS)
        .order_by("-created_at", "-id")
        .values_list("event", flat=True)
        .first()
    )
    if degraded and last == Event.MONITOR_DEGRADED:
        return []
    if not degraded and last != Event.MONITOR_DEGRADED:
        return []
    payload = {
        "type": event,
        "timestamp": _iso(now),
        "data": {
            "incident": None,
            "monitor": monitor_data(monitor),
            "check": {
                "region": tick.region.code,
                "scheduled_at": _iso(tick.scheduled_at),
                "response_time_ms": tick.response_time_ms,
                "threshold_ms": monitor.degraded_threshold_ms,
            },
        },
    }
    return _write(
        channels=monitor.channels.all(),
        event=event,
        dedupe_key=f"{event}:{monitor.pk}:{_iso(tick.scheduled_at)}",
        payload=payload,
        monitor=monitor,
        now=now,
    )


def _opened_at(incident: Incident) -> datetime:
    confirmed = (incident.details or {}).get("confirmed_at")
    if confirmed:
        try:
            return datetime.fromisoformat(confirmed)
        except ValueError:
            pass
    return incident.started_at


def notifications_remind(*, now: datetime | None = None) -> int:
    """Reminder k for a channel is due k * reminder_minutes after opening.

    The key carries k, so a run that repeats (or two beats) writes nothing
    new; after downtime only the current reminder goes out, not the backlog.
    """
    now = now or timezone.now()
    written = 0
    channels = Channel.objects.filter(
        enabled=True, notify_down=True, reminder_minutes__isnull=False
    )
    incidents = (
        Incident.objects.filter(
            status=IncidentStatus.OPEN, monitor__channels__in=channels
        )
        .select_related("monitor")
        .distinct()
    )
    for incident in incidents:
        ids = _remind_incident(
            incident=incident,
            channels=channels.filter(monitors=incident.monitor_id),
            now=now,
        )
        # Per incident, not the run's total: an incident that got nothing
        # this run keeps its own last reminder time.
        if ids:
            Incident.objects.filter(pk=incident.pk).update(last_reminded_at=now)
        written += len(ids)
    return written


def _remind_incident(
    *, incident: Incident, channels: Iterable[Channel], now: datetime
) -> list[int]:
    """Write the reminders now due for one incident; return the new rows' ids."""
    opened_at = _opened_at(incident)
    ids: list[int] = []
    for channel in channels:
        period = timedelta(minutes=channel.reminder_minutes or 0)
        if not period:
            continue
        k = int((now - opened_at) / period)
        if k < 1:
            continue
        ids += _write(
            channels=[channel],
            event=Event.INCIDENT_REMINDER,
            dedupe_key=f"incident:{incident.pk}:reminder:{k}",
            payload=incident_payload(
                incident=incident, event=Event.INCIDENT_REMINDER, now=now
            ),
            incident=incident,
            monitor=incident.monitor,
            now=now,
        )
    return ids


# --- delivering -------------------------------------------------------------------


def backoff_seconds(attempt: int, retry_after: float | None = None) -> float:
    """Exponential backoff with equal jitter: spreads retries of a receiver
    that failed for many channels at once, and never waits less than half."""
    base = float(settings.ALERTS_RETRY_BASE_SECONDS)
    cap = float(settings.ALERTS_RETRY_MAX_DELAY_SECONDS)
    delay = min(cap, base * 2 ** max(attempt - 1, 0))
    delay = delay / 2 + random.uniform(0, delay / 2)
    if retry_after is not None:
        delay = max(delay, min(retry_after, cap))
    return delay


def _note_channel_error(channel_id: int, message: str, now: datetime) -> None:
    Channel.objects.filter(pk=channel_id).update(
        last_error=message[:500], last_error_at=now
    )


def _earlier_pending(notification: Notification) -> datetime | None:
    """When the still-pending earlier message of this incident on this
    channel is due, if there is one that this one must not overtake."""
    if notification.incident_id is None or notification.event not in (
        Event.INCIDENT_RESOLVED,
        Event.INCIDENT_REMINDER,
    ):
        return None
    earlier = Notification.objects.filter(
        incident_id=notification.incident_id,
        channel_id=notification.channel_id,
        status=NotificationStatus.PENDING,
        created_at__lt=notification.created_at,
    ).exclude(pk=notification.pk)
    return (
        earlier.order_by("next_attempt_at")
        .values_list("next_attempt_at", flat=True)
        .first()
    )


def notification_deliver(
    *,
    notification_id: int,
    now: datetime | None = None,
    enqueue: Enqueue = enqueue_deliveries,
) -> str:
    """Claim, send and record one notification. Returns what happened:
    ``sent``, ``retry``, ``failed``, ``deferred`` (waits for an earlier
    message of its incident) or ``skipped`` (not ours to send)."""
    now = now or timezone.now()
    lease = timedelta(seconds=settings.ALERTS_CLAIM_LEASE_SECONDS)
    # The claim: only one worker's UPDATE matches (row count 1).
    claimed = (
        Notification.objects.filter(
            pk=notification_id,
            status=NotificationStatus.PENDING,
            next_attempt_at__lte=now,
        )
        .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
        .update(locked_until=now + lease, attempts=F("attempts") + 1)
    )
    if claimed != 1:
        return "skipped"
    notification = Notification.objects.select_related("channel").get(
        pk=notification_id
    )
    channel = notification.channel
    attempt = notification.attempts
    # Later writes are fenced on our attempt number: if our lease lapsed and
    # another worker took the row, we do not overwrite its outcome.
    mine = Notification.objects.filter(
        pk=notification_id, attempts=attempt, status=NotificationStatus.PENDING
    )

    waiting_for = _earlier_pending(notification)
    if waiting_for is not None:
        # "Up" must not overtake "down" on the same channel (the opening is
        # still retrying): hand the row back, untried, until just after it.
        due = max(waiting_for, now) + timedelta(seconds=1)
        countdown = (due - now).total_seconds()
        countdown_ok = countdown <= MAX_COUNTDOWN_SECONDS
        if (
            mine.update(
                attempts=F("attempts") - 1,
                locked_until=None,
                next_attempt_at=due,
                enqueued_at=due if countdown_ok else None,
            )
            and countdown_ok
        ):
            enqueue([notification_id], countdown)
        return "deferred"

    error: TransportError | None = None
    if not channel.enabled and notification.event != Event.TEST:
        error = TransportError("The channel was disabled.", permanent=True)
    else:
        transport = REGISTRY[channel.kind](channel)
        try:
            transport.notify(notification)
        except TransportError as exc:
            error = exc
        except Exception as exc:  # a bug must not leave the row leased forever
            log.exception("transport %s crashed on %s", channel.kind, notification_id)
            error = TransportError(f"internal error: {type(exc).__name__}")

    done = timezone.now()
    if error is None:
        mine.update(status=NotificationStatus.SENT, sent_at=done, locked_until=None)
        Channel.objects.filter(pk=channel.pk).update(
            last_notified_at=done, last_error=""
        )
        return "sent"

    message = error.message[:500]
    delay = backoff_seconds(attempt, error.retry_after)
    give_up_at = notification.give_up_at or done
    if not error.permanent and done + timedelta(seconds=delay) <= give_up_at:
        due = done + timedelta(seconds=delay)
        countdown = delay if delay <= MAX_COUNTDOWN_SECONDS else None
        updated = mine.update(
            last_error=message,
            next_attempt_at=due,
            locked_until=None,
            # Longer waits have no task in flight: the sweeper sends them.
            enqueued_at=due if countdown is not None else None,
        )
        if updated and countdown is not None:
            enqueue([notification_id], countdown)
        log.info(
            "notification %s attempt %s failed (%s); retry in %.0f s",
            notification_id,
            attempt,
            message,
            delay,
        )
        return "retry"

    if not error.permanent and notification.event != Event.TEST:
        message = f"Gave up after {attempt} attempts: {message}"[:500]
    mine.update(status=NotificationStatus.FAILED, last_error=message, locked_until=None)
    _note_channel_error(channel.pk, message, done)
    log.warning("notification %s failed: %s", notification_id, message)
    return "failed"


def notifications_sweep(
    *, now: datetime | None = None, enqueue: Enqueue = enqueue_deliveries
) -> list[int]:
    """Re-enqueue pending rows that are due but whose task is gone.

    A row's ``enqueued_at`` is when its queued task should have run; one still
    unclaimed a grace period later lost its task (broker restart, a crash
    before the enqueue, a worker killed mid-send once its lease lapsed).
    """
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.ALERTS_SWEEP_GRACE_SECONDS)
    with transaction.atomic():
        ids = list(
            Notification.objects.select_for_update(skip_locked=True)
            .filter(status=NotificationStatus.PENDING, next_attempt_at__lte=now)
            .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
            .filter(Q(enqueued_at__isnull=True) | Q(enqueued_at__lte=cutoff))
            .order_by("next_attempt_at")
            .values_list("pk", flat=True)[:500]
        )
        if ids:
            Notification.objects.filter(pk__in=ids).update(enqueued_at=now)
            transaction.on_commit(lambda: enqueue(ids, None), robust=True)
    return ids


def notification_retry(*, notification: Notification) -> bool:
    """Send a failed notification again (admin), with a fresh retry window."""
    now = timezone.now()
    window = timedelta(seconds=settings.ALERTS_RETRY_WINDOW_SECONDS)
    with transaction.atomic():
        updated = Notification.objects.filter(
            pk=notification.pk, status=NotificationStatus.FAILED
        ).update(
            status=NotificationStatus.PENDING,
            next_attempt_at=now,
            locked_until=None,
            enqueued_at=now,
            give_up_at=now + window,
        )
        if updated:
            pk = notification.pk
            transaction.on_commit(lambda: enqueue_deliveries([pk]), robust=True)
    return bool(updated)
