"""The runner never drops a batch's results on a storage fault.

The database outage is real: the test's connection goes through a loopback
proxy to PostgreSQL that the test cuts while the batch is running.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest
from django.utils import timezone

from monitors import runner, services
from monitors.models import Region, Tick
from tests.faults import PgProxy
from tests.targets import Target, respond


@pytest.mark.django_db(transaction=True)
def test_results_wait_out_a_database_outage_and_are_stored(
    allow_private: None,
    make_monitor,
    regions: list[Region],
    target: Target,
    proxied_database: PgProxy,
) -> None:
    def cut_then_answer(h: BaseHTTPRequestHandler) -> None:
        # The database goes away while the check is in flight and comes
        # back after a few flushes have failed.
        proxied_database.sever()
        threading.Timer(1.5, proxied_database.restore).start()
        h.send_response(200)
        h.send_header("Content-Length", "2")
        h.end_headers()
        h.wfile.write(b"ok")

    target.routes["/"] = cut_then_answer
    monitor = make_monitor(url=target.url("/"), regions=regions[:1])
    at = timezone.now().replace(microsecond=0) - timedelta(seconds=1)
    stored = runner.run_checks(
        region_code=regions[0].code, scheduled_at=at, monitor_ids=[monitor.pk]
    )
    assert stored == 1
    tick = Tick.objects.get(monitor=monitor, scheduled_at=at)
    assert tick.status == "up"


def test_a_result_that_breaks_recording_costs_only_its_own_tick(
    allow_private: None,
    make_monitor,
    regions: list[Region],
    target: Target,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    target.routes["/"] = respond(200)
    good = make_monitor(name="good", url=target.url("/"), regions=regions[:1])
    bad = make_monitor(name="bad", url=target.url("/"), regions=regions[:1])
    real = services.incidents_evaluate

    def buggy(*, monitors: Any, now: Any) -> set[int]:
        # A bug that only one monitor's data triggers, after its tick row
        # was inserted: the whole recording transaction fails.
        if any(m.pk == bad.pk for m in monitors):
            raise RuntimeError("a bug")
        return real(monitors=monitors, now=now)

    monkeypatch.setattr(services, "incidents_evaluate", buggy)
    at = timezone.now().replace(microsecond=0) - timedelta(seconds=1)
    runner.run_checks(
        region_code=regions[0].code, scheduled_at=at, monitor_ids=[good.pk, bad.pk]
    )
    assert Tick.objects.get(monitor=good, scheduled_at=at).status == "up"
    assert not Tick.objects.filter(monitor=bad, scheduled_at=at).exists()
    assert f"monitor {bad.pk}: no tick stored" in caplog.text
