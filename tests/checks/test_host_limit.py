"""Many monitors aimed at one host never make a burst against it."""

from __future__ import annotations

import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler

from django.utils import timezone

from monitors import runner
from monitors.models import Region, Tick
from tests.targets import Target


def test_it_caps_checks_in_flight_to_one_host_and_still_checks_all(
    allow_private: None, settings, make_monitor, regions: list[Region], target: Target
) -> None:
    settings.UPTIME_MAX_CHECKS_PER_HOST = 4
    lock = threading.Lock()
    in_flight = {"now": 0, "most": 0}
    # Each request is held until four are in flight at once, so the count
    # does not depend on how fast this machine is; with a lower cap they
    # would wait in vain and "most" would stay below four.
    full = threading.Event()

    def slow(h: BaseHTTPRequestHandler) -> None:
        with lock:
            in_flight["now"] += 1
            in_flight["most"] = max(in_flight["most"], in_flight["now"])
            if in_flight["now"] >= 4:
                full.set()
        full.wait(3)
        with lock:
            in_flight["now"] -= 1
        h.send_response(200)
        h.send_header("Content-Length", "2")
        h.end_headers()
        h.wfile.write(b"ok")

    target.routes["/"] = slow
    monitors = [
        make_monitor(name=f"m{i}", url=target.url("/"), regions=regions[:1])
        for i in range(16)
    ]
    at = timezone.now().replace(microsecond=0) - timedelta(seconds=1)
    runner.run_checks(
        region_code=regions[0].code,
        scheduled_at=at,
        monitor_ids=[m.pk for m in monitors],
    )
    ticks = Tick.objects.filter(scheduled_at=at, region=regions[0])
    assert sorted(ticks.values_list("status", flat=True)) == ["up"] * 16
    assert in_flight["most"] == 4


def test_the_host_of_each_kind_is_where_its_traffic_goes() -> None:
    from monitors.checks.base import CheckSpec

    assert runner.target_host(CheckSpec("http", "https://Shop.Example:8443/x", 5)) == (
        "shop.example"
    )
    assert runner.target_host(CheckSpec("tcp", "tcp://db.example:5432", 5)) == (
        "db.example"
    )
    dns = CheckSpec("dns", "example.com", 5, {"resolver": "192.0.2.53:53"})
    assert runner.target_host(dns) == "192.0.2.53"
    dns6 = CheckSpec("dns", "example.com", 5, {"resolver": "2606:4700::1111"})
    assert runner.target_host(dns6) == "2606:4700::1111"
    assert runner.target_host(CheckSpec("dns", "example.com", 5)) == ""
    assert runner.target_host(CheckSpec("heartbeat", "", 5)) == ""
