"""The API, the dashboard and the admin write monitors through one path.

Each behaviour runs once per way in (the ``path`` fixture), with the same
expectations: create, edits that do and do not re-check, pause, resume, the
heartbeat rule and delete end the same whoever asked.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from monitors import services
from monitors.models import (
    Incident,
    IncidentStatus,
    Monitor,
    MonitorStatus,
    Project,
    Region,
    Tick,
)
from tests.conftest import api_client_for
from tests.forms import encode_form, form_values

pytestmark = pytest.mark.django_db

PUBLIC_URL = "https://93.184.215.14/"


class ApiPath:
    def __init__(self, client: APIClient) -> None:
        self.client = client

    def _json(self, values: dict[str, Any]) -> dict[str, Any]:
        body = dict(values)
        if "regions" in body:
            body["regions"] = [r.code for r in body["regions"]]
        return body

    def create(self, project: Project, values: dict[str, Any]) -> Monitor:
        response = self.client.post("/api/monitors/", self._json(values), format="json")
        assert response.status_code == 201, response.content
        return Monitor.objects.get(pk=response.json()["id"])

    def edit(self, monitor: Monitor, changes: dict[str, Any]) -> None:
        response = self.client.patch(
            f"/api/monitors/{monitor.pk}/", self._json(changes), format="json"
        )
        assert response.status_code == 200, response.content

    def pause(self, monitor: Monitor) -> None:
        self.edit(monitor, {"enabled": False})

    def resume(self, monitor: Monitor) -> None:
        self.edit(monitor, {"enabled": True})

    def delete(self, monitor: Monitor) -> None:
        response = self.client.delete(f"/api/monitors/{monitor.pk}/")
        assert response.status_code == 204, response.content


class DashboardPath:
    def __init__(self, client: Client) -> None:
        self.client = client

    def _post(self, url: str, data: dict[str, Any] | None = None) -> None:
        response = self.client.post(url, data or {})
        assert response.status_code == 302, response.content.decode()[:3000]

    def create(self, project: Project, values: dict[str, Any]) -> Monitor:
        known = list(Monitor.objects.values_list("pk", flat=True))
        base = form_values(Monitor(), list(values.get("regions", [])))
        self._post(reverse("dashboard:monitor_create"), encode_form(base | values))
        return Monitor.objects.exclude(pk__in=known).get()

    def edit(self, monitor: Monitor, changes: dict[str, Any]) -> None:
        data = form_values(monitor, list(monitor.regions.all())) | changes
        self._post(
            reverse("dashboard:monitor_edit", args=[monitor.pk]), encode_form(data)
        )

    def pause(self, monitor: Monitor) -> None:
        self._post(reverse("dashboard:monitor_pause", args=[monitor.pk]))

    def resume(self, monitor: Monitor) -> None:
        self._post(reverse("dashboard:monitor_resume", args=[monitor.pk]))

    def delete(self, monitor: Monitor) -> None:
        self._post(reverse("dashboard:monitor_delete", args=[monitor.pk]))


class AdminPath:
    """A superuser who is no member of the project, as admin staff are."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def _post(self, url: str, data: dict[str, Any]) -> None:
        response = self.client.post(url, data)
        assert response.status_code == 302, response.content.decode()[:3000]

    def _data(self, monitor: Monitor, values: dict[str, Any]) -> dict[str, Any]:
        base = form_values(monitor, list(monitor.regions.all()) if monitor.pk else [])
        base |= {"project": monitor.project_id, "enabled": monitor.enabled}
        return encode_form(base | values)

    def create(self, project: Project, values: dict[str, Any]) -> Monitor:
        known = list(Monitor.objects.values_list("pk", flat=True))
        data = self._data(Monitor(project=project), values)
        self._post("/admin/monitors/monitor/add/", data)
        return Monitor.objects.exclude(pk__in=known).get()

    def edit(self, monitor: Monitor, changes: dict[str, Any]) -> None:
        url = f"/admin/monitors/monitor/{monitor.pk}/change/"
        self._post(url, self._data(monitor, changes))

    def pause(self, monitor: Monitor) -> None:
        self.edit(monitor, {"enabled": False})

    def resume(self, monitor: Monitor) -> None:
        self.edit(monitor, {"enabled": True})

    def delete(self, monitor: Monitor) -> None:
        url = f"/admin/monitors/monitor/{monitor.pk}/delete/"
        self._post(url, {"post": "yes"})


