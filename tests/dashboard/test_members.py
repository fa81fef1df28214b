"""Invitations, roles, leaving and removal in the dashboard."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from alerts.services import channel_create
from monitors.models import Invitation, Membership, Project, Role
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def _switch(client: Client, project: Project) -> None:
    client.post(reverse("dashboard:project_switch"), {"project": project.pk})


def _invite(client: Client, invitee: str, role: str = "member") -> str:
    """Send an invitation from the client's current project; the link."""
    response = client.post(
        reverse("dashboard:invitation_create"), {"invitee": invitee, "role": role}
    )
    assert response.status_code == 200, response.context["invite_form"].errors
    return response.context["new_link"]


def _membership(project: Project, user: User) -> Membership:
    return Membership.objects.get(project=project, user=user)


def test_it_no_longer_adds_a_user_who_did_not_accept(
    owner_client, outsider, project
) -> None:
    # The old "add member" post is ignored; an invitation adds nobody.
    owner_client.post(
        reverse("dashboard:project"), {"action": "member", "user": "mallory"}
    )
    _invite(owner_client, "MALLORY@example.com")
    assert not project.members.filter(pk=outsider.pk).exists()
    outsider_client = client_for(outsider)
    page = outsider_client.get(reverse("dashboard:overview"))
    assert page.context["current_project"] == Project.objects.get(owner=outsider)


def test_an_invitation_link_joins_once_with_its_role(
    owner_client, outsider, project
) -> None:
    link = _invite(owner_client, "someone@elsewhere.example", role="viewer")
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["someone@elsewhere.example"]
    assert link in mail.outbox[0].body
    assert Invitation.objects.get().token_hash not in link

    invitee = client_for(outsider)
    page = invitee.get(link)
    assert page.status_code == 200
    assert not project.members.filter(pk=outsider.pk).exists()
    response = invitee.post(link)
    assert response.status_code == 302
    assert _membership(project, outsider).role == Role.VIEWER
    assert (
        invitee.get(reverse("dashboard:overview")).context["current_project"] == project
    )

    second = User.objects.create_user("eve", "eve@example.com", "pw-eve-12345!")
    again = client_for(second)
    assert again.get(link).status_code == 404
    assert again.post(link).status_code == 404
    assert not project.members.filter(pk=second.pk).exists()


def test_an_expired_invitation_is_refused(owner_client, outsider, project) -> None:
    link = _invite(owner_client, "mallory")
    Invitation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert client_for(outsider).post(link).status_code == 404
    assert not project.members.filter(pk=outsider.pk).exists()


def test_invitations_expire_after_the_configured_days(
    owner_client, outsider, settings
) -> None:
    settings.UPTIME_INVITE_MAX_AGE_DAYS = 2
    _invite(owner_client, "mallory")
    invitation = Invitation.objects.get()
    left = invitation.expires_at - invitation.created_at
    assert left == timedelta(days=2)


def test_a_revoked_invitation_is_refused(owner_client, outsider, project) -> None:
    link = _invite(owner_client, "mallory")
    invitation = Invitation.objects.get()
    page = owner_client.get(reverse("dashboard:project")).content.decode()
    assert "mallory" in page and "Revoke" in page
    owner_client.post(reverse("dashboard:invitation_revoke", args=[invitation.pk]))
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None
    assert client_for(outsider).post(link).status_code == 404
    assert not project.members.filter(pk=outsider.pk).exists()


def test_an_invitation_to_a_username_is_for_that_account_only(
    owner_client, outsider, project
) -> None:
    link = _invite(owner_client, "mallory")
    other = User.objects.create_user("eve", "eve@example.com", "pw-eve-12345!")
    assert client_for(other).post(link).status_code == 403
    assert not project.members.filter(pk=other.pk).exists()
    assert client_for(outsider).post(link).status_code == 302
    assert project.members.filter(pk=outsider.pk).exists()


def test_a_tampered_or_unknown_link_is_refused(outsider) -> None:
    url = reverse("dashboard:invite", args=["not-a-real-token"])
    assert client_for(outsider).post(url).status_code == 404


def test_an_invitation_sends_a_logged_out_visitor_to_log_in(
    owner_client, outsider
) -> None:
    link = _invite(owner_client, "mallory")
    response = Client().get(link)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_the_invitee_accepts_or_declines_on_their_dashboard(
    owner_client, outsider, project
) -> None:
    _invite(owner_client, "mallory", role="member")
    invitee = client_for(outsider)
    overview = invitee.get(reverse("dashboard:overview")).content.decode()
    assert "1 invitation" in overview
    listing = invitee.get(reverse("dashboard:invitations"))
    assert "alice&#x27;s project" in listing.content.decode()
    invitation = Invitation.objects.get()
    # Someone else cannot answer it for them.
    eve = User.objects.create_user("eve", "eve@example.com", "pw-eve-12345!")
    url = reverse("dashboard:invitation_accept", args=[invitation.pk])
    assert client_for(eve).post(url).status_code == 404
    assert invitee.post(url).status_code == 302
    assert _membership(project, outsider).role == Role.MEMBER


