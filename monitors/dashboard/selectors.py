"""Read-side queries for the dashboard, the status page and the badges.

Every aggregate is one SQL statement over a whole page of monitors (never a
query per monitor). The statements are PostgreSQL's: ``LATERAL`` joins that
walk the tick indexes backwards, ``percentile_cont`` and ``generate_series``.

Uptime (SLA) is computed from incidents, not from ticks:

    uptime = 1 - confirmed downtime / observed time

where confirmed downtime is the time an incident was open (from the first
failing check of the streak that opened it to its recovery) and observed time
is the part of the period after the monitor was created. A single failed
check that does not reach the failure threshold and region quorum is not
downtime, and degraded checks count as up. Paused time and maintenance
windows count as neither: they leave both the observed time and the downtime.
Missed slots (ticks with status ``missed``: our checker's lag, not the
target's) are no data: they appear in no chart, sparkline or region state.
This keeps the figure consistent with the alerts a user received, and makes it
cheap: the incident table is tiny next to the tick table, so the overview does
not scan millions of ticks.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import (
    Case,
    Count,
    IntegerField,
    Q,
    QuerySet,
    Value,
    When,
)
from django.utils import timezone

from .. import rollups
from ..maintenance import Span, uptime_spans
from ..models import (
    Incident,
    IncidentStatus,
    Monitor,
    MonitorStatus,
    RollupResolution,
    Tick,
    TickRollup,
    TickStatus,
)
from ..regionhealth import coverage_of

UPTIME_WINDOWS: dict[str, timedelta] = {
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
}
SPARKLINE_POINTS = 30
# "However old": no tick is scheduled before this.
_EVER = datetime(1970, 1, 1, tzinfo=UTC)

# Range -> (length, bucket width): about 60-120 points per series.
CHART_RANGES: dict[str, tuple[timedelta, timedelta]] = {
    "1h": (timedelta(hours=1), timedelta(minutes=1)),
    "24h": (timedelta(hours=24), timedelta(minutes=15)),
    "7d": (timedelta(days=7), timedelta(hours=2)),
    "30d": (timedelta(days=30), timedelta(hours=6)),
}

OVERVIEW_FIELDS = (
    "id",
    "interval_seconds",
    "project_id",
    "name",
    "url",
    "status",
    "enabled",
    "region_quorum",
    "last_checked_at",
    "last_response_time_ms",
    "flapping",
    "consecutive_failures",
    "failure_threshold",
    "created_at",
)

_STATUS_ORDER = {
    MonitorStatus.DOWN: 0,
    MonitorStatus.FAILING: 1,
    MonitorStatus.PENDING: 2,
    MonitorStatus.UP: 3,
    MonitorStatus.PAUSED: 4,
}


def _fetch(sql: str, params: Sequence[Any] | dict[str, Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


# --- monitors --------------------------------------------------------------------


def monitors_for_overview(
    *, project_id: int, search: str = "", status: str = ""
) -> QuerySet[Monitor]:
    """The project's monitors, down first, then failing, pending, up, paused."""
    qs = Monitor.objects.filter(project_id=project_id)
    if search:
        qs = qs.filter(Q(name__icontains=search) | Q(url__icontains=search))
    if status in MonitorStatus.values:
        qs = qs.filter(status=status)
    order = Case(
        *(When(status=s, then=Value(n)) for s, n in _STATUS_ORDER.items()),
        default=Value(9),
        output_field=IntegerField(),
    )
    # Only what the overview shows: monitor rows grow wide as check kinds
    # add options, and 1,000 of them are built per page at most.
    return (
        qs.annotate(status_rank=order)
        .order_by("status_rank", "name", "id")
        .only(*OVERVIEW_FIELDS)
    )


def monitor_status_counts(*, project_id: int) -> dict[str, int]:
    counts = dict(
        Monitor.objects.filter(project_id=project_id)
        .order_by()
        .values_list("status")
        .annotate(n=Count("id"))
    )
    return {s: counts.get(s, 0) for s in MonitorStatus.values}


# --- uptime from incidents ---------------------------------------------------------


