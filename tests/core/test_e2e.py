"""End to end: real Celery worker processes, one per region queue, the
dispatcher, and a loopback target that goes 200 -> 500 -> 200."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitors.models import Incident, Monitor, Tick
from tests.e2e_support import celery_worker, dispatcher_loop, purge_broker, wait_for
from tests.targets import Target, respond

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_site_that_fails_and_recovers_opens_and_resolves_one_incident(
    allow_private, make_monitor, regions, tmp_path: Path
) -> None:
    target = Target()
    state = {"code": 200}
    target.default = lambda h: respond(state["code"])(h)
    eu, us = (r for r in regions if r.code in ("eu", "us"))
    monitor: Monitor = make_monitor(
        url=target.url("/health"),
        interval_seconds=1,
        timeout_seconds=0.5,
        failure_threshold=2,
        recovery_threshold=1,
        regions=[eu, us],
    )
    Monitor.objects.filter(pk=monitor.pk).update(next_check_at=monitor.created_at)
    purge_broker()
    try:
        with (
            celery_worker(["checks.eu"], log_path=tmp_path / "eu.log"),
            celery_worker(["checks.us"], log_path=tmp_path / "us.log"),
            dispatcher_loop(),
        ):
            wait_for(
                lambda: (
                    {"eu", "us"}
                    <= set(monitor.ticks.values_list("region__code", flat=True))
                ),
                timeout=20,
            )
            assert not Incident.objects.exists()

            state["code"] = 500
            incident = wait_for(
                lambda: Incident.objects.filter(monitor=monitor, status="open").first(),
                timeout=20,
            )
            assert incident.cause.startswith("http_status")
            assert sorted(incident.details["regions"]) == ["eu", "us"]

            state["code"] = 200
            wait_for(
                lambda: Incident.objects.filter(
                    pk=incident.pk, status="resolved"
                ).exists(),
                timeout=20,
            )
    finally:
        target.close()

    assert Incident.objects.filter(monitor=monitor).count() == 1
    monitor.refresh_from_db()
    assert monitor.status == "up"
    ticks = Tick.objects.filter(monitor=monitor)
    # Ticks from each region, never two for one slot, and on the 1 s grid.
    assert {t.region.code for t in ticks.select_related("region")} == {"eu", "us"}
    for region in (eu, us):
        slots = list(
            ticks.filter(region=region)
            .order_by("scheduled_at")
            .values_list("scheduled_at", flat=True)
        )
        assert len(slots) == len(set(slots))
        assert all(s.microsecond == 0 for s in slots[1:])
    down = ticks.filter(status="down")
    assert down.exists() and all(t.error == "http_status" for t in down)
    # Checks start on their slot, not up to a second late.
    lateness = sorted(
        (t.checked_at - t.scheduled_at).total_seconds() for t in ticks.all()[1:]
    )
    assert lateness[len(lateness) // 2] < 0.25