def test_a_declined_invitation_cannot_be_used(owner_client, outsider, project) -> None:
    link = _invite(owner_client, "mallory")
    invitation = Invitation.objects.get()
    invitee = client_for(outsider)
    invitee.post(reverse("dashboard:invitation_decline", args=[invitation.pk]))
    assert invitee.post(link).status_code == 404
    assert not project.members.filter(pk=outsider.pk).exists()


def test_a_member_leaves_but_the_personal_projects_owner_cannot(
    owner_client, teammate, project
) -> None:
    teammate_client = client_for(teammate)
    _switch(teammate_client, project)
    teammate_client.post(reverse("dashboard:project_leave"))
    assert not project.members.filter(pk=teammate.pk).exists()
    owner_client.post(reverse("dashboard:project_leave"))
    assert _membership(project, project.owner).role == Role.OWNER


def test_the_last_owner_cannot_leave_a_shared_project(owner_client, owner) -> None:
    owner_client.post(reverse("dashboard:project_create"), {"new-name": "Team"})
    team = Project.objects.get(name="Team")
    response = owner_client.post(reverse("dashboard:project_leave"), follow=True)
    assert "needs an owner" in response.content.decode()
    assert _membership(team, owner).role == Role.OWNER


def test_an_owner_removes_an_admin_and_an_admin_cannot_remove_an_owner(
    owner_client, owner, project, make_member
) -> None:
    admin = make_member(Role.ADMIN)
    admin_client = client_for(admin)
    _switch(admin_client, project)
    url = reverse("dashboard:membership_remove", args=[_membership(project, owner).pk])
    assert admin_client.post(url).status_code == 403
    assert project.members.filter(pk=owner.pk).exists()

    url = reverse("dashboard:membership_remove", args=[_membership(project, admin).pk])
    assert owner_client.post(url).status_code == 302
    assert not project.members.filter(pk=admin.pk).exists()


def test_an_admin_manages_members_but_a_member_does_not(project, make_member) -> None:
    admin, member, viewer = (
        make_member(Role.ADMIN),
        make_member(Role.MEMBER),
        make_member(Role.VIEWER),
    )
    admin_client, member_client = client_for(admin), client_for(member)
    _switch(admin_client, project)
    _switch(member_client, project)
    role_url = reverse(
        "dashboard:membership_role", args=[_membership(project, viewer).pk]
    )
    remove_url = reverse(
        "dashboard:membership_remove", args=[_membership(project, viewer).pk]
    )
    invite_url = reverse("dashboard:invitation_create")

    assert member_client.post(role_url, {"role": "admin"}).status_code == 403
    assert member_client.post(remove_url).status_code == 403
    assert (
        member_client.post(invite_url, {"invitee": "x@example.com"}).status_code == 403
    )
    assert (
        "Send invitation"
        not in member_client.get(reverse("dashboard:project")).content.decode()
    )
    assert _membership(project, viewer).role == Role.VIEWER

    # An admin cannot hand out the owner role, but changes the others.
    assert admin_client.post(role_url, {"role": "owner"}).status_code == 403
    assert admin_client.post(role_url, {"role": "member"}).status_code == 302
    assert _membership(project, viewer).role == Role.MEMBER
    _invite(admin_client, "x@example.com", role="admin")
    assert admin_client.post(remove_url).status_code == 302
    assert not project.members.filter(pk=viewer.pk).exists()


def test_an_owner_makes_another_owner_who_then_can_leave(
    owner_client, owner, teammate, project
) -> None:
    owner_client.post(reverse("dashboard:project_create"), {"new-name": "Team"})
    team = Project.objects.get(name="Team")
    Membership.objects.create(project=team, user=teammate, role=Role.MEMBER)
    url = reverse("dashboard:membership_role", args=[_membership(team, teammate).pk])
    owner_client.post(url, {"role": "owner"})
    owner_client.post(reverse("dashboard:project_leave"))
    assert not team.members.filter(pk=owner.pk).exists()
    team.refresh_from_db()
    assert team.owner_id == teammate.pk