def uptime_by_monitor(
    *, monitors: Sequence[Monitor], now: datetime | None = None
) -> dict[int, dict[str, float | None]]:
    """``{monitor_id: {"24h": 99.9, "7d": ..., "30d": ...}}`` in one query.

    ``None`` means no observed time (created this instant, or paused or in
    maintenance all along).
    """
    now = now or timezone.now()
    if not monitors:
        return {}
    created = {m.pk: m.created_at for m in monitors}
    spans = _UptimeSpans(
        list(created), since=now - max(UPTIME_WINDOWS.values()), now=now
    )
    out: dict[int, dict[str, float | None]] = {}
    for monitor_id, created_at in created.items():
        row: dict[str, float | None] = {}
        for label, span in UPTIME_WINDOWS.items():
            row[label] = spans.uptime(monitor_id, max(now - span, created_at), now)
        out[monitor_id] = row
    return out


class _UptimeSpans:
    """A page of monitors' incidents and left-out spans (pauses, maintenance
    windows), from one query (monitors.maintenance.uptime_spans).

    Left-out time counts as neither up nor down: it leaves both the observed
    time and the downtime.
    """

    def __init__(self, ids: Sequence[int], *, since: datetime, now: datetime) -> None:
        self.incidents, self.left_out = uptime_spans(
            monitor_ids=ids, since=since, until=now
        )

    def observed_and_down(
        self, monitor_id: int, lo: datetime, hi: datetime
    ) -> tuple[float, float]:
        """Observed and down seconds within [lo, hi)."""
        if hi <= lo:
            return 0.0, 0.0
        whole = [(lo, hi)]
        incidents = self.incidents.get(monitor_id, ())
        left_out = self.left_out.get(monitor_id, ())
        observed = (hi - lo).total_seconds() - _overlap_seconds(left_out, whole, lo, hi)
        down = _overlap_seconds(incidents, whole, lo, hi)
        if left_out and incidents:
            down -= _overlap_seconds(incidents, left_out, lo, hi)
        return max(observed, 0.0), max(down, 0.0)

    def uptime(self, monitor_id: int, lo: datetime, hi: datetime) -> float | None:
        observed, down = self.observed_and_down(monitor_id, lo, hi)
        if observed <= 0:
            return None
        return 100.0 * (1 - min(down, observed) / observed)


def _overlap_seconds(
    a: Iterable[Span], b: Iterable[Span], lo: datetime, hi: datetime
) -> float:
    """Seconds within [lo, hi) covered by both ``a`` and ``b`` (each merged)."""
    total = 0.0
    b = list(b)
    for a_start, a_end in a:
        for b_start, b_end in b:
            start, end = max(a_start, b_start, lo), min(a_end, b_end, hi)
            if end > start:
                total += (end - start).total_seconds()
    return total


@dataclass(slots=True)
class DayBar:
    day: date
    observed_seconds: float
    down_seconds: float

    @property
    def uptime(self) -> float | None:
        if self.observed_seconds <= 0:
            return None
        return 100.0 * (
            1 - min(self.down_seconds, self.observed_seconds) / self.observed_seconds
        )

    @property
    def level(self) -> str:
        """CSS class: nodata, ok (100%), minor (>= 99%), major."""
        up = self.uptime
        if up is None:
            return "nodata"
        if self.down_seconds <= 0:
            return "ok"
        return "minor" if up >= 99.0 else "major"


def daily_uptime(
    *, monitors: Sequence[Monitor], days: int = 90, now: datetime | None = None
) -> dict[int, list[DayBar]]:
    """One cell per UTC day for the last ``days`` days, oldest first."""
    now = now or timezone.now()
    today = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    first = today - timedelta(days=days - 1)
    created = {m.pk: m.created_at for m in monitors}
    if not created:
        return {}
    spans = _UptimeSpans(list(created), since=first, now=now)
    # The day boundaries are the same for every monitor: compute them once.
    bounds = []
    for n in range(days):
        lo = first + timedelta(days=n)
        bounds.append((lo.date(), lo, min(lo + timedelta(days=1), now)))
    out: dict[int, list[DayBar]] = {}
    for monitor_id, created_at in created.items():
        bars = []
        for day, lo, hi in bounds:
            observed, down = spans.observed_and_down(
                monitor_id, max(lo, created_at), hi
            )
            bars.append(DayBar(day, observed, down))
        out[monitor_id] = bars
    return out


# --- latest ticks ------------------------------------------------------------------


