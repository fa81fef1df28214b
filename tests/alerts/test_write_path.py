"""One write path for channels: the API, the dashboard and the admin all
create, update and delete through alerts.services, with the same result."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from alerts.models import Channel
from monitors.models import Monitor, Project, Role
from tests.conftest import api_client_for

pytestmark = pytest.mark.django_db

HOOK = "http://127.0.0.1:9/hook"
FLAGS = ("enabled", "notify_down", "notify_up", "notify_degraded", "is_default")


def _form_data(values: dict[str, Any]) -> dict[str, Any]:
    """A browser's post: booleans as ticked boxes, None as an empty input."""
    data: dict[str, Any] = {}
    for name, value in values.items():
        if name in FLAGS:
            if value:
                data[name] = "on"
        elif value is None:
            data[name] = ""
        else:
            data[name] = value
    return data


class Api:
    def __init__(self, owner: User, project: Project) -> None:
        self.client = api_client_for(owner)
        self.project = project

    def create(self, values: dict[str, Any]) -> set[str]:
        # Named: with more than one project to choose from, the API asks.
        values = {"project": self.project.pk, **values}
        resp = self.client.post("/api/channels/", values, format="json")
        return set() if resp.status_code == 201 else set(resp.json())

    def update(self, channel: Channel, values: dict[str, Any]) -> set[str]:
        resp = self.client.patch(f"/api/channels/{channel.pk}/", values, format="json")
        return set() if resp.status_code == 200 else set(resp.json())

    def delete(self, channel: Channel) -> None:
        assert self.client.delete(f"/api/channels/{channel.pk}/").status_code == 204


class Dashboard:
    def __init__(self, owner: User, project: Project) -> None:
        self.client = Client()
        self.client.force_login(owner)

    def _errors(self, resp: Any) -> set[str]:
        if resp.status_code in (200, 302) and "form" not in (resp.context or {}):
            return set()
        return set(resp.context["form"].errors)

    def create(self, values: dict[str, Any]) -> set[str]:
        url = reverse("alerts:channel_create")
        return self._errors(self.client.post(url, _form_data(values)))

    def update(self, channel: Channel, values: dict[str, Any]) -> set[str]:
        url = reverse("alerts:channel_edit", args=[channel.pk])
        return self._errors(self.client.post(url, _form_data(values)))

    def delete(self, channel: Channel) -> None:
        url = reverse("alerts:channel_delete", args=[channel.pk])
        assert self.client.post(url).status_code == 302


class Admin:
    def __init__(self, owner: User, project: Project) -> None:
        User.objects.filter(pk=owner.pk).update(is_staff=True, is_superuser=True)
        self.client = Client()
        self.client.force_login(owner)
        self.project = project

    def _errors(self, resp: Any) -> set[str]:
        if resp.status_code == 302:
            return set()
        form = resp.context["adminform"].form
        return set(form.errors)

    def create(self, values: dict[str, Any]) -> set[str]:
        data = _form_data({"project": self.project.pk, **values})
        return self._errors(self.client.post("/admin/alerts/channel/add/", data))

    def update(self, channel: Channel, values: dict[str, Any]) -> set[str]:
        url = f"/admin/alerts/channel/{channel.pk}/change/"
        return self._errors(self.client.post(url, _form_data(values)))

    def delete(self, channel: Channel) -> None:
        url = f"/admin/alerts/channel/{channel.pk}/delete/"
        assert self.client.post(url, {"post": "yes"}).status_code == 302


SURFACES = {"api": Api, "dashboard": Dashboard, "admin": Admin}


@pytest.fixture(params=sorted(SURFACES))
def surface(request, owner, project):
    return SURFACES[request.param](owner, project)


@pytest.fixture
def own_monitor(make_monitor) -> Monitor:
    return make_monitor(name="Own")


