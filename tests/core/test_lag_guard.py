"""The lag guard: our own lag is recorded as missed, never as the target DOWN.

A batch that starts too late is not run; a check that timed out while the
worker's event loop was stalled is missed; a target that is really dead on a
healthy worker is still DOWN. The overload test starts CPU-bound burner
processes of its own for a bounded time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest
from celery.app.task import Context
from celery.signals import task_revoked
from django.conf import settings
from django.db import connection
from django.utils import timezone

from monitors import runner
from monitors.checks import REGISTRY, CheckKind, CheckResult, CheckSpec
from monitors.checks.base import CheckContext
from monitors.models import (
    Incident,
    Monitor,
    MonitorStatus,
    Region,
    Tick,
    TickStatus,
)
from monitors.services import TickResult, ticks_record
from monitors.tasks import run_checks
from tests.targets import Target, hang, respond

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def lag_guard_on(settings) -> None:
    settings.UPTIME_MAX_START_LAG_SECONDS = 5  # the default, which tests turn off


def _slot(seconds_ago: float) -> datetime:
    return timezone.now().replace(microsecond=0) - timedelta(seconds=seconds_ago)


def _run(region: Region, at: datetime, monitors: list[Monitor]) -> int:
    return runner.run_checks(
        region_code=region.code, scheduled_at=at, monitor_ids=[m.pk for m in monitors]
    )


# --- a batch that starts late ----------------------------------------------------


def test_a_batch_started_late_records_missed_ticks_and_opens_no_incident(
    allow_private: None,
    make_monitor,
    regions: list[Region],
    target: Target,
    caplog: pytest.LogCaptureFixture,
) -> None:
    target.routes["/"] = respond(500)
    monitors = [
        make_monitor(
            name=f"m{i}", url=target.url("/"), regions=regions[:1], failure_threshold=1
        )
        for i in range(5)
    ]
    # 60 s interval: the bound is min(60 / 4, 5) = 5 s; this batch is 30 s late.
    with caplog.at_level(logging.WARNING, logger="monitors.runner"):
        stored = _run(regions[0], timezone.now() - timedelta(seconds=30), monitors)

    assert stored == 5
    ticks = list(Tick.objects.all())
    assert {t.status for t in ticks} == {TickStatus.MISSED}
    assert {t.monitor_id for t in ticks} == {m.pk for m in monitors}
    assert {t.message for t in ticks} == {"checker overloaded: started 30 s late"}
    assert not target.hits  # nothing was sent to the target
    assert not Incident.objects.exists()
    assert set(Monitor.objects.values_list("status", flat=True)) == {
        MonitorStatus.PENDING
    }
    assert "started 30.0 s late; 5 monitors recorded as missed" in caplog.text


def test_a_batch_within_the_bound_still_runs(
    allow_private: None, make_monitor, regions: list[Region], target: Target
) -> None:
    target.routes["/"] = respond(500)
    monitor = make_monitor(
        url=target.url("/"), regions=regions[:1], failure_threshold=1
    )

    _run(regions[0], _slot(2), [monitor])

    tick = Tick.objects.get()
    assert (tick.status, tick.error) == ("down", "http_status")
    assert Incident.objects.filter(monitor=monitor).exists()


def test_the_bound_is_a_quarter_of_a_short_interval(
    allow_private: None, make_monitor, regions: list[Region], target: Target
) -> None:
    short = make_monitor(url=target.url("/"), regions=regions[:1], interval_seconds=10)
    long = make_monitor(url=target.url("/"), regions=regions[:1], interval_seconds=60)

    # 4 s late: past 10 / 4 = 2.5 s, within min(60 / 4, 5) = 5 s.
    _run(regions[0], _slot(4), [short, long])

    status = dict(Tick.objects.values_list("monitor_id", "status"))
    assert status == {short.pk: TickStatus.MISSED, long.pk: TickStatus.UP}


# --- missed ticks never vote -----------------------------------------------------


def _record(region: Region, monitor: Monitor, at: datetime, status: str) -> None:
    result = CheckResult(status=status, error="" if status == "up" else "x")
    ticks_record(
        region=region,
        scheduled_at=at,
        results=[TickResult(monitor.pk, at, result)],
        now=at,
    )


def test_a_run_of_down_with_a_missed_slot_inside_is_still_consecutive(
    make_monitor, regions: list[Region]
) -> None:
    monitor = make_monitor(regions=regions[:1], failure_threshold=2)
    t0 = _slot(200)
    _record(regions[0], monitor, t0, TickStatus.DOWN)
    _record(regions[0], monitor, t0 + timedelta(seconds=60), TickStatus.MISSED)
    assert not Incident.objects.exists()

    _record(regions[0], monitor, t0 + timedelta(seconds=120), TickStatus.DOWN)

    incident = Incident.objects.get(monitor=monitor)
    assert incident.started_at == t0


def test_a_missed_tick_changes_neither_status_nor_an_open_incident(
    make_monitor, regions: list[Region]
) -> None:
    monitor = make_monitor(regions=regions[:1], failure_threshold=1)
    t0 = _slot(200)
    _record(regions[0], monitor, t0, TickStatus.DOWN)
    monitor.refresh_from_db()
    assert monitor.status == MonitorStatus.DOWN
    checked = monitor.last_checked_at

    _record(regions[0], monitor, t0 + timedelta(seconds=60), TickStatus.MISSED)

    monitor.refresh_from_db()
    assert (monitor.status, monitor.last_checked_at) == (MonitorStatus.DOWN, checked)
    assert Incident.objects.get(monitor=monitor).status == "open"


# --- timeouts while the worker's own loop is stalled -------------------------------


async def _stall(spec: CheckSpec, ctx: CheckContext) -> CheckResult:
    # Holds the event loop, as CPU starvation does to every check in it.
    await asyncio.sleep(0.3)
    time.sleep(float(spec.options["seconds"]))
    return CheckResult(status="up", message="stalled the loop")


@pytest.fixture
def stall_kind() -> Iterator[CheckKind]:
    kind = CheckKind(
        name="stall",
        label="Stall",
        run=_stall,
        clean_target=lambda target, *, allow_private: target,
        settings_from=lambda source, config: {"seconds": source.url},
    )
    REGISTRY[kind.name] = kind
    yield kind
    del REGISTRY[kind.name]


def _answer_after(seconds: float):
    ok = respond(200)

    def route(h: BaseHTTPRequestHandler) -> None:
        time.sleep(seconds)
        ok(h)

    return route


def _stalled_batch(make_monitor, regions: list[Region], target: Target) -> list[Tick]:
    # The target answers in 0.5 s, well within the 1.2 s timeout; the loop is
    # held from 0.3 s to 2.3 s, so the answer waits in the socket until the
    # timeout has passed too.
    target.routes["/"] = _answer_after(0.5)
    stall = make_monitor(name="stall", kind="stall", url="2.0", regions=regions[:1])
    checks = [
        make_monitor(
            name=f"m{i}",
            url=target.url("/"),
            regions=regions[:1],
            timeout_seconds=1.2,
            failure_threshold=1,
        )
        for i in range(6)
    ]
    _run(regions[0], _slot(1), [stall, *checks])
    return list(Tick.objects.filter(monitor__in=checks))


def test_timeouts_while_the_loop_is_stalled_are_missed_not_down(
    allow_private: None,
    stall_kind: CheckKind,
    make_monitor,
    regions: list[Region],
    target: Target,
) -> None:
    ticks = _stalled_batch(make_monitor, regions, target)

    assert len(target.hits) == 6  # the target did answer
    assert len(ticks) == 6
    assert not [t for t in ticks if t.status == TickStatus.DOWN]
    missed = [t for t in ticks if t.status == TickStatus.MISSED]
    assert missed
    for tick in missed:
        assert tick.error == "checker_lag"
        assert tick.message.startswith("checker overloaded: timed out while")
        assert tick.details is not None
        assert tick.details["check_error"] == "timeout"
        assert tick.details["loop_lag_ms"] > 1000
    assert not Incident.objects.exists()


def test_without_the_loop_lag_bound_the_same_stall_gives_false_down(
    allow_private: None,
    stall_kind: CheckKind,
    make_monitor,
    regions: list[Region],
    target: Target,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # What the guard prevents: the same batch without its verdict.
    monkeypatch.setattr(runner, "_lag_verdict", lambda result, *args: result)

    ticks = _stalled_batch(make_monitor, regions, target)

    assert len(target.hits) == 6
    assert [t for t in ticks if (t.status, t.error) == ("down", "timeout")]


def test_a_hanging_target_on_a_healthy_worker_is_still_down(
    allow_private: None, make_monitor, regions: list[Region], target: Target
) -> None:
    target.routes["/"] = hang(4)
    monitor = make_monitor(
        url=target.url("/"), regions=regions[:1], timeout_seconds=2, failure_threshold=1
    )

    _run(regions[0], _slot(1), [monitor])

    tick = Tick.objects.get()
    assert (tick.status, tick.error) == ("down", "timeout")
    assert Incident.objects.filter(monitor=monitor, status="open").exists()


# --- an overloaded machine -----------------------------------------------------------

BURN = """
import time
end = time.monotonic() + {seconds}
while time.monotonic() < end:
    pass
