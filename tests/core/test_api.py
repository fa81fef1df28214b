from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from monitors.checks.base import CheckResult
from monitors.models import Incident, Monitor, Project
from monitors.services import TickResult, ticks_record


@pytest.fixture
def shop(make_monitor) -> Monitor:
    return make_monitor(name="Shop", url="https://shop.example/")


def test_every_way_of_creating_a_user_gives_a_default_project(db) -> None:
    a = User.objects.create_user("a1", "a1@example.com", "pw")
    call_command(
        "createsuperuser", "--noinput", username="root1", email="r@example.com"
    )
    root = User.objects.get(username="root1")
    for user in (a, root):
        project = Project.objects.get(owner=user)
        assert user in project.members.all()


def test_a_token_from_drf_create_token_authenticates(owner, regions, capsys) -> None:
    call_command("drf_create_token", owner.username)
    key = capsys.readouterr().out.split()[2]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get("/api/monitors/").status_code == 200
    assert APIClient().get("/api/monitors/").status_code in (401, 403)


def test_create_with_defaults_goes_to_the_default_project(
    api, project, regions
) -> None:
    before = timezone.now()
    resp = api.post("/api/monitors/", {"name": "Shop", "url": "https://shop.example/"})
    assert resp.status_code == 201, resp.json()
    body = resp.json()
    assert body["project"] == project.pk
    assert body["interval_seconds"] == 60
    assert body["timeout_seconds"] == 10
    assert sorted(body["regions"]) == ["ap", "eu", "us"]
    assert body["failure_threshold"] == 3
    assert body["recovery_threshold"] == 1
    assert body["region_quorum"] == 2
    assert body["status"] == "pending"
    assert body["enabled"] is True
    monitor = Monitor.objects.get(pk=body["id"])
    assert monitor.next_check_at is not None and monitor.next_check_at >= before


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"url": "ftp://shop.example/"}, "url"),
        ({"url": "javascript:alert(1)"}, "url"),
        ({"url": "http://"}, "url"),
        ({"url": "http://exa mple.com/"}, "url"),
        ({"url": "https://shop.example/" + "a" * 2000}, "url"),
        ({"url": "http://127.0.0.1/"}, "url"),
        ({"url": "http://2130706433/"}, "url"),
        ({"url": "http://[::1]:8080/"}, "url"),
        ({"url": "http://169.254.169.254/latest/meta-data/"}, "url"),
        ({"url": "http://localhost/"}, "url"),
        ({"interval_seconds": 0}, "interval_seconds"),
        ({"interval_seconds": 30, "timeout_seconds": 30}, "timeout_seconds"),
        ({"regions": ["mars"]}, "regions"),
        ({"regions": []}, "regions"),
        ({"regions": ["eu"], "region_quorum": 2}, "region_quorum"),
        ({"failure_threshold": 0}, "failure_threshold"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(api, regions, payload, field) -> None:
    data = {"name": "Bad", "url": "https://shop.example/", **payload}
    resp = api.post("/api/monitors/", data, format="json")
    assert resp.status_code == 400
    assert field in resp.json()
    assert not Monitor.objects.exists()


def test_the_interval_floor_comes_from_the_setting(api, regions, settings) -> None:
    settings.UPTIME_MIN_INTERVAL_SECONDS = 10
    resp = api.post(
        "/api/monitors/",
        {"name": "x", "url": "https://x.example/", "interval_seconds": 5},
        format="json",
    )
    assert resp.status_code == 400
    assert "at least 10" in resp.json()["interval_seconds"][0]


def test_private_urls_are_accepted_when_allowed(api, regions, allow_private) -> None:
    resp = api.post("/api/monitors/", {"name": "x", "url": "http://127.0.0.1:9/"})
    assert resp.status_code == 201


def test_patch_pause_and_resume(api, shop) -> None:
    resp = api.patch(f"/api/monitors/{shop.pk}/", {"enabled": False}, format="json")
    assert resp.status_code == 200
    assert resp.json()["status"] == "paused"
    shop.refresh_from_db()
    assert shop.next_check_at is None
    resp = api.patch(f"/api/monitors/{shop.pk}/", {"enabled": True}, format="json")
    assert resp.json()["status"] == "pending"
    shop.refresh_from_db()
    assert shop.next_check_at is not None


def test_put_replaces_and_delete_removes(api, shop) -> None:
    resp = api.put(
        f"/api/monitors/{shop.pk}/",
        {
            "name": "Shop 2",
            "url": "https://shop2.example/",
            "interval_seconds": 120,
            "timeout_seconds": 5,
            "regions": ["eu"],
            "failure_threshold": 2,
            "recovery_threshold": 2,
            "region_quorum": None,
            "enabled": True,
        },
        format="json",
    )
    assert resp.status_code == 200, resp.json()
    assert resp.json()["regions"] == ["eu"]
    assert resp.json()["region_quorum"] == 1
    assert api.delete(f"/api/monitors/{shop.pk}/").status_code == 204
    assert not Monitor.objects.filter(pk=shop.pk).exists()


def test_ticks_are_listed_newest_first_and_filtered(api, shop, regions) -> None:
    now = timezone.now()
    for k in range(5):
        for region in regions:
            ticks_record(
                region=region,
                scheduled_at=now - timedelta(minutes=5 - k),
                results=[
                    TickResult(
                        monitor_id=shop.pk,
                        checked_at=now,
                        result=CheckResult(
                            status="up", response_time_ms=k, status_code=200
                        ),
                    )
                ],
            )
    resp = api.get(f"/api/monitors/{shop.pk}/ticks/?region=eu&page_size=3")
    assert resp.status_code == 200
    body = resp.json()
    assert [t["region"] for t in body["results"]] == ["eu"] * 3
    times = [t["scheduled_at"] for t in body["results"]]
    assert times == sorted(times, reverse=True)
    assert body["next"]
    since = (now - timedelta(minutes=2, seconds=30)).isoformat()
    resp = api.get(f"/api/monitors/{shop.pk}/ticks/", {"since": since})
    assert len(resp.json()["results"]) == 2 * 3
    assert api.get(f"/api/monitors/{shop.pk}/ticks/?since=yesterday").status_code == 400


def test_incidents_filter_by_monitor_and_status(api, shop, make_monitor) -> None:
    other = make_monitor(name="Other")
    Incident.objects.create(monitor=shop, started_at=timezone.now(), cause="x")
    Incident.objects.create(
        monitor=other,
        started_at=timezone.now(),
        status="resolved",
        resolved_at=timezone.now(),
    )
    assert len(api.get(f"/api/incidents/?monitor={shop.pk}").json()["results"]) == 1
    assert len(api.get("/api/incidents/?status=resolved").json()["results"]) == 1
    assert api.get("/api/incidents/?status=bogus").status_code == 400
    assert api.get("/api/incidents/?monitor=abc").status_code == 400


def test_page_size_is_capped_at_500(api, project, regions) -> None:
    Monitor.objects.bulk_create(
        [
            Monitor(project=project, name=f"m{i}", url="https://x.example/")
            for i in range(510)
        ]
    )
    body = api.get("/api/monitors/?page_size=1000").json()
    assert body["count"] == 510
    assert len(body["results"]) == 500


def test_regions_are_listed(api, regions) -> None:
    codes = [r["code"] for r in api.get("/api/regions/").json()["results"]]
    assert codes == ["ap", "eu", "us"]


def test_a_teammate_sees_the_project_monitors(teammate, shop) -> None:
    from tests.conftest import api_client_for

    client = api_client_for(teammate)
    assert client.get(f"/api/monitors/{shop.pk}/").status_code == 200


def test_an_outsider_gets_404_everywhere_and_sees_nothing(
    outsider_api, shop, project
) -> None:
    incident = Incident.objects.create(monitor=shop, started_at=timezone.now())
    for path in (
        f"/api/monitors/{shop.pk}/",
        f"/api/monitors/{shop.pk}/ticks/",
        f"/api/incidents/{incident.pk}/",
    ):
        assert outsider_api.get(path).status_code == 404, path
    assert (
        outsider_api.patch(f"/api/monitors/{shop.pk}/", {"name": "pwned"}).status_code
        == 404
    )
    assert outsider_api.delete(f"/api/monitors/{shop.pk}/").status_code == 404
    assert outsider_api.get("/api/monitors/").json()["results"] == []
    assert outsider_api.get("/api/incidents/").json()["results"] == []
    assert (
        outsider_api.get(f"/api/incidents/?monitor={shop.pk}").json()["results"] == []
    )
    # Creating into someone else's project is refused too.
    resp = outsider_api.post(
        "/api/monitors/",
        {"name": "x", "url": "https://x.example/", "project": project.pk},
    )
    assert resp.status_code == 400
    assert "project" in resp.json()
    shop.refresh_from_db()
    assert shop.name == "Shop"
