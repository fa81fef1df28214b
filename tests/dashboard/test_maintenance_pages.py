"""Maintenance pages: list, add, edit, delete; the monitor page says so."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from monitors.models import MaintenanceWindow, Role
from monitors.services import monitor_pause
from tests.conftest import client_for

from .conftest import add_incident

pytestmark = pytest.mark.django_db


def _window(project, **kwargs):
    now = timezone.now()
    fields = {
        "title": "Kernel <b>upgrade</b>",
        "starts_at": now - timedelta(minutes=5),
        "ends_at": now + timedelta(hours=1),
    }
    fields.update(kwargs)
    return MaintenanceWindow.objects.create(project=project, **fields)


def test_the_nav_leads_to_the_list_which_shows_only_this_projects_windows(
    owner_client, outsider_client, project
) -> None:
    _window(project)
    overview = owner_client.get(reverse("dashboard:overview")).content.decode()
    assert f'href="{reverse("dashboard:maintenance")}"' in overview
    page = owner_client.get(reverse("dashboard:maintenance")).content.decode()
    assert "Kernel &lt;b&gt;upgrade&lt;/b&gt;" in page  # escaped
    assert "Active until" in page
    other = outsider_client.get(reverse("dashboard:maintenance")).content.decode()
    assert "Kernel" not in other


def test_it_adds_a_weekly_window_for_one_monitor(owner_client, make_monitor) -> None:
    shop = make_monitor()
    make_monitor(name="Blog")
    response = owner_client.post(
        reverse("dashboard:maintenance_create"),
        {
            "title": "Backups",
            "starts_at": "2026-06-01T02:00",
            "ends_at": "2026-06-01T03:30",
            "recurrence": "weekly",
            "weekdays": ["0", "3"],
            "monitors": [str(shop.pk)],
        },
    )
    assert response.status_code == 302
    window = MaintenanceWindow.objects.get()
    assert window.weekdays == [0, 3]
    assert list(window.monitors.all()) == [shop]
    assert window.duration == timedelta(hours=1, minutes=30)
    page = owner_client.get(reverse("dashboard:maintenance")).content.decode()
    assert "Weekly on Mon, Thu at 02:00" in page


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"ends_at": "2026-05-31T00:00"}, "ends_at"),
        ({"recurrence": "weekly"}, "weekdays"),
        ({"starts_at": "soon"}, "starts_at"),
    ],
)
def test_bad_values_show_next_to_their_field(owner_client, changes, field) -> None:
    data = {
        "title": "Backups",
        "starts_at": "2026-06-01T02:00",
        "ends_at": "2026-06-01T03:00",
        "recurrence": "",
    }
    data.update(changes)
    response = owner_client.post(reverse("dashboard:maintenance_create"), data)
    assert response.status_code == 400
    assert response.context["form"].errors[field]
    assert f'id="id_{field}_error"' in response.content.decode()
    assert not MaintenanceWindow.objects.exists()


def test_editing_and_deleting_a_window(owner_client, project) -> None:
    window = _window(project)
    url = reverse("dashboard:maintenance_edit", args=[window.pk])
    assert owner_client.get(url).status_code == 200
    response = owner_client.post(
        url,
        {
            "title": "Longer",
            "starts_at": "2026-06-01T02:00",
            "ends_at": "2026-06-02T02:00",
            "recurrence": "",
        },
    )
    assert response.status_code == 302
    window.refresh_from_db()
    assert window.title == "Longer"
    delete = reverse("dashboard:maintenance_delete", args=[window.pk])
    assert owner_client.get(delete).status_code == 405
    assert owner_client.post(delete).status_code == 302
    assert not MaintenanceWindow.objects.exists()


def test_outsiders_get_404_and_viewers_403(
    outsider_client, make_member, project
) -> None:
    window = _window(project)
    viewer = client_for(make_member(Role.VIEWER))
    for name in ("maintenance_edit", "maintenance_delete"):
        url = reverse(f"dashboard:{name}", args=[window.pk])
        assert outsider_client.post(url, {"title": "x"}).status_code == 404
        assert viewer.post(url, {"title": "x"}).status_code == 403
    viewer.post(reverse("dashboard:project_switch"), {"project": project.pk})
    assert viewer.get(reverse("dashboard:maintenance_create")).status_code == 403
    listed = viewer.get(reverse("dashboard:maintenance")).content.decode()
    assert "Kernel" in listed and "Add window" not in listed
    assert MaintenanceWindow.objects.get().title == "Kernel <b>upgrade</b>"


def test_the_monitor_page_says_it_is_in_maintenance_until_when(
    owner_client, project, make_monitor
) -> None:
    shop = make_monitor()
    page = owner_client.get(shop.get_absolute_url()).content.decode()
    assert "In maintenance" not in page
    window = _window(project)
    page = owner_client.get(shop.get_absolute_url()).content.decode()
    assert (
        f'In maintenance until <time datetime="{window.ends_at:%Y-%m-%dT%H:%M}' in page
    )
    assert f"{window.ends_at:%Y-%m-%d %H:%M} UTC" in page


def test_an_incident_closed_by_a_pause_says_so(
    owner_client, owner, make_monitor
) -> None:
    shop = make_monitor()
    incident = add_incident(shop, timezone.now() - timedelta(minutes=5), None)
    monitor_pause(user=owner, monitor=shop)
    page = owner_client.get(incident.get_absolute_url()).content.decode()
    assert "Closed: the monitor was paused (no alert sent)" in page
    assert "Recovered" not in page
