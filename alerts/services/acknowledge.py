"""The signed acknowledge link in every alert about an open incident.

Whoever receives the alert (an inbox, a Slack channel, a webhook's consumer)
may acknowledge without an account: the link is the authority. It is signed
(``django.core.signing``: HMAC with SECRET_KEY, its own salt, a timestamp)
and names only the incident, so it cannot be forged or pointed at another
incident, and it lapses after ``ALERTS_ACK_LINK_MAX_AGE_DAYS``. Opening it
only asks (mail scanners fetch links); the confirm button POSTs.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.urls import reverse

from monitors.models import Incident

ACK_SALT = "alerts.incident-acknowledge"


def ack_max_age() -> timedelta:
    return timedelta(days=settings.ALERTS_ACK_LINK_MAX_AGE_DAYS)


def acknowledge_link(incident: Incident) -> str:
    """The absolute link, signed now."""
    token = signing.dumps({"i": incident.pk}, salt=ACK_SALT)
    path = reverse("alerts:incident_acknowledge", args=[token])
    return f"{settings.SITE_URL}{path}"


def incident_by_ack_token(token: str) -> Incident | None:
    """The incident a link was made for; None when forged or expired."""
    try:
        data = signing.loads(token, salt=ACK_SALT, max_age=ack_max_age())
    except signing.BadSignature:  # SignatureExpired is one
        return None
    pk = data.get("i") if isinstance(data, dict) else None
    if not isinstance(pk, int):
        return None
    return (
        Incident.objects.select_related(
            "monitor__project", "acknowledged_by", "resolved_by"
        )
        .filter(pk=pk)
        .first()
    )
