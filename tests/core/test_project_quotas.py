"""Quotas on a project's channels and members (pending invitations count);
a superuser, the install's operator, is not held to them."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from alerts.models import Channel
from alerts.services import channel_create, channel_delete
from monitors import members
from monitors.models import Invitation, Project, Role
from monitors.quotas import QuotaExceeded

pytestmark = pytest.mark.django_db


def _mail(n: int) -> dict[str, Any]:
    return {"name": f"Mail {n}", "kind": "email", "target": f"ops{n}@example.com"}


def test_a_project_gets_at_most_its_channel_quota(api, project, settings) -> None:
    settings.UPTIME_QUOTA_CHANNELS = 2
    for n in range(2):
        assert api.post("/api/channels/", _mail(n), format="json").status_code == 201

    refused = api.post("/api/channels/", _mail(3), format="json")
    assert refused.status_code == 400
    [message] = refused.json()["project"]
    assert "UPTIME_QUOTA_CHANNELS=2" in message
    assert Channel.objects.filter(project=project).count() == 2

    # A deleted channel frees its place.
    channel_delete(channel=Channel.objects.filter(project=project)[0])
    assert api.post("/api/channels/", _mail(4), format="json").status_code == 201


def test_the_dashboard_shows_the_channel_quota_on_the_form(
    owner_client, project, settings
) -> None:
    settings.UPTIME_QUOTA_CHANNELS = 1
    channel_create(project=project, **_mail(1))
    response = owner_client.post(
        reverse("alerts:channel_create"), {**_mail(2), "enabled": "on"}
    )
    assert response.status_code == 400
    assert "UPTIME_QUOTA_CHANNELS=1" in response.content.decode()
    assert Channel.objects.filter(project=project).count() == 1


def test_a_superuser_is_not_held_to_the_channel_quota(owner, project, settings) -> None:
    settings.UPTIME_QUOTA_CHANNELS = 1
    channel_create(project=project, **_mail(1))
    with pytest.raises(QuotaExceeded):
        channel_create(project=project, user=owner, **_mail(2))
    User.objects.filter(pk=owner.pk).update(is_superuser=True)
    operator = User.objects.get(pk=owner.pk)
    channel_create(project=project, user=operator, **_mail(3))
    assert Channel.objects.filter(project=project).count() == 2


def test_the_admin_shows_the_channel_quota_to_staff_on_the_form(
    client, owner, project, settings
) -> None:
    """Staff who are not superusers are held to it in the admin too: a form
    error, not a server error."""
    settings.UPTIME_QUOTA_CHANNELS = 1
    channel_create(project=project, **_mail(1))
    from django.contrib.auth.models import Permission

    User.objects.filter(pk=owner.pk).update(is_staff=True)
    owner.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="alerts")
    )
    client.force_login(owner)
    response = client.post(
        "/admin/alerts/channel/add/",
        {"project": project.pk, **_mail(2), "enabled": "on"},
    )
    assert response.status_code == 200
    assert "UPTIME_QUOTA_CHANNELS=1" in response.content.decode()
    assert Channel.objects.filter(project=project).count() == 1


def _invite(client, invitee: str):
    return client.post(
        reverse("dashboard:invitation_create"),
        {"invitee": invitee, "role": Role.MEMBER},
    )


def test_members_and_pending_invitations_count_towards_the_member_quota(
    owner_client, owner, project, settings
) -> None:
    settings.UPTIME_QUOTA_MEMBERS = 3  # the owner and two more
    assert _invite(owner_client, "a@example.com").status_code == 200
    assert _invite(owner_client, "b@example.com").status_code == 200

    refused = _invite(owner_client, "c@example.com")
    assert refused.status_code == 400
    text = refused.content.decode()
    assert "1 members and 2 pending invitations" in text
    assert "UPTIME_QUOTA_MEMBERS=3" in text
    assert not Invitation.objects.filter(email="c@example.com").exists()

    # Revoking a pending invitation frees its place.
    members.invitation_revoke(
        invitation=Invitation.objects.get(email="a@example.com"), actor=owner
    )
    assert _invite(owner_client, "c@example.com").status_code == 200


def test_a_superuser_is_not_held_to_the_member_quota(owner, project, settings) -> None:
    settings.UPTIME_QUOTA_MEMBERS = 1
    with pytest.raises(QuotaExceeded) as refused:
        members.invitation_create(
            project=project, created_by=owner, invitee="a@example.com", role="member"
        )
    assert "UPTIME_QUOTA_MEMBERS=1" in refused.value.message_dict["invitee"][0]
    User.objects.filter(pk=owner.pk).update(is_superuser=True)
    operator = User.objects.get(pk=owner.pk)
    members.invitation_create(
        project=Project.objects.get(pk=project.pk),
        created_by=operator,
        invitee="a@example.com",
        role="member",
    )
    assert Invitation.objects.filter(project=project).count() == 1