Path = ApiPath | DashboardPath | AdminPath


@pytest.fixture(params=["api", "dashboard", "admin"])
def path(request: pytest.FixtureRequest, owner: User, regions: list[Region]) -> Path:
    if request.param == "api":
        return ApiPath(api_client_for(owner))
    client = Client()
    if request.param == "dashboard":
        client.force_login(owner)
        return DashboardPath(client)
    root = User.objects.create_superuser("root", "root@example.com", "pw-root-123!")
    client.force_login(root)
    return AdminPath(client)


@pytest.fixture
def shop(make_monitor) -> Monitor:
    """An enabled, checked monitor whose next check is an hour away."""
    monitor = make_monitor(url=PUBLIC_URL, region_quorum=2)
    Monitor.objects.filter(pk=monitor.pk).update(
        status=MonitorStatus.UP, next_check_at=timezone.now() + timedelta(hours=1)
    )
    monitor.refresh_from_db()
    return monitor


def _is_now(moment: datetime | None, since: datetime) -> bool:
    """The next shared slot: the next whole second after ``since``."""
    return (
        moment is not None
        and since <= moment <= timezone.now() + timedelta(seconds=1)
        and moment.microsecond == 0
    )


def test_it_creates_with_the_same_defaults_and_checks_at_once(
    path: Path, project: Project, regions: list[Region]
) -> None:
    since = timezone.now()
    monitor = path.create(
        project,
        {
            "name": "Shop",
            "url": PUBLIC_URL,
            "interval_seconds": 60,
            "timeout_seconds": 5,
            "regions": regions,
            "failure_threshold": 3,
            "recovery_threshold": 1,
        },
    )
    assert monitor.project == project
    assert (monitor.enabled, monitor.status) == (True, MonitorStatus.PENDING)
    assert _is_now(monitor.next_check_at, since)
    assert set(monitor.regions.all()) == set(regions)
    assert monitor.region_quorum is None
    assert (monitor.kind, monitor.http_method) == ("http", "GET")
    assert monitor.accepted_status_codes == "200-399"
    assert (monitor.follow_redirects, monitor.verify_tls) == (True, True)
    assert monitor.show_on_status_page is True
    assert monitor.heartbeat_key is None


@pytest.mark.parametrize(
    "changes",
    [
        {"keyword": "Welcome"},
        {"http_method": "HEAD"},
        {"http_headers": {"X-Probe": "1"}},
    ],
    ids=["keyword", "method", "headers"],
)
def test_it_rechecks_at_once_when_a_check_field_changes(
    path: Path, shop: Monitor, changes: dict[str, Any]
) -> None:
    since = timezone.now()
    path.edit(shop, changes)
    shop.refresh_from_db()
    for name, value in changes.items():
        assert getattr(shop, name) == value
    assert _is_now(shop.next_check_at, since)
    assert (shop.enabled, shop.status) == (True, MonitorStatus.UP)


def test_it_waits_for_the_schedule_when_only_the_name_changes(
    path: Path, shop: Monitor
) -> None:
    scheduled = shop.next_check_at
    path.edit(shop, {"name": "Shop front"})
    shop.refresh_from_db()
    assert shop.name == "Shop front"
    assert shop.next_check_at == scheduled
    assert (shop.enabled, shop.status) == (True, MonitorStatus.UP)


