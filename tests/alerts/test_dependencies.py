"""Monitor dependencies: the rules of depends_on on every surface, and a
child's incidents suppressed while its parent is down."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from alerts.models import Notification
from alerts.services import notifications_remind
from monitors.checks.base import CheckResult
from monitors.models import Incident, Monitor
from monitors.services import (
    TickResult,
    monitor_update,
    project_create,
    ticks_record,
)
from tests.alerts.conftest import record
from tests.forms import encode_form, form_values

pytestmark = pytest.mark.django_db


@pytest.fixture
def pair(make_monitor, regions, make_channel):
    """A load balancer and a page behind it, one region, both on a webhook."""
    lb = make_monitor(name="LB", regions=regions[:1], failure_threshold=1)
    page = make_monitor(
        name="Page", regions=regions[:1], failure_threshold=1, depends_on=lb
    )
    channel = make_channel(
        kind="webhook", target="https://hooks.example/x", reminder_minutes=1
    )
    channel.monitors.set([lb, page])
    return lb, page


def _events(monitor: Monitor) -> list[str]:
    """The incident alerts written for ``monitor`` (down, up, down in a few
    checks also starts flapping alerts, which are not this file's business)."""
    return list(
        Notification.objects.filter(monitor=monitor, event__startswith="incident.")
        .order_by("id")
        .values_list("event", flat=True)
    )


def test_child_incident_is_suppressed_while_the_parent_is_down(pair, regions) -> None:
    lb, page = pair
    region = regions[0]
    # Within the freshness window the machine reads (a few intervals).
    start = timezone.now() - timedelta(seconds=170)
    record(lb, region, "down", start)
    record(page, region, "down", start + timedelta(seconds=5))

    parent = Incident.objects.get(monitor=lb, status="open")
    child = Incident.objects.get(monitor=page, status="open")
    assert not parent.suppressed
    assert (child.suppressed, child.suppressed_by) == (True, parent)
    assert _events(lb) == ["incident.opened"]
    assert _events(page) == []
    # Reminders skip it too (the parent's come due as usual).
    notifications_remind(now=timezone.now() + timedelta(minutes=2))
    assert _events(page) == []
    assert "incident.reminder" in _events(lb)

    # The parent recovers first; the child's incident stays suppressed
    # (it began as the parent's outage) and resolves without a word.
    record(lb, region, "up", start + timedelta(seconds=60))
    record(page, region, "up", start + timedelta(seconds=65))
    child.refresh_from_db()
    assert child.status == "resolved" and child.suppressed
    assert _events(page) == []
    assert _events(lb)[-1] == "incident.resolved"

    # With the parent up, the child's next outage alerts as usual.
    record(page, region, "down", start + timedelta(seconds=120))
    again = Incident.objects.get(monitor=page, status="open")
    assert not again.suppressed and again.suppressed_by is None
    assert _events(page) == ["incident.opened"]
    record(page, region, "up", start + timedelta(seconds=170))
    assert _events(page) == ["incident.opened", "incident.resolved"]


def test_parent_and_child_down_in_one_batch_suppress_the_child(pair, regions) -> None:
    lb, page = pair
    at = timezone.now() - timedelta(seconds=2)
    down = CheckResult(status="down", error="connection", message="refused")
    # The child first in the batch: the machine still takes the parent first.
    ticks_record(
        region=regions[0],
        scheduled_at=at,
        results=[
            TickResult(monitor_id=page.pk, checked_at=at, result=down),
            TickResult(monitor_id=lb.pk, checked_at=at, result=down),
        ],
    )
    child = Incident.objects.get(monitor=page)
    assert child.suppressed
    assert child.suppressed_by == Incident.objects.get(monitor=lb)
    assert _events(page) == []


def test_parent_alert_lists_the_failing_children(pair, regions, make_monitor) -> None:
    lb, page = pair
    # Another child, healthy: not listed.
    make_monitor(name="Docs", regions=regions[:1], depends_on=lb, status="up")
    Monitor.objects.filter(pk=page.pk).update(status="failing")
    record(lb, regions[0], "down", timezone.now() - timedelta(seconds=1))

    opened = Notification.objects.get(monitor=lb, event="incident.opened")
    affected = opened.payload["data"]["affected_monitors"]
    assert [(m["id"], m["name"], m["status"]) for m in affected] == [
        (page.pk, "Page", "failing")
    ]
    assert affected[0]["link"].endswith(f"/monitors/{page.pk}/")
    assert opened.payload["data"]["incident"]["suppressed"] is False


def test_incident_pages_show_the_suppression_and_the_affected(
    pair, regions, owner_client
) -> None:
    lb, page = pair
    start = timezone.now() - timedelta(minutes=1)
    record(lb, regions[0], "down", start)
    record(page, regions[0], "down", start + timedelta(seconds=1))
    parent = Incident.objects.get(monitor=lb)
    child = Incident.objects.get(monitor=page)

    body = owner_client.get(reverse("dashboard:incident", args=[parent.pk]))
    text = body.content.decode()
    assert "Affected dependent monitors" in text
    assert reverse("dashboard:incident", args=[child.pk]) in text
    text = owner_client.get(
        reverse("dashboard:incident", args=[child.pk])
    ).content.decode()
    assert "No alerts: it opened while" in text
    assert reverse("dashboard:incident", args=[parent.pk]) in text
    text = owner_client.get(reverse("dashboard:monitor", args=[page.pk])).content
    assert b"Depends on <a href" in text
    assert b">suppressed</span>" in text  # in its incident list
    text = owner_client.get(reverse("dashboard:monitor", args=[lb.pk])).content
    assert b"Monitors that depend on this one" in text


# --- the rules of depends_on ------------------------------------------------------


def test_api_sets_shows_and_refuses_dependencies(api, make_monitor, project) -> None:
    a = make_monitor(name="A")
    b = make_monitor(name="B")
    c = make_monitor(name="C")

    resp = api.patch(f"/api/monitors/{b.pk}/", {"depends_on": a.pk}, format="json")
    assert resp.status_code == 200, resp.json()
    assert resp.json()["depends_on"] == a.pk
    assert (
        api.patch(
            f"/api/monitors/{c.pk}/", {"depends_on": b.pk}, format="json"
        ).status_code
        == 200
    )

    # A on C would close the loop C -> B -> A -> C.
    resp = api.patch(f"/api/monitors/{a.pk}/", {"depends_on": c.pk}, format="json")
    assert resp.status_code == 400
    assert "cycle" in resp.json()["depends_on"][0]
    resp = api.patch(f"/api/monitors/{a.pk}/", {"depends_on": a.pk}, format="json")
    assert resp.status_code == 400
    assert "itself" in resp.json()["depends_on"][0]
    # Unset.
    resp = api.patch(f"/api/monitors/{c.pk}/", {"depends_on": None}, format="json")
    assert resp.status_code == 200 and resp.json()["depends_on"] is None


def test_api_refuses_a_parent_from_another_project(
    api, owner, make_monitor, project
) -> None:
    other = project_create(owner=owner, name="Other")
    foreign = Monitor.objects.create(project=other, name="F", url="https://f.example")
    mine = make_monitor(name="Mine")
    resp = api.patch(
        f"/api/monitors/{mine.pk}/", {"depends_on": foreign.pk}, format="json"
    )
    assert resp.status_code == 400
    assert "same project" in resp.json()["depends_on"][0]


def test_api_cannot_name_a_monitor_the_caller_cannot_see(
    api, outsider, make_monitor
) -> None:
    theirs = Monitor.objects.create(
        project=project_create(owner=outsider, name="X"),
        name="Theirs",
        url="https://t.example",
    )
    mine = make_monitor(name="Mine")
    resp = api.patch(
        f"/api/monitors/{mine.pk}/", {"depends_on": theirs.pk}, format="json"
    )
    assert resp.status_code == 400
    assert "depends_on" in resp.json()


def test_dashboard_form_offers_the_projects_monitors_and_refuses_a_cycle(
    owner_client, make_monitor, regions
) -> None:
    a = make_monitor(name="Alpha")
    b = make_monitor(name="Beta", depends_on=a)
    url = reverse("dashboard:monitor_edit", args=[a.pk])
    page = owner_client.get(url).content.decode()
    assert 'name="depends_on"' in page
    assert f'<option value="{b.pk}">Beta</option>' in page
    assert ">Alpha</option>" not in page  # not itself

    data = encode_form({**form_values(a, regions), "depends_on": b.pk})
    resp = owner_client.post(url, data)
    assert resp.status_code == 400
    assert "cycle" in resp.context["form"].errors["depends_on"][0]

    c = make_monitor(name="Gamma")
    data = encode_form({**form_values(a, regions), "depends_on": c.pk})
    assert owner_client.post(url, data).status_code == 302
    a.refresh_from_db()
    assert a.depends_on == c
    # A post without the field keeps it; an empty choice clears it.
    data = encode_form({**form_values(a, regions), "name": "Alpha 2"})
    assert owner_client.post(url, data).status_code == 302
    a.refresh_from_db()
    assert (a.name, a.depends_on) == ("Alpha 2", c)
    data = encode_form({**form_values(a, regions), "depends_on": None})
    assert owner_client.post(url, data).status_code == 302
    a.refresh_from_db()
    assert a.depends_on is None


def test_admin_form_refuses_a_cycle(make_monitor, regions, owner) -> None:
    from monitors.admin import MonitorAdminForm

    a = make_monitor(name="Alpha")
    b = make_monitor(name="Beta", depends_on=a)
    data = encode_form(
        {**form_values(a, regions), "project": a.project_id, "depends_on": b.pk}
    )
    data["regions"] = [r.pk for r in regions]
    data["enabled"] = "on"
    form = MonitorAdminForm(data, instance=a)
    assert not form.is_valid()
    assert "cycle" in form.errors["depends_on"][0]


def test_a_move_to_another_project_drops_the_dependency_both_ways(
    owner, make_monitor, project
) -> None:
    a = make_monitor(name="A")
    b = make_monitor(name="B", depends_on=a)
    c = make_monitor(name="C", depends_on=b)
    other = project_create(owner=owner, name="Other")
    moved = monitor_update(user=owner, monitor=b, fields={"project": other})
    assert moved.depends_on is None
    c.refresh_from_db()
    assert c.depends_on is None


def test_api_shows_an_incident_as_suppressed(pair, regions, api) -> None:
    lb, page = pair
    start = timezone.now() - timedelta(minutes=1)
    record(lb, regions[0], "down", start)
    record(page, regions[0], "down", start + timedelta(seconds=1))
    parent = Incident.objects.get(monitor=lb)
    child = Incident.objects.get(monitor=page)
    body = api.get(f"/api/incidents/{child.pk}/").json()
    assert (body["suppressed"], body["suppressed_by"]) == (True, parent.pk)
    body = api.get(f"/api/incidents/{parent.pk}/").json()
    assert (body["suppressed"], body["suppressed_by"]) == (False, None)
    assert api.get(f"/api/monitors/{page.pk}/").json()["depends_on"] == lb.pk


def test_a_chain_in_one_batch_is_taken_parents_first(make_monitor, regions) -> None:
    site = make_monitor(name="Site", regions=regions[:1], failure_threshold=1)
    lb = make_monitor(
        name="LB", regions=regions[:1], failure_threshold=1, depends_on=site
    )
    page = make_monitor(
        name="Page", regions=regions[:1], failure_threshold=1, depends_on=lb
    )
    at = timezone.now() - timedelta(seconds=2)
    down = CheckResult(status="down", error="connection", message="refused")
    ticks_record(
        region=regions[0],
        scheduled_at=at,
        results=[
            TickResult(monitor_id=m.pk, checked_at=at, result=down)
            for m in (page, lb, site)
        ],
    )
    top = Incident.objects.get(monitor=site)
    middle = Incident.objects.get(monitor=lb)
    bottom = Incident.objects.get(monitor=page)
    assert not top.suppressed
    assert middle.suppressed_by == top
    assert bottom.suppressed_by == middle