def ticks_since(
    monitors: Sequence[Monitor],
    *,
    points: int = SPARKLINE_POINTS,
    now: datetime | None = None,
) -> datetime:
    """How far back the latest ``points`` ticks of these monitors can be:
    their oldest last check, ``points + 1`` intervals before it, and a day to
    spare (missed slots, short pauses).

    Passed to ``sparklines`` and ``region_states`` as a constant, it lets
    the planner open only those days' partitions of the tick table instead
    of every day kept (hundreds: ~100 ms of planning and a lock on each).
    """
    now = now or timezone.now()
    floor = now
    for m in monitors:
        last = m.last_checked_at or now
        floor = min(floor, last - timedelta(seconds=m.interval_seconds * (points + 1)))
    return floor - timedelta(days=1)


def sparklines(
    *,
    monitor_ids: Sequence[int],
    points: int = SPARKLINE_POINTS,
    since: datetime | None = None,
) -> dict[int, list[tuple[int | None, str]]]:
    """Last ``points`` ticks per monitor (any region) from ``since`` on,
    oldest first (see ``ticks_since``; None: however old).

    Each point is ``(response_time_ms, status)``.
    """
    out: dict[int, list[tuple[int | None, str]]] = defaultdict(list)
    if not monitor_ids:
        return out
    # One index walk per monitor on (monitor, scheduled_at), LIMIT k.
    sql = f"""
        SELECT m.id, t.response_time_ms, t.status
        FROM unnest(%s::bigint[]) AS m(id)
        CROSS JOIN LATERAL (
            SELECT response_time_ms, status, scheduled_at
            FROM {Tick._meta.db_table}
            WHERE monitor_id = m.id AND status <> %s AND scheduled_at >= %s
            ORDER BY scheduled_at DESC LIMIT %s
        ) t
        ORDER BY m.id, t.scheduled_at
    """
    rows = _fetch(sql, [list(monitor_ids), TickStatus.MISSED, since or _EVER, points])
    for monitor_id, ms, status in rows:
        out[monitor_id].append((ms, status))
    return out


@dataclass
class RegionState:
    code: str
    status: str  # up, down, degraded or "nodata"
    checked_at: datetime | None = None
    response_time_ms: int | None = None
    healthy: bool = True  # the region's recorded health (monitors.regionhealth)


def region_states(
    *, monitor_ids: Sequence[int], since: datetime | None = None
) -> dict[int, list[RegionState]]:
    """The latest tick (from ``since`` on, see ``ticks_since``) of each
    monitor in each of its active regions."""
    out: dict[int, list[RegionState]] = defaultdict(list)
    if not monitor_ids:
        return out
    through = Monitor.regions.through._meta.db_table
    region = Monitor.regions.rel.model._meta.db_table
    # One probe of the unique (monitor, region, scheduled_at) index per pair.
    sql = f"""
        SELECT mr.monitor_id, r.code, t.status, t.checked_at, t.response_time_ms,
               r.healthy
        FROM {through} mr
        JOIN {region} r ON r.id = mr.region_id AND r.active
        LEFT JOIN LATERAL (
            SELECT status, checked_at, response_time_ms
            FROM {Tick._meta.db_table}
            WHERE monitor_id = mr.monitor_id AND region_id = mr.region_id
              AND status <> %s AND scheduled_at >= %s
            ORDER BY scheduled_at DESC LIMIT 1
        ) t ON true
        WHERE mr.monitor_id = ANY(%s)
        ORDER BY mr.monitor_id, r.code
    """
    rows = _fetch(sql, [TickStatus.MISSED, since or _EVER, list(monitor_ids)])
    for monitor_id, code, status, checked_at, ms, healthy in rows:
        out[monitor_id].append(
            RegionState(
                code=code,
                status=status or "nodata",
                checked_at=checked_at,
                response_time_ms=ms,
                healthy=healthy,
            )
        )
    return out


def latest_ticks(*, monitor: Monitor, limit: int = 50) -> list[Tick]:
    since = ticks_since([monitor], points=limit)
    return list(
        Tick.objects.filter(monitor=monitor, scheduled_at__gte=since)
        .select_related("region")
        # The evidence (up to KBs a row) is shown on the tick's own page.
        .defer("details")
        .order_by("-scheduled_at", "-id")[:limit]
    )


# --- response-time chart -----------------------------------------------------------


@dataclass
class Failure:
    """The failed checks of one region in one chart bucket."""

    bucket: datetime
    count: int
    checks: int
    last_at: datetime
    reason: str


