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

    def buggy(*, monitors: Any, now: Any, **kwargs: Any) -> set[int]:
        # A bug that only one monitor's data triggers, after its tick row
        # was inserted: the whole recording transaction fails.
        if any(m.pk == bad.pk for m in monitors):
            raise RuntimeError("a bug")
        return real(monitors=monitors, now=now, **kwargs)

    monkeypatch.setattr(services, "incidents_evaluate", buggy)
    at = timezone.now().replace(microsecond=0) - timedelta(seconds=1)
    runner.run_checks(
        region_code=regions[0].code, scheduled_at=at, monitor_ids=[good.pk, bad.pk]
    )
    assert Tick.objects.get(monitor=good, scheduled_at=at).status == "up"
    assert not Tick.objects.filter(monitor=bad, scheduled_at=at).exists()
    assert f"monitor {bad.pk}: no tick stored" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_results_that_outlive_the_retry_wait_are_stored_by_the_next_batch(
    allow_private: None,
    make_monitor,
    regions: list[Region],
    target: Target,
    proxied_database: PgProxy,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(runner, "STORE_RETRY_SECONDS", 0.5)
    restored = threading.Event()

    def cut_for_a_while(h: BaseHTTPRequestHandler) -> None:
        # Longer than the batch waits for the database.
        proxied_database.sever()

        def restore() -> None:
            proxied_database.restore()
            restored.set()

        threading.Timer(2.5, restore).start()
        respond(200)(h)

    target.routes["/"] = cut_for_a_while
    target.routes["/later"] = respond(200)
    first = make_monitor(name="first", url=target.url("/"), regions=regions[:1])
    second = make_monitor(name="second", url=target.url("/later"), regions=regions[:1])
    at = timezone.now().replace(microsecond=0) - timedelta(seconds=2)
    stored = runner.run_checks(
        region_code=regions[0].code, scheduled_at=at, monitor_ids=[first.pk]
    )
    assert stored == 0  # the batch gave up waiting; its result is kept
    assert restored.wait(10)

    later = at + timedelta(seconds=1)
    runner.run_checks(
        region_code=regions[0].code, scheduled_at=later, monitor_ids=[second.pk]
    )
    assert Tick.objects.get(monitor=first, scheduled_at=at).status == "up"
    assert Tick.objects.get(monitor=second, scheduled_at=later).status == "up"
    assert not runner._unstored.items