"""


@contextlib.contextmanager
def burners(seconds: float = 60) -> Iterator[list[subprocess.Popen[Any]]]:
    """CPU-bound processes, three per core, that stop by themselves."""
    procs = [
        subprocess.Popen([sys.executable, "-c", BURN.format(seconds=seconds)])
        for _ in range(3 * (os.cpu_count() or 2))
    ]
    try:
        yield procs
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()


SERVE = """
import time
from tests.targets import Target
target = Target()
print(target.port, flush=True)
time.sleep({seconds})
"""


@contextlib.contextmanager
def target_process(seconds: float = 120) -> Iterator[str]:
    """A loopback target in a process of its own (the one in this process
    would wait for the GIL behind the batches it answers): its URL."""
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVE.format(seconds=seconds)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=settings.BASE_DIR,
    )
    try:
        assert proc.stdout is not None
        yield f"http://127.0.0.1:{int(proc.stdout.readline())}/"
    finally:
        proc.kill()
        proc.wait()


def test_an_overloaded_worker_raises_no_false_down(
    allow_private: None, make_monitor, regions: list[Region]
) -> None:
    with target_process() as url:
        _overload_rounds(make_monitor, regions, url)

    statuses = list(Tick.objects.values_list("status", flat=True))
    assert len(statuses) == 3 * 120  # every slot stored or missed, none lost
    assert TickStatus.DOWN not in statuses
    assert TickStatus.UP in statuses  # the target did answer
    assert not Incident.objects.exists()


def _overload_rounds(make_monitor, regions: list[Region], url: str) -> None:
    monitors = [
        make_monitor(
            name=f"m{i}",
            url=url,
            regions=regions[:1],
            timeout_seconds=1,
            failure_threshold=1,
        )
        for i in range(120)
    ]
    groups = [monitors[i::3] for i in range(3)]
    errors: list[BaseException] = []

    def batch(group: list[Monitor], at: datetime) -> None:
        try:
            _run(regions[0], at, group)
        except BaseException as exc:  # reported by the test, not lost in a thread
            errors.append(exc)
        finally:
            connection.close()

    # Three rounds of three batches at once, as a threads-pool worker runs
    # them, while the burners hold every core.
    with burners() as procs:
        for round_ in range(3):
            at = _slot(1) - timedelta(milliseconds=round_)  # a slot of its own
            threads = [
                threading.Thread(target=batch, args=(group, at)) for group in groups
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=60)
        assert all(proc.poll() is None for proc in procs)  # the load lasted
    assert not errors


# --- how a missed slot is shown --------------------------------------------------------


def test_a_missed_tick_is_grey_on_the_dashboard_missed_in_the_api_and_no_data(
    make_monitor, regions: list[Region], owner_client, api
) -> None:
    from monitors.dashboard import selectors

    monitor = make_monitor(regions=regions[:1])
    t0 = _slot(120)
    _record(regions[0], monitor, t0, TickStatus.UP)
    _record(regions[0], monitor, t0 + timedelta(seconds=60), TickStatus.MISSED)

    page = owner_client.get(f"/monitors/{monitor.pk}/").content.decode()
    assert 'class="tick-missed"' in page
    assert (
        'status-missed"><span class="status-dot" aria-hidden="true"></span>Missed'
        in page
    )
    ticks = api.get(f"/api/monitors/{monitor.pk}/ticks/").json()["results"]
    assert [t["status"] for t in ticks] == ["missed", "up"]
    # Charts, sparklines and region states see only the checked slot.
    chart = selectors.response_chart(monitor=monitor, range_key="1h")
    assert (chart.total.checks, chart.total.failed) == (1, 0)
    assert selectors.sparklines(monitor_ids=[monitor.pk])[monitor.pk] == [(None, "up")]
    (state,) = selectors.region_states(monitor_ids=[monitor.pk])[monitor.pk]
    assert state.status == "up"


def test_a_batch_that_expired_in_the_queue_leaves_missed_ticks(
    make_monitor, regions
) -> None:
    eu = regions[0]
    monitor = make_monitor(regions=[eu], interval_seconds=10)
    paused = make_monitor(name="Paused", regions=[eu], enabled=False)
    slot = timezone.now().replace(microsecond=0) - timedelta(seconds=40)
    request = Context(args=[eu.code, slot.isoformat(), [monitor.pk, paused.pk]])

    # Celery announces a task it drops as expired through task_revoked.
    task_revoked.send(
        sender=run_checks, request=request, terminated=False, signum=None, expired=True
    )

    tick = Tick.objects.get(monitor=monitor, region=eu, scheduled_at=slot)
    assert tick.status == "missed" and tick.error == "checker_lag"
    assert "expired" in tick.message
    assert not Tick.objects.filter(monitor=paused).exists()
    assert not Incident.objects.exists()
    # A revocation that is not an expiry (a person revoked it) records nothing.
    task_revoked.send(
        sender=run_checks,
        request=Context(
            args=[eu.code, (slot + timedelta(seconds=10)).isoformat(), [monitor.pk]]
        ),
        terminated=False,
        signum=None,
        expired=False,
    )
    assert Tick.objects.filter(monitor=monitor).count() == 1
