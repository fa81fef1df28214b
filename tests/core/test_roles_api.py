"""Roles in the API: reads for every member, writes by role, 404 outside."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse

from alerts.models import Channel
from alerts.services import channel_create
from monitors.members import invitation_accept, invitation_create
from monitors.models import Monitor, Project, Role
from monitors.projects import project_require, project_role, projects_for
from tests.conftest import api_client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def channel(project: Project) -> Channel:
    return channel_create(
        project=project, name="Ops", kind="email", target="ops@example.com"
    )


def _monitor_create(client, project: Project) -> int:
    return client.post(
        "/api/monitors/",
        {"name": "New", "url": "https://new.example/", "project": project.pk},
        format="json",
    ).status_code


def _monitor_edit(client, project, monitor, channel) -> int:
    return client.patch(
        f"/api/monitors/{monitor.pk}/", {"name": "Renamed"}, format="json"
    ).status_code


def _monitor_pause(client, project, monitor, channel) -> int:
    return client.patch(
        f"/api/monitors/{monitor.pk}/", {"enabled": False}, format="json"
    ).status_code


def _monitor_delete(client, project, monitor, channel) -> int:
    return client.delete(f"/api/monitors/{monitor.pk}/").status_code


def _channel_create(client, project, monitor, channel) -> int:
    return client.post(
        "/api/channels/",
        {
            "name": "Mail",
            "kind": "email",
            "target": "a@example.com",
            "project": project.pk,
        },
        format="json",
    ).status_code


def _channel_edit(client, project, monitor, channel) -> int:
    return client.patch(
        f"/api/channels/{channel.pk}/", {"name": "Renamed"}, format="json"
    ).status_code


def _channel_delete(client, project, monitor, channel) -> int:
    return client.delete(f"/api/channels/{channel.pk}/").status_code


def _monitor_create_action(client, project, monitor, channel) -> int:
    return _monitor_create(client, project)


ACTIONS = {
    "monitor.create": _monitor_create_action,
    "monitor.edit": _monitor_edit,
    "monitor.pause": _monitor_pause,
    "monitor.delete": _monitor_delete,
    "channel.create": _channel_create,
    "channel.edit": _channel_edit,
    "channel.delete": _channel_delete,
}
OK = {"monitor.create": 201, "channel.create": 201, "monitor.delete": 204}
OK_DELETE = {"channel.delete": 204}

# role -> the actions it may take; every other action is a 403.
ALLOWED = {
    Role.VIEWER: set(),
    Role.MEMBER: {"monitor.create", "monitor.edit", "monitor.pause", "monitor.delete"},
    Role.ADMIN: set(ACTIONS),
    Role.OWNER: set(ACTIONS),
}


@pytest.mark.parametrize(
    ("role", "action"),
    [(role, action) for role in ALLOWED for action in ACTIONS],
)
def test_it_allows_each_write_to_the_roles_that_may_do_it(
    role, action, make_member, project, make_monitor, channel
) -> None:
    user = make_member(role)
    monitor = make_monitor()
    status = ACTIONS[action](api_client_for(user), project, monitor, channel)
    if action in ALLOWED[role]:
        assert status == {**OK, **OK_DELETE}.get(action, 200), (role, action)
    else:
        assert status == 403, (role, action)
        monitor.refresh_from_db()
        channel.refresh_from_db()
        assert monitor.name == "Shop" and monitor.enabled
        assert channel.name == "Ops"
        assert Monitor.objects.filter(project=project).count() == 1
        assert Channel.objects.filter(project=project).count() == 1


def test_a_viewer_reads_monitors_incidents_channels_and_the_log(
    make_member, make_monitor, channel
) -> None:
    monitor = make_monitor()
    client = api_client_for(make_member(Role.VIEWER))
    assert client.get(f"/api/monitors/{monitor.pk}/").status_code == 200
    assert client.get(f"/api/monitors/{monitor.pk}/ticks/").status_code == 200
    assert client.get("/api/incidents/").status_code == 200
    assert client.get(f"/api/channels/{channel.pk}/").status_code == 200
    assert client.get("/api/notifications/").status_code == 200
    assert client.post(f"/api/channels/{channel.pk}/test/").status_code == 403


def test_an_outsider_still_gets_404_not_403(
    outsider_api, make_monitor, channel
) -> None:
    monitor = make_monitor()
    assert outsider_api.get(f"/api/monitors/{monitor.pk}/").status_code == 404
    assert outsider_api.delete(f"/api/monitors/{monitor.pk}/").status_code == 404
    assert outsider_api.delete(f"/api/channels/{channel.pk}/").status_code == 404


def test_a_member_cannot_move_a_monitor_into_a_project_they_only_view(
    make_member, make_monitor, outsider
) -> None:
    member = make_member(Role.MEMBER)
    theirs = Project.objects.get(owner=outsider)
    invitation, _ = invitation_create(
        project=theirs, created_by=outsider, invitee=member.username, role="viewer"
    )
    invitation_accept(invitation=invitation, user=member)
    monitor = make_monitor()
    response = api_client_for(member).patch(
        f"/api/monitors/{monitor.pk}/", {"project": theirs.pk}, format="json"
    )
    assert response.status_code == 403
    monitor.refresh_from_db()
    assert monitor.project_id != theirs.pk


def test_the_unsolicited_member_attack_no_longer_works(outsider: User, regions) -> None:
    """mallory cannot put a newer user in her project and receive their monitor.

    Her project is older (a lower id) than the victim's, which is what made
    the old "lowest id" default pick it.
    """
    trap = Project.objects.get(owner=outsider)
    victim = User.objects.create_user("victor", "victor@example.com", "pw-vic-123!")
    attacker = Client()
    attacker.force_login(outsider)
    # The old direct add, then the invitation that replaced it.
    attacker.post(reverse("dashboard:project"), {"action": "member", "user": "victor"})
    attacker.post(reverse("dashboard:invitation_create"), {"invitee": "victor"})
    assert project_role(user=victim, project=trap) is None
    assert not trap.members.filter(pk=victim.pk).exists()

    response = api_client_for(victim).post(
        "/api/monitors/",
        {
            "name": "Billing",
            "url": "https://billing.example/",
            "http_headers": {"Authorization": "Bearer s3cret"},
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    own = Project.objects.get(owner=victim, personal=True)
    assert response.json()["project"] == own.pk
    monitor_url = f"/api/monitors/{response.json()['id']}/"
    assert api_client_for(outsider).get(monitor_url).status_code == 404


def test_with_two_projects_create_requires_the_project_field(
    owner: User, outsider: User, regions
) -> None:
    theirs = Project.objects.get(owner=outsider)
    invitation, _ = invitation_create(
        project=theirs, created_by=outsider, invitee=owner.email, role="admin"
    )
    invitation_accept(invitation=invitation, user=owner)
    client = api_client_for(owner)
    monitor = client.post(
        "/api/monitors/", {"name": "X", "url": "https://x.example/"}, format="json"
    )
    assert monitor.status_code == 400
    assert "project" in monitor.json()
    channel = client.post(
        "/api/channels/",
        {"name": "Mail", "kind": "email", "target": "a@example.com"},
        format="json",
    )
    assert channel.status_code == 400
    assert "project" in channel.json()
    assert not Monitor.objects.filter(name="X").exists()
    own = Project.objects.get(owner=owner, personal=True)
    named = client.post(
        "/api/monitors/",
        {"name": "X", "url": "https://x.example/", "project": own.pk},
        format="json",
    )
    assert named.status_code == 201


def test_a_viewer_elsewhere_still_creates_in_their_personal_project(
    owner: User, outsider: User, regions
) -> None:
    theirs = Project.objects.get(owner=outsider)
    invitation, _ = invitation_create(
        project=theirs, created_by=outsider, invitee=owner.username, role="viewer"
    )
    invitation_accept(invitation=invitation, user=owner)
    response = api_client_for(owner).post(
        "/api/monitors/", {"name": "X", "url": "https://x.example/"}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["project"] == Project.objects.get(owner=owner).pk


def test_the_rules_module_answers_role_questions(make_member, project) -> None:
    viewer = make_member(Role.VIEWER)
    assert project_role(user=viewer, project=project) == Role.VIEWER
    assert project in projects_for(user=viewer)
    assert project not in projects_for(user=viewer, min_role=Role.MEMBER)
    assert project_require(user=viewer, project=project, min_role=Role.VIEWER)
    with pytest.raises(PermissionDenied):
        project_require(user=viewer, project=project, min_role=Role.MEMBER)


def test_it_refuses_a_viewers_monitor_write_in_the_services(
    make_member, project: Project, make_monitor
) -> None:
    from monitors.services import monitor_create, monitor_pause

    viewer = make_member(Role.VIEWER)
    monitor = make_monitor(name="Theirs")
    with pytest.raises(PermissionDenied):
        monitor_create(
            user=viewer,
            project=project,
            fields={"name": "Mine", "url": "https://mine.example/"},
        )
    with pytest.raises(PermissionDenied):
        monitor_pause(user=viewer, monitor=monitor)
    assert list(Monitor.objects.values_list("name", flat=True)) == ["Theirs"]


def test_a_viewers_key_reads_the_project_but_cannot_write_it(
    make_member, project: Project, make_monitor
) -> None:
    from accounts.services import api_key_create

    viewer = make_member(Role.VIEWER)
    monitor = make_monitor(name="Theirs")
    _key, raw = api_key_create(user=viewer, name="ci", project=project, read_only=False)
    client = api_client_for(viewer)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    listed = client.get("/api/monitors/").json()["results"]
    assert [m["id"] for m in listed] == [monitor.pk]
    assert _monitor_create(client, project) == 403
    renamed = client.patch(f"/api/monitors/{monitor.pk}/", {"name": "x"}, format="json")
    assert renamed.status_code == 403
    # Scoped to one project: no "project required", and still the role rule.
    unnamed = client.post(
        "/api/monitors/", {"name": "n", "url": "https://n.example/"}, format="json"
    )
    assert unnamed.status_code == 403


def test_a_create_without_project_by_an_all_projects_key_asks_for_one(
    make_member, project: Project
) -> None:
    from accounts.services import api_key_create

    member = make_member(Role.MEMBER)
    _key, raw = api_key_create(user=member, name="all", read_only=False)
    client = api_client_for(member)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    resp = client.post(
        "/api/monitors/", {"name": "n", "url": "https://n.example/"}, format="json"
    )
    assert resp.status_code == 400 and "project" in resp.json()
    assert not Monitor.objects.exists()