def test_it_pauses_a_down_monitor_and_closes_its_incident_as_paused(
    path: Path, shop: Monitor
) -> None:
    Monitor.objects.filter(pk=shop.pk).update(status=MonitorStatus.DOWN)
    incident = Incident.objects.create(
        monitor=shop, status=IncidentStatus.OPEN, started_at=timezone.now()
    )
    shop.refresh_from_db()
    path.pause(shop)
    shop.refresh_from_db()
    assert (shop.enabled, shop.status) == (False, MonitorStatus.PAUSED)
    assert shop.next_check_at is None
    incident.refresh_from_db()
    # Closed, not resolved: nobody knows whether the target recovered.
    assert incident.status == IncidentStatus.PAUSED
    assert incident.resolved_at is not None
    assert shop.pauses.get().ended_at is None


def test_it_resumes_as_pending_and_checks_at_once(path: Path, shop: Monitor) -> None:
    Monitor.objects.filter(pk=shop.pk).update(
        enabled=False, status=MonitorStatus.PAUSED, next_check_at=None
    )
    shop.refresh_from_db()
    since = timezone.now()
    path.resume(shop)
    shop.refresh_from_db()
    assert (shop.enabled, shop.status) == (True, MonitorStatus.PENDING)
    assert _is_now(shop.next_check_at, since)


def _assert_heartbeat_rule(monitor: Monitor, regions: list[Region]) -> None:
    monitor.refresh_from_db()
    assert [r.code for r in monitor.regions.all()] == [regions[0].code]
    assert monitor.region_quorum is None
    assert monitor.heartbeat_key


def test_it_creates_a_heartbeat_in_one_region_with_the_quorum_reset(
    path: Path, project: Project, regions: list[Region]
) -> None:
    monitor = path.create(
        project,
        {
            "name": "nightly",
            "kind": "heartbeat",
            "url": "",
            "interval_seconds": 3600,
            "timeout_seconds": 5,
            "regions": regions,
            "region_quorum": 2,
            "failure_threshold": 1,
            "recovery_threshold": 1,
        },
    )
    _assert_heartbeat_rule(monitor, regions)
    assert monitor.status == MonitorStatus.PENDING


def test_it_turns_a_monitor_into_a_heartbeat_in_one_region_with_the_quorum_reset(
    path: Path, shop: Monitor, regions: list[Region]
) -> None:
    assert (shop.regions.count(), shop.region_quorum) == (3, 2)
    path.edit(shop, {"kind": "heartbeat", "url": ""})
    _assert_heartbeat_rule(shop, regions)


def test_it_deletes_the_monitor_and_its_history(
    path: Path, shop: Monitor, regions: list[Region]
) -> None:
    now = timezone.now()
    Tick.objects.create(
        monitor=shop, region=regions[0], scheduled_at=now, checked_at=now, status="up"
    )
    path.delete(shop)
    assert not Monitor.objects.filter(pk=shop.pk).exists()
    assert not Tick.objects.filter(monitor_id=shop.pk).exists()


# --- the services themselves ---------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        {"url": "https://93.184.215.15/"},
        {"timeout_seconds": 7.0},
        {"accepted_status_codes": "200-299"},
        {"json_path": "$.ok"},
        {"degraded_threshold_ms": 800},
        {"verify_tls": False},
    ],
    ids=lambda changes: next(iter(changes)),
)
def test_it_rechecks_on_every_check_field(
    owner: User, shop: Monitor, changes: dict[str, Any]
) -> None:
    since = timezone.now()
    services.monitor_update(user=owner, monitor=shop, fields=changes)
    shop.refresh_from_db()
    assert _is_now(shop.next_check_at, since)


def test_it_rechecks_when_the_regions_change(
    owner: User, shop: Monitor, regions: list[Region]
) -> None:
    since = timezone.now()
    services.monitor_update(user=owner, monitor=shop, fields={"regions": regions[:2]})
    shop.refresh_from_db()
    assert list(shop.regions.all()) == regions[:2]
    assert _is_now(shop.next_check_at, since)


