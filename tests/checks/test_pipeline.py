"""Check kinds through the worker: ticks, evidence, incidents, signals."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest
import trustme
from django.test import Client
from django.utils import timezone

from monitors import runner
from monitors.models import Incident, IncidentStatus, Monitor, Region, Tick
from monitors.signals import (
    certificate_expiring,
    monitor_degraded,
    monitor_degraded_recovered,
)
from tests.targets import Listener, Target, respond

from .servers import DnsServer, tls_target


def slot(offset_seconds: int = 0) -> datetime:
    base = timezone.now().replace(microsecond=0) - timedelta(seconds=1)
    return base + timedelta(seconds=offset_seconds)


def run(monitor: Monitor, region: Region, at: datetime) -> Tick:
    runner.run_checks(
        region_code=region.code, scheduled_at=at, monitor_ids=[monitor.pk]
    )
    return Tick.objects.get(monitor=monitor, region=region, scheduled_at=at)


@pytest.fixture
def captured() -> Iterator[list[dict[str, Any]]]:
    seen: list[dict[str, Any]] = []

    def receiver(sender: Any, **kwargs: Any) -> None:
        seen.append(kwargs)

    certificate_expiring.connect(receiver)
    yield seen
    certificate_expiring.disconnect(receiver)


def test_a_failing_http_tick_keeps_its_evidence_and_the_incident_shows_it(
    allow_private: None, make_monitor, regions: list[Region], target: Target
) -> None:
    target.routes["/"] = respond(500, b"<b>boom</b>", {"X-Trace": "t-1"})
    monitor = make_monitor(
        url=target.url("/"), failure_threshold=1, regions=regions[:1]
    )
    tick = run(monitor, regions[0], slot())
    assert (tick.status, tick.error, tick.status_code) == ("down", "http_status", 500)
    assert tick.details is not None
    assert tick.details["body"] == "<b>boom</b>"
    assert tick.details["headers"]["X-Trace"] == "t-1"
    assert tick.details["resolved_ip"] == "127.0.0.1"
    incident = Incident.objects.get(monitor=monitor, status=IncidentStatus.OPEN)
    assert incident.cause.startswith("http_status")
    assert incident.details["evidence"]["body"] == "<b>boom</b>"
    assert incident.details["evidence"]["timings"]["total_ms"] is not None


def test_tcp_and_dns_monitors_run_through_the_worker(
    allow_private: None, make_monitor, regions: list[Region]
) -> None:
    listener = Listener()
    dns_server = DnsServer()
    dns_server.records[("api.test", "A")] = ["192.0.2.1"]
    try:
        tcp = make_monitor(
            kind="tcp", url=f"tcp://127.0.0.1:{listener.port}", regions=regions[:1]
        )
        dns = make_monitor(
            kind="dns",
            url="api.test",
            dns_record_type="A",
            dns_expected="192.0.2.2",
            dns_resolver=dns_server.address,
            regions=regions[:1],
        )
        at = slot()
        runner.run_checks(
            region_code=regions[0].code, scheduled_at=at, monitor_ids=[tcp.pk, dns.pk]
        )
    finally:
        listener.close()
        dns_server.close()
    tcp_tick = Tick.objects.get(monitor=tcp)
    dns_tick = Tick.objects.get(monitor=dns)
    assert tcp_tick.status == "up"
    assert (dns_tick.status, dns_tick.error) == ("down", "assertion")
    assert dns_tick.details is not None
    assert dns_tick.details["records"] == ["192.0.2.1"]


def test_a_heartbeat_that_stops_opens_an_incident_and_a_ping_resolves_it(
    make_monitor, regions: list[Region]
) -> None:
    client = Client()
    monitor = make_monitor(
        kind="heartbeat",
        url="",
        interval_seconds=60,
        heartbeat_grace_seconds=30,
        failure_threshold=1,
        regions=regions[:1],
    )
    assert monitor.heartbeat_key
    assert monitor.ping_url.endswith(f"/ping/{monitor.heartbeat_key}/")
    assert client.get(f"/ping/{monitor.heartbeat_key}/").status_code == 200
    first = run(monitor, regions[0], slot(-120))
    assert first.status == "up"

    # The job stops: its last ping is now older than interval + grace.
    Monitor.objects.filter(pk=monitor.pk).update(
        last_ping_at=timezone.now() - timedelta(seconds=200)
    )
    missed = run(monitor, regions[0], slot(-60))
    assert (missed.status, missed.error) == ("down", "no_ping")
    assert "90 s" not in missed.message and "60 s interval" in missed.message
    assert missed.details is not None
    assert missed.details["last_ping_at"] is not None
    incident = Incident.objects.get(monitor=monitor, status=IncidentStatus.OPEN)
    assert incident.cause.startswith("no_ping")
    assert incident.details["evidence"]["expected_by"]

    # It pings again: the monitor is re-checked at once and recovers.
    before = timezone.now()
    assert client.post(f"/ping/{monitor.heartbeat_key}").status_code == 200
    monitor.refresh_from_db()
    assert monitor.next_check_at is not None and monitor.next_check_at >= before
    assert run(monitor, regions[0], slot()).status == "up"
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.RESOLVED


def test_a_heartbeat_never_pinged_goes_down_after_interval_and_grace(
    make_monitor, regions: list[Region]
) -> None:
    monitor = make_monitor(
        kind="heartbeat",
        url="",
        interval_seconds=60,
        heartbeat_grace_seconds=0,
        regions=regions[:1],
    )
    assert run(monitor, regions[0], slot(-10)).status == "up"
    Monitor.objects.filter(pk=monitor.pk).update(
        created_at=timezone.now() - timedelta(minutes=5)
    )
    tick = run(monitor, regions[0], slot())
    assert (tick.status, tick.error) == ("down", "no_ping")
    assert "No ping received yet" in tick.message


def test_the_ping_url_takes_get_post_and_head_and_nothing_else(
    make_monitor, regions: list[Region]
) -> None:
    client = Client(enforce_csrf_checks=True)
    monitor = make_monitor(kind="heartbeat", url="", regions=regions[:1])
    key = monitor.heartbeat_key
    assert client.get(f"/ping/{key}/").content == b"OK\n"
    assert (
        client.post(f"/ping/{key}/", data=b"log", content_type="text/plain").status_code
        == 200
    )
    assert client.head(f"/ping/{key}").status_code == 200
    assert client.put(f"/ping/{key}/").status_code == 405
    assert client.get("/ping/" + "x" * 40 + "/").status_code == 404
    assert client.get("/ping/<script>/").status_code == 404
    monitor.refresh_from_db()
    assert monitor.last_ping_at is not None
    other = make_monitor(name="web", regions=regions[:1])
    assert other.heartbeat_key is None and other.ping_url == ""


@pytest.fixture
def ca() -> trustme.CA:
    return trustme.CA()


def _cert_monitor(make_monitor, server: Target, regions: list[Region]) -> Monitor:
    return make_monitor(url=server.url("/"), regions=regions[:1])


def test_certificate_expiring_is_announced_once_per_threshold(
    allow_private: None,
    settings,
    make_monitor,
    regions: list[Region],
    ca: trustme.CA,
    tmp_path,
    captured: list[dict[str, Any]],
) -> None:
    ca_path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_path))
    settings.UPTIME_EXTRA_CA_FILE = str(ca_path)
    region = regions[0]

    soon = tls_target(ca, not_after=datetime.now(UTC) + timedelta(days=10, hours=1))
    try:
        monitor = _cert_monitor(make_monitor, soon, regions)
        assert run(monitor, region, slot(-300)).status == "up"
        assert run(monitor, region, slot(-240)).status == "up"
    finally:
        soon.close()
    assert [c["days_left"] for c in captured] == [10]
    assert captured[0]["monitor"].pk == monitor.pk
    monitor.refresh_from_db()
    assert monitor.cert_notified_days == 14
    assert "trustme" in monitor.cert_issuer
    assert abs((monitor.cert_expires_at - captured[0]["not_after"]).total_seconds()) < 1

    # Five days left, on the same URL: the 7-day threshold, once.
    five = tls_target(ca, not_after=datetime.now(UTC) + timedelta(days=5, hours=1))
    try:
        Monitor.objects.filter(pk=monitor.pk).update(url=five.url("/"))
        run(monitor, region, slot(-180))
        run(monitor, region, slot(-120))
    finally:
        five.close()
    assert [c["days_left"] for c in captured] == [10, 5]

    # Renewed: the state resets, nothing is announced.
    renewed = tls_target(ca, not_after=datetime.now(UTC) + timedelta(days=90))
    try:
        Monitor.objects.filter(pk=monitor.pk).update(url=renewed.url("/"))
        run(monitor, region, slot(-60))
    finally:
        renewed.close()
    monitor.refresh_from_db()
    assert monitor.cert_notified_days is None
    assert len(captured) == 2


def test_an_expired_certificate_is_down_tls_and_announced(
    allow_private: None,
    settings,
    make_monitor,
    regions: list[Region],
    ca: trustme.CA,
    tmp_path,
    captured: list[dict[str, Any]],
) -> None:
    ca_path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_path))
    settings.UPTIME_EXTRA_CA_FILE = str(ca_path)
    expired = tls_target(ca, not_after=datetime.now(UTC) - timedelta(days=2))
    try:
        monitor = _cert_monitor(make_monitor, expired, regions)
        tick = run(monitor, regions[0], slot())
    finally:
        expired.close()
    assert (tick.status, tick.error) == ("down", "tls")
    assert tick.details is not None
    assert tick.details["certificate"]["not_after"]
    assert [c["days_left"] for c in captured] == [-2]


def test_degraded_ticks_count_as_up_and_are_announced_on_their_own(
    allow_private: None, make_monitor, regions: list[Region], target: Target
) -> None:
    delay = {"s": 0.25}

    def maybe_slow(h: BaseHTTPRequestHandler) -> None:
        time.sleep(delay["s"])
        respond(200, b"ok")(h)

    target.routes["/"] = maybe_slow
    events: list[str] = []

    def on_degraded(sender: Any, **kw: Any) -> None:
        events.append("degraded")

    def on_recovered(sender: Any, **kw: Any) -> None:
        events.append("recovered")

    monitor_degraded.connect(on_degraded)
    monitor_degraded_recovered.connect(on_recovered)
    try:
        monitor = make_monitor(
            url=target.url("/"),
            degraded_threshold_ms=100,
            failure_threshold=1,
            regions=regions[:1],
        )
        assert run(monitor, regions[0], slot(-120)).status == "degraded"
        assert run(monitor, regions[0], slot(-60)).status == "degraded"
        delay["s"] = 0
        assert run(monitor, regions[0], slot()).status == "up"
    finally:
        monitor_degraded.disconnect(on_degraded)
        monitor_degraded_recovered.disconnect(on_recovered)
    assert events == ["degraded", "recovered"]
    assert not Incident.objects.filter(monitor=monitor).exists()
    monitor.refresh_from_db()
    assert monitor.status == "up"
