"""Raw ticks live in day partitions: an insert on a day without one lands in
DEFAULT, the beat task prepares days ahead (taking DEFAULT's rows of the
day along), retention drops a whole day fast, and the migration keeps the
rows both ways."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from monitors import partitions
from monitors.models import Tick, TickRollup
from monitors.services import ticks_prune


def _where(tick_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tableoid::regclass::text FROM monitors_tick WHERE id = %s",
            [tick_id],
        )
        return cursor.fetchone()[0]


def _attached() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT inhrelid::regclass::text FROM pg_inherits "
            "WHERE inhparent = 'monitors_tick'::regclass"
        )
        return {row[0] for row in cursor.fetchall()}


def _tick(monitor, region, at: datetime) -> Tick:
    return Tick.objects.create(
        monitor=monitor, region=region, scheduled_at=at, checked_at=at, status="up"
    )


@pytest.mark.django_db
def test_a_day_without_partition_lands_in_default_until_its_day_is_made(
    make_monitor, regions
) -> None:
    monitor = make_monitor()
    far = datetime(2031, 3, 4, 12, tzinfo=UTC)
    tick = _tick(monitor, regions[0], far)
    assert _where(tick.pk) == partitions.DEFAULT
    # The beat task, run on that day, makes its partition and moves the row.
    created = partitions.tick_partitions_ensure(now=far)
    assert partitions.partition_name(far.date()) in created
    assert _where(tick.pk) == partitions.partition_name(far.date())
    assert len(created) == 1 + partitions.DAYS_AHEAD + 1
    assert partitions.tick_partitions_ensure(now=far) == []
    assert Tick.objects.get(pk=tick.pk).scheduled_at == far
    # Days the task missed (it did not run for a week) get theirs on its
    # next run, with their rows.
    week_ago = far - timedelta(days=7)
    late = _tick(monitor, regions[0], week_ago)
    assert _where(late.pk) == partitions.DEFAULT
    assert partitions.partition_name(week_ago.date()) in (
        partitions.tick_partitions_ensure(now=far)
    )
    assert _where(late.pk) == partitions.partition_name(week_ago.date())


@pytest.mark.django_db
def test_today_and_days_ahead_have_partitions(make_monitor, regions) -> None:
    partitions.tick_partitions_ensure()
    today = timezone.now().astimezone(UTC).date()
    for n in range(-1, partitions.DAYS_AHEAD + 1):
        assert partitions.partition_name(today + timedelta(days=n)) in _attached()
    tick = _tick(make_monitor(), regions[0], timezone.now())
    assert _where(tick.pk) == partitions.partition_name(today)


@pytest.mark.django_db(transaction=True)
def test_retention_drops_a_200k_tick_day_in_under_a_second(
    make_monitor, regions
) -> None:
    monitor = make_monitor()
    now = timezone.now()
    old_day = (now - timedelta(days=402)).astimezone(UTC).date()
    kept_day = (now - timedelta(days=2)).astimezone(UTC).date()
    with connection.cursor() as cursor:
        have = partitions.day_partitions(cursor)
        for day in (old_day, kept_day):
            if day not in have:
                partitions.create_day(cursor, day)
        # 200k ticks of one day (a tick every ~0.43 s), 10 in a kept day.
        cursor.execute(
            """
            INSERT INTO monitors_tick (monitor_id, region_id, scheduled_at,
                checked_at, status, error, message)
            SELECT %s, %s, t, t, 'up', '', ''
            FROM generate_series(%s::timestamptz,
                                 %s::timestamptz - interval '1 microsecond',
                                 interval '1 day' / 200000) AS t
            """,
            [
                monitor.pk,
                regions[0].pk,
                datetime(old_day.year, old_day.month, old_day.day, tzinfo=UTC),
                datetime(old_day.year, old_day.month, old_day.day, tzinfo=UTC)
                + timedelta(days=1),
            ],
        )
        assert cursor.rowcount == 200_000
    for n in range(10):
        _tick(monitor, regions[0], now - timedelta(days=2, minutes=n))
    stray = _tick(monitor, regions[1], now - timedelta(days=500))
    assert _where(stray.pk) == partitions.DEFAULT

    with CaptureQueriesContext(connection) as queries:
        started = time.monotonic()
        removed = ticks_prune(older_than=timedelta(days=400))
        took = time.monotonic() - started
    assert removed == 200_001
    assert took < 1.0, f"retention took {took:.2f}s"
    sql = [q["sql"] for q in queries.captured_queries]
    old = partitions.partition_name(old_day)
    assert f"DROP TABLE {old}" in sql
    # The day went whole: no row of it was deleted one by one.
    assert not any(s.startswith("DELETE") and old in s for s in sql)
    assert old not in _attached()
    assert partitions.partition_name(kept_day) in _attached()
    assert Tick.objects.filter(monitor=monitor).count() == 10


@pytest.mark.django_db(transaction=True)
def test_the_migration_keeps_the_ticks_both_ways(make_monitor, regions) -> None:
    monitor = make_monitor()
    now = timezone.now()
    ats = [now - timedelta(days=d, minutes=d) for d in (0, 3, 200, 900)]
    ids = {_tick(monitor, regions[0], at).pk: at for at in ats}

    def rows() -> dict[int, datetime]:
        return dict(Tick.objects.values_list("pk", "scheduled_at"))

    def relkind() -> str:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT relkind FROM pg_class WHERE relname = 'monitors_tick'"
            )
            return cursor.fetchone()[0]

    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes("monitors")
    try:
        executor.migrate([("monitors", "0015_tick_rollups")])
        assert relkind() == "r"
        assert rows() == ids
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(latest)
        assert relkind() == "p"
        assert rows() == ids
        # Days with ticks got their partitions; the rollups were built.
        by_time = sorted(ids, key=lambda pk: ids[pk])
        assert _where(by_time[0]) == partitions.DEFAULT  # 900 days ago
        assert _where(by_time[-1]) == partitions.partition_name(
            ats[0].astimezone(UTC).date()
        )
        assert TickRollup.objects.filter(resolution="1d").count() == 4
        new = _tick(monitor, regions[1], now)
        assert new.pk > max(ids)
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(latest)


def _tick_partitions_locked() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(DISTINCT c.oid) FROM pg_locks l
            JOIN pg_class c ON c.oid = l.relation
            WHERE l.pid = pg_backend_pid() AND c.relname LIKE 'monitors_tick_p%%'
              AND c.relkind = 'r' AND l.mode = 'AccessShareLock'
            """
        )
        return cursor.fetchone()[0]