def test_only_an_owner_deletes_a_project_and_never_a_personal_one(
    owner_client, owner, make_member, project
) -> None:
    owner_client.post(reverse("dashboard:project_create"), {"new-name": "Team"})
    team = Project.objects.get(name="Team")
    admin = make_member(Role.ADMIN)
    Membership.objects.create(project=team, user=admin, role=Role.ADMIN)
    admin_client = client_for(admin)
    _switch(admin_client, team)
    assert admin_client.post(reverse("dashboard:project_delete")).status_code == 403
    assert owner_client.post(reverse("dashboard:project_delete")).status_code == 302
    assert not Project.objects.filter(pk=team.pk).exists()
    _switch(owner_client, project)
    owner_client.post(reverse("dashboard:project_delete"))
    assert Project.objects.filter(pk=project.pk).exists()


# --- what each role may do on the dashboard ---------------------------------


def _post_status(client: Client, name: str, *args: int, data=None) -> int:
    return client.post(reverse(name, args=args), data or {}).status_code


def test_a_viewer_sees_no_controls_and_is_refused_every_write(
    project, make_member, make_monitor
) -> None:
    monitor = make_monitor(name="Shop")
    channel = channel_create(
        project=project, name="Ops", kind="email", target="ops@example.com"
    )
    client = client_for(make_member(Role.VIEWER))
    _switch(client, project)
    page = client.get(monitor.get_absolute_url()).content.decode()
    assert "Shop" in page
    for control in ("Pause", "Edit", "Delete", "Check now"):
        assert f">{control}<" not in page
    assert (
        "Add monitor" not in client.get(reverse("dashboard:overview")).content.decode()
    )
    channels = client.get(reverse("alerts:channels")).content.decode()
    assert "Ops" in channels and "Add channel" not in channels

    assert client.get(reverse("dashboard:monitor_create")).status_code == 403
    assert (
        client.get(reverse("dashboard:monitor_edit", args=[monitor.pk])).status_code
        == 403
    )
    for name in ("monitor_pause", "monitor_delete", "monitor_check", "monitor_edit"):
        assert _post_status(client, f"dashboard:{name}", monitor.pk) == 403, name
    for name in ("channel_edit", "channel_delete", "channel_test"):
        assert _post_status(client, f"alerts:{name}", channel.pk) == 403, name
    assert _post_status(client, "alerts:channel_create") == 403
    settings_post = {"name": "Hijacked", "status_page_enabled": "on"}
    assert _post_status(client, "dashboard:project", data=settings_post) == 403
    monitor.refresh_from_db()
    project.refresh_from_db()
    assert monitor.enabled and project.name != "Hijacked"
    assert not project.status_page_enabled
    assert mail.outbox == []


def test_a_member_edits_monitors_but_not_channels(
    project, make_member, make_monitor
) -> None:
    monitor = make_monitor()
    channel = channel_create(
        project=project, name="Ops", kind="email", target="ops@example.com"
    )
    client = client_for(make_member(Role.MEMBER))
    _switch(client, project)
    assert ">Edit<" in client.get(monitor.get_absolute_url()).content.decode()
    assert _post_status(client, "dashboard:monitor_pause", monitor.pk) == 302
    monitor.refresh_from_db()
    assert not monitor.enabled
    assert client.get(reverse("dashboard:monitor_create")).status_code == 200
    assert _post_status(client, "alerts:channel_delete", channel.pk) == 403
    assert _post_status(client, "alerts:channel_create") == 403


def test_an_admin_manages_channels_and_project_settings(project, make_member) -> None:
    channel = channel_create(
        project=project, name="Ops", kind="email", target="ops@example.com"
    )
    client = client_for(make_member(Role.ADMIN))
    _switch(client, project)
    assert "Add channel" in client.get(reverse("alerts:channels")).content.decode()
    assert _post_status(client, "alerts:channel_delete", channel.pk) == 302
    response = client.post(
        reverse("dashboard:project"), {"name": "Renamed", "status_page_enabled": "on"}
    )
    assert response.status_code == 302
    project.refresh_from_db()
    assert project.name == "Renamed" and project.status_page_enabled


def test_signing_up_with_an_invited_address_does_not_hand_over_the_invitation(
    owner_client, project
) -> None:
    # Addresses are not verified: an email invitation works by its link only.
    _invite(owner_client, "victim@corp.example", role="admin")
    squatter = User.objects.create_user(
        "squatter", "victim@corp.example", "pw-squat-12345!"
    )
    client = client_for(squatter)
    assert client.get(reverse("dashboard:overview")).context["invitation_count"] == 0
    invitation = Invitation.objects.get()
    accept = reverse("dashboard:invitation_accept", args=[invitation.pk])
    assert client.post(accept).status_code == 404
    assert not project.members.filter(pk=squatter.pk).exists()