@dataclass
class Series:
    region: str
    # (bucket start, p50, p95) oldest first, over the checks that did not
    # fail; p50/p95 None when there were none (a gap in the line).
    points: list[tuple[datetime, float | None, float | None]] = field(
        default_factory=list
    )
    failures: list[Failure] = field(default_factory=list)
    p50: float | None = None
    p95: float | None = None
    checks: int = 0
    failed: int = 0

    @property
    def ok_percent(self) -> float | None:
        if not self.checks:
            return None
        return 100.0 * (self.checks - self.failed) / self.checks


@dataclass
class ChartIncident:
    """An incident overlapping the chart's range (``ended_at`` None: open)."""

    started_at: datetime
    ended_at: datetime | None
    status: str
    reason: str


@dataclass
class Chart:
    range: str
    start: datetime
    end: datetime
    step: timedelta
    series: list[Series]
    total: Series
    incidents: list[ChartIncident] = field(default_factory=list)


def chart_default_range(*, monitor: Monitor, now: datetime | None = None) -> str:
    """A monitor younger than a day has little to show over 24 hours: its
    chart opens on the last hour."""
    now = now or timezone.now()
    return "1h" if now - monitor.created_at < timedelta(days=1) else "24h"


def _failure_reason(message: str | None, error: str | None, code: int | None) -> str:
    if message:
        return message
    if code:
        return f"HTTP {code}" + (f" ({error})" if error else "")
    return error or "down"


def _incident_reason(cause: str, code: int | None) -> str:
    return f"HTTP {code}" if code else cause or "down"


# Per (region, bucket), per region and overall: the percentiles of the checks
# that did not fail (a failed check's time says how long failing took, not how
# fast the target answers), and the count, time and reason of the failures.
# The incidents overlapping the range come in the same statement, shaped like
# the tick rows (label = status, at/until = started/resolved), so the chart
# costs one query. Missed slots are no data: neither a point nor a failure.
_CHART_SQL = f"""
    SELECT 'tick', r.code, date_bin(%(step)s, t.scheduled_at, %(origin)s) AS bucket,
           max(t.checked_at) FILTER (WHERE t.status = '{TickStatus.DOWN}'),
           percentile_cont(0.5) WITHIN GROUP (ORDER BY t.response_time_ms)
             FILTER (WHERE t.status <> '{TickStatus.DOWN}'),
           percentile_cont(0.95) WITHIN GROUP (ORDER BY t.response_time_ms)
             FILTER (WHERE t.status <> '{TickStatus.DOWN}'),
           count(*), count(*) FILTER (WHERE t.status = '{TickStatus.DOWN}'),
           (array_agg(t.status_code ORDER BY t.scheduled_at DESC)
             FILTER (WHERE t.status = '{TickStatus.DOWN}'))[1],
           (array_agg(t.message ORDER BY t.scheduled_at DESC)
             FILTER (WHERE t.status = '{TickStatus.DOWN}'))[1],
           (array_agg(t.error ORDER BY t.scheduled_at DESC)
             FILTER (WHERE t.status = '{TickStatus.DOWN}'))[1],
           GROUPING(r.code), GROUPING(date_bin(%(step)s, t.scheduled_at,
                                               %(origin)s))
    FROM {Tick._meta.db_table} t
    JOIN {Monitor.regions.rel.model._meta.db_table} r ON r.id = t.region_id
    WHERE t.monitor_id = %(monitor)s
      AND t.scheduled_at >= %(start)s AND t.scheduled_at < %(end)s
      AND t.status <> '{TickStatus.MISSED}'
    GROUP BY GROUPING SETS ((r.code, bucket), (r.code), ())
    UNION ALL
    SELECT 'incident', i.status, i.started_at, i.resolved_at, NULL, NULL, NULL, NULL,
           CASE WHEN jsonb_typeof(i.details -> 'status_code') = 'number'
                THEN (i.details ->> 'status_code')::int END,
           i.cause, NULL, 0, 0
    FROM {Incident._meta.db_table} i
    WHERE i.monitor_id = %(monitor)s
      AND i.started_at < %(end)s
      AND (i.resolved_at IS NULL OR i.resolved_at > %(start)s)
"""


# Ranges past the last hour read the rollups of this resolution, never the
# raw ticks (but for the failed ones, through their small partial index).
CHART_ROLLUPS: dict[str, str] = {
    "24h": RollupResolution.FIVE_MINUTES,
    "7d": RollupResolution.HOUR,
    "30d": RollupResolution.HOUR,
}