@pytest.fixture
def two_months_of_days() -> Iterator[None]:
    """Two months of day partitions, committed (as in production), dropped
    after the test."""
    today = timezone.now().astimezone(UTC).date()
    made = []
    with connection.cursor() as cursor:
        have = partitions.day_partitions(cursor)
        for n in range(2, 60):
            day = today - timedelta(days=n)
            if day not in have:
                with transaction.atomic():
                    made.append(partitions.create_day(cursor, day))
    yield
    with connection.cursor() as cursor:
        for name in made:
            cursor.execute(f"DROP TABLE IF EXISTS {name}")


@pytest.mark.django_db(transaction=True)
def test_storing_a_batch_and_the_overview_open_only_recent_days(
    two_months_of_days, make_monitor, regions
) -> None:
    """With two months of day partitions, the write path and the overview's
    latest-tick reads are pruned to a few days by the planner (an unbounded
    read would open, and lock, every day)."""
    from monitors.checks.base import CheckResult
    from monitors.dashboard import selectors
    from monitors.services import TickResult, ticks_record

    now = timezone.now()
    monitor = make_monitor(degraded_threshold_ms=500)
    down = CheckResult(status="down", error="timeout", message="Timed out")
    for n in range(4):
        at = now - timedelta(minutes=4 - n)
        with transaction.atomic():
            ticks_record(
                region=regions[0],
                scheduled_at=at,
                results=[TickResult(monitor.pk, at, down)],
                now=at,
            )
            assert _tick_partitions_locked() <= 3 + partitions.DAYS_AHEAD
    monitor.refresh_from_db()
    since = selectors.ticks_since([monitor])
    with transaction.atomic():
        selectors.sparklines(monitor_ids=[monitor.pk], since=since)
        selectors.region_states(monitor_ids=[monitor.pk], since=since)
        selectors.latest_ticks(monitor=monitor)
        assert _tick_partitions_locked() <= 3 + partitions.DAYS_AHEAD
    with transaction.atomic():
        # The same read unbounded: every day.
        assert len(selectors.sparklines(monitor_ids=[monitor.pk])[monitor.pk]) == 4
        assert _tick_partitions_locked() >= 58
