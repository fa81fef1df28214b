from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from monitors.checks.base import CheckResult
from monitors.models import Incident, Monitor, MonitorStatus, Region, Tick
from monitors.services import TickResult, monitor_delete, ticks_record
from monitors.signals import incident_opened, incident_resolved
from tests.e2e_support import wait_for

UP = CheckResult(
    status="up", response_time_ms=12, status_code=200, message="HTTP 200 OK"
)
DOWN = CheckResult(
    status="down", status_code=500, error="http_status", message="HTTP 500 Internal"
)


class Clock:
    """Slots one interval apart; each round is evaluated at its own time."""

    def __init__(self, interval: int = 60, slots: int = 12) -> None:
        self.interval = interval
        self.start = timezone.now() - timedelta(seconds=interval * slots)
        self.n = 0

    def next(self) -> datetime:
        self.n += 1
        return self.start + timedelta(seconds=self.interval * self.n)


def record(monitor, region: Region, at: datetime, result: CheckResult) -> None:
    ticks_record(
        region=region,
        scheduled_at=at,
        results=[TickResult(monitor_id=monitor.pk, checked_at=at, result=result)],
        now=at + timedelta(seconds=1),
    )


def round_(monitor, regions, clock: Clock, results) -> None:
    at = clock.next()
    for region, result in zip(regions, results, strict=True):
        record(monitor, region, at, result)


@pytest.fixture
def events() -> Iterator[list[tuple[str, int]]]:
    seen: list[tuple[str, int]] = []

    def opened(sender: object, incident: Incident, **kw: object) -> None:
        seen.append(("opened", incident.pk))

    def resolved(sender: object, incident: Incident, **kw: object) -> None:
        seen.append(("resolved", incident.pk))

    incident_opened.connect(opened)
    incident_resolved.connect(resolved)
    yield seen
    incident_opened.disconnect(opened)
    incident_resolved.disconnect(resolved)


@pytest.mark.django_db
def test_it_opens_incident_after_three_failures_and_not_before(
    make_monitor, regions, events
) -> None:
    eu = regions[1]
    monitor = make_monitor(regions=[eu])
    clock = Clock()
    round_(monitor, [eu], clock, [UP])
    round_(monitor, [eu], clock, [DOWN])
    round_(monitor, [eu], clock, [DOWN])
    assert not Incident.objects.exists()
    monitor.refresh_from_db()
    # Failing, not yet confirmed: neither a green "up" nor "down".
    assert monitor.status == MonitorStatus.FAILING
    assert monitor.consecutive_failures == 2

    round_(monitor, [eu], clock, [DOWN])

    incident = Incident.objects.get()
    assert incident.status == "open"
    assert incident.cause == "http_status: HTTP 500 Internal"
    assert incident.details["regions"]["eu"]["status_code"] == 500
    monitor.refresh_from_db()
    assert monitor.status == MonitorStatus.DOWN
    assert events == [("opened", incident.pk)]


@pytest.mark.django_db
def test_a_flapping_site_opens_nothing(make_monitor, regions) -> None:
    eu = regions[1]
    monitor = make_monitor(regions=[eu])
    clock = Clock(slots=20)
    for result in [DOWN, DOWN, UP, DOWN, DOWN, UP, DOWN, DOWN, UP]:
        round_(monitor, [eu], clock, [result])
    assert not Incident.objects.exists()


@pytest.mark.django_db
def test_it_resolves_after_recovery_threshold_ups_with_a_duration(
    make_monitor, regions, events
) -> None:
    eu = regions[1]
    monitor = make_monitor(regions=[eu], recovery_threshold=2)
    clock = Clock()
    for _ in range(3):
        round_(monitor, [eu], clock, [DOWN])
    round_(monitor, [eu], clock, [UP])
    assert Incident.objects.get().status == "open"
    round_(monitor, [eu], clock, [UP])

    incident = Incident.objects.get()
    assert incident.status == "resolved"
    assert incident.resolved_at is not None
    duration = incident.duration_seconds
    assert duration is not None and duration >= 3 * 60 - 1
    monitor.refresh_from_db()
    assert monitor.status == MonitorStatus.UP
    assert [e[0] for e in events] == ["opened", "resolved"]


@pytest.mark.django_db
def test_one_failing_region_out_of_three_does_not_open(make_monitor, regions) -> None:
    monitor = make_monitor()  # three regions, quorum 2
    clock = Clock()
    for _ in range(5):
        round_(monitor, regions, clock, [DOWN, UP, UP])
    assert not Incident.objects.exists()


@pytest.mark.django_db
def test_two_failing_regions_out_of_three_open_one_incident(
    make_monitor, regions
) -> None:
    monitor = make_monitor()
    clock = Clock()
    for _ in range(5):
        round_(monitor, regions, clock, [DOWN, DOWN, UP])
    incident = Incident.objects.get()
    assert sorted(incident.details["regions"]) == ["ap", "eu"]
    assert incident.details["quorum"] == 2


@pytest.mark.django_db
def test_an_explicit_quorum_of_one_alerts_on_any_region(make_monitor, regions) -> None:
    monitor = make_monitor(region_quorum=1)
    clock = Clock()
    for _ in range(3):
        round_(monitor, regions, clock, [UP, DOWN, UP])
    assert Incident.objects.filter(status="open").count() == 1
    # One region recovering while another still fails keeps it open (no flap).
    round_(monitor, regions, clock, [UP, DOWN, UP])
    assert Incident.objects.filter(status="open").count() == 1
    round_(monitor, regions, clock, [UP, UP, UP])
    assert Incident.objects.get().status == "resolved"


