"""statuspages listens to monitors (inside the event's transaction)."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from monitors import signals
from monitors.models import Incident, IncidentUpdate, MaintenanceWindow

from . import outbox
from .models import SubscriberEvent


@receiver(signals.incident_opened)
def tell_subscribers_opened(sender: Any, incident: Incident, **kwargs: Any) -> None:
    # A flapping monitor's transitions announce nothing, as for alerts.
    if incident.monitor.flapping:
        return
    outbox.messages_for_incident(
        incident=incident, event=SubscriberEvent.INCIDENT_OPENED
    )


@receiver(signals.incident_resolved)
def tell_subscribers_resolved(sender: Any, incident: Incident, **kwargs: Any) -> None:
    if incident.monitor.flapping:
        return
    outbox.messages_for_incident(
        incident=incident, event=SubscriberEvent.INCIDENT_RESOLVED
    )


@receiver(signals.incident_update_posted)
def tell_subscribers_update(sender: Any, update: IncidentUpdate, **kwargs: Any) -> None:
    outbox.messages_for_update(update=update)


@receiver(signals.maintenance_scheduled)
def tell_subscribers_maintenance(
    sender: Any, window: MaintenanceWindow, **kwargs: Any
) -> None:
    outbox.messages_for_maintenance(window=window)


@receiver(signals.flapping_stopped)
def tell_subscribers_settled_down(
    sender: Any, monitor: Any, incident: Incident | None = None, **kwargs: Any
) -> None:
    # Settled down: the incident its flapping held back is news now (as its
    # DOWN alert is); the key keeps one already told to one message.
    if incident is not None:
        outbox.messages_for_incident(
            incident=incident, event=SubscriberEvent.INCIDENT_OPENED
        )