_EPOCH = "TIMESTAMPTZ '1970-01-01 00:00:00+00'"
# The rollups in the range, the latest failed check per region and chart
# bucket (for its reason), and the incidents, shaped alike: one statement.
_ROLLUP_CHART_SQL = f"""
    SELECT 'rollup', r.code, x.bucket, NULL::timestamptz, x.count, x.down, x.missed,
           x.latency_hist, NULL::int, NULL::text, NULL::text
    FROM {TickRollup._meta.db_table} x
    JOIN {Monitor.regions.rel.model._meta.db_table} r ON r.id = x.region_id
    WHERE x.monitor_id = %(monitor)s AND x.resolution = %(resolution)s
      AND x.bucket > %(start)s - %(width)s AND x.bucket < %(end)s
    UNION ALL
    SELECT * FROM (
        SELECT DISTINCT ON (r.code, bucket)
               'failure', r.code, b.bucket,
               max(t.checked_at) OVER (PARTITION BY r.code, b.bucket),
               NULL::bigint, NULL::bigint, NULL::bigint, NULL::int[],
               t.status_code::int, t.message::text, t.error::text
        FROM {Tick._meta.db_table} t
        JOIN {Monitor.regions.rel.model._meta.db_table} r ON r.id = t.region_id
        -- The chart bucket of the tick's rollup, as the rollups are placed.
        CROSS JOIN LATERAL (
            SELECT greatest(date_bin(%(step)s, date_bin(%(width)s, t.scheduled_at,
                                                        {_EPOCH}),
                                     %(origin)s),
                            %(origin)s) AS bucket
        ) b
        WHERE t.monitor_id = %(monitor)s AND t.status = '{TickStatus.DOWN}'
          AND t.scheduled_at >= date_bin(%(width)s, %(start)s, {_EPOCH})
          AND t.scheduled_at < %(end)s
        ORDER BY r.code, b.bucket, t.scheduled_at DESC
    ) f
    UNION ALL
    SELECT 'incident', i.status, i.started_at, i.resolved_at, NULL, NULL, NULL, NULL,
           CASE WHEN jsonb_typeof(i.details -> 'status_code') = 'number'
                THEN (i.details ->> 'status_code')::int END,
           i.cause, NULL
    FROM {Incident._meta.db_table} i
    WHERE i.monitor_id = %(monitor)s
      AND i.started_at < %(end)s
      AND (i.resolved_at IS NULL OR i.resolved_at > %(start)s)
"""


def response_chart(
    *, monitor: Monitor, range_key: str, now: datetime | None = None
) -> Chart:
    """p50 and p95 response time per region per time bucket, and per region
    and overall for the whole range (GROUPING SETS), the failed checks per
    bucket and the incidents in the range, in one statement.

    The last hour is read from the raw ticks (exact percentiles); longer
    ranges from the rollups (percentiles estimated from their histograms,
    a rollup counted in the chart bucket its start falls in)."""
    span, step = CHART_RANGES[range_key]
    now = now or timezone.now()
    start = now - span
    if range_key in CHART_ROLLUPS:
        return _rollup_chart(monitor=monitor, range_key=range_key, start=start, end=now)
    rows = _fetch(
        _CHART_SQL,
        {
            "step": step,
            "origin": start,
            "monitor": monitor.pk,
            "start": start,
            "end": now,
        },
    )
    # Keys: (region code or None, bucket or None) -> the row's aggregates.
    cells: dict[tuple[str | None, datetime | None], tuple[Any, ...]] = {}
    incidents = []
    for kind, label, at, until, *aggregates, g_region, g_bucket in rows:
        if kind == "incident":
            code, cause = aggregates[4], aggregates[5]
            incidents.append(
                ChartIncident(at, until, label, _incident_reason(cause, code))
            )
            continue
        key = (None if g_region else label, None if g_bucket else at)
        cells[key] = (until, *aggregates)
    incidents.sort(key=lambda i: i.started_at)
    codes = sorted({code for code, _ in cells if code is not None})
    buckets = [start + step * i for i in range(int(span / step))]
    series = [_series(code, cells, buckets, region=code) for code in codes]
    total = _series("all", cells, [], region=None)
    return Chart(
        range=range_key,
        start=start,
        end=now,
        step=step,
        series=series,
        total=total,
        incidents=incidents,
    )


