"""Monitor dependencies: a monitor may sit behind another (every page of a
site behind its load balancer). While the parent has an open incident, a
child's new incident is recorded ``suppressed`` and alerts nobody; the
parent's alerts list the children affected.

The rules of ``depends_on`` (same project, not itself, no cycle of any
length) live here, so the services, the API serializer, the dashboard form
and the admin share them.
"""

from __future__ import annotations

from typing import Any

from .models import Incident, IncidentStatus, Monitor, MonitorStatus

# A chain this long is surely a mistake (and a walk this long never ends in
# a loop we missed): one level is the common case.
MAX_DEPTH = 20


def dependency_error(
    *, monitor: Monitor | None, project_id: int | None, parent: Monitor | None
) -> str | None:
    """Why ``monitor`` (None: one being created) of project ``project_id``
    may not depend on ``parent``; None when it may."""
    if parent is None:
        return None
    if project_id is None or parent.project_id != project_id:
        return "Must be a monitor of the same project."
    if monitor is not None and monitor.pk is not None:
        if parent.pk == monitor.pk:
            return "A monitor cannot depend on itself."
        seen = {parent.pk}
        current = parent.depends_on_id
        for _ in range(MAX_DEPTH):
            if current is None:
                break
            if current == monitor.pk:
                return (
                    f"{parent.name} already depends on this monitor "
                    "(directly or through others): that would be a cycle."
                )
            if current in seen:
                break
            seen.add(current)
            current = (
                Monitor.objects.filter(pk=current)
                .values_list("depends_on_id", flat=True)
                .first()
            )
    return None


def incident_alerts_suppressed(incident: Incident) -> bool:
    """True when this incident's alerts (opened, reminders, resolved) are
    held back: its parent's outage explains it and the parent's alert names
    it. The one check the alert writers call."""
    return incident.suppressed


def affected_dependents(monitor: Monitor) -> list[dict[str, Any]]:
    """The monitors behind ``monitor`` that are failing or down right now
    (an open incident, or failed checks not yet confirmed), for its alerts."""
    open_ids = set(
        Incident.objects.filter(
            monitor__depends_on=monitor, status=IncidentStatus.OPEN
        ).values_list("monitor_id", flat=True)
    )
    children = Monitor.objects.filter(depends_on=monitor).order_by("name", "id")
    return [
        {
            "id": child.pk,
            "name": child.name,
            "url": child.url,
            "status": MonitorStatus.DOWN if child.pk in open_ids else child.status,
        }
        for child in children
        if child.pk in open_ids
        or child.status in (MonitorStatus.FAILING, MonitorStatus.DOWN)
    ]
