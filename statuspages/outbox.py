"""The subscribers' outbox: rows written with the event, sent by a worker.

Rows are written inside the transaction of the event (an incident opening
or resolving, an update posted, a window scheduled: the signal receivers run
in it) and ``statuspages.deliver`` is enqueued after commit, on the
``alerts`` queue. A repeated event finds its rows there (a unique
``dedupe_key`` per subscriber) and adds nothing. The worker claims a row
with a conditional UPDATE, sends it by email or signed webhook, retries
transient failures with the alerts' backoff, and a sweeper re-enqueues rows
whose task was lost: each event reaches each subscriber once.
"""

from __future__ import annotations

import json
import logging
import smtplib
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.utils import timezone

from alerts.models import NotificationStatus
from alerts.services.delivery import (
    MAX_COUNTDOWN_SECONDS,
    backoff_seconds,
    outbox_sweep,
)
from alerts.services.outbox import due_now
from alerts.services.payloads import iso
from alerts.transports import TransportError
from alerts.transports.base import post, send_timeout
from alerts.transports.email import _smtp_error
from alerts.transports.webhook import sign_headers
from monitors.models import Incident, IncidentUpdate, MaintenanceWindow
from uptime import sanitize

from .models import (
    StatusPage,
    StatusPageMonitor,
    StatusPageSubscriber,
    SubscriberEvent,
    SubscriberKind,
    SubscriberMessage,
)
from .services import confirmation_link, page_link, unsubscribe_link

log = logging.getLogger(__name__)


def enqueue_messages(ids: Sequence[int], countdown: float | None = None) -> None:
    from .tasks import deliver

    for pk in ids:
        deliver.apply_async(args=(pk,), countdown=countdown)  # type: ignore[arg-type]  # None: no delay; celery-types says float


def _write(
    *,
    subscribers: Iterable[StatusPageSubscriber],
    event: str,
    dedupe_key: str,
    payloads: dict[int, dict[str, Any]],
    incident: Incident | None = None,
    now: datetime,
) -> list[int]:
    """One row per subscriber (skipping ones that exist), the payload of
    its page; enqueued after commit."""
    rows = [
        SubscriberMessage(
            subscriber=s,
            incident=incident,
            event=event,
            dedupe_key=dedupe_key,
            payload=payloads[s.page_id],
            created_at=now,
            **due_now(now),
        )
        for s in subscribers
    ]
    if not rows:
        return []
    ours = SubscriberMessage.objects.filter(
        subscriber__in=[r.subscriber for r in rows], dedupe_key=dedupe_key
    )
    with transaction.atomic():
        before = set(ours.values_list("pk", flat=True))
        SubscriberMessage.objects.bulk_create(rows, ignore_conflicts=True)
        ids = sorted(set(ours.values_list("pk", flat=True)) - before)
        if ids:
            # robust: a broker outage must not fail the event's transaction
            # callbacks; the sweeper sends these rows later.
            transaction.on_commit(lambda: enqueue_messages(ids), robust=True)
    return ids


def _confirmed(pages: Iterable[StatusPage]) -> list[StatusPageSubscriber]:
    return list(
        StatusPageSubscriber.objects.filter(
            page__in=list(pages), confirmed_at__isnull=False
        ).select_related("page")
    )


def _pages_showing(monitor_ids: Iterable[int]) -> dict[int, tuple[StatusPage, str]]:
    """Public pages listing any of the monitors, with the name each page
    gives the first of them it lists."""
    out: dict[int, tuple[StatusPage, str]] = {}
    entries = (
        StatusPageMonitor.objects.filter(
            monitor_id__in=list(monitor_ids), group__page__public=True
        )
        .select_related("group__page", "monitor")
        .order_by("group__order", "order", "id")
    )
    for entry in entries:
        page = entry.group.page
        out.setdefault(page.pk, (page, entry.name))
    return out


def _page_data(page: StatusPage) -> dict[str, Any]:
    return {"title": page.title, "url": page_link(page)}


def _incident_data(incident: Incident, page: StatusPage, name: str) -> dict[str, Any]:
    # Only what the page itself shows: causes and URLs when it shows details.
    return {
        "id": incident.pk,
        "service": name,
        "status": incident.status,
        "started_at": iso(incident.started_at),
        "resolved_at": iso(incident.resolved_at),
        "cause": incident.cause if page.show_details else "",
    }


