"""The admin for staff who are not superusers: their projects' rows only,
changes by role; nobody is added to a project from the admin."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from alerts.services import channel_create
from monitors.models import Membership, Monitor, Project, Role

pytestmark = pytest.mark.django_db

MODELS = ("monitor", "project", "channel", "incident", "membership")


def staff_client(user: User) -> Client:
    user.is_staff = True
    user.save()
    user.user_permissions.set(
        Permission.objects.filter(
            content_type__model__in=MODELS,
            codename__regex=r"^(view|change|delete|add)_",
        )
    )
    client = Client()
    client.force_login(User.objects.get(pk=user.pk))
    return client


def test_staff_see_only_their_projects_rows(
    make_monitor, outsider, project, regions
) -> None:
    make_monitor(name="Alice shop")
    theirs = Project.objects.get(owner=outsider)
    Monitor.objects.create(
        project=theirs, name="Mallory shop", url="https://m.example/"
    )
    page = staff_client(outsider).get("/admin/monitors/monitor/").content.decode()
    assert "Mallory shop" in page and "Alice shop" not in page
    projects = staff_client(outsider).get("/admin/monitors/project/").content.decode()
    assert "mallory" in projects and "alice" not in projects


def test_a_viewer_on_staff_cannot_change_or_delete_in_the_admin(
    make_member, make_monitor, project
) -> None:
    monitor = make_monitor(name="Shop")
    channel = channel_create(
        project=project, name="Ops", kind="email", target="ops@example.com"
    )
    client = staff_client(make_member(Role.VIEWER))
    url = f"/admin/monitors/monitor/{monitor.pk}/change/"
    assert client.get(url).status_code == 200  # read-only view
    assert client.post(url, {"name": "Hijacked"}).status_code == 403
    assert (
        client.post(
            f"/admin/monitors/monitor/{monitor.pk}/delete/", {"post": "yes"}
        ).status_code
        == 403
    )
    client.post(
        "/admin/monitors/monitor/",
        {"action": "pause_monitors", "_selected_action": [monitor.pk]},
    )
    monitor.refresh_from_db()
    assert monitor.name == "Shop" and monitor.enabled
    channel_url = f"/admin/alerts/channel/{channel.pk}/change/"
    assert client.post(channel_url, {"name": "Hijacked"}).status_code == 403


def test_a_member_on_staff_changes_monitors_but_not_channels(
    make_member, make_monitor, project
) -> None:
    monitor = make_monitor(name="Shop")
    channel = channel_create(
        project=project, name="Ops", kind="email", target="ops@example.com"
    )
    client = staff_client(make_member(Role.MEMBER))
    client.post(
        "/admin/monitors/monitor/",
        {"action": "pause_monitors", "_selected_action": [monitor.pk]},
    )
    monitor.refresh_from_db()
    assert not monitor.enabled
    channel_url = f"/admin/alerts/channel/{channel.pk}/change/"
    assert client.post(channel_url, {"name": "Hijacked"}).status_code == 403


def test_the_admin_shows_members_read_only_and_cannot_add_one(
    owner, outsider, project
) -> None:
    User.objects.filter(pk=owner.pk).update(is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(owner)
    url = f"/admin/monitors/project/{project.pk}/change/"
    page = client.get(url).content.decode()
    assert 'name="members"' not in page
    assert "Owner" in page  # the membership inline, read-only
    response = client.post(
        url,
        {
            "name": "Renamed",
            "slug": project.slug,
            "members": [outsider.pk],
            "memberships-TOTAL_FORMS": "1",
            "memberships-INITIAL_FORMS": "0",
            "memberships-0-user": outsider.pk,
            "memberships-0-role": "owner",
        },
    )
    # The save went through (the smuggled members were ignored, not the
    # reason the form failed).
    assert response.status_code == 302, response.content.decode()[:2000]
    project.refresh_from_db()
    assert project.name == "Renamed"
    assert not Membership.objects.filter(project=project, user=outsider).exists()
