"""Raw ticks live in day partitions: an insert on a day without one lands in
DEFAULT, the beat task prepares days ahead (taking DEFAULT's rows of the
day along), retention drops a whole day fast, and the migration keeps the
rows both ways."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
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
        for day in (old_day, kept_day):
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
        executor.migrate([("monitors", "0012_tick_rollups")])
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
