"""/api/maintenance/: CRUD scoped to the caller's projects, 400s by field."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from monitors.models import MaintenanceWindow, Project, Role
from monitors.services import monitor_pause
from tests.alerts.conftest import record
from tests.conftest import api_client_for

pytestmark = pytest.mark.django_db


def _body(**kwargs: object) -> dict[str, object]:
    start = timezone.now() + timedelta(hours=1)
    body: dict[str, object] = {
        "title": "Database upgrade",
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=2)).isoformat(),
    }
    body.update(kwargs)
    return body


def test_create_list_patch_and_delete_a_window(api, project, make_monitor) -> None:
    shop = make_monitor()
    response = api.post(
        "/api/maintenance/",
        _body(monitors=[shop.pk], recurrence="weekly", weekdays=[5, 6, 5]),
        format="json",
    )
    assert response.status_code == 201, response.json()
    created = response.json()
    assert created["project"] == project.pk
    assert created["monitors"] == [shop.pk]
    assert created["weekdays"] == [5, 6]
    assert created["active"] is False

    listed = api.get("/api/maintenance/").json()
    assert [w["id"] for w in listed["results"]] == [created["id"]]

    now = timezone.now()
    patched = api.patch(
        f"/api/maintenance/{created['id']}/",
        {
            "starts_at": (now - timedelta(minutes=1)).isoformat(),
            "recurrence": "",
            "monitors": [],
        },
        format="json",
    )
    assert patched.status_code == 200, patched.json()
    assert patched.json()["active"] is True
    assert patched.json()["weekdays"] == []
    assert patched.json()["title"] == "Database upgrade"  # kept

    assert api.delete(f"/api/maintenance/{created['id']}/").status_code == 204
    assert not MaintenanceWindow.objects.exists()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"title": ""}, "title"),
        ({"ends_at": (timezone.now() - timedelta(days=1)).isoformat()}, "ends_at"),
        ({"starts_at": "next tuesday"}, "starts_at"),
        ({"recurrence": "monthly"}, "recurrence"),
        ({"recurrence": "weekly"}, "weekdays"),
        ({"recurrence": "weekly", "weekdays": [7]}, "weekdays"),
        ({"recurrence": "weekly", "weekdays": ["x"]}, "weekdays"),
        (
            {
                "recurrence": "weekly",
                "weekdays": [1],
                "ends_at": (timezone.now() + timedelta(days=9)).isoformat(),
            },
            "ends_at",
        ),
        ({"monitors": [999999]}, "monitors"),
        ({"project": 999999}, "project"),
    ],
)
def test_bad_windows_are_a_400_naming_the_field(api, project, changes, field) -> None:
    response = api.post("/api/maintenance/", _body(**changes), format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not MaintenanceWindow.objects.exists()


def test_a_monitor_of_another_of_my_projects_is_a_400(
    api, owner, project, make_monitor
) -> None:
    other = Project.objects.create(name="Other", owner=owner)
    other.memberships.create(user=owner, role=Role.OWNER)
    shop = make_monitor()  # in `project`
    response = api.post(
        "/api/maintenance/",
        _body(project=other.pk, monitors=[shop.pk]),
        format="json",
    )
    assert response.status_code == 400
    assert "monitors" in response.json()


def test_another_projects_windows_are_invisible_and_untouchable(
    api, outsider_api, outsider, project, make_monitor
) -> None:
    shop = make_monitor()
    ours = api.post("/api/maintenance/", _body(), format="json").json()

    assert outsider_api.get("/api/maintenance/").json()["results"] == []
    url = f"/api/maintenance/{ours['id']}/"
    assert outsider_api.get(url).status_code == 404
    assert outsider_api.patch(url, {"title": "x"}, format="json").status_code == 404
    assert outsider_api.delete(url).status_code == 404
    # Nor can they aim a window of theirs at our monitor or our project.
    theirs = outsider_api.post(
        "/api/maintenance/", _body(monitors=[shop.pk]), format="json"
    )
    assert theirs.status_code == 400 and "monitors" in theirs.json()
    into_ours = outsider_api.post(
        "/api/maintenance/", _body(project=project.pk), format="json"
    )
    assert into_ours.status_code == 400 and "project" in into_ours.json()
    assert MaintenanceWindow.objects.get().title == "Database upgrade"


def test_viewers_read_windows_and_members_write_them(api, make_member, project) -> None:
    window = api.post("/api/maintenance/", _body(), format="json").json()
    viewer = api_client_for(make_member(Role.VIEWER))
    member = api_client_for(make_member(Role.MEMBER))
    url = f"/api/maintenance/{window['id']}/"

    assert viewer.get(url).status_code == 200
    assert viewer.patch(url, {"title": "x"}, format="json").status_code == 403
    assert viewer.delete(url).status_code == 403
    body = _body(project=project.pk)
    assert viewer.post("/api/maintenance/", body, format="json").status_code == 403
    assert member.patch(url, {"title": "Moved"}, format="json").status_code == 200
    assert member.post("/api/maintenance/", body, format="json").status_code == 201


def test_incidents_filter_by_paused(api, make_monitor, owner, regions) -> None:
    shop = make_monitor(regions=regions[:1], failure_threshold=1)
    record(shop, regions[0], "down")
    monitor_pause(user=owner, monitor=shop)
    paused = api.get("/api/incidents/?status=paused").json()["results"]
    assert [i["status"] for i in paused] == ["paused"]
    assert api.get("/api/incidents/?status=closed").status_code == 400
