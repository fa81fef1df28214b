"""Quotas per project and per target host, through the API and the dashboard."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from alerts.models import Channel
from monitors import services
from monitors.models import Monitor, Project, Region, Role
from tests.conftest import api_client_for
from tests.forms import encode_form, form_values

pytestmark = pytest.mark.django_db


def _create(api, url: str, interval: int = 60, **extra):
    return api.post(
        "/api/monitors/",
        {"name": "m", "url": url, "interval_seconds": interval, **extra},
        format="json",
    )


def test_it_refuses_a_monitor_past_the_project_limit_naming_it(
    settings, api, regions: list[Region]
) -> None:
    settings.UPTIME_QUOTA_MONITORS = 2
    assert _create(api, "https://93.184.215.1/").status_code == 201
    assert _create(api, "https://93.184.215.2/").status_code == 201
    refused = _create(api, "https://93.184.215.3/")
    assert refused.status_code == 400
    assert "UPTIME_QUOTA_MONITORS" in str(refused.json()["non_field_errors"])
    assert Monitor.objects.count() == 2


def test_it_refuses_checks_per_minute_past_the_limit_on_create_and_edit(
    settings, api, regions: list[Region]
) -> None:
    # Three regions: one monitor at 60 s makes 3 checks a minute.
    settings.UPTIME_QUOTA_CHECKS_PER_MINUTE = 10
    first = _create(api, "https://93.184.215.1/", interval=60)
    assert first.status_code == 201
    refused = _create(api, "https://93.184.215.2/", interval=20)  # 9 more
    assert refused.status_code == 400
    assert "UPTIME_QUOTA_CHECKS_PER_MINUTE" in refused.json()["interval_seconds"][0]
    faster = api.patch(
        f"/api/monitors/{first.json()['id']}/",
        {"interval_seconds": 10},
        format="json",
    )
    assert faster.status_code == 400
    assert Monitor.objects.get().interval_seconds == 60


def test_one_host_gets_at_most_the_request_rate_from_all_projects(
    settings, api, outsider: User, regions: list[Region]
) -> None:
    settings.UPTIME_MAX_REQUESTS_PER_MINUTE_PER_HOST = 8
    assert _create(api, "https://victim.example/a").status_code == 201  # 3/min
    other = api_client_for(outsider)
    assert _create(other, "https://victim.example:8443/b").status_code == 201  # 6
    refused = _create(other, "http://VICTIM.example/c")
    assert refused.status_code == 400
    assert "victim.example" in refused.json()["url"][0]
    assert _create(other, "https://other.example/").status_code == 201


def test_the_dashboard_shows_a_quota_as_a_form_error(
    settings, owner: User, regions: list[Region], make_monitor
) -> None:
    settings.UPTIME_QUOTA_MONITORS = 1
    make_monitor(url="https://93.184.215.1/")
    client = Client()
    client.force_login(owner)
    data = form_values(Monitor(), regions) | {
        "name": "two",
        "url": "https://93.184.215.2/",
    }
    response = client.post(reverse("dashboard:monitor_create"), encode_form(data))
    assert response.status_code == 400
    assert "UPTIME_QUOTA_MONITORS" in response.content.decode()
    assert Monitor.objects.count() == 1


def test_a_monitor_moved_to_another_project_loses_the_old_projects_channels(
    owner: User, project: Project, make_monitor
) -> None:
    other = Project.objects.create(name="Other", owner=owner)
    other.members.add(owner, through_defaults={"role": Role.OWNER})
    old_channel = Channel.objects.create(
        project=project, name="old", kind="email", target="a@example.com"
    )
    monitor = make_monitor()
    monitor.channels.set([old_channel])
    services.monitor_update(user=owner, monitor=monitor, fields={"project": other})
    assert list(monitor.channels.all()) == []
