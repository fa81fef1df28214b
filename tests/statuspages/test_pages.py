"""The public page: groups, bars, incidents with updates, maintenance,
escaping, the cache, custom domains and the feeds."""

from __future__ import annotations

from datetime import timedelta
from xml.etree import ElementTree

import pytest
from django.urls import reverse
from django.utils import timezone

from monitors.incident_updates import incident_update_post
from monitors.maintenance import maintenance_window_create
from statuspages.selectors import custom_domains
from statuspages.services import status_page_update
from tests.dashboard.conftest import add_incident

pytestmark = pytest.mark.django_db

XSS = "<script>alert(1)</script>"


def test_the_page_shows_its_groups_with_display_names_and_90_day_bars(
    client, make_monitor, make_page
) -> None:
    api = make_monitor(name="api-prod-eu", status="up")
    web = make_monitor(name="Web", status="down")
    make_monitor(name="Internal batch")  # not on the page
    make_page({"Backend": [(api, "Public API")], "Frontend": [web]})

    response = client.get("/status/shop/")
    body = response.content.decode()
    assert response.status_code == 200
    assert body.index("Backend") < body.index("Public API") < body.index("Frontend")
    assert "api-prod-eu" not in body
    assert "Internal batch" not in body
    assert "1 of 2 services down" in body
    assert body.count('class="day day-') == 180
    assert "img-src 'self' data: https:" in response["Content-Security-Policy"]
    assert response["Cache-Control"] == "public, max-age=10"


def test_everything_a_person_typed_is_escaped(
    client, owner, make_monitor, make_page
) -> None:
    monitor = make_monitor(name=XSS)
    page = make_page({XSS: [(monitor, XSS)]}, title=XSS)
    incident = add_incident(monitor, timezone.now() - timedelta(minutes=3), None)
    incident_update_post(user=owner, incident=incident, status="identified", body=XSS)
    body = client.get(page.get_absolute_url()).content.decode()
    assert XSS not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


def test_current_incidents_show_their_updates_and_hide_causes_unless_asked(
    client, owner, make_monitor, make_page
) -> None:
    monitor = make_monitor(name="Checkout", url="https://internal.shop.example/")
    page = make_page({"Shop": [monitor]})
    now = timezone.now()
    incident = add_incident(monitor, now - timedelta(minutes=9), None, "dns: NXDOMAIN")
    old = add_incident(
        monitor, now - timedelta(days=3), now - timedelta(days=3, minutes=-5)
    )
    add_incident(monitor, now - timedelta(days=30), now - timedelta(days=29))
    incident_update_post(
        user=owner, incident=incident, status="investigating", body="Looking at DNS."
    )
    incident_update_post(
        user=owner, incident=incident, status="identified", body="A bad zone push."
    )

    body = client.get(page.get_absolute_url()).content.decode()
    current = body[body.index("Current incidents") : body.index("Past incidents")]
    assert current.index("A bad zone push.") < current.index("Looking at DNS.")
    assert "Identified" in current and "Investigating" in current
    assert f'id="incident-{old.pk}"' in body[body.index("Past incidents") :]
    assert body.count('class="public-incident"') == 2  # not the one a month ago
    assert "NXDOMAIN" not in body and "internal.shop.example" not in body

    status_page_update(user=owner, page=page, fields={"show_details": True})
    body = client.get(page.get_absolute_url()).content.decode()
    assert "dns: NXDOMAIN" in body
    assert "internal.shop.example" in body


def test_scheduled_maintenance_is_shown_ahead_of_time(
    client, owner, project, make_monitor, make_page
) -> None:
    shown, other = make_monitor(name="Shown"), make_monitor(name="Other")
    page = make_page({"All": [shown]})
    soon = timezone.now() + timedelta(days=2)
    maintenance_window_create(
        user=owner,
        project=project,
        fields={
            "title": "Database upgrade",
            "starts_at": soon,
            "ends_at": soon + timedelta(hours=1),
            "monitors": [shown],
        },
    )
    maintenance_window_create(
        user=owner,
        project=project,
        fields={
            "title": "Unrelated work",
            "starts_at": soon,
            "ends_at": soon + timedelta(hours=1),
            "monitors": [other],
        },
    )
    body = client.get(page.get_absolute_url()).content.decode()
    assert "Scheduled maintenance" in body
    assert "Database upgrade" in body
    assert "Unrelated work" not in body


