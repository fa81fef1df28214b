"""``/api/status-pages/`` and ``/api/incidents/<id>/updates/``."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from monitors.models import Project
from statuspages.models import StatusPage, SubscriberMessage
from statuspages.services import subscriber_subscribe
from tests.conftest import api_client_for
from tests.dashboard.conftest import add_incident

pytestmark = pytest.mark.django_db


def test_an_admin_creates_a_page_with_groups_and_reads_it_back(
    api, make_monitor
) -> None:
    a, b = make_monitor(name="A"), make_monitor(name="B")
    body = {
        "slug": "acme",
        "title": "Acme",
        "custom_domain": "status.acme.example",
        "groups": [
            {"name": "Core", "monitors": [{"monitor": b.pk, "display_name": "Bee"}]},
            {"name": "Edge", "monitors": [{"monitor": a.pk}]},
        ],
    }
    created = api.post("/api/status-pages/", body, format="json")
    assert created.status_code == 201, created.content
    data = created.json()
    assert data["groups"] == [
        {"name": "Core", "monitors": [{"monitor": b.pk, "display_name": "Bee"}]},
        {"name": "Edge", "monitors": [{"monitor": a.pk, "display_name": ""}]},
    ]
    assert data["url"] == "https://status.acme.example/"
    assert data["public"] is True

    changed = api.patch(
        f"/api/status-pages/{data['id']}/", {"title": "Acme Inc."}, format="json"
    )
    assert changed.status_code == 200
    assert changed.json()["groups"] == data["groups"]  # no groups: kept
    emptied = api.patch(
        f"/api/status-pages/{data['id']}/", {"groups": []}, format="json"
    )
    assert emptied.json()["groups"] == []


def test_bad_values_are_400_by_field(api, make_monitor, outsider) -> None:
    foreign = Project.objects.get(owner=outsider)
    theirs = make_monitor(project=foreign)
    api.post("/api/status-pages/", {"slug": "taken", "title": "T"}, format="json")
    cases = [
        ({"slug": "taken", "title": "T"}, "slug"),
        ({"slug": "Bad Slug!", "title": "T"}, "slug"),
        ({"slug": "ok", "title": ""}, "title"),
        (
            {"slug": "ok", "title": "T", "logo_url": "http://x.example/l.png"},
            "logo_url",
        ),
        ({"slug": "ok", "title": "T", "custom_domain": "not a host"}, "custom_domain"),
        (
            {
                "slug": "ok",
                "title": "T",
                "groups": [{"name": "G", "monitors": [{"monitor": theirs.pk}]}],
            },
            "groups",
        ),
    ]
    for body, field in cases:
        response = api.post("/api/status-pages/", body, format="json")
        assert response.status_code == 400, (body, response.content)
        assert field in response.json(), (body, response.json())
    assert StatusPage.objects.count() == 1


def test_members_read_admins_write_and_outsiders_see_nothing(
    make_member, make_page, outsider_api
) -> None:
    page = make_page()
    member = api_client_for(make_member("member"))
    assert member.get(f"/api/status-pages/{page.pk}/").status_code == 200
    assert (
        member.patch(
            f"/api/status-pages/{page.pk}/", {"title": "X"}, format="json"
        ).status_code
        == 403
    )
    admin = api_client_for(make_member("admin"))
    assert (
        admin.patch(
            f"/api/status-pages/{page.pk}/", {"title": "X"}, format="json"
        ).status_code
        == 200
    )
    assert outsider_api.get(f"/api/status-pages/{page.pk}/").status_code == 404
    assert outsider_api.get("/api/status-pages/").json()["results"] == []


def test_incident_updates_are_posted_by_members_and_listed_newest_first(
    api, make_member, make_monitor, make_page, outsider_api
) -> None:
    monitor = make_monitor()
    page = make_page({"G": [monitor]})
    subscriber = subscriber_subscribe(
        page=page, kind="webhook", target="https://hooks.example/x"
    )
    incident = add_incident(monitor, timezone.now() - timedelta(minutes=2), None)
    url = f"/api/incidents/{incident.pk}/updates/"

    first = api.post(
        url, {"status": "investigating", "body": "Looking."}, format="json"
    )
    assert first.status_code == 201, first.content
    assert first.json()["author"] == "alice"
    api.post(url, {"status": "identified", "body": "Found it."}, format="json")
    listed = api.get(url).json()
    assert [u["status"] for u in listed] == ["identified", "investigating"]
    assert (
        SubscriberMessage.objects.filter(
            subscriber=subscriber, event="incident.updated"
        ).count()
        == 2
    )

    bad = api.post(url, {"status": "fixed", "body": ""}, format="json")
    assert bad.status_code == 400
    assert set(bad.json()) == {"status", "body"}
    viewer = api_client_for(make_member("viewer"))
    assert viewer.get(url).status_code == 200
    assert (
        viewer.post(
            url, {"status": "monitoring", "body": "x"}, format="json"
        ).status_code
        == 403
    )
    assert outsider_api.get(url).status_code == 404


def test_a_patch_with_an_incomplete_group_is_a_400(api, make_page) -> None:
    page = make_page()
    incomplete: list[list[dict[str, object]]] = [
        [{}],
        [{"name": "G", "monitors": [{"display_name": "x"}]}],
    ]
    for groups in incomplete:
        response = api.patch(
            f"/api/status-pages/{page.pk}/", {"groups": groups}, format="json"
        )
        assert response.status_code == 400, groups
        assert "groups" in response.json()
