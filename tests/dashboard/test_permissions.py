"""Logged-out users are sent to log in; an outsider gets 404 everywhere."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from .conftest import add_incident

pytestmark = pytest.mark.django_db


def _private_urls(monitor_id: int, incident_id: int) -> list[str]:
    return [
        reverse("dashboard:monitor", args=[monitor_id]),
        reverse("dashboard:monitor_edit", args=[monitor_id]),
        reverse("dashboard:monitor_delete", args=[monitor_id]),
        reverse("dashboard:incident", args=[incident_id]),
    ]


def test_it_sends_logged_out_users_to_log_in(make_monitor) -> None:
    monitor = make_monitor()
    incident = add_incident(monitor, monitor.created_at, None)
    urls = [
        *_private_urls(monitor.pk, incident.pk),
        reverse("dashboard:overview"),
        reverse("dashboard:incidents"),
        reverse("dashboard:monitor_create"),
        reverse("dashboard:project"),
    ]
    client = Client()
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login")), url


def test_it_shows_an_outsider_404_for_another_projects_objects(
    make_monitor, outsider_client
) -> None:
    monitor = make_monitor()
    incident = add_incident(monitor, monitor.created_at, None)
    for url in _private_urls(monitor.pk, incident.pk):
        assert outsider_client.get(url).status_code == 404, url
    for name in ("monitor_pause", "monitor_resume", "monitor_check", "monitor_delete"):
        url = reverse(f"dashboard:{name}", args=[monitor.pk])
        assert outsider_client.post(url).status_code == 404, url
    monitor.refresh_from_db()
    assert monitor.enabled


def test_it_hides_other_projects_monitors_from_the_overview(
    make_monitor, outsider_client
) -> None:
    make_monitor(name="Secret shop")
    body = outsider_client.get(reverse("dashboard:overview")).content.decode()
    assert "Secret shop" not in body
    assert "No monitors yet" in body


def test_it_lets_a_teammate_see_the_projects_monitor(
    make_monitor, teammate_client, project
) -> None:
    monitor = make_monitor(name="Shared shop")
    assert teammate_client.get(monitor.get_absolute_url()).status_code == 200
    # A teammate starts on their personal project and switches to the shared one.
    teammate_client.post(reverse("dashboard:project_switch"), {"project": project.pk})
    assert b"Shared shop" in teammate_client.get(reverse("dashboard:overview")).content


def test_it_refuses_state_changes_by_get(make_monitor, owner_client) -> None:
    monitor = make_monitor()
    url = reverse("dashboard:monitor_pause", args=[monitor.pk])
    assert owner_client.get(url).status_code == 405
    monitor.refresh_from_db()
    assert monitor.enabled


def test_it_requires_csrf_on_forms(owner, make_monitor) -> None:
    monitor = make_monitor()
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    response = client.post(reverse("dashboard:monitor_pause", args=[monitor.pk]))
    assert response.status_code == 403
    response = client.post(reverse("dashboard:monitor_create"), {"name": "x"})
    assert response.status_code == 403


def test_it_sends_a_content_security_policy(owner_client) -> None:
    response = owner_client.get(reverse("dashboard:overview"))
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