def test_the_page_is_served_from_the_cache_for_a_few_seconds_and_an_edit_clears_it(
    client, owner, make_monitor, make_page
) -> None:
    monitor = make_monitor(name="Before")
    page = make_page({"G": [monitor]})
    assert "Before" in client.get("/status/shop/").content.decode()
    monitor.name = "After"
    monitor.save()
    # Within the cache's seconds the rendered page is served as it was.
    assert "Before" in client.get("/status/shop/").content.decode()
    status_page_update(user=owner, page=page, fields={"title": "Shop"})
    assert "After" in client.get("/status/shop/").content.decode()


def test_a_hidden_page_and_an_unknown_slug_answer_404_and_the_project_page_still_works(
    client, project, make_monitor, make_page
) -> None:
    make_page({"G": [make_monitor()]}, public=False)
    assert client.get("/status/shop/").status_code == 404
    assert client.get("/status/nothing-here/").status_code == 404
    assert client.get("/status/shop/feed.atom").status_code == 404
    # The project's own page (from the project settings) keeps its address.
    project.status_page_enabled = True
    project.save()
    legacy = reverse("dashboard:status_page", args=[project.slug])
    assert legacy == f"/status/{project.slug}/"
    assert client.get(legacy).status_code == 200


def test_a_custom_domain_serves_its_page_at_the_root_and_nothing_else(
    client, settings, make_monitor, make_page
) -> None:
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "status.shop.example"]
    make_page(
        {"Shop": [make_monitor(name="Checkout")]}, custom_domain="Status.Shop.Example"
    )
    host = {"HTTP_HOST": "status.shop.example"}

    root = client.get("/", **host)
    assert root.status_code == 200
    assert "Checkout" in root.content.decode()
    assert 'href="/feed.atom"' in root.content.decode()
    assert client.get("/feed.atom", **host).status_code == 200
    assert client.get("/subscribe/", **host).status_code == 200
    # The dashboard, the API and the admin are not on the page's domain.
    assert client.get("/admin/", **host).status_code == 404
    assert client.get("/api/monitors/", **host).status_code == 404
    assert client.get("/status/shop/", **host).status_code == 404
    # The usual host still serves the dashboard's login redirect at /.
    assert client.get("/").status_code == 302
    assert custom_domains() == {"status.shop.example": "shop"}


def test_a_custom_domain_outside_allowed_hosts_is_refused(
    client, make_monitor, make_page
) -> None:
    make_page({"Shop": [make_monitor()]}, custom_domain="status.shop.example")
    assert client.get("/", HTTP_HOST="status.shop.example").status_code == 400


def test_the_feeds_list_incidents_with_their_updates(
    client, owner, make_monitor, make_page
) -> None:
    monitor = make_monitor(name="Checkout")
    make_page({"Shop": [(monitor, "Payments")]})
    incident = add_incident(monitor, timezone.now() - timedelta(minutes=9), None)
    incident_update_post(
        user=owner, incident=incident, status="monitoring", body=f"Fix out {XSS}"
    )

    atom = client.get("/status/shop/feed.atom")
    assert atom["Content-Type"].startswith("application/atom+xml")
    ns = {"a": "http://www.w3.org/2005/Atom"}
    root = ElementTree.fromstring(atom.content)  # noqa: S314  (our own feed)
    entry = root.find("a:entry", ns)
    assert entry is not None
    assert entry.findtext("a:title", namespaces=ns) == "Payments: ongoing"
    assert f"Monitoring: Fix out {XSS}" in entry.findtext(
        "a:summary", "", namespaces=ns
    )
    assert entry.findtext("a:id", namespaces=ns) == f"incident-{incident.pk}"
    link = entry.find("a:link", ns)
    assert link is not None
    assert link.get("href") == f"http://testserver/status/shop/#incident-{incident.pk}"

    rss = client.get("/status/shop/feed.rss")
    assert rss["Content-Type"].startswith("application/rss+xml")
    item = ElementTree.fromstring(rss.content).find("channel/item")  # noqa: S314  (ours)
    assert item is not None
    assert item.findtext("title") == "Payments: ongoing"
    assert f"Fix out {XSS}" in item.findtext("description", "")
