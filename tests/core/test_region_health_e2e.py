"""Two regions of three killed during an open incident, with real check
workers: the incident stays open while one region reports UP, one operator
message per dead region, and it resolves once when they come back."""

from __future__ import annotations

import json
from contextlib import ExitStack
from pathlib import Path

import pytest
from django.db import close_old_connections

from alerts.models import OperatorNotification
from alerts.services import operator_notification_deliver
from monitors.models import Incident, Monitor, RegionHealthEvent, WorkerHeartbeat
from monitors.regionhealth import monitor_coverage, regions_health_record
from tests.alerts.servers import Receiver
from tests.e2e_support import celery_worker, dispatcher_loop, purge_broker, wait_for
from tests.targets import Target, respond

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _recording(predicate, timeout: float):
    """Poll as beat would: record region health, then test the predicate."""

    def step():
        regions_health_record()
        return predicate()

    return wait_for(step, timeout=timeout, every=0.5)


def test_killing_two_regions_of_three_holds_the_incident_until_they_return(
    allow_private, make_monitor, regions, settings, tmp_path: Path
) -> None:
    settings.UPTIME_REGION_SILENT_SECONDS = 10
    operator = Receiver()
    settings.UPTIME_OPERATOR_WEBHOOK_URL = operator.url("/operator")
    target = Target()
    state = {"code": 500}
    target.default = lambda h: respond(state["code"])(h)
    monitor: Monitor = make_monitor(
        url=target.url("/health"),
        interval_seconds=2,
        timeout_seconds=0.5,
        failure_threshold=1,
        recovery_threshold=1,
        region_quorum=2,
        regions=regions,
    )
    Monitor.objects.filter(pk=monitor.pk).update(next_check_at=monitor.created_at)
    codes = sorted(r.code for r in regions)
    alive, *dead = codes
    purge_broker()
    try:
        with ExitStack() as stack, dispatcher_loop():
            workers = {
                code: stack.enter_context(
                    celery_worker([f"checks.{code}"], log_path=tmp_path / f"{code}.log")
                )
                for code in codes
            }
            wait_for(
                lambda: (
                    set(WorkerHeartbeat.objects.values_list("region__code", flat=True))
                    == set(codes)
                ),
                timeout=20,
            )
            incident = _recording(
                lambda: Incident.objects.filter(monitor=monitor, status="open").first(),
                timeout=30,
            )

            # Two regions' workers die; the target recovers; one region says UP.
            for code in dead:
                workers[code].kill()
                workers[code].wait(10)
            state["code"] = 200
            _recording(
                lambda: RegionHealthEvent.objects.filter(healthy=False).count() == 2,
                timeout=40,
            )
            # Some more UP ticks from the live region alone change nothing.
            seen = monitor.ticks.filter(region__code=alive).count()
            _recording(
                lambda: monitor.ticks.filter(region__code=alive).count() >= seen + 3,
                timeout=30,
            )
            incident.refresh_from_db()
            assert incident.status == "open"
            assert monitor_coverage(Monitor.objects.get(pk=monitor.pk)) == (
                "insufficient"
            )

            # They come back: heartbeats, healthy again, UP ticks: resolved.
            for code in dead:
                stack.enter_context(
                    celery_worker(
                        [f"checks.{code}"], log_path=tmp_path / f"{code}-again.log"
                    )
                )
            _recording(
                lambda: Incident.objects.filter(
                    pk=incident.pk, status="resolved"
                ).exists(),
                timeout=40,
            )
    finally:
        target.close()
        close_old_connections()

    assert Incident.objects.filter(monitor=monitor).count() == 1
    events = list(
        RegionHealthEvent.objects.order_by("created_at", "pk").values_list(
            "region__code", "healthy"
        )
    )
    assert sorted(events) == sorted(
        [(c, False) for c in dead] + [(c, True) for c in dead]
    )
    for pk in OperatorNotification.objects.values_list("pk", flat=True):
        operator_notification_deliver(notification_id=pk, enqueue=lambda *a: None)
    operator.stop()
    types = sorted(
        (json.loads(r.body)["type"], json.loads(r.body)["data"]["region"]["code"])
        for r in operator.requests
    )
    assert types == sorted(
        [("region.unhealthy", c) for c in dead] + [("region.healthy", c) for c in dead]
    )
