from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, connections

from monitors.models import Monitor
from monitors.scheduler import dispatch_due

T0 = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)


class Recorder:
    def __init__(self) -> None:
        self.batches: list[tuple[str, datetime, list[int], datetime]] = []
        self.lock = threading.Lock()

    def __call__(
        self, region: str, at: datetime, ids: list[int], exp: datetime
    ) -> None:
        with self.lock:
            self.batches.append((region, at, list(ids), exp))

    def sent_ids(self) -> list[int]:
        return sorted(i for _, _, ids, _ in self.batches for i in ids)


@pytest.mark.django_db(transaction=True)
def test_it_dispatches_only_due_enabled_monitors_to_every_region(make_monitor) -> None:
    due = make_monitor(next_check_at=T0 - timedelta(seconds=5))
    make_monitor(next_check_at=T0 + timedelta(seconds=30))
    make_monitor(next_check_at=T0 - timedelta(seconds=5), enabled=False)
    make_monitor(next_check_at=None)
    rec = Recorder()

    dispatch_due(now=T0, send=rec)

    assert sorted(r for r, _, _, _ in rec.batches) == ["ap", "eu", "us"]
    assert all(ids == [due.pk] for _, _, ids, _ in rec.batches)
    due.refresh_from_db()
    assert due.next_check_at > T0


@pytest.mark.django_db(transaction=True)
def test_it_sends_one_task_per_region_and_slot_for_a_batch(
    make_monitor, regions
) -> None:
    slot = T0 + timedelta(seconds=1)
    monitors = [
        make_monitor(next_check_at=slot, regions=regions[:1]) for _ in range(50)
    ]
    rec = Recorder()

    dispatch_due(now=T0, send=rec)  # within the dispatch lead

    assert len(rec.batches) == 1
    region, at, ids, expires = rec.batches[0]
    assert (region, at) == ("ap", slot)
    assert sorted(ids) == sorted(m.pk for m in monitors)
    assert expires == slot + timedelta(seconds=60)


@pytest.mark.django_db(transaction=True)
def test_it_does_not_send_again_before_the_next_slot(make_monitor) -> None:
    make_monitor(next_check_at=T0)
    rec = Recorder()
    dispatch_due(now=T0, send=rec)
    first = len(rec.batches)
    dispatch_due(now=T0 + timedelta(seconds=1), send=rec)
    assert first == 3
    assert len(rec.batches) == first


@pytest.mark.django_db(transaction=True)
def test_two_dispatchers_at_once_never_double_send(make_monitor, regions) -> None:
    for _ in range(300):
        make_monitor(next_check_at=T0 - timedelta(seconds=1), regions=regions[:1])
    rec = Recorder()
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait()
            for step in range(3):
                dispatch_due(now=T0 + timedelta(milliseconds=step), send=rec)
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert not errors
    sent = rec.sent_ids()
    assert len(sent) == 300
    assert len(set(sent)) == 300


@pytest.mark.django_db(transaction=True)
def test_the_schedule_does_not_drift_over_100_slots(make_monitor, regions) -> None:
    monitor = make_monitor(next_check_at=T0, interval_seconds=60, regions=regions[:1])
    rec = Recorder()
    now = T0
    for _ in range(101):
        # Each dispatch runs late by a varying amount, as a busy beat would.
        monitor.refresh_from_db()
        lateness = timedelta(milliseconds=(len(rec.batches) * 37) % 900)
        now = monitor.next_check_at + lateness
        dispatch_due(now=now, send=rec)
    slots = [at for _, at, _, _ in rec.batches]
    assert len(slots) == 101
    grid = slots[1:]
    phase = monitor.phase_seconds()
    for k, at in enumerate(grid):
        assert at == grid[0] + timedelta(seconds=60 * k)
        assert (int(at.timestamp()) - phase) % 60 == 0
        assert at.microsecond == 0


@pytest.mark.django_db(transaction=True)
def test_missed_slots_are_not_replayed_after_an_outage(make_monitor, regions) -> None:
    monitor = make_monitor(next_check_at=T0, interval_seconds=60, regions=regions[:1])
    rec = Recorder()
    dispatch_due(now=T0 + timedelta(hours=2), send=rec)
    dispatch_due(now=T0 + timedelta(hours=2, seconds=1), send=rec)
    assert len(rec.batches) == 1
    monitor.refresh_from_db()
    assert monitor.next_check_at > T0 + timedelta(hours=2)


@pytest.mark.django_db(transaction=True)
def test_phases_spread_monitors_over_the_interval(project, regions) -> None:
    # A bulk import: 600 monitors created in the same second, same interval.
    monitors = Monitor.objects.bulk_create(
        [
            Monitor(
                project=project,
                name=f"m{i}",
                url="https://x.example/",
                next_check_at=T0,
            )
            for i in range(600)
        ]
    )
    Monitor.regions.through.objects.bulk_create(
        [
            Monitor.regions.through(monitor_id=m.pk, region_id=regions[0].pk)
            for m in monitors
        ]
    )
    rec = Recorder()
    dispatch_due(now=T0, send=rec)  # first checks: all at once, by design
    rec.batches.clear()
    for second in range(1, 121):
        dispatch_due(now=T0 + timedelta(seconds=second), send=rec)
    per_second: dict[datetime, int] = {}
    for _, at, ids, _ in rec.batches:
        per_second[at] = per_second.get(at, 0) + len(ids)
    # Every monitor came round once in the following minute...
    assert sum(per_second.values()) >= 600
    # ...spread over the minute: no second carries more than 3x its share (10).
    assert len({at.second for at in per_second}) >= 55
    assert max(per_second.values()) <= 30


@pytest.mark.django_db(transaction=True)
def test_the_claim_query_uses_skip_locked(make_monitor) -> None:
    make_monitor(next_check_at=T0)
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        dispatch_due(now=T0, send=Recorder())
    assert any("FOR UPDATE SKIP LOCKED" in q["sql"] for q in ctx.captured_queries)
