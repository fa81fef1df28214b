"""alerts listens to monitors; monitors never imports alerts."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_save
from django.dispatch import receiver

from monitors import signals
from monitors.dependencies import incident_alerts_suppressed
from monitors.models import Incident, Monitor, RegionHealthEvent, Tick

from . import services
from .models import Event


@receiver(signals.incident_opened)
def write_opened_notifications(sender: Any, incident: Incident, **kwargs: Any) -> None:
    # Inside the incident's transaction: the rows commit or roll back with it.
    # A flapping monitor's transitions alert nobody: flapping_started and
    # flapping_stopped speak for the episode. A suppressed incident (its
    # parent monitor is down) alerts nobody: the parent's alert names it.
    if incident.monitor.flapping or incident_alerts_suppressed(incident):
        return
    services.notifications_for_incident(incident=incident, event=Event.INCIDENT_OPENED)


@receiver(signals.incident_resolved)
def write_resolved_notifications(
    sender: Any, incident: Incident, **kwargs: Any
) -> None:
    if incident.monitor.flapping or incident_alerts_suppressed(incident):
        return
    services.notifications_for_incident(
        incident=incident, event=Event.INCIDENT_RESOLVED
    )


@receiver(signals.flapping_started)
def write_flapping_started_notifications(
    sender: Any, monitor: Monitor, reading: Any, since: Any, **kwargs: Any
) -> None:
    services.notifications_for_flapping(monitor=monitor, reading=reading, since=since)


@receiver(signals.flapping_stopped)
def write_flapping_stopped_notifications(
    sender: Any,
    monitor: Monitor,
    reading: Any,
    since: Any,
    settled: str,
    incident: Incident | None,
    **kwargs: Any,
) -> None:
    services.notifications_for_flapping(
        monitor=monitor,
        reading=reading,
        since=since,
        settled=settled,
        incident=incident,
    )


@receiver(post_save, sender=Monitor)
def link_default_channels(
    sender: Any, instance: Monitor, created: bool, **kwargs: Any
) -> None:
    if created and not kwargs.get("raw"):
        services.monitor_link_default_channels(monitor=instance)


@receiver(signals.certificate_expiring)
def write_certificate_notifications(
    sender: Any, monitor: Monitor, days_left: int, not_after: Any, **kwargs: Any
) -> None:
    services.notifications_for_certificate(
        monitor=monitor, days_left=days_left, not_after=not_after
    )


@receiver(signals.monitor_degraded)
def write_degraded_notifications(
    sender: Any, monitor: Monitor, tick: Tick, **kwargs: Any
) -> None:
    services.notifications_for_degraded(monitor=monitor, tick=tick, degraded=True)


@receiver(signals.monitor_degraded_recovered)
def write_fast_again_notifications(
    sender: Any, monitor: Monitor, tick: Tick, **kwargs: Any
) -> None:
    services.notifications_for_degraded(monitor=monitor, tick=tick, degraded=False)


@receiver(signals.region_health_changed)
def write_operator_notifications(
    sender: Any, event: RegionHealthEvent, **kwargs: Any
) -> None:
    # Inside the transaction that records the change: one row per recipient.
    services.operator_notifications_for_region(event=event)
