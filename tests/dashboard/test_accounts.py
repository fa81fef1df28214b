"""Sign up, log in and out, password reset, projects, invites."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client
from django.urls import reverse

from monitors.models import Project, Role

pytestmark = pytest.mark.django_db


def test_sign_up_gives_a_project_and_logs_in(client, regions) -> None:
    response = client.post(
        reverse("dashboard:signup"),
        {
            "username": "carol",
            "email": "carol@example.com",
            "password1": "a-long-pass-phrase-9",
            "password2": "a-long-pass-phrase-9",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard:overview")
    user = User.objects.get(username="carol")
    assert Project.objects.filter(members=user).count() == 1
    page = client.get(reverse("dashboard:overview"))
    assert b"Add your first monitor" in page.content


def test_sign_up_shows_errors_inline(client, owner) -> None:
    response = client.post(
        reverse("dashboard:signup"),
        {
            "username": "x",
            "email": "alice@example.com",
            "password1": "1",
            "password2": "2",
        },
    )
    assert response.status_code == 400
    assert "email" in response.context["form"].errors
    assert b'id="id_email_error"' in response.content


def test_log_in_and_out(client, owner) -> None:
    page = client.get(reverse("login"))
    assert b"Sign up" in page.content
    response = client.post(
        reverse("login"), {"username": "alice", "password": "pw-alice-123!"}
    )
    assert response["Location"] == reverse("dashboard:overview")
    assert client.get(reverse("dashboard:overview")).status_code == 200
    client.post(reverse("logout"))
    assert client.get(reverse("dashboard:overview")).status_code == 302


def test_password_change_and_reset(owner_client, owner) -> None:
    response = owner_client.post(
        reverse("password_change"),
        {
            "old_password": "pw-alice-123!",
            "new_password1": "another-long-pass-7",
            "new_password2": "another-long-pass-7",
        },
    )
    assert response.status_code == 302
    client = Client()
    client.post(reverse("password_reset"), {"email": "alice@example.com"})
    assert len(mail.outbox) == 1
    found = re.search(r"https?://\S+", str(mail.outbox[0].body))
    assert found is not None
    link = found.group(0)
    page = client.get(link, follow=True)
    assert b"Choose a new password" in page.content


def test_the_project_switcher_changes_the_overview(owner_client, owner) -> None:
    other = Project.objects.create(name="Side project", owner=owner)
    other.members.add(owner, through_defaults={"role": Role.OWNER})
    response = owner_client.post(
        reverse("dashboard:project_switch"), {"project": other.pk, "next": "/"}
    )
    assert response.status_code == 302
    page = owner_client.get(reverse("dashboard:overview"))
    assert page.context["current_project"] == other


def test_the_switcher_refuses_someone_elses_project(outsider_client, project) -> None:
    response = outsider_client.post(
        reverse("dashboard:project_switch"), {"project": project.pk}
    )
    assert response.status_code == 404


def test_the_switcher_ignores_an_offsite_next(owner_client, project) -> None:
    response = owner_client.post(
        reverse("dashboard:project_switch"),
        {"project": project.pk, "next": "https://evil.example/"},
    )
    assert response["Location"] == reverse("dashboard:overview")


def test_a_tampered_invite_is_refused(outsider_client, outsider, project) -> None:
    response = outsider_client.post(reverse("dashboard:invite", args=["abc:def"]))
    assert response.status_code == 404
    assert not project.members.filter(pk=outsider.pk).exists()


def test_turn_on_the_status_page(owner_client, project, client) -> None:
    owner_client.post(
        reverse("dashboard:project"),
        {"action": "settings", "name": "Shop", "status_page_enabled": "on"},
    )
    project.refresh_from_db()
    assert project.status_page_enabled
    assert not project.status_page_show_details
    url = reverse("dashboard:status_page", args=[project.slug])
    assert client.get(url).status_code == 200


def test_create_a_new_project(owner_client, owner) -> None:
    owner_client.post(reverse("dashboard:project_create"), {"new-name": "Team"})
    project = Project.objects.get(name="Team")
    assert project.members.filter(pk=owner.pk).exists()
    page = owner_client.get(reverse("dashboard:overview"))
    assert page.context["current_project"] == project
