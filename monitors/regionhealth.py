"""Region health: which regions' checks may be believed.

A region is *unhealthy* when

* no check worker of it heartbeated within ``UPTIME_REGION_SILENT_SECONDS``
  (its workers died, or lost the database); or its workers heartbeat but
  ran no batch for the shortest interval of its monitors plus that bound
  (their consumer lost the broker);
* its batches start late: every live worker that ran a batch lately started
  it more than ``UPTIME_REGION_MAX_LAG_SECONDS`` after its slot;
* most of its monitors fail at once (``mass_failure``): at least 80 % of at
  least 5 monitors are DOWN in its latest checks while the other regions see
  most of those same monitors UP. With no other region to compare with (a
  one-region install, or the others silent) "everything fails" is taken to
  be a real outage, never our fault: a lone region is never unhealthy for it.

A region none of whose workers ever heartbeated (ticks written by some other
means, or its rows pruned after a week of silence) is not judged: it keeps
its recorded state.

``regions_health_record`` judges every region every few seconds (a beat
task) and stores the verdict on the region (``Region.healthy``), writing one
``RegionHealthEvent`` per change: the operator alert's outbox row. The
incident machine (monitors/incidents.py) reads that stored verdict in the
query it makes anyway, so ticks from an unhealthy region do not vote at no
cost per batch; ``regions_health`` itself is two small queries, and the
mass-failure probe (the latest tick of every (monitor, region)) runs only in
the recording task.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import (
    DatabaseError,
    InterfaceError,
    close_old_connections,
    connection,
    transaction,
)
from django.db.models import F, Max, Min
from django.utils import timezone

from .models import (
    Monitor,
    Region,
    RegionHealthEvent,
    Tick,
    TickStatus,
    WorkerHeartbeat,
)
from .signals import region_health_changed

log = logging.getLogger(__name__)

# Heartbeat rows of workers silent this long are deleted (hostnames change
# with every deploy of a container).
HEARTBEAT_KEEP = timedelta(days=7)
_PROCESS_STARTED = timezone.now()


@dataclass(frozen=True)
class RegionHealth:
    region_id: int
    code: str
    healthy: bool
    reason: str = ""
    live_workers: int = 0
    lag_ms: int | None = None


def _judge(
    region: Region,
    beats: list[WorkerHeartbeat],
    now: datetime,
    batch_gap: int | None = None,
) -> RegionHealth:
    if not beats:
        # Never heard of: not judged, the recorded state stands.
        return RegionHealth(
            region.pk, region.code, region.healthy, region.health_reason
        )
    silent = timedelta(seconds=settings.UPTIME_REGION_SILENT_SECONDS)
    live = [b for b in beats if b.last_seen_at >= now - silent]
    if not live:
        return RegionHealth(
            region.pk,
            region.code,
            False,
            f"no check worker heartbeat for {int(silent.total_seconds())} s",
        )
    if batch_gap is not None:
        # Alive but fed nothing: a worker whose consumer lost the broker
        # still heartbeats from its thread. Its region has monitors due at
        # least every ``batch_gap`` seconds, so some batch should have come.
        expect = timedelta(seconds=batch_gap) + silent
        if not any(
            max(b.started_at, b.last_batch_at or b.started_at) >= now - expect
            for b in live
        ):
            return RegionHealth(
                region.pk,
                region.code,
                False,
                f"no batch for {int(expect.total_seconds())} s although its "
                "workers are alive (broker unreachable?)",
                len(live),
            )
    lags = [
        b.last_lag_ms
        for b in live
        if b.last_batch_at is not None
        and b.last_batch_at >= now - silent
        and b.last_lag_ms is not None
    ]
    lag = min(lags) if lags else None
    if lag is not None and lag > settings.UPTIME_REGION_MAX_LAG_SECONDS * 1000:
        return RegionHealth(
            region.pk,
            region.code,
            False,
            f"batches start late ({lag} ms after their slot)",
            len(live),
            lag,
        )
    if region.mass_failure:
        return RegionHealth(
            region.pk,
            region.code,
            False,
            "most of its monitors fail while other regions see them up",
            len(live),
            lag,
        )
    return RegionHealth(region.pk, region.code, True, "", len(live), lag)


def shortest_intervals() -> dict[int, int]:
    """The shortest interval of the enabled monitors each active region
    checks, by region id (regions without any are left out)."""
    return {
        row["regions"]: row["shortest"]
        for row in Monitor.objects.filter(enabled=True, regions__active=True)
        .values("regions")
        .annotate(shortest=Min("interval_seconds"))
    }


def regions_health(*, now: datetime | None = None) -> dict[int, RegionHealth]:
    """The health of every active region, by region id."""
    now = now or timezone.now()
    regions = list(Region.objects.filter(active=True))
    beats: dict[int, list[WorkerHeartbeat]] = defaultdict(list)
    for beat in WorkerHeartbeat.objects.filter(region__active=True):
        beats[beat.region_id].append(beat)
    gaps = shortest_intervals()
    return {r.pk: _judge(r, beats[r.pk], now, gaps.get(r.pk)) for r in regions}


def regions_mass_failure(*, now: datetime) -> set[int]:
    """Regions where most monitors fail at once while others see them up.

    The latest tick of each enabled (monitor, region) within two intervals
    plus the timeout: one LATERAL probe of the unique (monitor, region,
    scheduled_at) index per pair, never a scan of the tick table.
    """
    sql = f"""
        SELECT mr.monitor_id, mr.region_id, t.status
        FROM {Monitor.regions.through._meta.db_table} mr
        JOIN {Monitor._meta.db_table} m ON m.id = mr.monitor_id AND m.enabled
        JOIN {Region._meta.db_table} r ON r.id = mr.region_id AND r.active
        CROSS JOIN LATERAL (
            SELECT status FROM {Tick._meta.db_table}
            WHERE monitor_id = mr.monitor_id AND region_id = mr.region_id
              AND scheduled_at >= %s::timestamptz - make_interval(
                  secs => 2 * m.interval_seconds + m.timeout_seconds)
              AND status = ANY(%s)
              AND scheduled_at >= %s
            ORDER BY scheduled_at DESC LIMIT 1
        ) t
    """
    latest: dict[int, dict[int, str]] = defaultdict(dict)  # region -> monitor
    with connection.cursor() as cursor:
        # Checks that ran only: a slot we did not check says nothing here.
        ran = [TickStatus.UP, TickStatus.DOWN, TickStatus.DEGRADED]
        # The widest of those windows as a constant too: the planner then
        # prunes the tick table's day partitions before opening them.
        widest = Monitor.objects.filter(enabled=True).aggregate(
            s=Max(2 * F("interval_seconds") + F("timeout_seconds"))
        )["s"]
        if widest is None:
            return set()
        floor = now - timedelta(seconds=float(widest) + 1)
        cursor.execute(sql, [now, [str(s) for s in ran], floor])
        for monitor_id, region_id, status in cursor.fetchall():
            latest[region_id][monitor_id] = status
    return {
        region_id
        for region_id, statuses in latest.items()
        if _fails_alone(region_id, statuses, latest)
    }


def _fails_alone(
    region_id: int, statuses: dict[int, str], latest: dict[int, dict[int, str]]
) -> bool:
    least = settings.UPTIME_REGION_MASS_FAILURE_MIN_MONITORS
    ratio = settings.UPTIME_REGION_MASS_FAILURE_RATIO
    down = [m for m, s in statuses.items() if s == TickStatus.DOWN]
    if len(statuses) < least or len(down) < ratio * len(statuses):
        return False
    # The same monitors seen from the other regions: how many are up there.
    compared = up_elsewhere = 0
    for monitor_id in down:
        others = [
            seen[monitor_id]
            for other, seen in latest.items()
            if other != region_id and monitor_id in seen
        ]
        if others:
            compared += 1
            up_elsewhere += any(s != TickStatus.DOWN for s in others)
    return compared >= least and up_elsewhere * 2 > compared


def regions_health_record(*, now: datetime | None = None) -> list[RegionHealthEvent]:
    """Judge every active region and record the changes.

    The regions are locked, so two evaluations at once write one event per
    change. Each change announces ``region_health_changed`` inside the
    transaction (alerts writes the operator's messages there).
    """
    now = now or timezone.now()
    events = []
    with transaction.atomic():
        mass = regions_mass_failure(now=now)
        regions = list(
            # NO KEY: tick inserts hold KEY SHARE on their region (the foreign
            # key); a plain FOR UPDATE would queue them behind this.
            Region.objects.select_for_update(no_key=True)
            .filter(active=True)
            .order_by("pk")
        )
        for region in regions:
            if region.mass_failure != (region.pk in mass):
                region.mass_failure = region.pk in mass
                region.save(update_fields=["mass_failure"])
        health = regions_health(now=now)
        for region in regions:
            judged = health[region.pk]
            if judged.healthy == region.healthy:
                continue
            region.healthy = judged.healthy
            region.health_reason = judged.reason
            region.health_changed_at = now
            region.save(update_fields=["healthy", "health_reason", "health_changed_at"])
            event = RegionHealthEvent.objects.create(
                region=region,
                healthy=judged.healthy,
                reason=judged.reason or "checks on time and heartbeating again",
                created_at=now,
            )
            log.warning(
                "region %s is now %s: %s",
                region.code,
                "healthy" if judged.healthy else "unhealthy",
                event.reason,
            )
            region_health_changed.send(sender=RegionHealthEvent, event=event)
            events.append(event)
        WorkerHeartbeat.objects.filter(last_seen_at__lt=now - HEARTBEAT_KEEP).delete()
    return events


def monitor_coverage(monitor: Monitor) -> str:
    """``"ok"``, or ``"insufficient"`` while fewer of the monitor's regions
    are healthy (as recorded) than its quorum: no incident can then open or
    resolve, it holds its state. Reads ``monitor.regions.all()``, so a list
    that prefetches ``regions`` pays no query per monitor."""
    regions = [r for r in monitor.regions.all() if r.active]
    return coverage_of(
        healthy=sum(1 for r in regions if r.healthy),
        quorum=monitor.effective_quorum(len(regions)),
    )


def coverage_of(*, healthy: int, quorum: int) -> str:
    return "ok" if healthy >= quorum else "insufficient"


# --- heartbeats -----------------------------------------------------------------


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def worker_heartbeat(
    *,
    worker: str,
    regions: Sequence[Region],
    now: datetime | None = None,
    lag_ms: int | None = None,
    started_at: datetime | None = None,
) -> None:
    """Upsert the worker's row in each region: one statement.

    ``lag_ms`` given: a batch started now, that much after its slot.
    ``started_at``: when the worker started (default: this process).
    """
    now = now or timezone.now()
    rows = [
        WorkerHeartbeat(
            worker=worker[:200],
            region=region,
            started_at=started_at or _PROCESS_STARTED,
            last_seen_at=now,
            last_batch_at=now if lag_ms is not None else None,
            last_lag_ms=lag_ms,
        )
        for region in regions
    ]
    fields = ["started_at", "last_seen_at"]
    if lag_ms is not None:
        fields += ["last_batch_at", "last_lag_ms"]
    WorkerHeartbeat.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["worker", "region"],
        update_fields=fields,
    )


_last_batch_beat: dict[tuple[str, int], tuple[float, bool]] = {}


def batch_heartbeat(*, worker: str, region: Region, lag_ms: int) -> None:
    """The runner's per-batch heartbeat, at most every few seconds per
    (worker, region), and at once when the batch's lateness crosses the
    bound either way. Never raises: a batch must not fail for it."""
    late = lag_ms > settings.UPTIME_REGION_MAX_LAG_SECONDS * 1000
    key = (worker, region.pk)
    previous = _last_batch_beat.get(key)
    moment = time.monotonic()
    if (
        previous is not None
        and previous[1] == late
        and moment - previous[0] < settings.UPTIME_WORKER_HEARTBEAT_SECONDS
    ):
        return
    try:
        worker_heartbeat(worker=worker, regions=[region], lag_ms=lag_ms)
    except (DatabaseError, InterfaceError):
        log.warning("could not write the heartbeat of %s", worker, exc_info=True)
        close_old_connections()
        return
    _last_batch_beat[key] = (moment, late)


class HeartbeatThread(threading.Thread):
    """Heartbeats a check worker's regions every few seconds, batches or not
    (a region whose monitors all run every five minutes is still alive)."""

    def __init__(self, *, worker: str, region_codes: Sequence[str]) -> None:
        super().__init__(name="uptime-heartbeat", daemon=True)
        self.worker = worker
        self.region_codes = list(region_codes)
        self.stopped = threading.Event()

    def beat(self) -> None:
        try:
            regions = list(Region.objects.filter(code__in=self.region_codes))
            worker_heartbeat(worker=self.worker, regions=regions)
        except Exception:  # the thread must outlive any outage
            log.warning("could not write the heartbeat of %s", self.worker)
        finally:
            # This thread's own connection: drop it if it broke.
            close_old_connections()

    def run(self) -> None:
        try:
            while True:
                self.beat()
                if self.stopped.wait(settings.UPTIME_WORKER_HEARTBEAT_SECONDS):
                    return
        finally:
            connection.close()  # this thread's own connection
