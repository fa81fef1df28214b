"""Day partitions of the tick table.

``monitors_tick`` is partitioned by RANGE on ``scheduled_at``: one partition
per UTC day, named ``monitors_tick_pYYYYMMDD``, plus a DEFAULT partition so
an insert into a day without its own partition (a clock far off, a day the
beat task has not prepared yet) never fails. The beat task
``monitors.tick_partitions_ensure`` keeps a few days ahead ready; retention
(``monitors.prune_ticks``) drops whole days, which takes milliseconds
whatever their size, instead of deleting rows (slow, and bloat for VACUUM).

The Django model does not know: the migration built the table in SQL with
the primary key ``(id, scheduled_at)`` (a partitioned table's unique keys
must contain the partition key; the slot key already does).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

TABLE = "monitors_tick"
DEFAULT = f"{TABLE}_default"
DAYS_AHEAD = 3
_NAME = re.compile(rf"^{TABLE}_p(\d{{8}})$")
# Serialises the partition makers (two beat runs, a migration).
_LOCK_KEY = 0x7469636B  # "tick"


def partition_name(day: date) -> str:
    return f"{TABLE}_p{day:%Y%m%d}"


def _bounds(day: date) -> tuple[datetime, datetime]:
    lo = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return lo, lo + timedelta(days=1)


def day_partitions(cursor: Any) -> dict[date, str]:
    """The attached day partitions, by day."""
    cursor.execute(
        """
        SELECT c.relname FROM pg_inherits i
        JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = %s::regclass
        """,
        [TABLE],
    )
    out = {}
    for (name,) in cursor.fetchall():
        match = _NAME.match(name)
        if match:
            out[datetime.strptime(match.group(1), "%Y%m%d").date()] = name
    return out


def create_day(cursor: Any, day: date) -> str:
    """Create ``day``'s partition; rows of that day already in DEFAULT move
    into it (attaching over them would fail). Call inside a transaction."""
    name = partition_name(day)
    lo, hi = _bounds(day)
    cursor.execute(
        f"SELECT EXISTS (SELECT 1 FROM {DEFAULT} "
        "WHERE scheduled_at >= %s AND scheduled_at < %s)",
        [lo, hi],
    )
    if not cursor.fetchone()[0]:
        cursor.execute(
            f"CREATE TABLE {name} PARTITION OF {TABLE} FOR VALUES FROM (%s) TO (%s)",
            [lo, hi],
        )
        return name
    cursor.execute(
        f"CREATE TABLE {name} (LIKE {TABLE} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
    )
    cursor.execute(
        f"""
        WITH moved AS (
            DELETE FROM {DEFAULT} WHERE scheduled_at >= %s AND scheduled_at < %s
            RETURNING *
        )
        INSERT INTO {name} SELECT * FROM moved
        """,
        [lo, hi],
    )
    cursor.execute(
        f"ALTER TABLE {TABLE} ATTACH PARTITION {name} FOR VALUES FROM (%s) TO (%s)",
        [lo, hi],
    )
    return name


def tick_partitions_ensure(
    *, days_ahead: int = DAYS_AHEAD, now: datetime | None = None
) -> list[str]:
    """Create the partitions of yesterday to ``days_ahead`` days ahead that
    are missing, and of the days within retention that DEFAULT holds rows of
    (the task did not run for days); returns the names created."""
    now = now or timezone.now()
    today = now.astimezone(UTC).date()
    wanted = {today + timedelta(days=n) for n in range(-1, days_ahead + 1)}
    created = []
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
        # Creating a partition locks the parent briefly; never queue the
        # tick writers behind a long wait for it.
        cursor.execute("SET LOCAL lock_timeout = '5s'")
        cursor.execute(
            f"SELECT DISTINCT (scheduled_at AT TIME ZONE 'UTC')::date FROM {DEFAULT} "
            "WHERE scheduled_at >= %s AND scheduled_at < %s",
            [
                now - timedelta(days=settings.UPTIME_TICK_RETENTION_DAYS),
                _bounds(max(wanted))[1],
            ],
        )
        wanted |= {row[0] for row in cursor.fetchall()}
        have = day_partitions(cursor)
        for day in sorted(wanted - set(have)):
            created.append(create_day(cursor, day))
    return created


def tick_partitions_drop(*, older_than: timedelta, batch_size: int = 10_000) -> int:
    """Drop the day partitions entirely older than ``now - older_than``, and
    delete the DEFAULT partition's rows older than that; returns the number
    of ticks removed.

    A day partly inside retention stays until it is wholly past, so raw
    ticks live up to a day longer than the setting.
    """
    cutoff = timezone.now() - older_than
    total = 0
    with connection.cursor() as cursor:
        for day, name in sorted(day_partitions(cursor).items()):
            if _bounds(day)[1] > cutoff:
                continue
            with transaction.atomic():
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
                cursor.execute("SET LOCAL lock_timeout = '5s'")
                cursor.execute(f"SELECT count(*) FROM {name}")
                total += cursor.fetchone()[0]
                cursor.execute(f"DROP TABLE {name}")
        while True:
            # Small batches: DEFAULT is shared with live inserts.
            cursor.execute(
                f"""
                DELETE FROM {DEFAULT} WHERE ctid = ANY(ARRAY(
                    SELECT ctid FROM {DEFAULT} WHERE scheduled_at < %s LIMIT %s
                ))
                """,
                [cutoff, batch_size],
            )
            if not cursor.rowcount:
                return total
            total += cursor.rowcount
