"""Check kinds on the monitor page, the tick evidence page, incident evidence."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from monitors.dashboard.context import CACHE_KEY
from monitors.models import Monitor, Project, Tick
from monitors.tickslots import slot_text

from .conftest import add_incident, add_ticks

pytestmark = pytest.mark.django_db

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
SCRIPT_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
IMG_ESCAPED = "&lt;img src=x onerror=alert(1)&gt;"


def _hostile_details(header_count: int = 3) -> dict[str, Any]:
    headers = {f"X-Extra-{i}": f"value {i}" for i in range(header_count)}
    headers["X-Evil"] = IMG
    headers[SCRIPT] = "name"
    return {
        "error": "http_status",
        "resolved_ip": "203.0.113.7",
        "timings": {
            "dns_ms": 1.5,
            "connect_ms": 2.25,
            "tls_ms": 10.0,
            "first_byte_ms": 40.0,
            "total_ms": 42.0,
        },
        "status_code": 503,
        "headers": headers,
        "body": f"<html><body>{SCRIPT}{IMG}</body></html>",
        "body_bytes_read": 4096,
        "certificate": {
            "subject": f"CN={IMG}",
            "issuer": "CN=Test CA,O=Example Trust",
            "not_before": "2026-01-01T00:00:00+00:00",
            "not_after": "2030-01-01T00:00:00+00:00",
            "serial": "abc",
            "dns_names": ["shop.example", SCRIPT],
            "self_signed": False,
        },
        "resolver": SCRIPT,
    }


def _failing_tick(monitor: Monitor, region: Any, **details: Any) -> Tick:
    tick = add_ticks(
        monitor,
        region,
        start=timezone.now() - timedelta(minutes=1),
        count=1,
        status="down",
        error="http_status",
        message=f"HTTP 503 {IMG}",
    )[0]
    tick.details = details or _hostile_details()
    tick.status_code = 503
    tick.save(update_fields=["details", "status_code"])
    return tick


def _tick_url(tick: Tick) -> str:
    """As the monitor page links it: with the slot (``?at=``)."""
    url = reverse("dashboard:tick", args=[tick.monitor_id, tick.pk])
    return f"{url}?at={slot_text(tick.scheduled_at)}"


def _assert_escaped(body: str) -> None:
    assert SCRIPT not in body
    assert IMG not in body
    assert SCRIPT_ESCAPED in body
    assert IMG_ESCAPED in body


# --- monitor page ------------------------------------------------------------------


def test_the_monitor_page_shows_a_heartbeats_absolute_ping_url_and_last_ping(
    owner_client, make_monitor, regions, settings
) -> None:
    settings.SITE_URL = "https://uptime.example"
    monitor = make_monitor(kind="heartbeat", url="", regions=regions[:1])
    pinged = timezone.now() - timedelta(minutes=3)
    Monitor.objects.filter(pk=monitor.pk).update(last_ping_at=pinged)
    body = owner_client.get(monitor.get_absolute_url()).content.decode()
    ping_url = f"https://uptime.example/ping/{monitor.heartbeat_key}/"
    assert '<span class="kind-label">Heartbeat</span>' in body
    assert f'value="{ping_url}"' in body
    assert f"<code>curl -fsS --retry 3 {ping_url}</code>" in body
    assert f'datetime="{pinged.isoformat(timespec="seconds")[:19]}' in body
    assert "Last ping: never" not in body


def test_a_heartbeat_that_never_pinged_says_so(owner_client, make_monitor, regions):
    monitor = make_monitor(kind="heartbeat", url="", regions=regions[:1])
    body = owner_client.get(monitor.get_absolute_url()).content.decode()
    assert "Last ping: never" in body


def test_the_monitor_page_shows_the_certificate_expiry_days_left_and_issuer(
    owner_client, make_monitor
) -> None:
    expires = timezone.now() + timedelta(days=12, hours=3)
    monitor = make_monitor(
        cert_expires_at=expires, cert_issuer=f"CN=R3,O=Let's Encrypt {IMG}"
    )
    body = owner_client.get(monitor.get_absolute_url()).content.decode()
    assert '<span class="kind-label">HTTP(S)</span>' in body
    assert "TLS certificate" in body
    assert expires.strftime("%b %-d, %Y") in body
    assert "(12 days left)" in body
    assert "CN=R3,O=Let&#x27;s Encrypt " + IMG_ESCAPED in body
    assert IMG not in body


def test_a_tcp_monitor_shows_its_kind_and_no_certificate_or_ping_url(
    owner_client, make_monitor
) -> None:
    monitor = make_monitor(kind="tcp", url="tcp://db.example:5432")
    body = owner_client.get(monitor.get_absolute_url()).content.decode()
    assert '<span class="kind-label">TCP port</span>' in body
    assert "TLS certificate" not in body
    assert "Ping URL" not in body


def test_latest_checks_link_failing_and_degraded_ticks_to_their_evidence(
    owner_client, make_monitor, regions
) -> None:
    monitor = make_monitor()
    now = timezone.now()
    up = add_ticks(monitor, regions[0], start=now - timedelta(minutes=5), count=1)[0]
    down = _failing_tick(monitor, regions[1])
    slow = add_ticks(
        monitor,
        regions[2],
        start=now - timedelta(minutes=2),
        count=1,
        status="degraded",
        ms=5000,
    )[0]
    body = owner_client.get(monitor.get_absolute_url()).content.decode()
    assert f'href="{_tick_url(down)}"' in body
    assert f'href="{_tick_url(slow)}"' in body
    assert f'href="{_tick_url(up)}"' not in body
    # The list does not print evidence: that is the tick page's job.
    assert "203.0.113.7" not in body


# --- tick evidence page ------------------------------------------------------------


def test_the_tick_page_shows_the_evidence_escaped(
    owner_client, make_monitor, regions
) -> None:
    monitor = make_monitor()
    tick = _failing_tick(monitor, regions[0])
    response = owner_client.get(_tick_url(tick))
    assert response.status_code == 200
    body = response.content.decode()
    _assert_escaped(body)
    assert regions[0].code in body
    assert tick.scheduled_at.isoformat(timespec="seconds")[:19] in body
    assert "<code>http_status</code>" in body
    assert f"HTTP 503 {IMG_ESCAPED}" in body
    assert "<code>203.0.113.7</code>" in body
    assert "2.2 ms" in body or "2.3 ms" in body
    assert "42.0 ms" in body
    assert "<td><code>" + IMG_ESCAPED + "</code></td>" in body
    assert '<th scope="row"><code>' + SCRIPT_ESCAPED + "</code></th>" in body
    assert (
        '<pre class="snippet evidence-body">&lt;html&gt;&lt;body&gt;'
        + SCRIPT_ESCAPED
        + IMG_ESCAPED
        in body
    )
    assert "CN=Test CA,O=Example Trust" in body
    assert "Jan 1, 2030" in body
    assert "days left" in body


def test_a_tick_without_evidence_says_so(owner_client, make_monitor, regions) -> None:
    monitor = make_monitor()
    tick = add_ticks(monitor, regions[0], start=timezone.now(), count=1, status="down")[
        0
    ]
    body = owner_client.get(_tick_url(tick)).content.decode()
    assert "No evidence was recorded" in body


def test_the_tick_page_is_scoped_to_the_users_projects(
    owner_client, teammate_client, outsider_client, make_monitor, regions
) -> None:
    mine = make_monitor()
    other = make_monitor(name="Other")
    tick = _failing_tick(mine, regions[0])
    assert teammate_client.get(_tick_url(tick)).status_code == 200
    assert outsider_client.get(_tick_url(tick)).status_code == 404
    # A tick id under another monitor's address is not found either.
    wrong = reverse("dashboard:tick", args=[other.pk, tick.pk])
    assert owner_client.get(wrong).status_code == 404
    missing = reverse("dashboard:tick", args=[mine.pk, tick.pk + 1000])
    assert owner_client.get(missing).status_code == 404


def test_another_projects_tick_is_a_404_for_the_owner(
    owner_client, outsider: User, regions
) -> None:
    theirs = Project.objects.get(owner=outsider)
    monitor = Monitor.objects.create(
        project=theirs, name="Theirs", url="https://theirs.example/"
    )
    tick = _failing_tick(monitor, regions[0])
    assert owner_client.get(_tick_url(tick)).status_code == 404


def test_the_tick_page_needs_a_login(make_monitor, regions) -> None:
    tick = _failing_tick(make_monitor(), regions[0])
    response = Client().get(_tick_url(tick))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_the_tick_page_runs_a_fixed_number_of_queries(
    owner_client, make_monitor, regions, django_assert_max_num_queries
) -> None:
    monitor = make_monitor()
    small = _failing_tick(monitor, regions[0], **_hostile_details(1))
    big = _failing_tick(monitor, regions[1], **_hostile_details(45))

    def count(tick: Tick) -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert owner_client.get(_tick_url(tick)).status_code == 200
        return len(ctx.captured_queries)

    cache.set(CACHE_KEY, [], 60)  # the pipeline banner: one query per few seconds
    assert count(small) == count(big)
    with django_assert_max_num_queries(6):
        owner_client.get(_tick_url(big))


# --- incident page -----------------------------------------------------------------


def test_the_incident_page_shows_the_opening_ticks_evidence_escaped(
    owner_client, make_monitor
) -> None:
    monitor = make_monitor()
    incident = add_incident(monitor, timezone.now() - timedelta(minutes=5), None)
    incident.details = {"error": "http_status", "evidence": _hostile_details()}
    incident.save(update_fields=["details"])
    body = owner_client.get(incident.get_absolute_url()).content.decode()
    assert "Evidence" in body
    assert "<code>203.0.113.7</code>" in body
    _assert_escaped(body)


def test_an_incident_without_evidence_has_no_evidence_section(
    owner_client, make_monitor
) -> None:
    incident = add_incident(make_monitor(), timezone.now(), None, "timeout")
    body = owner_client.get(incident.get_absolute_url()).content.decode()
    assert 'id="evidence-h"' not in body
