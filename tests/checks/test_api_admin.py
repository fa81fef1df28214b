"""Check options in the API and the admin: field errors, write-only
password, the tick detail endpoint, escaped evidence."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from monitors.models import Monitor, Region, Tick

HTTP_OPTIONS: dict[str, Any] = {
    "name": "API",
    "url": "https://93.184.215.14/health",
    "kind": "http",
    "http_method": "POST",
    "http_headers": {"X-Token": "abc"},
    "http_body": '{"probe": true}',
    "auth_username": "bot",
    "auth_password": "hunter2",
    "accepted_status_codes": "200-299,418",
    "follow_redirects": False,
    "max_redirects": 2,
    "verify_tls": False,
    "keyword": "ok",
    "keyword_mode": "present",
    "json_path": '$.status == "ok"',
    "degraded_threshold_ms": 800,
}


def test_http_options_round_trip_and_the_password_is_write_only(
    api: APIClient, regions: list[Region]
) -> None:
    created = api.post("/api/monitors/", HTTP_OPTIONS, format="json")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert "auth_password" not in body and "hunter2" not in created.content.decode()
    assert body["has_auth_password"] is True
    for key, value in HTTP_OPTIONS.items():
        if key != "auth_password":
            assert body[key] == value, key
    monitor = Monitor.objects.get(pk=body["id"])
    assert monitor.auth_password == "hunter2"

    patched = api.patch(
        f"/api/monitors/{monitor.pk}/", {"keyword": "healthy"}, format="json"
    )
    assert patched.status_code == 200
    monitor.refresh_from_db()
    assert (monitor.keyword, monitor.auth_password) == ("healthy", "hunter2")
    listed = api.get("/api/monitors/").content.decode()
    assert "hunter2" not in listed


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"accepted_status_codes": "2xx"}, "accepted_status_codes", "not a status"),
        ({"accepted_status_codes": "300-200"}, "accepted_status_codes", "backwards"),
        ({"json_path": "status == ok"}, "json_path", "Must start with $"),
        ({"json_path": "$.a == ok"}, "json_path", "not a JSON value"),
        ({"http_headers": {"Bad Name": "x"}}, "http_headers", "not a valid header"),
        ({"http_headers": {"X-A": "a\r\nB: c"}}, "http_headers", "one line"),
        ({"http_headers": ["x"]}, "http_headers", "as an object"),
        ({"http_headers": {"Content-Length": "1"}}, "http_headers", "set by"),
        ({"http_method": "GET", "http_body": "x"}, "http_body", "without a body"),
        ({"http_method": "HEAD", "keyword": "x", "json_path": ""}, "keyword", "HEAD"),
        ({"http_method": "TRACE"}, "http_method", "TRACE"),
        ({"max_redirects": 50}, "max_redirects", "20"),
        ({"url": "ftp://x.example/"}, "url", "http and https"),
        ({"url": "http://127.0.0.1/"}, "url", "private or reserved"),
        ({"url": ""}, "url", "required"),
        ({"kind": "smtp"}, "kind", "valid choice"),
        ({"degraded_threshold_ms": 0}, "degraded_threshold_ms", "greater than"),
    ],
)
def test_bad_http_options_are_a_400_naming_the_field(
    api: APIClient,
    regions: list[Region],
    changes: dict[str, Any],
    field: str,
    words: str,
) -> None:
    data = {**HTTP_OPTIONS, "http_method": "POST", **changes}
    response = api.post("/api/monitors/", data, format="json")
    assert response.status_code == 400, response.content
    errors = response.json()
    assert field in errors, errors
    assert words.lower() in str(errors[field]).lower(), errors


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        ({"kind": "tcp", "url": "db.example.com"}, "url", "port"),
        ({"kind": "tcp", "url": "tcp://127.0.0.1:5432"}, "url", "private"),
        ({"kind": "dns", "url": "203.0.113.9"}, "url", "not an IP"),
        ({"kind": "dns", "url": "bad..name"}, "url", "not a valid"),
        (
            {"kind": "dns", "url": "example.com", "dns_resolver": "dns.google"},
            "dns_resolver",
            "IP address",
        ),
        (
            {"kind": "dns", "url": "example.com", "dns_resolver": "10.0.0.2:53"},
            "dns_resolver",
            "private",
        ),
        (
            {"kind": "dns", "url": "example.com", "dns_record_type": "SRV"},
            "dns_record_type",
            "valid choice",
        ),
    ],
)
def test_bad_tcp_and_dns_targets_are_a_400_naming_the_field(
    api: APIClient, regions: list[Region], data: dict[str, Any], field: str, words: str
) -> None:
    response = api.post("/api/monitors/", {"name": "x", **data}, format="json")
    assert response.status_code == 400, response.content
    assert words.lower() in str(response.json()[field]).lower(), response.json()


def test_tcp_and_dns_targets_are_normalized(
    api: APIClient, regions: list[Region]
) -> None:
    tcp = api.post(
        "/api/monitors/",
        {"name": "db", "kind": "tcp", "url": "93.184.215.14:5432"},
        format="json",
    )
    assert tcp.status_code == 201, tcp.json()
    assert tcp.json()["url"] == "tcp://93.184.215.14:5432"
    dns = api.post(
        "/api/monitors/",
        {
            "name": "mx",
            "kind": "dns",
            "url": "Example.COM.",
            "dns_record_type": "MX",
            "dns_expected": "mail.example.com",
            "dns_resolver": "1.1.1.1",
        },
        format="json",
    )
    assert dns.status_code == 201, dns.json()
    assert (dns.json()["url"], dns.json()["dns_resolver"]) == (
        "example.com",
        "1.1.1.1:53",
    )


def test_a_heartbeat_needs_no_url_runs_in_one_region_and_shows_its_ping_url(
    api: APIClient, regions: list[Region]
) -> None:
    response = api.post(
        "/api/monitors/",
        {"name": "nightly backup", "kind": "heartbeat", "heartbeat_grace_seconds": 300},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    monitor = Monitor.objects.get(pk=body["id"])
    assert body["regions"] == [regions[0].code]
    assert body["failure_threshold"] == 1
    assert body["ping_url"].endswith(f"/ping/{monitor.heartbeat_key}/")
    assert Client().get(body["ping_url"].split("8000", 1)[1]).status_code == 200


def test_the_tick_detail_shows_evidence_to_members_only(
    api: APIClient,
    outsider_api: APIClient,
    make_monitor,
    regions: list[Region],
    teammate: User,
) -> None:
    monitor = make_monitor()
    other = make_monitor(name="other")
    now = timezone.now()
    tick = Tick.objects.create(
        monitor=monitor,
        region=regions[0],
        scheduled_at=now,
        checked_at=now,
        status="down",
        error="http_status",
        message="HTTP 500",
        status_code=500,
        details={"body": "<script>alert(1)</script>", "resolved_ip": "192.0.2.1"},
    )
    foreign = Tick.objects.create(
        monitor=other,
        region=regions[0],
        scheduled_at=now - timedelta(seconds=60),
        checked_at=now,
        status="up",
    )
    url = f"/api/monitors/{monitor.pk}/ticks/{tick.pk}/"
    response = api.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json()["details"]["body"] == "<script>alert(1)</script>"
    assert response.json()["id"] == tick.pk
    assert outsider_api.get(url).status_code == 404
    assert api.get(f"/api/monitors/{monitor.pk}/ticks/{foreign.pk}/").status_code == 404
    listed = api.get(f"/api/monitors/{monitor.pk}/ticks/").json()["results"]
    assert listed[0]["id"] == tick.pk and "details" not in listed[0]


@pytest.fixture
def admin_client(db) -> Client:
    User.objects.create_superuser("root", "root@example.com", "pw-root-123!")
    client = Client()
    client.login(username="root", password="pw-root-123!")
    return client


def test_the_admin_shows_evidence_escaped(
    admin_client: Client,
    make_monitor,
    regions: list[Region],
) -> None:
    monitor = make_monitor()
    now = timezone.now()
    tick = Tick.objects.create(
        monitor=monitor,
        region=regions[0],
        scheduled_at=now,
        checked_at=now,
        status="down",
        error="assertion",
        details={"body": "<script>alert('x')</script>"},
    )
    page = admin_client.get(f"/admin/monitors/tick/{tick.pk}/change/").content.decode()
    assert "&lt;script&gt;alert(" in page
    assert "<script>alert(" not in page


def test_the_admin_form_reports_option_errors_on_their_fields(
    admin_client: Client,
    make_monitor,
    regions: list[Region],
    project,
) -> None:
    monitor = make_monitor(
        url="https://93.184.215.14/", auth_username="bot", auth_password="hunter2"
    )
    page = admin_client.get(f"/admin/monitors/monitor/{monitor.pk}/change/")
    assert page.status_code == 200
    assert "hunter2" not in page.content.decode()
    data = {
        "project": project.pk,
        "name": "Shop",
        "kind": "http",
        "url": "https://93.184.215.14/",
        "enabled": "on",
        "interval_seconds": 60,
        "timeout_seconds": 5,
        "regions": [r.pk for r in regions],
        "failure_threshold": 3,
        "recovery_threshold": 1,
        "http_method": "GET",
        "http_headers": "{}",
        "accepted_status_codes": "abc",
        "max_redirects": 5,
        "keyword_mode": "present",
        "json_path": "$.x ==",
        "dns_record_type": "A",
        "heartbeat_grace_seconds": 60,
        "auth_username": "bot",
        "auth_password": "",
        "follow_redirects": "on",
        "verify_tls": "on",
    }
    bad = admin_client.post(f"/admin/monitors/monitor/{monitor.pk}/change/", data)
    assert bad.status_code == 200
    errors = bad.context["adminform"].form.errors
    assert "not a status code" in errors["accepted_status_codes"][0]
    assert "Nothing to compare" in errors["json_path"][0]
    data.update(accepted_status_codes="200-299", json_path="")
    good = admin_client.post(f"/admin/monitors/monitor/{monitor.pk}/change/", data)
    assert good.status_code == 302
    monitor.refresh_from_db()
    assert monitor.auth_password == "hunter2"  # empty means "keep"
    assert monitor.accepted_status_codes == "200-299"


def test_the_admin_keeps_a_heartbeat_in_one_region(
    admin_client: Client,
    regions: list[Region],
    project,
) -> None:
    data = {
        "project": project.pk,
        "name": "nightly",
        "kind": "heartbeat",
        "url": "",
        "enabled": "on",
        "interval_seconds": 3600,
        "timeout_seconds": 5,
        "regions": [r.pk for r in regions],
        "failure_threshold": 1,
        "recovery_threshold": 1,
        "http_method": "GET",
        "http_headers": "{}",
        "accepted_status_codes": "200-399",
        "max_redirects": 5,
        "keyword_mode": "present",
        "dns_record_type": "A",
        "heartbeat_grace_seconds": 120,
    }
    response = admin_client.post("/admin/monitors/monitor/add/", data)
    assert response.status_code == 302
    monitor = Monitor.objects.get(name="nightly")
    assert [r.code for r in monitor.regions.all()] == [regions[0].code]
    assert monitor.heartbeat_key
    page = admin_client.get(f"/admin/monitors/monitor/{monitor.pk}/change/")
    assert f"/ping/{monitor.heartbeat_key}/" in page.content.decode()