@pytest.fixture
def foreign_monitor(owner, make_monitor) -> Monitor:
    # The owner may see it (a member there too), but it is another project's.
    other = Project.objects.create(name="Other", owner=owner)
    other.members.add(owner, through_defaults={"role": Role.OWNER})
    return make_monitor(name="Foreign", project=other)


def _settings(monitor: Monitor, **changes: Any) -> dict[str, Any]:
    values = {
        "name": "Hook",
        "kind": "webhook",
        "target": HOOK,
        "secret": "",
        "enabled": True,
        "notify_down": True,
        "notify_up": False,
        "notify_degraded": True,
        "reminder_minutes": 30,
        "is_default": False,
        "monitors": [monitor.pk],
    }
    values.update(changes)
    return values


def _stored(channel: Channel) -> tuple[Any, ...]:
    return (
        channel.project_id,
        channel.name,
        channel.kind,
        channel.target,
        *(getattr(channel, flag) for flag in FLAGS),
        channel.reminder_minutes,
        sorted(channel.monitors.values_list("name", flat=True)),
    )


def test_it_creates_the_same_channel_from_every_surface(
    surface, project, own_monitor, allow_private
) -> None:
    assert surface.create(_settings(own_monitor)) == set()

    channel = Channel.objects.get()
    assert _stored(channel) == (
        project.pk,
        "Hook",
        "webhook",
        HOOK,
        True,
        True,
        False,
        True,
        False,
        30,
        ["Own"],
    )
    assert channel.secret.startswith("whsec_")  # generated: none was given


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"reminder_minutes": 0}, "reminder_minutes"),
        ({"reminder_minutes": 10081}, "reminder_minutes"),
        ({"target": "ftp://example.com/"}, "target"),
        ({"secret": "not-a-secret"}, "secret"),
        ({"kind": "email", "secret": "whsec_" + "A" * 44}, "target"),
    ],
)
def test_it_refuses_the_same_bad_settings_on_every_surface(
    surface, own_monitor, allow_private, changes, field
) -> None:
    assert field in surface.create(_settings(own_monitor, **changes))
    assert not Channel.objects.exists()


def test_it_refuses_another_projects_monitor_on_every_surface(
    surface, own_monitor, foreign_monitor, allow_private
) -> None:
    values = _settings(own_monitor, monitors=[own_monitor.pk, foreign_monitor.pk])
    assert "monitors" in surface.create(values)
    assert not Channel.objects.exists()


def test_it_updates_the_same_way_on_every_surface(
    surface, project, own_monitor, make_channel, allow_private
) -> None:
    channel = make_channel("webhook", HOOK, name="Hook", monitors=[own_monitor])
    secret = channel.secret
    # Empty secret and target mean "keep" (neither is shown back in full).
    changes = _settings(
        own_monitor, name="Renamed", target="", reminder_minutes=15, monitors=[]
    )
    if isinstance(surface, Admin):
        changes.pop("kind")  # fixed once created: not on the admin's form

    assert surface.update(channel, changes) == set()

    channel.refresh_from_db()
    assert _stored(channel) == (
        project.pk,
        "Renamed",
        "webhook",
        HOOK,
        True,
        True,
        False,
        True,
        False,
        15,
        [],
    )
    assert channel.secret == secret


def test_it_refuses_a_bad_update_on_every_surface(
    surface, own_monitor, make_channel, allow_private
) -> None:
    channel = make_channel("webhook", HOOK, name="Hook", monitors=[own_monitor])
    changes = _settings(own_monitor, target="", reminder_minutes=0)
    if isinstance(surface, Admin):
        changes.pop("kind")

    assert "reminder_minutes" in surface.update(channel, changes)

    channel.refresh_from_db()
    assert channel.reminder_minutes is None


def test_it_deletes_the_same_way_on_every_surface(
    surface, own_monitor, make_channel, allow_private
) -> None:
    channel = make_channel("email", "ops@example.com", monitors=[own_monitor])

    surface.delete(channel)

    assert not Channel.objects.exists()
    assert Monitor.objects.filter(pk=own_monitor.pk).exists()
