"""Delivering the outbox: claim, lease, fencing, backoff, sweep.

A worker claims a row with a conditional UPDATE (pending, due, not leased by
another worker) and checks the row count, so two tasks for one row send
once. The lease (``locked_until``) lapses if the worker dies mid-send; the
sweeper then re-enqueues the row, and the resend carries the same ``uid``:
the only way a message repeats. Every write after the send is fenced on the
attempt number, so a worker whose lease lapsed never overwrites the outcome
of the worker that took the row over.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Model, Q
from django.utils import timezone

from uptime import sanitize

from ..models import Channel, Event, Notification, NotificationStatus
from ..transports import REGISTRY, TransportError
from .confirmation import confirmation_still_wanted
from .outbox import due_now, enqueue_deliveries

log = logging.getLogger(__name__)

# Longest retry we hand to Celery as a countdown. Redis redelivers unacked
# tasks after the broker's visibility timeout (an hour), so longer waits are
# left to the sweeper, which picks the row up once it is due.
MAX_COUNTDOWN_SECONDS = 600

Enqueue = Callable[[Sequence[int], float | None], None]


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
    Channel.objects.filter(pk=channel_id).update(last_error=message, last_error_at=now)


def _earlier_pending(notification: Notification) -> datetime | None:
    """When the still-pending earlier message of this incident on this
    channel is due, if there is one that this one must not overtake."""
    if notification.incident_id is None or notification.event not in (
        Event.INCIDENT_RESOLVED,
        Event.INCIDENT_REMINDER,
        Event.INCIDENT_ESCALATED,
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


def _held_reason(notification: Notification) -> str:
    """Why this message must not go out now ('' when it may)."""
    channel = notification.channel
    if notification.event == Event.CONFIRMATION:
        if confirmation_still_wanted(notification):
            return ""
        return "Not sent: the address was confirmed or changed since."
    if channel.awaiting_confirmation:
        return (
            f"Not sent: {channel.target} has not confirmed yet that it wants "
            "these alerts (awaiting confirmation)."
        )
    return ""


def notification_deliver(
    *,
    notification_id: int,
    now: datetime | None = None,
    enqueue: Enqueue = enqueue_deliveries,
) -> str:
    """Claim, send and record one notification. Returns what happened:
    ``sent``, ``retry``, ``failed``, ``deferred`` (waits for an earlier
    message of its incident) or ``skipped`` (not ours to send, or held: an
    email channel whose recipient has not confirmed gets only the
    confirmation mail)."""
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

    held = _held_reason(notification)
    if held:
        # Not the receiver's fault and nothing to retry: recorded, not sent.
        mine.update(
            status=NotificationStatus.SKIPPED, last_error=held, locked_until=None
        )
        return "skipped"

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

    # Receivers write what they like into their answers: stored cleaned.
    message = sanitize.clean_text(error.message, limit=500)
    delay = backoff_seconds(attempt, error.retry_after)
    give_up_at = notification.give_up_at or done
    if not error.permanent and done + timedelta(seconds=delay) <= give_up_at:
        due = done + timedelta(seconds=delay)
        retry_in = delay if delay <= MAX_COUNTDOWN_SECONDS else None
        updated = mine.update(
            last_error=message,
            next_attempt_at=due,
            locked_until=None,
            # Longer waits have no task in flight: the sweeper sends them.
            enqueued_at=due if retry_in is not None else None,
        )
        if updated and retry_in is not None:
            enqueue([notification_id], retry_in)
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
    """Re-enqueue pending rows that are due but whose task is gone."""
    return outbox_sweep(Notification, now=now or timezone.now(), enqueue=enqueue)


def outbox_sweep(model: type[Model], *, now: datetime, enqueue: Enqueue) -> list[int]:
    """The sweep of an outbox table (a ``Delivery`` with ``enqueued_at``).

    A row's ``enqueued_at`` is when its queued task should have run; one still
    unclaimed a grace period later lost its task (broker restart, a crash
    before the enqueue, a worker killed mid-send once its lease lapsed).
    """
    cutoff = now - timedelta(seconds=settings.ALERTS_SWEEP_GRACE_SECONDS)
    with transaction.atomic():
        ids = list(
            model._default_manager.select_for_update(skip_locked=True)
            .filter(status=NotificationStatus.PENDING, next_attempt_at__lte=now)
            .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
            .filter(Q(enqueued_at__isnull=True) | Q(enqueued_at__lte=cutoff))
            .order_by("next_attempt_at")
            .values_list("pk", flat=True)[:500]
        )
        if ids:
            model._default_manager.filter(pk__in=ids).update(enqueued_at=now)
            transaction.on_commit(lambda: enqueue(ids, None), robust=True)
    return ids


def notification_retry(*, notification: Notification) -> bool:
    """Send a failed notification again (admin), with a fresh retry window;
    also one held for a confirmation that has since come."""
    with transaction.atomic():
        updated = Notification.objects.filter(
            pk=notification.pk,
            status__in=(NotificationStatus.FAILED, NotificationStatus.SKIPPED),
        ).update(
            status=NotificationStatus.PENDING,
            locked_until=None,
            **due_now(timezone.now()),
        )
        if updated:
            pk = notification.pk
            transaction.on_commit(lambda: enqueue_deliveries([pk]), robust=True)
    return bool(updated)
