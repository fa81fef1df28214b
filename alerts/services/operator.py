"""Telling the operator about region health: one message per region state
change and recipient, never one per monitor.

Recipients are the install's, not a project's (``UPTIME_OPERATOR_EMAILS``,
``UPTIME_OPERATOR_WEBHOOK_URL``): a region serves every project. The rows
are written in the transaction that records the change (the receiver of
``region_health_changed``), sent after commit on the alerts queue through
the same email and webhook transports as channels, claimed with a
conditional UPDATE, retried with backoff and swept like the channel outbox.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from monitors.models import RegionHealthEvent

from ..models import (
    Channel,
    ChannelKind,
    Notification,
    NotificationStatus,
    OperatorNotification,
)
from ..transports import REGISTRY, TransportError
from ..transports.base import post
from .delivery import MAX_COUNTDOWN_SECONDS, backoff_seconds
from .payloads import iso

log = logging.getLogger(__name__)


def operator_recipients() -> list[tuple[str, str]]:
    """(kind, target) for every configured operator recipient."""
    out = [
        (ChannelKind.EMAIL.value, email) for email in settings.UPTIME_OPERATOR_EMAILS
    ]
    if settings.UPTIME_OPERATOR_WEBHOOK_URL:
        out.append((ChannelKind.WEBHOOK.value, settings.UPTIME_OPERATOR_WEBHOOK_URL))
    return out


def region_health_payload(event: RegionHealthEvent) -> dict[str, Any]:
    region = event.region
    state = "healthy" if event.healthy else "unhealthy"
    if event.healthy:
        message = (
            f"Region {region.code} is healthy again ({event.reason}); "
            "its checks vote in incidents again."
        )
    else:
        message = (
            f"Region {region.code} is unhealthy: {event.reason}. Its checks do "
            "not vote in incidents; monitors with too few healthy regions hold "
            "their state (insufficient coverage)."
        )
    return {
        "type": f"region.{state}",
        "timestamp": iso(event.created_at),
        "data": {
            "region": {"code": region.code, "name": region.name},
            "healthy": event.healthy,
            "reason": event.reason,
            "changed_at": iso(event.created_at),
            "message": message,
        },
    }


def enqueue_operator_deliveries(
    ids: Sequence[int], countdown: float | None = None
) -> None:
    from ..tasks import deliver_operator

    for pk in ids:
        deliver_operator.apply_async(args=(pk,), countdown=countdown)  # type: ignore[arg-type]  # None: no delay; celery-types says float


def operator_notifications_for_region(
    *, event: RegionHealthEvent, now: datetime | None = None
) -> list[int]:
    """The change's rows, one per recipient; delivery enqueued after commit."""
    now = now or timezone.now()
    payload = region_health_payload(event)
    window = timedelta(seconds=settings.ALERTS_RETRY_WINDOW_SECONDS)
    rows = [
        OperatorNotification(
            event=event,
            kind=kind,
            target=target,
            payload=payload,
            created_at=now,
            next_attempt_at=now,
            give_up_at=now + window,
        )
        for kind, target in operator_recipients()
    ]
    if not rows:
        log.warning("region health changed, no UPTIME_OPERATOR_* recipient set")
        return []
    OperatorNotification.objects.bulk_create(rows, ignore_conflicts=True)
    ids = list(
        OperatorNotification.objects.filter(
            event=event, status=NotificationStatus.PENDING
        ).values_list("pk", flat=True)
    )
    transaction.on_commit(lambda: enqueue_operator_deliveries(ids), robust=True)
    return ids


def _send(row: OperatorNotification) -> None:
    """Through the channel transports, with a channel and a notification
    that exist only for this send (never saved)."""
    channel = Channel(
        name="operator",
        kind=row.kind,
        target=row.target,
        secret=settings.UPTIME_OPERATOR_WEBHOOK_SECRET,
    )
    stand_in = Notification(
        channel=channel, event=row.payload.get("type", ""), payload=row.payload
    )
    stand_in.uid = row.uid
    if row.kind == ChannelKind.WEBHOOK and not channel.secret:
        body = json.dumps(row.payload, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json", "webhook-id": row.webhook_id}
        post(row.target, body, headers, receiver="operator webhook")
        return
    REGISTRY[row.kind](channel).notify(stand_in)


def operator_notification_deliver(
    *,
    notification_id: int,
    now: datetime | None = None,
    enqueue: Any = enqueue_operator_deliveries,
) -> str:
    """Claim, send and record one row: ``sent``, ``retry``, ``failed`` or
    ``skipped`` (not pending, not due, or claimed by another worker)."""
    now = now or timezone.now()
    lease = timedelta(seconds=settings.ALERTS_CLAIM_LEASE_SECONDS)
    claimed = (
        OperatorNotification.objects.filter(
            pk=notification_id,
            status=NotificationStatus.PENDING,
            next_attempt_at__lte=now,
        )
        .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
        .update(locked_until=now + lease, attempts=F("attempts") + 1)
    )
    if claimed != 1:
        return "skipped"
    row = OperatorNotification.objects.get(pk=notification_id)
    mine = OperatorNotification.objects.filter(
        pk=row.pk, attempts=row.attempts, status=NotificationStatus.PENDING
    )
    try:
        _send(row)
    except TransportError as exc:
        done = timezone.now()
        delay = backoff_seconds(row.attempts, exc.retry_after)
        retry_at = done + timedelta(seconds=delay)
        if exc.permanent or (row.give_up_at and retry_at > row.give_up_at):
            mine.update(
                status=NotificationStatus.FAILED,
                last_error=exc.message[:500],
                locked_until=None,
            )
            log.error("operator notification %s failed: %s", row.pk, exc.message)
            return "failed"
        mine.update(
            last_error=exc.message[:500], next_attempt_at=retry_at, locked_until=None
        )
        if delay <= MAX_COUNTDOWN_SECONDS:
            enqueue([row.pk], delay)
        return "retry"
    mine.update(
        status=NotificationStatus.SENT,
        sent_at=timezone.now(),
        last_error="",
        locked_until=None,
    )
    return "sent"


def operator_notifications_sweep(
    *, now: datetime | None = None, enqueue: Any = enqueue_operator_deliveries
) -> list[int]:
    """Re-enqueue due pending rows whose task was lost (a broker restart, a
    worker killed mid-send once its lease lapsed)."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.ALERTS_SWEEP_GRACE_SECONDS)
    ids = list(
        OperatorNotification.objects.filter(
            status=NotificationStatus.PENDING, next_attempt_at__lte=cutoff
        )
        .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
        .values_list("pk", flat=True)[:100]
    )
    if ids:
        enqueue(ids, None)
    return ids
