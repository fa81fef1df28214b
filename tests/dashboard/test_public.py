"""The public status page and the badges."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from .conftest import add_incident

pytestmark = pytest.mark.django_db


def test_the_status_page_is_off_by_default(client, project, make_monitor) -> None:
    make_monitor()
    url = reverse("dashboard:status_page", args=[project.slug])
    assert client.get(url).status_code == 404


def test_the_status_page_hides_urls_and_errors_unless_the_owner_opts_in(
    client, project, make_monitor
) -> None:
    project.status_page_enabled = True
    project.save()
    monitor = make_monitor(
        name="Checkout", url="https://internal.shop.example/health", status="down"
    )
    make_monitor(name="Paused thing", enabled=False, status="paused")
    add_incident(monitor, timezone.now() - timedelta(minutes=5), None, "dns: NXDOMAIN")
    url = reverse("dashboard:status_page", args=[project.slug])

    body = client.get(url).content.decode()
    assert "Checkout" in body
    assert "1 of 1 service down" in body
    assert "Paused thing" not in body
    assert "internal.shop.example" not in body
    assert "NXDOMAIN" not in body
    assert body.count('class="day day-') == 90

    project.status_page_show_details = True
    project.save()
    body = client.get(url).content.decode()
    assert "internal.shop.example" in body
    assert "dns: NXDOMAIN" in body


def test_badges_show_status_and_uptime_by_secret_key(client, make_monitor) -> None:
    monitor = make_monitor(status="up")
    response = client.get(reverse("dashboard:badge_status", args=[monitor.badge_key]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("image/svg+xml")
    assert b"status: up" in response.content
    response = client.get(reverse("dashboard:badge_uptime", args=[monitor.badge_key]))
    assert b"uptime 30d: 100%" in response.content
    assert (
        client.get(reverse("dashboard:badge_status", args=["nope"])).status_code == 404
    )
    assert (
        client.get(reverse("dashboard:badge_status", args=[monitor.pk])).status_code
        == 404
    )
