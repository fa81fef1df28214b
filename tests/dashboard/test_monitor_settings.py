"""Status-page selection per monitor, and which edits re-check at once."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from monitors.models import Monitor

from .conftest import add_incident

pytestmark = pytest.mark.django_db


def _form(monitor: Monitor, **overrides: Any) -> dict[str, Any]:
    """What the edit page posts back unchanged, plus ``overrides``."""
    data: dict[str, Any] = {
        "name": monitor.name,
        "kind": monitor.kind,
        "url": monitor.url,
        "interval_seconds": str(monitor.interval_seconds),
        "timeout_seconds": str(monitor.timeout_seconds),
        "regions": [r.pk for r in monitor.regions.all()],
        "failure_threshold": str(monitor.failure_threshold),
        "recovery_threshold": str(monitor.recovery_threshold),
        "region_quorum": "",
        "http_method": monitor.http_method,
        "accepted_status_codes": monitor.accepted_status_codes,
        "max_redirects": str(monitor.max_redirects),
        "keyword_mode": monitor.keyword_mode,
        "dns_record_type": monitor.dns_record_type,
        "heartbeat_grace_seconds": str(monitor.heartbeat_grace_seconds),
        "follow_redirects": "on",
        "verify_tls": "on",
        "show_on_status_page": "on",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def _edit(client, monitor: Monitor, **overrides: Any) -> Monitor:
    Monitor.objects.filter(pk=monitor.pk).update(next_check_at=None)
    response = client.post(
        reverse("dashboard:monitor_edit", args=[monitor.pk]),
        _form(monitor, **overrides),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    monitor.refresh_from_db()
    return monitor


# --- status page selection -----------------------------------------------------------


def test_the_status_page_lists_only_monitors_chosen_for_it(
    client, project, make_monitor
) -> None:
    project.status_page_enabled = True
    project.status_page_show_details = True
    project.save()
    make_monitor(name="Public shop")
    hidden = make_monitor(name="Internal admin", show_on_status_page=False)
    make_monitor(name="Paused thing", enabled=False)
    add_incident(hidden, timezone.now(), None, "admin backend refused")
    body = client.get(reverse("dashboard:status_page", args=[project.slug]))
    text = body.content.decode()
    assert "Public shop" in text
    assert "Internal admin" not in text
    assert "admin backend refused" not in text
    assert "Paused thing" not in text


def test_a_new_monitor_is_on_the_status_page_by_default(make_monitor) -> None:
    assert make_monitor().show_on_status_page is True


def test_the_edit_form_turns_the_status_page_flag_off_and_on(
    owner_client, make_monitor
) -> None:
    monitor = make_monitor()
    page = owner_client.get(reverse("dashboard:monitor_edit", args=[monitor.pk]))
    assert 'name="show_on_status_page"' in page.content.decode()
    # An unchecked box is not posted at all.
    monitor = _edit(owner_client, monitor, show_on_status_page=None)
    assert monitor.show_on_status_page is False
    monitor = _edit(owner_client, monitor, show_on_status_page="on")
    assert monitor.show_on_status_page is True


def test_the_api_reads_and_writes_the_status_page_flag(api, project) -> None:
    created = api.post(
        "/api/monitors/",
        {"name": "Shop", "url": "https://shop.example/"},
        format="json",
    )
    assert created.status_code == 201, created.json()
    assert created.json()["show_on_status_page"] is True
    pk = created.json()["id"]
    resp = api.patch(
        f"/api/monitors/{pk}/", {"show_on_status_page": False}, format="json"
    )
    assert resp.status_code == 200
    assert resp.json()["show_on_status_page"] is False
    assert Monitor.objects.get(pk=pk).show_on_status_page is False
    # A form-encoded PATCH that leaves it out keeps it.
    resp = api.patch(f"/api/monitors/{pk}/", {"name": "Shop 2"})
    assert resp.status_code == 200
    assert resp.json()["show_on_status_page"] is False
    bad = api.patch(
        f"/api/monitors/{pk}/", {"show_on_status_page": "maybe"}, format="json"
    )
    assert bad.status_code == 400
    assert "show_on_status_page" in bad.json()


# --- re-check on edit ------------------------------------------------------------------


@pytest.mark.parametrize(
    "overrides",
    [
        {"url": "https://new.example/"},
        {"interval_seconds": "120"},
        {"kind": "tcp", "url": "tcp://shop.example:443"},
        {"http_method": "HEAD"},
        {"keyword": "Welcome"},
        {"verify_tls": None},
        {"accepted_status_codes": "200-299,301"},
        {"timeout_seconds": "3"},
    ],
)
def test_an_edit_of_what_is_checked_checks_at_once(
    owner_client, make_monitor, overrides
) -> None:
    monitor = _edit(owner_client, make_monitor(), **overrides)
    assert monitor.next_check_at is not None


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"name": "Renamed"},
        {"failure_threshold": "5"},
        {"recovery_threshold": "2"},
        {"show_on_status_page": None},
        # The password box is write-only: empty means "keep the stored one".
        {"auth_password": ""},
    ],
)
def test_an_edit_that_leaves_the_check_alone_does_not_recheck(
    owner_client, make_monitor, overrides
) -> None:
    monitor = make_monitor(auth_username="u", auth_password="secret")
    monitor = _edit(owner_client, monitor, auth_username="u", **overrides)
    assert monitor.next_check_at is None
    assert monitor.auth_password == "secret"
