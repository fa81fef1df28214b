"""API keys made on the dashboard: shown once, hashed, scoped, revocable."""

from __future__ import annotations

import hashlib
import re

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.models import ApiKey
from accounts.services import api_key_create
from alerts.models import Channel
from monitors.models import Monitor, Project, Region, Role

KEY_RE = re.compile(r"upk_[A-Za-z0-9_-]{40,}")


def bearer(raw: str, keyword: str = "Bearer") -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"{keyword} {raw}")
    return client


@pytest.fixture
def second_project(owner: User) -> Project:
    project = Project.objects.create(name="Second", owner=owner)
    project.members.add(owner, through_defaults={"role": Role.OWNER})
    return project


def test_it_shows_a_new_key_once_and_stores_only_its_hash(
    owner_client: Client, owner: User, regions: list[Region]
) -> None:
    created = owner_client.post(
        reverse("accounts:api_keys"),
        {"name": "deploy", "project": "", "access": "write"},
    )
    assert created.status_code == 200
    assert "no-store" in created["Cache-Control"]
    found = KEY_RE.search(created.content.decode())
    assert found is not None
    raw = found.group(0)
    key = ApiKey.objects.get(user=owner)
    assert key.name == "deploy" and key.project is None and not key.read_only
    assert key.key_hash == hashlib.sha256(raw.encode()).hexdigest()
    stored = " ".join(str(v) for v in ApiKey.objects.values().get().values())
    assert raw not in stored
    assert raw.startswith(key.prefix) and len(key.prefix) < 12

    listing = owner_client.get(reverse("accounts:api_keys")).content.decode()
    assert raw not in listing
    assert key.prefix in listing and "deploy" in listing

    assert key.last_used_at is None
    assert bearer(raw).get("/api/monitors/").status_code == 200
    key.refresh_from_db()
    assert key.last_used_at is not None


def test_it_refuses_a_revoked_key(
    owner_client: Client, owner: User, regions: list[Region]
) -> None:
    key, raw = api_key_create(user=owner, name="ci", read_only=False)
    assert bearer(raw).get("/api/monitors/").status_code == 200
    response = owner_client.post(reverse("accounts:api_key_revoke", args=[key.pk]))
    assert response.status_code == 302
    key.refresh_from_db()
    assert key.revoked_at is not None
    refused = bearer(raw).get("/api/monitors/")
    assert refused.status_code == 401
    assert "Bearer" in refused["WWW-Authenticate"]
    assert (
        key.prefix
        not in owner_client.get(reverse("accounts:api_keys")).content.decode()
    )


def test_it_answers_404_to_revoking_someone_elses_key(
    outsider: User, owner: User
) -> None:
    key, _raw = api_key_create(user=owner, name="ci")
    client = Client()
    client.force_login(outsider)
    response = client.post(reverse("accounts:api_key_revoke", args=[key.pk]))
    assert response.status_code == 404
    key.refresh_from_db()
    assert key.revoked_at is None


def test_it_refuses_an_unknown_bearer_key(db) -> None:
    assert bearer("upk_not-a-real-key").get("/api/monitors/").status_code == 401
    assert bearer("nonsense").get("/api/monitors/").status_code == 401


def test_a_read_only_key_reads_but_gets_403_on_every_change(
    owner: User, make_monitor
) -> None:
    monitor = make_monitor()
    _key, raw = api_key_create(user=owner, name="grafana", read_only=True)
    for client in (bearer(raw), bearer(raw, "Token")):
        assert client.get(f"/api/monitors/{monitor.pk}/").status_code == 200
        assert client.get("/api/incidents/").status_code == 200
        created = client.post(
            "/api/monitors/", {"name": "x", "url": "https://x.example/"}
        )
        assert created.status_code == 403
        assert "read-only" in created.json()["detail"]
        patch = client.patch(f"/api/monitors/{monitor.pk}/", {"name": "y"})
        assert patch.status_code == 403
        assert client.delete(f"/api/monitors/{monitor.pk}/").status_code == 403
        assert client.post("/api/channels/", {"kind": "email"}).status_code == 403
    monitor.refresh_from_db()
    assert monitor.name == "Shop"
    assert Monitor.objects.count() == 1


def test_a_read_write_key_can_change_things(
    owner: User, project: Project, regions: list[Region]
) -> None:
    _key, raw = api_key_create(user=owner, name="ci", read_only=False)
    created = bearer(raw, "Token").post(
        "/api/monitors/", {"name": "x", "url": "https://x.example/"}
    )
    assert created.status_code == 201, created.json()
    assert created.json()["project"] == project.pk


