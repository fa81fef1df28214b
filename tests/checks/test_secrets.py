"""A monitor's secrets: masked header values, round trips that keep them, and
a URL moved to another origin that drops them (API, dashboard, admin)."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from rest_framework.test import APIClient

from monitors.models import Monitor, Region
from monitors.secrets import secrets_kept_on_url_change
from tests.conftest import client_for
from tests.forms import form_data

SECRET = "sk_live_0123456789abcdef"


@pytest.mark.parametrize(
    ("old", "new", "kept"),
    [
        ("https://shop.example/health", "https://shop.example/other?x=1", True),
        ("https://shop.example/", "https://SHOP.example:443/", True),
        ("http://shop.example/", "http://shop.example:80/x", True),
        ("https://shop.example/", "http://shop.example/", False),
        ("https://shop.example/", "https://evil.example/", False),
        ("https://shop.example/", "https://shop.example.evil.example/", False),
        ("https://shop.example/", "https://shop.example:8443/", False),
        ("https://shop.example/", "https://user@evil.example/", False),
        ("https://shop.example/", "tcp://shop.example:443", False),
    ],
)
def test_it_keeps_secrets_only_on_the_same_origin(
    old: str, new: str, kept: bool
) -> None:
    assert secrets_kept_on_url_change(old, new) is kept


@pytest.fixture
def secret_monitor(make_monitor) -> Monitor:
    return make_monitor(
        url="https://93.184.215.14/health",
        http_headers={"X-Api-Key": SECRET, "Accept": "json"},
        auth_username="bot",
        auth_password="hunter2",
    )


def test_the_api_masks_header_values_but_echoes_what_was_just_sent(
    api: APIClient, regions: list[Region]
) -> None:
    created = api.post(
        "/api/monitors/",
        {
            "name": "API",
            "url": "https://93.184.215.14/",
            "http_headers": {"X-Api-Key": SECRET},
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    assert created.json()["http_headers"] == {"X-Api-Key": SECRET}
    pk = created.json()["id"]
    detail = api.get(f"/api/monitors/{pk}/")
    assert detail.json()["http_headers"] == {"X-Api-Key": "••••ef"}
    listed = api.get("/api/monitors/")
    assert SECRET not in detail.content.decode() + listed.content.decode()
    renamed = api.patch(f"/api/monitors/{pk}/", {"name": "B"}, format="json")
    assert SECRET not in renamed.content.decode()


def test_a_get_modify_put_round_trip_keeps_the_secrets(
    api: APIClient, secret_monitor: Monitor
) -> None:
    url = f"/api/monitors/{secret_monitor.pk}/"
    body: dict[str, Any] = api.get(url).json()
    assert body["http_headers"] == {"X-Api-Key": "••••ef", "Accept": "••••••••"}
    body["name"] = "Renamed"
    body["http_headers"]["X-Extra"] = "new"
    put = api.put(url, body, format="json")
    assert put.status_code == 200, put.json()
    assert put.json()["http_headers"]["X-Extra"] == "new"
    secret_monitor.refresh_from_db()
    assert secret_monitor.name == "Renamed"
    assert secret_monitor.http_headers == {
        "X-Api-Key": SECRET,
        "Accept": "json",
        "X-Extra": "new",
    }
    assert secret_monitor.auth_password == "hunter2"


def test_a_masked_value_that_stands_for_nothing_stored_is_refused(
    api: APIClient, secret_monitor: Monitor
) -> None:
    response = api.patch(
        f"/api/monitors/{secret_monitor.pk}/",
        {"http_headers": {"X-Other": "••••ef"}},
        format="json",
    )
    assert response.status_code == 400
    assert "masked" in response.json()["http_headers"][0]


def test_moving_the_url_to_another_origin_drops_the_secrets_in_the_api(
    api: APIClient, secret_monitor: Monitor
) -> None:
    url = f"/api/monitors/{secret_monitor.pk}/"
    same = api.patch(url, {"url": "https://93.184.215.14/other"}, format="json")
    assert same.status_code == 200, same.json()
    secret_monitor.refresh_from_db()
    assert secret_monitor.auth_password == "hunter2"
    assert secret_monitor.http_headers["X-Api-Key"] == SECRET

    body = api.get(url).json()
    body["url"] = "https://93.184.215.15/health"
    moved = api.put(url, body, format="json")
    assert moved.status_code == 200, moved.json()
    assert moved.json()["has_auth_password"] is False
    secret_monitor.refresh_from_db()
    assert secret_monitor.auth_password == ""
    assert secret_monitor.http_headers == {}


def test_secrets_sent_with_the_new_origin_are_kept(
    api: APIClient, secret_monitor: Monitor
) -> None:
    response = api.patch(
        f"/api/monitors/{secret_monitor.pk}/",
        {
            "url": "https://93.184.215.15/",
            "auth_password": "fresh",
            "http_headers": {"X-Api-Key": "other-key", "Accept": "••••••••"},
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    secret_monitor.refresh_from_db()
    assert secret_monitor.auth_password == "fresh"
    assert secret_monitor.http_headers == {"X-Api-Key": "other-key"}


def _edit_post(monitor: Monitor, regions: list[Region], **changes: Any) -> dict:
    data = form_data(
        regions,
        url=monitor.url,
        auth_username=monitor.auth_username,
        http_headers='{"X-Api-Key": "••••ef", "Accept": "••••••••"}',
    )
    data.update(changes)
    return data


def test_the_edit_form_shows_masked_headers_and_keeps_them_unchanged(
    owner: User, secret_monitor: Monitor, regions: list[Region]
) -> None:
    client = client_for(owner)
    page = client.get(f"/monitors/{secret_monitor.pk}/edit/").content.decode()
    assert SECRET not in page and "hunter2" not in page
    assert "••••ef" in page
    saved = client.post(
        f"/monitors/{secret_monitor.pk}/edit/",
        _edit_post(secret_monitor, regions, name="Renamed"),
    )
    assert saved.status_code == 302
    secret_monitor.refresh_from_db()
    assert secret_monitor.name == "Renamed"
    assert secret_monitor.http_headers == {"X-Api-Key": SECRET, "Accept": "json"}
    assert secret_monitor.auth_password == "hunter2"


def test_moving_the_url_to_another_origin_drops_the_secrets_in_the_dashboard(
    owner: User, secret_monitor: Monitor, regions: list[Region]
) -> None:
    client = client_for(owner)
    edit = f"/monitors/{secret_monitor.pk}/edit/"
    same = client.post(
        edit, _edit_post(secret_monitor, regions, url="https://93.184.215.14/x")
    )
    assert same.status_code == 302
    secret_monitor.refresh_from_db()
    assert secret_monitor.auth_password == "hunter2"
    assert secret_monitor.http_headers["X-Api-Key"] == SECRET

    moved = client.post(
        edit, _edit_post(secret_monitor, regions, url="https://93.184.215.15/")
    )
    assert moved.status_code == 302
    secret_monitor.refresh_from_db()
    assert secret_monitor.url == "https://93.184.215.15/"
    assert secret_monitor.auth_password == ""
    assert secret_monitor.http_headers == {}


def test_the_admin_masks_headers_and_drops_secrets_on_another_origin(
    admin_client: Client, secret_monitor: Monitor, regions: list[Region]
) -> None:
    change = f"/admin/monitors/monitor/{secret_monitor.pk}/change/"
    page = admin_client.get(change).content.decode()
    assert SECRET not in page
    data = {
        "project": secret_monitor.project_id,
        "name": "Shop",
        "kind": "http",
        "url": "https://93.184.215.14/health",
        "enabled": "on",
        "interval_seconds": 60,
        "timeout_seconds": 5,
        "regions": [r.pk for r in regions],
        "failure_threshold": 3,
        "recovery_threshold": 1,
        "http_method": "GET",
        "http_headers": '{"X-Api-Key": "••••ef", "Accept": "••••••••"}',
        "accepted_status_codes": "200-399",
        "max_redirects": 5,
        "keyword_mode": "present",
        "dns_record_type": "A",
        "heartbeat_grace_seconds": 60,
        "auth_username": "bot",
        "auth_password": "",
        "follow_redirects": "on",
        "verify_tls": "on",
    }
    assert admin_client.post(change, data).status_code == 302
    secret_monitor.refresh_from_db()
    assert secret_monitor.http_headers["X-Api-Key"] == SECRET
    assert secret_monitor.auth_password == "hunter2"
    data["url"] = "https://93.184.215.15/"
    assert admin_client.post(change, data).status_code == 302
    secret_monitor.refresh_from_db()
    assert (secret_monitor.auth_password, secret_monitor.http_headers) == ("", {})
