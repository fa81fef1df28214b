"""The incident timeline's alert entries (registered in AlertsConfig.ready)."""

from __future__ import annotations

from monitors.models import Incident
from monitors.timeline import TimelineEntry

from .models import Event, Notification, NotificationStatus

_EVENT_TITLES: dict[str, str] = {
    Event.INCIDENT_OPENED: "Down alert",
    Event.INCIDENT_RESOLVED: "Recovery alert",
    Event.INCIDENT_REMINDER: "Reminder",
    Event.INCIDENT_ESCALATED: "Escalation",
}


def notification_entries(incident: Incident) -> list[TimelineEntry]:
    """Each notification sent for the incident, with its result."""
    rows = (
        Notification.objects.filter(incident=incident)
        .select_related("channel")
        .order_by("created_at", "id")
    )
    entries = []
    for n in rows:
        title = (
            f"{_EVENT_TITLES.get(n.event, n.event)} to {n.channel.name} "
            f"({n.channel.get_kind_display()})"
        )
        if n.status == NotificationStatus.SENT:
            ok, detail = True, f"Delivered after {n.attempts} attempt(s)."
        elif n.status == NotificationStatus.FAILED:
            ok, detail = False, n.last_error or "Failed."
        elif n.status == NotificationStatus.SKIPPED:
            ok, detail = None, n.last_error or "Not sent."
        else:
            ok, detail = None, "Pending" + (f": {n.last_error}" if n.last_error else "")
        entries.append(
            TimelineEntry(
                at=n.sent_at or n.created_at,
                kind="notification",
                title=title,
                detail=detail,
                ok=ok,
            )
        )
    return entries