def test_it_does_not_schedule_a_paused_monitor_on_edit(
    owner: User, shop: Monitor
) -> None:
    services.monitor_pause(user=owner, monitor=shop)
    services.monitor_update(user=owner, monitor=shop, fields={"keyword": "x"})
    shop.refresh_from_db()
    assert (shop.status, shop.next_check_at) == (MonitorStatus.PAUSED, None)


def test_it_creates_a_disabled_monitor_paused(owner: User, regions) -> None:
    monitor = services.monitor_create(
        user=owner, fields={"name": "Later", "url": PUBLIC_URL, "enabled": False}
    )
    assert (monitor.status, monitor.next_check_at) == (MonitorStatus.PAUSED, None)
    assert set(monitor.regions.all()) == set(regions)


def test_it_defaults_a_heartbeat_to_one_failure(owner: User, regions) -> None:
    monitor = services.monitor_create(
        user=owner, fields={"name": "cron", "kind": "heartbeat"}
    )
    assert monitor.failure_threshold == 1
    assert monitor.regions.count() == 1


def test_it_refuses_a_user_outside_the_project(
    outsider: User, project: Project, shop: Monitor
) -> None:
    with pytest.raises(PermissionDenied):
        services.monitor_create(
            user=outsider, project=project, fields={"name": "x", "url": PUBLIC_URL}
        )
    with pytest.raises(PermissionDenied):
        services.monitor_update(user=outsider, monitor=shop, fields={"name": "x"})
    with pytest.raises(PermissionDenied):
        services.monitor_pause(user=outsider, monitor=shop)
    with pytest.raises(PermissionDenied):
        services.monitor_resume(user=outsider, monitor=shop)
    with pytest.raises(PermissionDenied):
        services.monitor_delete(user=outsider, monitor=shop)
    shop.refresh_from_db()
    assert (shop.name, shop.enabled) == ("Shop", True)


def test_it_refuses_moving_a_monitor_to_a_project_the_user_is_not_in(
    owner: User, outsider: User, shop: Monitor
) -> None:
    foreign = Project.objects.get(owner=outsider)
    with pytest.raises(PermissionDenied):
        services.monitor_update(user=owner, monitor=shop, fields={"project": foreign})
    assert Monitor.objects.get(pk=shop.pk).project_id == shop.project_id


def test_it_lets_a_teammate_and_a_superuser_write_but_not_other_staff(
    teammate: User, outsider: User, shop: Monitor
) -> None:
    services.monitor_update(user=teammate, monitor=shop, fields={"name": "By Bob"})
    # A model permission is no role in the project: staff act by their roles.
    outsider.user_permissions.add(Permission.objects.get(codename="change_monitor"))
    staff = User.objects.get(pk=outsider.pk)  # a fresh permission cache
    with pytest.raises(PermissionDenied):
        services.monitor_pause(user=staff, monitor=shop)
    root = User.objects.create_superuser("root", "root@example.com", "pw-root-123!")
    services.monitor_pause(user=root, monitor=shop)
    shop.refresh_from_db()
    assert (shop.name, shop.status) == ("By Bob", MonitorStatus.PAUSED)


def test_it_refuses_to_write_the_state_it_keeps(owner: User, shop: Monitor) -> None:
    with pytest.raises(ValueError, match="status"):
        services.monitor_update(user=owner, monitor=shop, fields={"status": "up"})


def test_the_admin_actions_pause_and_resume_through_the_services(
    shop: Monitor,
) -> None:
    root = User.objects.create_superuser("root", "root@example.com", "pw-root-123!")
    client = Client()
    client.force_login(root)
    for action, expected in (
        ("pause_monitors", (False, MonitorStatus.PAUSED)),
        ("resume_monitors", (True, MonitorStatus.PENDING)),
    ):
        response = client.post(
            "/admin/monitors/monitor/",
            {"action": action, "_selected_action": [shop.pk]},
        )
        assert response.status_code == 302
        shop.refresh_from_db()
        assert (shop.enabled, shop.status) == expected
    assert shop.next_check_at is not None
