"""The admin: pages through the services, subscribers masked, the sweeper."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from statuspages.models import StatusPage, SubscriberMessage
from statuspages.outbox import messages_sweep
from statuspages.services import subscriber_subscribe
from tests.dashboard.conftest import add_incident

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, owner):
    User.objects.filter(pk=owner.pk).update(is_staff=True, is_superuser=True)
    client.force_login(owner)
    return client


def test_the_admin_writes_pages_through_the_services_and_masks_webhooks(
    admin_client, project, make_page, make_monitor
) -> None:
    make_page(slug="taken")
    form = {
        "project": project.pk,
        "slug": "taken",
        "title": "T",
        "public": "on",
        "groups-TOTAL_FORMS": "0",
        "groups-INITIAL_FORMS": "0",
    }
    refused = admin_client.post("/admin/statuspages/statuspage/add/", form)
    assert "Another status page has this slug." in refused.content.decode()
    form["slug"] = "fresh"
    form["logo_url"] = "https://cdn.example/logo.png"
    done = admin_client.post("/admin/statuspages/statuspage/add/", form)
    assert done.status_code == 302
    assert StatusPage.objects.get(slug="fresh").logo_url.startswith("https://")

    page = StatusPage.objects.get(slug="taken")
    subscriber_subscribe(
        page=page, kind="webhook", target="https://h.example/secret-path"
    )
    for url in (
        "/admin/statuspages/statuspagesubscriber/",
        "/admin/statuspages/subscribermessage/",
        "/admin/statuspages/statuspagegroup/",
        "/admin/monitors/incidentupdate/",
    ):
        response = admin_client.get(url)
        assert response.status_code == 200, url
        assert "secret-path" not in response.content.decode()


def test_the_sweeper_resends_rows_whose_task_was_lost(
    settings, make_page, make_monitor, owner
) -> None:
    settings.ALERTS_SWEEP_GRACE_SECONDS = 0
    monitor = make_monitor()
    page = make_page({"G": [monitor]})
    subscriber_subscribe(page=page, kind="webhook", target="https://h.example/x")
    add_incident(monitor, timezone.now() - timedelta(minutes=1), None)
    from monitors.incident_updates import incident_update_post

    incident = monitor.incidents.get()
    incident_update_post(user=owner, incident=incident, status="identified", body="x")
    message = SubscriberMessage.objects.get()
    sent: list[int] = []
    later = timezone.now() + timedelta(seconds=1)
    assert messages_sweep(now=later, enqueue=lambda ids, _c: sent.extend(ids)) == [
        message.pk
    ]
    # Marked: a second sweep within the grace period leaves it alone.
    settings.ALERTS_SWEEP_GRACE_SECONDS = 60
    assert messages_sweep(now=later, enqueue=lambda ids, _c: sent.extend(ids)) == []
