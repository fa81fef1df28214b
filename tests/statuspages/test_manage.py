"""The dashboard: managing pages, and posting an update on an incident."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from monitors.models import IncidentUpdate
from statuspages.models import StatusPage
from statuspages.services import status_page_layout, subscriber_subscribe
from tests.conftest import client_for
from tests.dashboard.conftest import add_incident

pytestmark = pytest.mark.django_db


def test_an_owner_creates_a_page_picking_monitors_in_groups(
    owner_client, make_monitor
) -> None:
    a, b, c = (make_monitor(name=n) for n in ("Alpha", "Beta", "Gamma"))
    form = owner_client.get("/status-pages/new/")
    assert form.status_code == 200
    assert "Gamma" in form.content.decode()
    response = owner_client.post(
        "/status-pages/new/",
        {
            "title": "Public",
            "slug": "public",
            "public": "on",
            f"group_{a.pk}": "Web",
            f"order_{a.pk}": "2",
            f"group_{b.pk}": "API",
            f"order_{b.pk}": "1",
            f"name_{b.pk}": "Public API",
            f"group_{c.pk}": "",
        },
    )
    assert response.status_code == 302, response.content.decode()
    page = StatusPage.objects.get()
    assert [
        (g["name"], [(e["monitor"].name, e["display_name"]) for e in g["monitors"]])
        for g in status_page_layout(page)
    ] == [("API", [("Beta", "Public API")]), ("Web", [("Alpha", "")])]
    subscriber_subscribe(page=page, kind="webhook", target="https://h.example/")
    subscriber_subscribe(page=page, kind="email", target="unconfirmed@example.com")
    listing = owner_client.get("/status-pages/").content.decode()
    assert "/status/public/" in listing
    assert '<td data-label="Subscribers">1</td>' in listing

    edit = owner_client.get(f"/status-pages/{page.pk}/edit/").content.decode()
    assert 'value="Public API"' in edit
    taken = owner_client.post(
        "/status-pages/new/", {"title": "Again", "slug": "public"}
    )
    assert taken.status_code == 400
    assert "Another status page has this slug." in taken.content.decode()


def test_members_below_admin_cannot_manage_pages(make_member, make_page) -> None:
    page = make_page()
    member = client_for(make_member("member"))
    assert member.get(f"/status-pages/{page.pk}/edit/").status_code == 403
    assert member.post(f"/status-pages/{page.pk}/delete/").status_code == 403
    assert StatusPage.objects.filter(pk=page.pk).exists()


def test_a_member_posts_an_update_on_the_incident_page_and_a_viewer_cannot(
    teammate_client, make_member, make_monitor
) -> None:
    incident = add_incident(make_monitor(), timezone.now() - timedelta(minutes=1), None)
    url = f"/incidents/{incident.pk}/updates/"
    bad = teammate_client.post(url, {"status": "identified", "body": ""})
    assert bad.status_code == 400
    assert "This field is required." in bad.content.decode()
    done = teammate_client.post(url, {"status": "identified", "body": "Disk full."})
    assert done.status_code == 302
    page = teammate_client.get(f"/incidents/{incident.pk}/").content.decode()
    assert "Disk full." in page and "Identified" in page and "by bob" in page

    viewer = client_for(make_member("viewer"))
    assert (
        "Post update" not in viewer.get(f"/incidents/{incident.pk}/").content.decode()
    )
    assert viewer.post(url, {"status": "identified", "body": "x"}).status_code == 403
    assert IncidentUpdate.objects.count() == 1
