"""Incident updates: what a person tells the world about an incident.

An update is posted on the incident page or through the API by a member of
the incident's project (viewers read only). It is announced inside the
transaction that stores it (``incident_update_posted``), so a status page's
subscriber outbox commits or rolls back with it.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from uptime import sanitize

from . import signals
from .models import Incident, IncidentUpdate, IncidentUpdateStatus, Role
from .projects import project_require

BODY_MAX = 5000


def incident_update_errors(*, status: Any, body: Any) -> dict[str, str]:
    errors: dict[str, str] = {}
    if status not in IncidentUpdateStatus.values:
        errors["status"] = "One of: " + ", ".join(IncidentUpdateStatus.values) + "."
    text = str(body or "").strip()
    if not text:
        errors["body"] = "Say what is going on."
    elif len(text) > BODY_MAX:
        errors["body"] = f"At most {BODY_MAX} characters."
    return errors


def incident_update_post(
    *, user: Any, incident: Incident, status: str, body: str
) -> IncidentUpdate:
    """Store an update and announce it; bad values raise ValidationError by
    field, a role below member PermissionDenied."""
    project_require(
        user=user, project=incident.monitor.project_id, min_role=Role.MEMBER
    )
    errors = incident_update_errors(status=status, body=body)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        update = IncidentUpdate.objects.create(
            incident=incident,
            status=status,
            body=sanitize.clean_text(str(body).strip(), limit=BODY_MAX),
            author=user if getattr(user, "pk", None) else None,
        )
        signals.incident_update_posted.send(sender=IncidentUpdate, update=update)
    return update