@pytest.mark.django_db
def test_it_reopens_a_new_incident_after_resolution(make_monitor, regions) -> None:
    eu = regions[1]
    monitor = make_monitor(regions=[eu])
    clock = Clock(slots=12)
    for result in [DOWN, DOWN, DOWN, UP, DOWN, DOWN, DOWN]:
        round_(monitor, [eu], clock, [result])
    assert list(
        Incident.objects.order_by("started_at").values_list("status", flat=True)
    ) == [
        "resolved",
        "open",
    ]


@pytest.mark.django_db
def test_stale_ticks_do_not_vote(make_monitor, regions) -> None:
    eu = regions[1]
    monitor = make_monitor(regions=[eu])
    old = timezone.now() - timedelta(hours=3)
    for k in range(2):
        record(monitor, eu, old + timedelta(minutes=k), DOWN)
    record(monitor, eu, timezone.now() - timedelta(seconds=5), DOWN)
    assert not Incident.objects.exists()


@pytest.mark.django_db
def test_a_redelivered_batch_writes_no_second_tick(make_monitor, regions) -> None:
    eu = regions[1]
    monitor = make_monitor(regions=[eu])
    at = timezone.now()
    record(monitor, eu, at, DOWN)
    record(monitor, eu, at, UP)
    assert monitor.ticks.count() == 1
    assert monitor.ticks.get().status == "down"


def report_at_once(monitor, regions: list[Region], at: datetime) -> None:
    barrier = threading.Barrier(len(regions))
    errors: list[BaseException] = []

    def report(region: Region) -> None:
        try:
            barrier.wait()
            record(monitor, region, at, DOWN)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=report, args=(r,)) for r in regions]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


@pytest.mark.django_db(transaction=True)
def test_two_regions_reporting_at_the_same_instant_open_exactly_one(
    make_monitor, regions
) -> None:
    for attempt in range(5):
        monitor = make_monitor(name=f"race {attempt}", regions=regions[:2])
        clock = Clock()
        for _ in range(2):
            round_(monitor, regions[:2], clock, [DOWN, DOWN])
        report_at_once(monitor, regions[:2], clock.next())
        assert Incident.objects.filter(monitor=monitor).count() == 1
        assert monitor.ticks.count() == 6


@pytest.mark.django_db
def test_pruning_deletes_only_ticks_past_retention(make_monitor, regions) -> None:
    from monitors.services import ticks_prune

    eu = regions[1]
    monitor = make_monitor(regions=[eu])
    now = timezone.now()
    for days in (500, 401, 399, 1):
        record(monitor, eu, now - timedelta(days=days), UP)
    assert ticks_prune(older_than=timedelta(days=400), batch_size=1) == 2
    left = sorted(
        (now - t).days for t in monitor.ticks.values_list("scheduled_at", flat=True)
    )
    assert left == [1, 399]


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _lock_waits(pid: int) -> list[tuple[str, list[int]]]:
    """The locks backend ``pid`` waits for, with the backends holding them."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT locktype, pg_blocking_pids(pid) FROM pg_locks"
            " WHERE pid = %s AND NOT granted",
            [pid],
        )
        return cursor.fetchall()


@pytest.mark.django_db(transaction=True)
def test_deleting_a_monitor_while_its_ticks_are_stored_never_fails(
    make_monitor, regions
) -> None:
    eu = regions[1]
    monitor = make_monitor(regions=[eu])
    record(monitor, eu, timezone.now() - timedelta(minutes=1), UP)
    stored = threading.Event()
    release = threading.Event()
    pids: dict[str, int] = {}
    errors: list[BaseException] = []

    def store() -> None:
        try:
            with transaction.atomic():
                pids["store"] = _backend_pid()
                # ticks_record holds the monitor lock until its commit.
                record(monitor, eu, timezone.now(), DOWN)
                stored.set()
                release.wait(10)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    def delete() -> None:
        try:
            pids["delete"] = _backend_pid()
            stored.wait(10)
            monitor_delete(user=monitor.project.owner, monitor=monitor)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=store), threading.Thread(target=delete)]
    for t in threads:
        t.start()
    try:
        assert stored.wait(10), errors
        # The delete is queued behind the store's lock on the monitor row, not
        # merely started: PostgreSQL shows its lock request ungranted and the
        # store as the backend blocking it.
        waits = wait_for(
            lambda: "delete" in pids and _lock_waits(pids["delete"]), timeout=10
        )
        assert any(pids["store"] in blockers for _, blockers in waits), waits
        assert Monitor.objects.filter(pk=monitor.pk).exists()
    finally:
        release.set()
        for t in threads:
            t.join()
    assert not errors
    assert not Monitor.objects.filter(pk=monitor.pk).exists()
    assert not Tick.objects.filter(monitor_id=monitor.pk).exists()


@pytest.mark.django_db
def test_storing_a_batch_costs_the_same_queries_for_1_or_20_slow_monitors(
    make_monitor, regions
) -> None:
    from django.test.utils import CaptureQueriesContext

    eu = regions[1]
    slow = CheckResult(status="degraded", response_time_ms=900, status_code=200)

    def queries_for(count: int) -> int:
        monitors = [
            make_monitor(
                name=f"slow {count}-{i}", regions=[eu], degraded_threshold_ms=500
            )
            for i in range(count)
        ]
        base = timezone.now() - timedelta(minutes=5)
        counts = []
        for k in range(2):
            at = base + timedelta(minutes=k)
            with CaptureQueriesContext(connection) as ctx:
                ticks_record(
                    region=eu,
                    scheduled_at=at,
                    results=[
                        TickResult(monitor_id=m.pk, checked_at=at, result=slow)
                        for m in monitors
                    ],
                    now=at,
                )
            counts.append(len(ctx.captured_queries))
        return counts[1]  # the second batch: already slow, nothing turns

    assert queries_for(1) == queries_for(20)
