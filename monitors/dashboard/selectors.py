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
downtime, degraded checks count as up, and missed slots (ticks with status
``missed``: our checker's lag, not the target's) are no data: they appear in
no chart, sparkline or region state. This keeps the figure consistent
with the alerts a user received, and makes it cheap: the incident table is
tiny next to the tick table, so the overview does not scan millions of ticks.
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

from ..models import (
    Incident,
    IncidentStatus,
    Monitor,
    MonitorStatus,
    Tick,
    TickStatus,
)

UPTIME_WINDOWS: dict[str, timedelta] = {
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
}
SPARKLINE_POINTS = 30

# Range -> (length, bucket width): about 60-120 points per series.
CHART_RANGES: dict[str, tuple[timedelta, timedelta]] = {
    "1h": (timedelta(hours=1), timedelta(minutes=1)),
    "24h": (timedelta(hours=24), timedelta(minutes=15)),
    "7d": (timedelta(days=7), timedelta(hours=2)),
    "30d": (timedelta(days=30), timedelta(hours=6)),
}

OVERVIEW_FIELDS = (
    "id",
    "project_id",
    "name",
    "url",
    "status",
    "enabled",
    "last_checked_at",
    "last_response_time_ms",
    "created_at",
)

_STATUS_ORDER = {
    MonitorStatus.DOWN: 0,
    MonitorStatus.PENDING: 1,
    MonitorStatus.UP: 2,
    MonitorStatus.PAUSED: 3,
}


