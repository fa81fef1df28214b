"""Rollups: ticks summed per monitor, region and time bucket.

Three resolutions (``RollupResolution``): 5 minutes, an hour and a UTC day,
each bucket starting on a multiple of its width since the Unix epoch. A
bucket holds the count of ticks by status, the sum and count of response
times of the checks that did not fail, and a histogram of those times over
fixed log-spaced bounds, from which percentiles are estimated.

They are written in the same transaction as the ticks, by one statement for
the whole batch and every resolution (``rollups_record``), and only for
ticks that were really inserted, so a redelivered batch counts nothing
twice. ``rollups_rebuild`` recomputes them from the raw ticks (existing data,
or after a repair). Raw ticks are dropped by day after
``UPTIME_TICK_RETENTION_DAYS``; rollups stay for ``UPTIME_ROLLUP_RETENTION_DAYS``
(5-minute ones for ``UPTIME_ROLLUP_5M_RETENTION_DAYS``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from .models import RollupResolution, Tick, TickRollup, TickStatus

# Histogram bounds in milliseconds: ten per decade from 1 ms to about 63 s
# (each 10^(k/10) rounded, duplicates at the low end removed), so from 10 ms
# up a bucket is at most ~26% wide and an interpolated percentile is off by
# a few percent (below 10 ms, by a millisecond or two).
# Bucket 0 holds [0, 1), bucket i holds [LATENCY_BOUNDS_MS[i-1],
# LATENCY_BOUNDS_MS[i]), the last holds everything from 63096 ms up. The
# bounds are part of the stored data: change them only with a rebuild.
LATENCY_BOUNDS_MS: tuple[int, ...] = tuple(
    sorted({max(1, round(10 ** (k / 10))) for k in range(0, 49)})
)
HIST_SIZE = len(LATENCY_BOUNDS_MS) + 1
_BOUNDS = "{" + ",".join(map(str, LATENCY_BOUNDS_MS)) + "}"

# Bucket widths; every resolution bins from the epoch, so buckets of a finer
# resolution nest exactly in the coarser ones.
WIDTHS: dict[str, timedelta] = {
    RollupResolution.FIVE_MINUTES: timedelta(minutes=5),
    RollupResolution.HOUR: timedelta(hours=1),
    RollupResolution.DAY: timedelta(days=1),
}
_EPOCH = "1970-01-01 00:00:00+00"

_ROLLUP = TickRollup._meta.db_table
_TICK = Tick._meta.db_table


def _select_from(source: str) -> str:
    """``SELECT`` the rollup rows of every resolution from ``source``, a
    relation with columns monitor_id, region_id, scheduled_at, status and
    response_time_ms (the tick table itself, or the VALUES of a batch)."""
    hist = ", ".join(
        f"count(*) FILTER (WHERE lat AND hb = {i})" for i in range(HIST_SIZE)
    )
    widths = ", ".join(
        f"('{res}', interval '{int(width.total_seconds())} seconds')"
        for res, width in WIDTHS.items()
    )
    return f"""
        SELECT s.monitor_id, s.region_id, w.res,
               date_bin(w.width, s.scheduled_at, TIMESTAMPTZ '{_EPOCH}') AS bucket,
               count(*), count(*) FILTER (WHERE s.status = '{TickStatus.UP}'),
               count(*) FILTER (WHERE s.status = '{TickStatus.DOWN}'),
               count(*) FILTER (WHERE s.status = '{TickStatus.DEGRADED}'),
               count(*) FILTER (WHERE s.status = '{TickStatus.MISSED}'),
               coalesce(sum(s.response_time_ms) FILTER (WHERE lat), 0),
               count(*) FILTER (WHERE lat),
               ARRAY[{hist}]
        FROM (
            SELECT src.*,
                   src.response_time_ms IS NOT NULL
                     AND src.status IN ('{TickStatus.UP}', '{TickStatus.DEGRADED}')
                     AS lat,
                   width_bucket(src.response_time_ms, '{_BOUNDS}'::int[]) AS hb
            FROM {source} src
        ) s
        CROSS JOIN (VALUES {widths}) AS w(res, width)
        GROUP BY s.monitor_id, s.region_id, w.res, bucket
    """


_COLUMNS = (
    "monitor_id, region_id, resolution, bucket, count, up, down, degraded, "
    "missed, latency_sum_ms, latency_count, latency_hist"
)
_CONFLICT = "ON CONFLICT (monitor_id, resolution, bucket, region_id) DO UPDATE SET"
_ADD = f"""{_CONFLICT}
        count = r.count + EXCLUDED.count,
        up = r.up + EXCLUDED.up,
        down = r.down + EXCLUDED.down,
        degraded = r.degraded + EXCLUDED.degraded,
        missed = r.missed + EXCLUDED.missed,
        latency_sum_ms = r.latency_sum_ms + EXCLUDED.latency_sum_ms,
        latency_count = r.latency_count + EXCLUDED.latency_count,
        latency_hist = ARRAY(
            SELECT coalesce(a, 0) + coalesce(b, 0)
            FROM unnest(r.latency_hist, EXCLUDED.latency_hist)
                 WITH ORDINALITY AS u(a, b, i)
            ORDER BY i
        )"""


_BATCH = (
    "(SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::timestamptz[], "
    "%s::varchar[], %s::int[]) AS v(monitor_id, region_id, scheduled_at, "
    "status, response_time_ms))"
)
_RECORD_SQL = f"INSERT INTO {_ROLLUP} AS r ({_COLUMNS}) {_select_from(_BATCH)} {_ADD}"


def rollups_record(ticks: Sequence[Tick]) -> int:
    """Add the batch's inserted ticks to their rollups; one statement.

    Only ticks with a primary key count: the tick insert sets it from
    ``RETURNING`` on the rows it really wrote, so the ticks of a redelivered
    batch (already stored) are left out. Runs in the caller's transaction.
    Returns the number of ticks counted.
    """
    stored = [t for t in ticks if t.pk is not None]
    if not stored:
        return 0
    # One array per column: the same query text whatever the batch size.
    params: list[list[Any]] = [
        [t.monitor_id for t in stored],
        [t.region_id for t in stored],
        [t.scheduled_at for t in stored],
        [str(t.status) for t in stored],
        [t.response_time_ms for t in stored],
    ]
    with connection.cursor() as cursor:
        cursor.execute(_RECORD_SQL, params)
    return len(stored)


def rollups_rebuild(*, since: datetime | None = None) -> int:
    """Recompute every rollup from the raw ticks at or after ``since``
    (floored to its UTC day; default: the oldest tick's day).

    Rollups before that are left alone (their raw ticks may be gone). The
    rollup table is locked against writers meanwhile: a batch stored
    concurrently waits and then adds its ticks to the rebuilt rows. Returns
    the number of rollup rows written.
    """
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {_ROLLUP} IN SHARE ROW EXCLUSIVE MODE")
        if since is None:
            cursor.execute(f"SELECT min(scheduled_at) FROM {_TICK}")
            since = cursor.fetchone()[0]
            if since is None:
                return 0
        day = since.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        cursor.execute(f"DELETE FROM {_ROLLUP} WHERE bucket >= %s", [day])
        source = f"(SELECT * FROM {_TICK} WHERE scheduled_at >= %s)"
        cursor.execute(
            f"INSERT INTO {_ROLLUP} AS r ({_COLUMNS}) {_select_from(source)} {_ADD}",
            [day],
        )
        return cursor.rowcount


def rollups_prune(*, now: datetime | None = None) -> int:
    """Delete rollups past their resolution's retention; returns how many."""
    from django.conf import settings

    now = now or timezone.now()
    keep = {
        RollupResolution.FIVE_MINUTES: settings.UPTIME_ROLLUP_5M_RETENTION_DAYS,
        RollupResolution.HOUR: settings.UPTIME_ROLLUP_RETENTION_DAYS,
        RollupResolution.DAY: settings.UPTIME_ROLLUP_RETENTION_DAYS,
    }
    total = 0
    for res, days in keep.items():
        deleted, _ = TickRollup.objects.filter(
            resolution=res, bucket__lt=now - timedelta(days=days)
        ).delete()
        total += deleted
    return total


# --- reading -------------------------------------------------------------------


def percentile(hist: Sequence[int], q: float) -> float | None:
    """The ``q`` quantile (0..1) estimated from a latency histogram, by
    linear interpolation inside the bucket it falls in (None if empty).

    The open-ended last bucket answers its lower bound.
    """
    n = sum(hist)
    if n <= 0:
        return None
    rank = q * n
    seen = 0
    for i, c in enumerate(hist):
        if c and seen + c >= rank:
            lo = 0 if i == 0 else LATENCY_BOUNDS_MS[i - 1]
            if i >= len(LATENCY_BOUNDS_MS):
                return float(lo)
            hi = LATENCY_BOUNDS_MS[i]
            return lo + (hi - lo) * max(rank - seen, 0) / c
        seen += c
    return float(LATENCY_BOUNDS_MS[-1])


def hist_add(a: Sequence[int], b: Sequence[int]) -> list[int]:
    size = max(len(a), len(b))
    return [
        (a[i] if i < len(a) else 0) + (b[i] if i < len(b) else 0) for i in range(size)
    ]


@dataclass(slots=True)
class DayCounts:
    """One UTC day of a monitor's checks, every region summed."""

    day: date
    count: int = 0
    up: int = 0
    down: int = 0
    degraded: int = 0
    missed: int = 0

    @property
    def checked(self) -> int:
        """Checks that ran (a missed slot is no data)."""
        return self.count - self.missed

    @property
    def uptime(self) -> float | None:
        """Percent of the checks that ran that did not fail (degraded is
        up); None for a day without any."""
        if self.checked <= 0:
            return None
        return 100.0 * (self.checked - self.down) / self.checked


def daily_uptime(
    monitor_ids: Sequence[int], days: int = 90, *, now: datetime | None = None
) -> dict[int, list[DayCounts]]:
    """One entry per UTC day for the last ``days`` days (oldest first, today
    last) per monitor, from the daily rollups: one index range read, never
    the raw ticks."""
    now = now or timezone.now()
    today = now.astimezone(UTC).date()
    first = today - timedelta(days=days - 1)
    start = datetime(first.year, first.month, first.day, tzinfo=UTC)
    out = {
        mid: [DayCounts(first + timedelta(days=n)) for n in range(days)]
        for mid in monitor_ids
    }
    if not out:
        return out
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT monitor_id, bucket, sum(count), sum(up), sum(down),
                   sum(degraded), sum(missed)
            FROM {_ROLLUP}
            WHERE monitor_id = ANY(%s) AND resolution = %s AND bucket >= %s
            GROUP BY monitor_id, bucket
            """,
            [list(out), RollupResolution.DAY, start],
        )
        for mid, bucket, count, up, down, degraded, missed in cursor.fetchall():
            index = (bucket.astimezone(UTC).date() - first).days
            if 0 <= index < days:
                out[mid][index] = DayCounts(
                    bucket.astimezone(UTC).date(),
                    int(count),
                    int(up),
                    int(down),
                    int(degraded),
                    int(missed),
                )
    return out
