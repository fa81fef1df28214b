from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from monitors import timeline
from monitors.models import Incident, IncidentStatus
from monitors.timeline import TimelineEntry

from .conftest import add_incident

pytestmark = pytest.mark.django_db


def test_the_incident_list_shows_open_incidents_first(
    owner_client, make_monitor
) -> None:
    now = timezone.now()
    monitor = make_monitor(name="Shop")
    old_open = add_incident(monitor, now - timedelta(days=2), None, "open one")
    add_incident(monitor, now - timedelta(hours=1), now, "recent resolved")
    page = owner_client.get(reverse("dashboard:incidents"))
    incidents = list(page.context["page"].object_list)
    assert incidents[0] == old_open
    assert [i.cause for i in incidents] == ["open one", "recent resolved"]


def test_the_incident_page_shows_a_timeline(owner_client, make_monitor) -> None:
    now = timezone.now()
    monitor = make_monitor()
    incident = Incident.objects.create(
        monitor=monitor,
        status=IncidentStatus.RESOLVED,
        started_at=now - timedelta(minutes=10),
        resolved_at=now - timedelta(minutes=2),
        cause="timeout: no answer",
        details={
            "quorum": 2,
            "confirmed_at": (now - timedelta(minutes=8)).isoformat(),
            "regions": {
                "eu": {
                    "first_failed_at": (now - timedelta(minutes=10)).isoformat(),
                    "error": "timeout",
                    "message": "no answer in 5 s",
                    "status_code": None,
                },
                "us": {
                    "first_failed_at": (now - timedelta(minutes=9)).isoformat(),
                    "error": "http_status",
                    "message": "<b>bad</b>",
                    "status_code": 503,
                },
            },
        },
    )

    def provider(inc: Incident) -> list[TimelineEntry]:
        return [
            TimelineEntry(
                at=now - timedelta(minutes=7),
                kind="notification",
                title="Email to ops sent",
                ok=True,
            )
        ]

    timeline.TIMELINE_PROVIDERS.append(provider)
    try:
        response = owner_client.get(incident.get_absolute_url())
    finally:
        timeline.TIMELINE_PROVIDERS.remove(provider)
    body = response.content.decode()
    titles = [e.title for e in response.context["timeline"]]
    assert titles == [
        "First failing check in region eu",
        "First failing check in region us",
        "Incident opened: quorum reached (2 regions)",
        "Email to ops sent",
        "Recovered: incident resolved",
    ]
    assert "HTTP 503: &lt;b&gt;bad&lt;/b&gt;" in body
