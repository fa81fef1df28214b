"""Maintenance windows in the admin: written through the services, scoped."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from monitors.models import MaintenanceWindow, Project
from monitors.services import monitor_pause

pytestmark = pytest.mark.django_db


def _staff(user: User) -> Client:
    user.is_staff = True
    user.save()
    user.user_permissions.set(
        Permission.objects.filter(
            content_type__model__in=("maintenancewindow", "monitorpause"),
        )
    )
    client = Client()
    client.force_login(User.objects.get(pk=user.pk))
    return client


def _post(client: Client, project: Project, **changes: object):
    data: dict[str, object] = {
        "project": project.pk,
        "title": "Upgrade",
        "starts_at_0": "2026-06-01",
        "starts_at_1": "02:00:00",
        "ends_at_0": "2026-06-01",
        "ends_at_1": "03:00:00",
        "recurrence": "weekly",
        "weekdays": "0,3",
    }
    data.update(changes)
    return client.post("/admin/monitors/maintenancewindow/add/", data)


def test_staff_add_a_window_to_their_project_with_the_services_rules(
    owner, project
) -> None:
    client = _staff(owner)
    response = _post(client, project, weekdays="")
    assert response.status_code == 200  # the form again, with the error
    assert "A weekly window needs at least one day." in response.content.decode()
    assert not MaintenanceWindow.objects.exists()

    assert _post(client, project).status_code == 302
    assert MaintenanceWindow.objects.get().weekdays == [0, 3]


def test_staff_cannot_add_to_or_see_another_projects_windows(
    owner, outsider, project
) -> None:
    MaintenanceWindow.objects.create(
        project=project,
        title="Alice upgrade",
        starts_at="2026-06-01T02:00Z",
        ends_at="2026-06-01T03:00Z",
    )
    client = _staff(outsider)
    page = client.get("/admin/monitors/maintenancewindow/").content.decode()
    assert "Alice upgrade" not in page
    assert _post(client, project, title="Mallory's").status_code == 200
    assert MaintenanceWindow.objects.count() == 1


def test_pauses_are_listed_read_only(owner, make_monitor) -> None:
    monitor = make_monitor(name="Shop")
    monitor_pause(user=owner, monitor=monitor)
    client = _staff(owner)
    page = client.get("/admin/monitors/monitorpause/").content.decode()
    assert "Shop" in page
    assert client.get("/admin/monitors/monitorpause/add/").status_code == 403
