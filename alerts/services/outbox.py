"""Writing the notification outbox: one row per (event, channel), and reminders.

Rows are written in the transaction that opens or resolves the incident (the
signal receivers run inside it), and ``alerts.deliver`` is enqueued only
after that commits. A repeated event finds its rows already there (a unique
``dedupe_key`` per channel) and adds nothing. ``delivery`` sends the rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from monitors.dependencies import incident_alerts_suppressed
from monitors.maintenance import maintenance_active
from monitors.models import Incident, IncidentStatus, Monitor, Tick

from ..models import DEGRADED_EVENTS, Channel, Event, Notification
from .escalation import incident_channels, opened_at
from .payloads import (
    certificate_payload,
    degraded_payload,
    flapping_payload,
    incident_payload,
    iso,
)


def due_now(now: datetime, *, retry: bool = True) -> dict[str, datetime]:
    """A notification's schedule when it is written (or sent again): due
    and handed to a worker now, retried until the retry window closes (or,
    with ``retry=False``, tried once)."""
    window = settings.ALERTS_RETRY_WINDOW_SECONDS if retry else 0
    return {
        "next_attempt_at": now,
        "enqueued_at": now,
        "give_up_at": now + timedelta(seconds=window),
    }


def enqueue_deliveries(ids: Sequence[int], countdown: float | None = None) -> None:
    from ..tasks import deliver

    for pk in ids:
        deliver.apply_async(args=(pk,), countdown=countdown)  # type: ignore[arg-type]  # None: no delay; celery-types says float


def write_rows(
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
    rows = [
        Notification(
            channel=channel,
            incident=incident,
            monitor=monitor,
            event=event,
            dedupe_key=dedupe_key,
            payload=payload,
            created_at=now,
            **due_now(now),
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
    return write_rows(
        channels=incident_channels(incident=incident, event=event),
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
    expires = iso(not_after) if isinstance(not_after, datetime) else str(not_after)
    return write_rows(
        channels=monitor.channels.all(),
        event=Event.CERTIFICATE_EXPIRING,
        dedupe_key=f"certificate:{monitor.pk}:{expires}:{days_left}",
        payload=certificate_payload(
            monitor=monitor, days_left=days_left, expires=expires, now=now
        ),
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
    if maintenance_active([monitor.pk], now):
        return []  # planned work: slow is expected, and no alert goes out
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
    return write_rows(
        channels=monitor.channels.all(),
        event=event,
        dedupe_key=f"{event}:{monitor.pk}:{iso(tick.scheduled_at)}",
        payload=degraded_payload(monitor=monitor, tick=tick, event=event, now=now),
        monitor=monitor,
        now=now,
    )


def notifications_for_flapping(
    *,
    monitor: Monitor,
    reading: Any,
    since: datetime,
    settled: str | None = None,
    incident: Incident | None = None,
    now: datetime | None = None,
) -> list[int]:
    """A monitor started flapping (``settled`` None) or stopped.

    One row per channel per episode and edge: the key carries when the
    episode began. Stopped settled down, the open incident also gets its DOWN
    alert now (held back while it flapped); a channel that had it already
    (the incident opened before the flapping began) gets nothing new.
    """
    now = now or timezone.now()
    event = Event.FLAPPING_STARTED if settled is None else Event.FLAPPING_STOPPED
    edge = "started" if settled is None else "stopped"
    channels = monitor.channels.all()
    flapping = {"since": iso(since), **reading.as_dict(), "settled": settled}
    ids = write_rows(
        channels=channels,
        event=event,
        dedupe_key=f"flapping:{monitor.pk}:{iso(since)}:{edge}",
        payload=flapping_payload(
            monitor=monitor,
            event=event,
            flapping=flapping,
            incident=incident,
            now=now,
        ),
        monitor=monitor,
        now=now,
    )
    if incident is not None and not incident_alerts_suppressed(incident):
        ids += notifications_for_incident(
            incident=incident, event=Event.INCIDENT_OPENED, now=now
        )
    return ids


# --- reminders ----------------------------------------------------------------


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
    # Only open incidents: one closed as paused or resolved gets none, and
    # one a person acknowledged neither. A monitor with an escalation policy
    # repeats through its steps instead (alerts.services.escalation).
    incidents = list(
        Incident.objects.filter(
            status=IncidentStatus.OPEN,
            acknowledged_at__isnull=True,
            monitor__escalation_policy__isnull=True,
            monitor__channels__in=channels,
        )
        # A flapping monitor's incidents alert nobody, reminders included;
        # nor do incidents suppressed by their parent monitor's outage.
        .exclude(monitor__flapping=True)
        .exclude(suppressed=True)
        .select_related("monitor")
        .distinct()
    )
    # Held while a maintenance window covers the monitor; afterwards only the
    # reminder then due goes out, not the ones the window held.
    held = maintenance_active([i.monitor_id for i in incidents], now)
    for incident in incidents:
        if incident.monitor_id in held:
            continue
        with transaction.atomic():
            # Locked and read again: an acknowledgement (which locks the row
            # too) that came since the query above stops this reminder.
            if not (
                Incident.objects.select_for_update()
                .filter(
                    pk=incident.pk,
                    status=IncidentStatus.OPEN,
                    acknowledged_at__isnull=True,
                )
                .exists()
            ):
                continue
            ids = _remind_incident(
                incident=incident,
                channels=channels.filter(
                    pk__in=incident_channels(
                        incident=incident, event=Event.INCIDENT_REMINDER
                    ).values("pk")
                ),
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
    since = opened_at(incident)
    ids: list[int] = []
    for channel in channels:
        period = timedelta(minutes=channel.reminder_minutes or 0)
        if not period:
            continue
        k = int((now - since) / period)
        if k < 1:
            continue
        ids += write_rows(
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
