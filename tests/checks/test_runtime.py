"""The check runtime: one event loop per worker process, and checks that
start at their own phase in the slot's second."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.utils import timezone

from monitors import runner
from monitors.models import Region, Tick
from monitors.runner import check_phase
from tests.targets import Target, respond


def test_phases_are_fixed_per_monitor_and_spread_over_the_second() -> None:
    phases = [check_phase(i) for i in range(1, 4001)]
    assert all(0 <= p < 1 for p in phases)
    assert check_phase(17) == check_phase(17)
    # Neighbouring ids land far apart, and every tenth of the second gets
    # its share (4,000 ids: about 400 each).
    assert abs(check_phase(1) - check_phase(2)) > 0.1
    per_tenth = [0] * 10
    for p in phases:
        per_tenth[int(p * 10)] += 1
    assert min(per_tenth) > 300 and max(per_tenth) < 500


@pytest.mark.django_db(transaction=True)
def test_a_batch_sent_ahead_starts_each_check_at_its_phase(
    allow_private, make_monitor, regions: list[Region], settings
) -> None:
    settings.UPTIME_SPREAD_CHECKS = True
    target = Target()
    target.default = respond(200)
    region = regions[0]
    try:
        monitors = [
            make_monitor(name=f"m{n}", url=target.url(f"/{n}"), regions=[region])
            for n in range(12)
        ]
        at = timezone.now().replace(microsecond=0) + timedelta(seconds=1)
        runner.run_checks(
            region_code=region.code,
            scheduled_at=at,
            monitor_ids=[m.pk for m in monitors],
        )
    finally:
        target.close()
    ticks = {t.monitor_id: t for t in Tick.objects.filter(scheduled_at=at)}
    assert set(ticks) == {m.pk for m in monitors}
    offsets = {m.pk: (ticks[m.pk].checked_at - at).total_seconds() for m in monitors}
    for monitor in monitors:
        phase = check_phase(monitor.pk)
        # Never before its phase; after it by scheduling jitter only (wide:
        # the test box may be busy).
        assert phase - 0.005 <= offsets[monitor.pk] < phase + 0.6, monitor.pk
    assert max(offsets.values()) - min(offsets.values()) > 0.3


@pytest.mark.django_db(transaction=True)
def test_a_late_batch_keeps_its_phases(
    allow_private, make_monitor, regions: list[Region], settings
) -> None:
    """Behind a backlog the checks still spread: those whose phase is past
    start at once, the others at their phase."""
    settings.UPTIME_SPREAD_CHECKS = True
    target = Target()
    target.default = respond(200)
    region = regions[0]
    try:
        monitors = [
            make_monitor(name=f"m{n}", url=target.url(f"/{n}"), regions=[region])
            for n in range(12)
        ]
        at = timezone.now() - timedelta(milliseconds=400)
        runner.run_checks(
            region_code=region.code,
            scheduled_at=at,
            monitor_ids=[m.pk for m in monitors],
        )
    finally:
        target.close()
    for tick in Tick.objects.filter(scheduled_at=at):
        offset = (tick.checked_at - at).total_seconds()
        assert offset >= check_phase(tick.monitor_id) - 0.005
        assert offset < max(check_phase(tick.monitor_id), 0.4) + 0.6


@pytest.mark.django_db(transaction=True)
def test_batches_share_one_event_loop_for_the_process(
    allow_private, make_monitor, regions: list[Region]
) -> None:
    target = Target()
    target.default = respond(200)
    region = regions[0]
    try:
        monitor = make_monitor(url=target.url("/"), regions=[region])
        base = timezone.now().replace(microsecond=0) - timedelta(seconds=10)
        for n in range(5):
            runner.run_checks(
                region_code=region.code,
                scheduled_at=base + timedelta(seconds=n),
                monitor_ids=[monitor.pk],
            )
    finally:
        target.close()
    assert Tick.objects.filter(monitor=monitor, status="up").count() == 5
    names = [t.name for t in threading.enumerate()]
    # Five batches, one loop thread (a batch used to start its own thread,
    # loop, executor and TLS context).
    assert names.count("checks-loop") == 1