def messages_for_incident(
    *, incident: Incident, event: str, now: datetime | None = None
) -> list[int]:
    """An incident opened or resolved on a monitor some page shows."""
    now = now or timezone.now()
    pages = _pages_showing([incident.monitor_id])
    if not pages:
        return []
    resolved = event == SubscriberEvent.INCIDENT_RESOLVED
    payloads = {}
    for pk, (page, name) in pages.items():
        if resolved:
            message = f"{name} is operational again."
        else:
            message = f"{name} is down; we are looking into it."
        payloads[pk] = {
            "type": event,
            "timestamp": iso(now),
            "data": {
                "page": _page_data(page),
                "incident": _incident_data(incident, page, name),
                "message": message,
            },
        }
    suffix = "resolved" if resolved else "opened"
    return _write(
        subscribers=_confirmed(p for p, _n in pages.values()),
        event=event,
        dedupe_key=f"incident:{incident.pk}:{suffix}",
        payloads=payloads,
        incident=incident,
        now=now,
    )


def messages_for_update(
    *, update: IncidentUpdate, now: datetime | None = None
) -> list[int]:
    now = now or timezone.now()
    incident = update.incident
    pages = _pages_showing([incident.monitor_id])
    payloads = {
        pk: {
            "type": SubscriberEvent.INCIDENT_UPDATED,
            "timestamp": iso(now),
            "data": {
                "page": _page_data(page),
                "incident": _incident_data(incident, page, name),
                "update": {
                    "id": update.pk,
                    "status": update.status,
                    "body": update.body,
                    "created_at": iso(update.created_at),
                },
                "message": f"{name}: {update.get_status_display()}. {update.body}",
            },
        }
        for pk, (page, name) in pages.items()
    }
    return _write(
        subscribers=_confirmed(p for p, _n in pages.values()),
        event=SubscriberEvent.INCIDENT_UPDATED,
        dedupe_key=f"update:{update.pk}",
        payloads=payloads,
        incident=incident,
        now=now,
    )


def messages_for_maintenance(
    *, window: MaintenanceWindow, now: datetime | None = None
) -> list[int]:
    """Planned work on monitors a page shows (a window without monitors
    covers every monitor of its project)."""
    now = now or timezone.now()
    monitor_ids = [m.pk for m in window.monitors.all()] or list(
        window.project.monitors.values_list("pk", flat=True)
    )
    pages = _pages_showing(monitor_ids)
    payloads = {
        pk: {
            "type": SubscriberEvent.MAINTENANCE_SCHEDULED,
            "timestamp": iso(now),
            "data": {
                "page": _page_data(page),
                "maintenance": {
                    "id": window.pk,
                    "title": window.title,
                    "starts_at": iso(window.starts_at),
                    "ends_at": iso(window.ends_at),
                    "recurrence": window.recurrence,
                    "weekdays": list(window.weekdays),
                },
                "message": f"Scheduled maintenance: {window.title}, from "
                f"{window.starts_at:%Y-%m-%d %H:%M} to "
                f"{window.ends_at:%Y-%m-%d %H:%M} UTC.",
            },
        }
        for pk, (page, _name) in pages.items()
    }
    return _write(
        subscribers=_confirmed(p for p, _n in pages.values()),
        event=SubscriberEvent.MAINTENANCE_SCHEDULED,
        dedupe_key=f"maintenance:{window.pk}",
        payloads=payloads,
        now=now,
    )


def confirmation_request(
    *, subscriber: StatusPageSubscriber, now: datetime | None = None
) -> int:
    """The double opt-in mail, written to the outbox (the worker signs the
    link when it sends). One per request: asking again sends it again, up
    to the subscribe rate limit."""
    now = now or timezone.now()
    page = subscriber.page
    message = SubscriberMessage.objects.create(
        subscriber=subscriber,
        event=SubscriberEvent.CONFIRMATION,
        dedupe_key=f"confirm:{now.timestamp()}",
        payload={
            "type": SubscriberEvent.CONFIRMATION,
            "timestamp": iso(now),
            "data": {
                "page": _page_data(page),
                "message": f"Confirm that {subscriber.target} should receive "
                f"updates from “{page.title}”.",
            },
        },
        created_at=now,
        **due_now(now),
    )
    pk = message.pk
    transaction.on_commit(lambda: enqueue_messages([pk]), robust=True)
    return pk


# --- sending -----------------------------------------------------------------------

SUBJECTS: dict[str, str] = {
    SubscriberEvent.CONFIRMATION: "Confirm your subscription to {title}",
    SubscriberEvent.INCIDENT_OPENED: "[{title}] {service} is down",
    SubscriberEvent.INCIDENT_UPDATED: "[{title}] Update on {service}: {status}",
    SubscriberEvent.INCIDENT_RESOLVED: "[{title}] {service} is operational again",
    SubscriberEvent.MAINTENANCE_SCHEDULED: "[{title}] Scheduled maintenance",
}


