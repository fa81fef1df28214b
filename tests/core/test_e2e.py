"""End to end as the Procfile runs it: celery beat with its database
scheduler, the dispatch worker on the ``dispatch`` queue, one check
worker per region queue, and a loopback target that goes 200 -> 500 -> 200."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import pytest
from django_celery_beat.models import PeriodicTask

from monitors.models import Incident, Monitor, Tick
from monitors.runner import check_phase
from tests.e2e_support import (
    celery_beat,
    celery_dispatcher,
    celery_worker,
    purge_broker,
    wait_for,
)
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
        # Beat dispatches once a second and a dispatch claims one slot per
        # monitor: a 2 s grid lets the batches get ahead of their slots, as
        # they do at real intervals; on a 1 s grid they never catch up.
        interval_seconds=2,
        timeout_seconds=0.5,
        failure_threshold=2,
        recovery_threshold=1,
        regions=[eu, us],
    )
    Monitor.objects.filter(pk=monitor.pk).update(next_check_at=monitor.created_at)
    purge_broker()
    try:
        with (
            celery_dispatcher(log_path=tmp_path / "dispatch.log"),
            celery_worker(["checks.eu"], log_path=tmp_path / "eu.log"),
            celery_worker(["checks.us"], log_path=tmp_path / "us.log"),
            celery_beat(log_path=tmp_path / "beat.log"),
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

    # Beat took the dispatcher's schedule from the settings into its database
    # scheduler; nothing else dispatches in this test, so the ticks below are
    # its runs. (Its run counter is written only when beat syncs, which a
    # loaded machine may not reach before the test stops it.)
    dispatch = PeriodicTask.objects.get(name="dispatch-due-monitors")
    assert dispatch.task == "monitors.dispatch_due"
    assert Incident.objects.filter(monitor=monitor).count() == 1
    monitor.refresh_from_db()
    assert monitor.status == "up"
    ticks = Tick.objects.filter(monitor=monitor)
    # Ticks from each region, never two for one slot, and on the 2 s grid.
    assert {t.region.code for t in ticks.select_related("region")} == {"eu", "us"}
    for region in (eu, us):
        slots = list(
            ticks.filter(region=region)
            .order_by("scheduled_at")
            .values_list("scheduled_at", flat=True)
        )
        assert len(slots) == len(set(slots))
        assert all(s.microsecond == 0 for s in slots[1:])
        assert all((b - a).total_seconds() % 2 == 0 for a, b in pairwise(slots[1:]))
    down = ticks.filter(status="down")
    assert down.exists() and all(t.error == "http_status" for t in down)
    # Checks start on their slot at the monitor's own phase in its second,
    # not up to a second late.
    phase = check_phase(monitor.pk)
    lateness = sorted(
        (t.checked_at - t.scheduled_at).total_seconds() - phase for t in ticks.all()[1:]
    )
    assert lateness[0] > -0.05
    assert lateness[len(lateness) // 2] < 0.25
