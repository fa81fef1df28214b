"""An incident's timeline, with an extension point for other apps.

``monitors`` must not import ``alerts``. So the incident page asks every
callable registered with ``register_timeline_provider`` for extra entries:
a provider takes the ``Incident`` and returns ``TimelineEntry`` items. The
alerts app registers one that lists the notifications sent for the incident.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.utils.dateparse import parse_datetime

from .models import Incident, IncidentStatus


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str  # failure, quorum, notification, recovery, ... (a CSS class)
    title: str
    detail: str = ""
    ok: bool | None = None  # for results: None when it does not apply


TimelineProvider = Callable[[Incident], list[TimelineEntry]]
TIMELINE_PROVIDERS: list[TimelineProvider] = []


def register_timeline_provider(provider: TimelineProvider) -> TimelineProvider:
    if provider not in TIMELINE_PROVIDERS:
        TIMELINE_PROVIDERS.append(provider)
    return provider


def _when(raw: object) -> datetime | None:
    if isinstance(raw, datetime):
        return raw
    if isinstance(raw, str):
        return parse_datetime(raw)
    return None


def incident_timeline(incident: Incident) -> list[TimelineEntry]:
    details = incident.details or {}
    entries: list[TimelineEntry] = []
    for code, region in sorted((details.get("regions") or {}).items()):
        at = _when(region.get("first_failed_at"))
        if at is None:
            continue
        reason = region.get("message") or region.get("error") or "down"
        if region.get("status_code"):
            reason = f"HTTP {region['status_code']}: {reason}"
        entries.append(
            TimelineEntry(
                at=at,
                kind="failure",
                title=f"First failing check in region {code}",
                detail=str(reason),
            )
        )
    confirmed = _when(details.get("confirmed_at"))
    if confirmed is not None:
        quorum = details.get("quorum")
        entries.append(
            TimelineEntry(
                at=confirmed,
                kind="quorum",
                title="Incident opened: quorum reached"
                + (f" ({quorum} region{'s' if quorum != 1 else ''})" if quorum else ""),
                detail=incident.cause,
            )
        )
    elif not entries:
        entries.append(
            TimelineEntry(
                at=incident.started_at,
                kind="quorum",
                title="Incident opened",
                detail=incident.cause,
            )
        )
    for provider in TIMELINE_PROVIDERS:
        entries.extend(provider(incident))
    if incident.acknowledged_at is not None:
        entries.append(
            TimelineEntry(
                at=incident.acknowledged_at,
                kind="ack",
                title=f"Acknowledged by {incident.acknowledger}",
                detail=incident.ack_note,
            )
        )
    if incident.resolved_by_hand and incident.resolved_at is not None:
        title = f"Resolved by hand by {incident.resolver}"
        if incident.resolve_note:
            title = f"{title}: {incident.resolve_note}"
        entries.append(
            TimelineEntry(at=incident.resolved_at, kind="recovery", title=title)
        )
    elif incident.status == IncidentStatus.PAUSED:
        entries.append(
            TimelineEntry(
                at=incident.resolved_at or incident.started_at,
                kind="paused",
                title="Closed: the monitor was paused (no alert sent)",
            )
        )
    elif incident.resolved_at is not None:
        entries.append(
            TimelineEntry(
                at=incident.resolved_at,
                kind="recovery",
                title="Recovered: incident resolved",
            )
        )
    return sorted(entries, key=lambda e: e.at)