def _send_email(message: SubscriberMessage) -> None:
    subscriber = message.subscriber
    data = message.payload.get("data") or {}
    page = subscriber.page
    context = {
        "page": page,
        "data": data,
        "event": message.event,
        "page_url": page_link(page),
        "unsubscribe": unsubscribe_link(subscriber),
        "confirm": "",
    }
    if message.event == SubscriberEvent.CONFIRMATION:
        context["confirm"] = confirmation_link(subscriber)
    subject = SUBJECTS.get(message.event, "[{title}] Status update").format(
        title=page.title,
        service=(data.get("incident") or {}).get("service", ""),
        status=(data.get("update") or {}).get("status", ""),
    )
    email = EmailMultiAlternatives(
        subject=subject.replace("\n", " ")[:250],
        body=render_to_string("statuspages/email/message.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[subscriber.target],
        headers={
            "Message-ID": f"<{message.uid.hex}@uptime-monitor>",
            # RFC 8058: mail clients offer their own one-click button, which
            # POSTs to this link; a GET of it only asks.
            "List-Unsubscribe": f"<{context['unsubscribe']}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
        connection=get_connection(fail_silently=False, timeout=send_timeout()),
    )
    try:
        email.send(fail_silently=False)
    except smtplib.SMTPException as exc:
        raise _smtp_error(exc) from None
    except OSError as exc:
        raise TransportError(f"SMTP connection failed: {exc}"[:300]) from None


def _send_webhook(message: SubscriberMessage) -> None:
    subscriber = message.subscriber
    body = json.dumps(message.payload, separators=(",", ":")).encode()
    headers = sign_headers(
        secret=subscriber.secret, msg_id=message.webhook_id, body=body
    )
    post(subscriber.target, body, headers, receiver="subscriber webhook")


def _held(message: SubscriberMessage) -> str:
    subscriber = message.subscriber
    if message.event == SubscriberEvent.CONFIRMATION:
        if subscriber.confirmed_at is not None:
            return "Not sent: confirmed already."
        return ""
    if subscriber.confirmed_at is None:
        return "Not sent: the subscriber has not confirmed."
    return ""


def message_deliver(
    *, message_id: int, now: datetime | None = None, enqueue: Any = enqueue_messages
) -> str:
    """Claim, send and record one row: ``sent``, ``retry``, ``failed`` or
    ``skipped`` (not pending, not due, claimed by another worker, or held)."""
    now = now or timezone.now()
    lease = timedelta(seconds=settings.ALERTS_CLAIM_LEASE_SECONDS)
    claimed = (
        SubscriberMessage.objects.filter(
            pk=message_id, status=NotificationStatus.PENDING, next_attempt_at__lte=now
        )
        .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
        .update(locked_until=now + lease, attempts=F("attempts") + 1)
    )
    if claimed != 1:
        return "skipped"
    message = SubscriberMessage.objects.select_related("subscriber__page").get(
        pk=message_id
    )
    # Fenced on our attempt: a worker whose lease lapsed writes nothing.
    mine = SubscriberMessage.objects.filter(
        pk=message.pk, attempts=message.attempts, status=NotificationStatus.PENDING
    )
    held = _held(message)
    if held:
        mine.update(
            status=NotificationStatus.SKIPPED, last_error=held, locked_until=None
        )
        return "skipped"
    try:
        if message.subscriber.kind == SubscriberKind.EMAIL:
            _send_email(message)
        else:
            _send_webhook(message)
    except TransportError as exc:
        return _failed(message, mine, exc, enqueue)
    except Exception as exc:  # a bug must not leave the row leased forever
        log.exception("subscriber message %s crashed", message.pk)
        return _failed(
            message,
            mine,
            TransportError(f"internal error: {type(exc).__name__}"),
            enqueue,
        )
    mine.update(
        status=NotificationStatus.SENT,
        sent_at=timezone.now(),
        last_error="",
        locked_until=None,
    )
    return "sent"


def _failed(
    message: SubscriberMessage, mine: Any, exc: TransportError, enqueue: Any
) -> str:
    done = timezone.now()
    text = sanitize.clean_text(exc.message, limit=500)
    delay = backoff_seconds(message.attempts, exc.retry_after)
    retry_at = done + timedelta(seconds=delay)
    if exc.permanent or (message.give_up_at and retry_at > message.give_up_at):
        mine.update(
            status=NotificationStatus.FAILED, last_error=text, locked_until=None
        )
        log.warning("subscriber message %s failed: %s", message.pk, text)
        return "failed"
    retry_in = delay if delay <= MAX_COUNTDOWN_SECONDS else None
    updated = mine.update(
        last_error=text,
        next_attempt_at=retry_at,
        locked_until=None,
        enqueued_at=retry_at if retry_in is not None else None,
    )
    if updated and retry_in is not None:
        enqueue([message.pk], retry_in)
    return "retry"


def messages_sweep(
    *, now: datetime | None = None, enqueue: Any = enqueue_messages
) -> list[int]:
    """Re-enqueue due pending rows whose task was lost, as alerts does."""
    return outbox_sweep(SubscriberMessage, now=now or timezone.now(), enqueue=enqueue)