def _fetch(sql: str, params: Sequence[Any] | dict[str, Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


# --- monitors --------------------------------------------------------------------


def monitors_for_overview(
    *, project_id: int, search: str = "", status: str = ""
) -> QuerySet[Monitor]:
    """The project's monitors, down first, then pending, up, paused."""
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

    ``None`` means no observed time yet (created this instant).
    """
    now = now or timezone.now()
    if not monitors:
        return {}
    created = {m.pk: m.created_at for m in monitors}
    ids = list(created)
    down: dict[tuple[int, str], float] = defaultdict(float)
    values = ", ".join(["(%s, %s::interval)"] * len(UPTIME_WINDOWS))
    params: list[Any] = []
    for label, span in UPTIME_WINDOWS.items():
        params += [label, span]
    sql = f"""
        WITH w(label, span) AS (VALUES {values})
        SELECT i.monitor_id, w.label,
               SUM(EXTRACT(EPOCH FROM
                   LEAST(COALESCE(i.resolved_at, %s), %s)
                   - GREATEST(i.started_at, %s - w.span, m.created_at)))
        FROM {Incident._meta.db_table} i
        JOIN {Monitor._meta.db_table} m ON m.id = i.monitor_id
        JOIN w ON COALESCE(i.resolved_at, %s) > GREATEST(%s - w.span, m.created_at)
        WHERE i.monitor_id = ANY(%s) AND i.started_at < %s
        GROUP BY i.monitor_id, w.label
    """
    params += [now, now, now, now, now, ids, now]
    for monitor_id, label, seconds in _fetch(sql, params):
        down[(monitor_id, label)] = max(float(seconds or 0), 0.0)
    out: dict[int, dict[str, float | None]] = {}
    for monitor_id, created_at in created.items():
        row: dict[str, float | None] = {}
        for label, span in UPTIME_WINDOWS.items():
            observed = (now - max(now - span, created_at)).total_seconds()
            if observed <= 0:
                row[label] = None
                continue
            lost = min(down[(monitor_id, label)], observed)
            row[label] = 100.0 * (1 - lost / observed)
        out[monitor_id] = row
    return out


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
    down: dict[tuple[int, date], float] = defaultdict(float)
    sql = f"""
        SELECT i.monitor_id, d.day::date,
               SUM(EXTRACT(EPOCH FROM
                   LEAST(COALESCE(i.resolved_at, %(now)s), d.day + interval '1 day',
                         %(now)s)
                   - GREATEST(i.started_at, d.day)))
        FROM {Incident._meta.db_table} i
        JOIN generate_series(%(first)s::timestamptz, %(today)s::timestamptz,
                             interval '1 day') AS d(day)
          ON i.started_at < d.day + interval '1 day'
         AND COALESCE(i.resolved_at, %(now)s) > d.day
        WHERE i.monitor_id = ANY(%(ids)s) AND i.started_at < %(now)s
          AND (i.resolved_at IS NULL OR i.resolved_at > %(first)s)
        GROUP BY i.monitor_id, d.day
    """
    rows = _fetch(
        sql, {"now": now, "first": first, "today": today, "ids": list(created)}
    )
    for monitor_id, day, seconds in rows:
        down[(monitor_id, day)] = max(float(seconds or 0), 0.0)
    # The day boundaries are the same for every monitor: compute them once.
    spans = []
    for n in range(days):
        lo = first + timedelta(days=n)
        hi = min(lo + timedelta(days=1), now)
        spans.append((lo.date(), lo, hi, max((hi - lo).total_seconds(), 0.0)))
    out: dict[int, list[DayBar]] = {}
    for monitor_id, created_at in created.items():
        bars = []
        for day, lo, hi, full in spans:
            if created_at <= lo:
                observed = full
            elif created_at >= hi:
                observed = 0.0
            else:
                observed = (hi - created_at).total_seconds()
            bars.append(DayBar(day, observed, down.get((monitor_id, day), 0.0)))
        out[monitor_id] = bars
    return out


# --- latest ticks ------------------------------------------------------------------


def sparklines(
    *, monitor_ids: Sequence[int], points: int = SPARKLINE_POINTS
) -> dict[int, list[tuple[int | None, str]]]:
    """Last ``points`` ticks per monitor (any region), oldest first.

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
            WHERE monitor_id = m.id AND status <> %s
            ORDER BY scheduled_at DESC LIMIT %s
        ) t
        ORDER BY m.id, t.scheduled_at
    """
    rows = _fetch(sql, [list(monitor_ids), TickStatus.MISSED, points])
    for monitor_id, ms, status in rows:
        out[monitor_id].append((ms, status))
    return out


@dataclass
class RegionState:
    code: str
    status: str  # up, down, degraded or "nodata"
    checked_at: datetime | None = None
    response_time_ms: int | None = None


def region_states(*, monitor_ids: Sequence[int]) -> dict[int, list[RegionState]]:
    """The latest tick of each monitor in each of its active regions."""
    out: dict[int, list[RegionState]] = defaultdict(list)
    if not monitor_ids:
        return out
    through = Monitor.regions.through._meta.db_table
    region = Monitor.regions.rel.model._meta.db_table
    # One probe of the unique (monitor, region, scheduled_at) index per pair.
    sql = f"""
        SELECT mr.monitor_id, r.code, t.status, t.checked_at, t.response_time_ms
        FROM {through} mr
        JOIN {region} r ON r.id = mr.region_id AND r.active
        LEFT JOIN LATERAL (
            SELECT status, checked_at, response_time_ms
            FROM {Tick._meta.db_table}
            WHERE monitor_id = mr.monitor_id AND region_id = mr.region_id
              AND status <> %s
            ORDER BY scheduled_at DESC LIMIT 1
        ) t ON true
        WHERE mr.monitor_id = ANY(%s)
        ORDER BY mr.monitor_id, r.code
    """
    rows = _fetch(sql, [TickStatus.MISSED, list(monitor_ids)])
    for monitor_id, code, status, checked_at, ms in rows:
        out[monitor_id].append(
            RegionState(
                code=code,
                status=status or "nodata",
                checked_at=checked_at,
                response_time_ms=ms,
            )
        )
    return out


def latest_ticks(*, monitor: Monitor, limit: int = 50) -> list[Tick]:
    return list(
        Tick.objects.filter(monitor=monitor)
        .select_related("region")
        # The evidence (up to KBs a row) is shown on the tick's own page.
        .defer("details")
        .order_by("-scheduled_at", "-id")[:limit]
    )


# --- response-time chart -----------------------------------------------------------


@dataclass
class Series:
    region: str
    # (bucket start, p50, p95) oldest first; p50/p95 None when all checks failed.
    points: list[tuple[datetime, float | None, float | None]] = field(
        default_factory=list
    )
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
class Chart:
    range: str
    start: datetime
    end: datetime
    step: timedelta
    series: list[Series]
    total: Series


def response_chart(
    *, monitor: Monitor, range_key: str, now: datetime | None = None
) -> Chart:
    """p50 and p95 response time per region per time bucket, and per region
    and overall for the whole range, in one statement (GROUPING SETS)."""
    span, step = CHART_RANGES[range_key]
    now = now or timezone.now()
    start = now - span
    region = Monitor.regions.rel.model._meta.db_table
    # Keys: (region code or None, bucket or None) -> (p50, p95, checks, failed)
    cells: dict[tuple[str | None, datetime | None], tuple[Any, ...]] = {}
    sql = f"""
        SELECT r.code, date_bin(%(step)s, t.scheduled_at, %(origin)s) AS bucket,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY t.response_time_ms),
               percentile_cont(0.95) WITHIN GROUP (ORDER BY t.response_time_ms),
               count(*), count(*) FILTER (WHERE t.status = 'down'),
               GROUPING(r.code), GROUPING(date_bin(%(step)s, t.scheduled_at,
                                                   %(origin)s))
        FROM {Tick._meta.db_table} t
        JOIN {region} r ON r.id = t.region_id
        WHERE t.monitor_id = %(monitor)s
          AND t.scheduled_at >= %(start)s AND t.scheduled_at < %(end)s
          AND t.status <> %(missed)s
        GROUP BY GROUPING SETS ((r.code, bucket), (r.code), ())
    """
    rows = _fetch(
        sql,
        {
            "step": step,
            "origin": start,
            "monitor": monitor.pk,
            "start": start,
            "end": now,
            "missed": TickStatus.MISSED,
        },
    )
    for code, bucket, p50, p95, checks, failed, g_region, g_bucket in rows:
        key = (None if g_region else code, None if g_bucket else bucket)
        cells[key] = (p50, p95, checks, failed)
    codes = sorted({code for code, _ in cells if code is not None})
    n_buckets = int(span / step)
    buckets = [start + step * i for i in range(n_buckets)]
    series = []
    for code in codes:
        p50, p95, checks, failed = cells.get((code, None), (None, None, 0, 0))
        s = Series(region=code, p50=p50, p95=p95, checks=checks, failed=failed)
        for b in buckets:
            cell = cells.get((code, b))
            s.points.append((b, cell[0], cell[1]) if cell else (b, None, None))
        series.append(s)
    p50, p95, checks, failed = cells.get((None, None), (None, None, 0, 0))
    total = Series(region="all", p50=p50, p95=p95, checks=checks, failed=failed)
    return Chart(
        range=range_key, start=start, end=now, step=step, series=series, total=total
    )


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
