"""The JSON body of each event, as webhooks receive it (see the README).

Built once, when the event happens, and stored on the notification: every
retry sends the same body.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.urls import reverse

from monitors.dependencies import affected_dependents
from monitors.models import Incident, Monitor, Tick

from ..models import ACKNOWLEDGEABLE_EVENTS, Event


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _absolute(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def monitor_data(monitor: Monitor) -> dict[str, Any]:
    return {
        "id": monitor.pk,
        "name": monitor.name,
        "url": monitor.url,
        "project": monitor.project_id,
        "link": _absolute(monitor.get_absolute_url()),
    }


def incident_data(incident: Incident) -> dict[str, Any]:
    details = incident.details or {}
    return {
        "id": incident.pk,
        "status": incident.status,
        "started_at": iso(incident.started_at),
        "resolved_at": iso(incident.resolved_at),
        "duration_seconds": incident.duration_seconds,
        "cause": incident.cause,
        "error": details.get("error", ""),
        "status_code": details.get("status_code"),
        "regions": sorted((details.get("regions") or {}).keys()),
        "url": _absolute(incident.get_absolute_url()),
        # The failing tick's bounded evidence (resolved IP, timings, status,
        # headers, first 4 KB of the body, certificate), as the check saw it.
        "evidence": details.get("evidence"),
        "acknowledged_at": iso(incident.acknowledged_at),
        "acknowledged_by": incident.acknowledger if incident.acknowledged_at else None,
        "resolved_by_hand": incident.resolved_by_hand,
        "resolve_note": incident.resolve_note,
        # Opened while the monitor's parent was down (no alert was sent for
        # it): the parent's incident, by id.
        "suppressed": incident.suppressed,
        "suppressed_by": incident.suppressed_by_id,
    }


def incident_payload(
    *,
    incident: Incident,
    event: str,
    now: datetime,
    escalation: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """``escalation``: the policy step an ``incident.escalated`` is for.
    Events about an open incident carry a signed ``acknowledge_url``."""
    data: dict[str, Any] = {
        "incident": incident_data(incident),
        "monitor": monitor_data(incident.monitor),
        # The monitors that depend on this one and are failing or down as
        # the alert is written (their own alerts are suppressed while this
        # incident is open); the incident page keeps the full list.
        "affected_monitors": [
            {
                **child,
                "link": _absolute(reverse("dashboard:monitor", args=[child["id"]])),
            }
            for child in affected_dependents(incident.monitor)
        ],
    }
    if event in ACKNOWLEDGEABLE_EVENTS:
        # Imported here: the link module reverses a URL of this app.
        from .acknowledge import acknowledge_link

        data["acknowledge_url"] = acknowledge_link(incident)
    if escalation is not None:
        data["escalation"] = escalation
    return {"type": event, "timestamp": iso(now), "data": data}


def certificate_payload(
    *, monitor: Monitor, days_left: int, expires: str | None, now: datetime
) -> dict[str, Any]:
    return {
        "type": Event.CERTIFICATE_EXPIRING,
        "timestamp": iso(now),
        "data": {
            "incident": None,
            "monitor": monitor_data(monitor),
            "certificate": {"days_left": days_left, "not_after": expires},
        },
    }


def degraded_payload(
    *, monitor: Monitor, tick: Tick, event: str, now: datetime
) -> dict[str, Any]:
    return {
        "type": event,
        "timestamp": iso(now),
        "data": {
            "incident": None,
            "monitor": monitor_data(monitor),
            "check": {
                "region": tick.region.code,
                "scheduled_at": iso(tick.scheduled_at),
                "response_time_ms": tick.response_time_ms,
                "threshold_ms": monitor.degraded_threshold_ms,
            },
        },
    }


def flapping_payload(
    *,
    monitor: Monitor,
    event: str,
    flapping: dict[str, Any],
    incident: Incident | None,
    now: datetime,
) -> dict[str, Any]:
    """``flapping``: since, the window's figures, and (when it stopped) the
    state it settled in; ``incident`` is the open one when it settled down."""
    return {
        "type": event,
        "timestamp": iso(now),
        "data": {
            "incident": incident_data(incident) if incident else None,
            "monitor": monitor_data(monitor),
            "flapping": flapping,
        },
    }


def channel_test_payload(*, channel_name: str, now: datetime) -> dict[str, Any]:
    return {
        "type": Event.TEST,
        "timestamp": iso(now),
        "data": {
            "incident": None,
            "monitor": None,
            "message": f'A test message for the channel "{channel_name}".',
        },
    }