def test_a_project_key_sees_and_changes_only_its_project(
    owner: User,
    project: Project,
    second_project: Project,
    make_monitor,
    regions: list[Region],
) -> None:
    first = make_monitor(name="First")
    second = make_monitor(name="Second", project=second_project)
    Channel.objects.create(
        project=project, name="ops", kind="email", target="ops@example.com"
    )
    theirs = Channel.objects.create(
        project=second_project, name="dev", kind="email", target="dev@example.com"
    )
    _key, raw = api_key_create(
        user=owner, name="second only", project=second_project, read_only=False
    )
    client = bearer(raw)

    listed = client.get("/api/monitors/").json()["results"]
    assert [m["id"] for m in listed] == [second.pk]
    assert client.get(f"/api/monitors/{first.pk}/").status_code == 404
    assert client.patch(f"/api/monitors/{first.pk}/", {"name": "x"}).status_code == 404
    channels = client.get("/api/channels/").json()["results"]
    assert [c["id"] for c in channels] == [theirs.pk]

    # project is optional: it defaults to the key's project, not the first one.
    created = client.post(
        "/api/monitors/", {"name": "new", "url": "https://new.example/"}
    )
    assert created.status_code == 201, created.json()
    assert created.json()["project"] == second_project.pk
    elsewhere = client.post(
        "/api/monitors/",
        {"name": "new", "url": "https://new.example/", "project": project.pk},
    )
    assert elsewhere.status_code == 400
    assert "project" in elsewhere.json()
    channel = client.post(
        "/api/channels/",
        {"name": "mail", "kind": "email", "target": "a@example.com"},
    )
    assert channel.status_code == 201, channel.json()
    assert channel.json()["project"] == second_project.pk

    # The same user's all-projects key still sees both.
    _all, raw_all = api_key_create(user=owner, name="all")
    names = {m["name"] for m in bearer(raw_all).get("/api/monitors/").json()["results"]}
    assert {"First", "Second"} <= names


def test_a_project_key_stops_working_when_its_user_leaves_the_project(
    owner: User, teammate: User, project: Project, regions: list[Region]
) -> None:
    _key, raw = api_key_create(user=teammate, name="bob's", project=project)
    assert bearer(raw).get("/api/monitors/").status_code == 200
    project.members.remove(teammate)
    assert bearer(raw).get("/api/monitors/").status_code == 401


def test_the_form_offers_only_the_users_own_projects(
    owner_client: Client, outsider: User
) -> None:
    foreign = Project.objects.get(owner=outsider)
    response = owner_client.post(
        reverse("accounts:api_keys"),
        {"name": "sneaky", "project": foreign.pk, "access": "read"},
    )
    assert response.status_code == 400
    assert "project" in response.context["form"].errors
    assert not ApiKey.objects.exists()


def test_a_password_change_can_revoke_every_api_key(
    owner_client: Client, owner: User, regions: list[Region]
) -> None:
    _key, raw = api_key_create(user=owner, name="ci")
    Token.objects.create(user=owner)
    page = owner_client.get(reverse("password_change")).content.decode()
    assert "Revoke my API keys" in page
    response = owner_client.post(
        reverse("password_change"),
        {
            "old_password": "pw-alice-123!",
            "new_password1": "another-long-pass-7",
            "new_password2": "another-long-pass-7",
            "revoke_api_keys": "on",
        },
    )
    assert response.status_code == 302
    assert not ApiKey.objects.filter(user=owner, revoked_at__isnull=True).exists()
    assert bearer(raw).get("/api/monitors/").status_code == 401
    assert not Token.objects.filter(user=owner).exists()


def test_a_password_change_without_the_box_keeps_the_keys(
    owner_client: Client, owner: User, regions: list[Region]
) -> None:
    _key, raw = api_key_create(user=owner, name="ci")
    response = owner_client.post(
        reverse("password_change"),
        {
            "old_password": "pw-alice-123!",
            "new_password1": "another-long-pass-7",
            "new_password2": "another-long-pass-7",
        },
    )
    assert response.status_code == 302
    assert bearer(raw).get("/api/monitors/").status_code == 200


def test_the_admin_never_edits_whose_key_it_is_or_revives_it(
    owner: User, outsider: User
) -> None:
    from django.contrib.auth.models import Permission

    from accounts.services import api_key_revoke

    mine, _ = api_key_create(user=outsider, name="mine")
    theirs, _ = api_key_create(user=owner, name="theirs")
    api_key_revoke(key=mine)
    outsider.is_staff = True
    outsider.save()
    outsider.user_permissions.set(
        Permission.objects.filter(content_type__app_label="accounts")
    )
    client = Client()
    client.force_login(User.objects.get(pk=outsider.pk))
    listing = client.get("/admin/accounts/apikey/").content.decode()
    assert "mine" in listing and "theirs" not in listing
    assert client.get(f"/admin/accounts/apikey/{theirs.pk}/change/").status_code in (
        302,
        404,
    )
    response = client.post(
        f"/admin/accounts/apikey/{mine.pk}/change/",
        {"name": "renamed", "user": owner.pk, "revoked_at": "", "read_only": ""},
    )
    assert response.status_code == 302
    mine.refresh_from_db()
    assert mine.name == "renamed"
    assert (mine.user_id, mine.read_only) == (outsider.pk, True)
    assert mine.revoked_at is not None