@dataclass
class _Cell:
    """A region's rollups summed over one chart bucket (or the range)."""

    count: int = 0
    down: int = 0
    missed: int = 0
    hist: list[int] = field(default_factory=list)

    def add(self, count: int, down: int, missed: int, hist: Sequence[int]) -> None:
        self.count += count
        self.down += down
        self.missed += missed
        self.hist = rollups.hist_add(self.hist, hist)

    def row(self) -> tuple[Any, ...]:
        """The shape of a raw-tick chart cell's aggregates after ``last_at``."""
        return (
            rollups.percentile(self.hist, 0.5),
            rollups.percentile(self.hist, 0.95),
            self.count - self.missed,
            self.down,
        )


def _rollup_chart(
    *, monitor: Monitor, range_key: str, start: datetime, end: datetime
) -> Chart:
    span, step = CHART_RANGES[range_key]
    resolution = CHART_ROLLUPS[range_key]
    rows = _fetch(
        _ROLLUP_CHART_SQL,
        {
            "monitor": monitor.pk,
            "resolution": resolution,
            "width": rollups.WIDTHS[resolution],
            "step": step,
            "origin": start,
            "start": start,
            "end": end,
        },
    )
    n_buckets = int(span / step)
    buckets = [start + step * i for i in range(n_buckets)]
    sums: dict[tuple[str | None, datetime | None], _Cell] = defaultdict(_Cell)
    failures: dict[tuple[str, datetime], tuple[Any, ...]] = {}
    incidents = []
    for kind, label, at, until, count, down, missed, hist, code, text, error in rows:
        if kind == "incident":
            incidents.append(
                ChartIncident(at, until, label, _incident_reason(text, code))
            )
        elif kind == "failure":
            failures[(label, at)] = (until, code, text, error)
        else:
            index = min(max(int((at - start) / step), 0), n_buckets - 1)
            for key in ((label, buckets[index]), (label, None), (None, None)):
                sums[key].add(count, down, missed, hist)
    incidents.sort(key=lambda i: i.started_at)
    cells: dict[tuple[str | None, datetime | None], tuple[Any, ...]] = {}
    for (code, bucket), cell in sums.items():
        if cell.count - cell.missed <= 0:
            continue  # only missed slots: no data
        last_at, status_code, message, error = (
            failures.get((code, bucket), (None, None, None, None))
            if code is not None and bucket is not None
            else (None, None, None, None)
        )
        p50, p95, checks, failed = cell.row()
        cells[(code, bucket)] = (
            last_at,
            p50,
            p95,
            checks,
            failed,
            status_code,
            message,
            error,
        )
    codes = sorted({code for code, _ in cells if code is not None})
    return Chart(
        range=range_key,
        start=start,
        end=end,
        step=step,
        series=[_series(code, cells, buckets, region=code) for code in codes],
        total=_series("all", cells, [], region=None),
        incidents=incidents,
    )


def _series(
    code: str,
    cells: dict[tuple[str | None, datetime | None], tuple[Any, ...]],
    buckets: list[datetime],
    *,
    region: str | None,
) -> Series:
    """One region's series (``region`` None: all regions, whole range only)."""
    whole = cells.get((region, None))
    s = Series(region=code)
    if whole:
        s.p50, s.p95, s.checks, s.failed = whole[1:5]
    for b in buckets:
        cell = cells.get((region, b))
        if cell is None:
            s.points.append((b, None, None))
            continue
        last_at, p50, p95, checks, failed, status_code, message, error = cell
        s.points.append((b, p50, p95))
        if failed:
            reason = _failure_reason(message, error, status_code)
            s.failures.append(Failure(b, failed, checks, last_at, reason))
    return s


# --- incidents ---------------------------------------------------------------------


def incidents_for_projects(
    *, project_ids: Iterable[int], monitor: Monitor | None = None
) -> QuerySet[Incident]:
    """Open incidents first, then newest first."""
    qs = Incident.objects.filter(monitor__project_id__in=list(project_ids))
    if monitor is not None:
        qs = qs.filter(monitor=monitor)
    open_first = Case(
        When(status=IncidentStatus.OPEN, then=Value(0)),
        default=Value(1),
        output_field=IntegerField(),
    )
    return (
        qs.select_related("monitor")
        .annotate(open_rank=open_first)
        .order_by("open_rank", "-started_at", "-id")
    )


def coverage_from_states(monitor: Monitor, states: Sequence[RegionState]) -> str:
    """The monitor's coverage from the region states already fetched."""
    return coverage_of(
        healthy=sum(1 for r in states if r.healthy),
        quorum=monitor.effective_quorum(len(states)),
    )
