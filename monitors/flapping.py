"""Flap detection: a monitor whose state changes too often to alert on each.

Measured the way Nagios measures it. Over a region's last
``UPTIME_FLAP_WINDOW`` state changes (its last window + 1 checks), every
change between up and down adds a weight, from 0.8 for the oldest change in
the window to 1.2 for the newest, so recent changes count more; the sum over
the window size is the region's *state change percent*. Strict alternation is
100 %; down 2 / up 2 is 50 %; one outage (down, then up) is at most 12 %.
Degraded counts as up; a slot that was not checked (no tick, or a tick that
is neither up, degraded nor down) is not a state of the target and is skipped.

The monitor's percent is the one at least ``quorum`` of its regions reach
(the quorum-th highest), so one region's shaky network does not make the
monitor flap where it could not open an incident either.

* It starts flapping when that percent is above UPTIME_FLAP_HIGH_PERCENT
  (default 25: more than four recent changes in the last 20 checks), or when
  an incident is about to open again within the window after one resolved
  (down, up, down again: the second pair of an alert storm).
* It stops only when the percent falls below UPTIME_FLAP_LOW_PERCENT (default
  10). Between the two nothing changes, so it does not flap about flapping.

Both functions run inside ticks_record's transaction with the monitors
locked: ``flapping_detect`` before the incident machine, so an incident that
opens or resolves while the monitor flaps finds it flagged and alerts nobody;
``flapping_settle`` after it, so the state it settled in is known.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Q

from .models import Incident, IncidentStatus, Monitor, Tick, TickStatus
from .signals import flapping_started, flapping_stopped

# The statuses that are states of the target; any other (a slot we did not
# check) neither changes the state nor counts as a check.
COUNTED = (TickStatus.UP, TickStatus.DEGRADED, TickStatus.DOWN)

Rows = dict[tuple[int, int], list[tuple[bool, datetime]]]


@dataclass(frozen=True)
class FlapReading:
    """One monitor's window, as the alerts and the dashboard state it."""

    state_change_percent: float  # the quorum-th highest region's
    failure_rate_percent: float  # DOWN checks among the window's, all regions
    checks: int  # checks in the window, all regions
    window_seconds: int  # from the oldest check counted to now

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def change_percent(downs: Sequence[bool], window: int) -> float:
    """Weighted state change percent of one region (``downs`` newest first)."""
    total = 0.0
    for j in range(min(len(downs) - 1, window)):
        if downs[j] != downs[j + 1]:
            total += 1.2 - 0.4 * j / (window - 1)
    return round(100 * total / window, 1)


def _since(monitor: Monitor, now: datetime, checks: int) -> datetime:
    """The oldest slot that still counts: older ticks are a silent region's."""
    return now - timedelta(
        seconds=monitor.interval_seconds * (checks + 2) + monitor.timeout_seconds
    )


def _window_ticks(
    monitors: Sequence[Monitor], now: datetime, window: int
) -> tuple[dict[int, list[int]], Rows]:
    """Each monitor's active regions, and their last window + 1 counted ticks
    (newest first) in one query: a LATERAL join walks the unique (monitor,
    region, scheduled_at) index backwards, LIMIT per pair."""
    region_ids: dict[int, list[int]] = defaultdict(list)
    through = Monitor.regions.through
    for monitor_id, region_id in through.objects.filter(
        monitor_id__in=[m.pk for m in monitors], region__active=True
    ).values_list("monitor_id", "region_id"):
        region_ids[monitor_id].append(region_id)
    pairs = [
        (m.pk, r, _since(m, now, window + 1))
        for m in monitors
        for r in region_ids[m.pk]
    ]
    rows: Rows = defaultdict(list)
    if not pairs:
        return region_ids, rows
    values = ", ".join(["(%s::bigint, %s::bigint, %s::timestamptz)"] * len(pairs))
    sql = f"""
        SELECT p.monitor_id, p.region_id, t.status, t.scheduled_at
        FROM (VALUES {values}) AS p(monitor_id, region_id, since)
        CROSS JOIN LATERAL (
            SELECT status, scheduled_at FROM {Tick._meta.db_table}
            WHERE monitor_id = p.monitor_id AND region_id = p.region_id
              AND scheduled_at >= p.since AND status = ANY(%s)
              AND scheduled_at >= %s
            ORDER BY scheduled_at DESC LIMIT %s
        ) t
        ORDER BY p.monitor_id, p.region_id, t.scheduled_at DESC
    """
    params: list[Any] = [v for pair in pairs for v in pair]
    # The earliest ``since`` as a constant too: the planner then prunes the
    # tick table's day partitions before opening (and locking) them.
    params += [list(COUNTED), min(pair[2] for pair in pairs), window + 1]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for monitor_id, region_id, status, scheduled_at in cursor.fetchall():
            rows[(monitor_id, region_id)].append(
                (status == TickStatus.DOWN, scheduled_at)
            )
    return region_ids, rows


def _reading(
    monitor: Monitor, regions: list[int], rows: Rows, window: int, now: datetime
) -> FlapReading:
    per_region = sorted(
        (
            change_percent([down for down, _ in rows[(monitor.pk, r)]], window)
            for r in regions
        ),
        reverse=True,
    )
    quorum = monitor.effective_quorum(len(regions))
    checks = [tick for r in regions for tick in rows[(monitor.pk, r)]]
    oldest = min((at for _, at in checks), default=now)
    return FlapReading(
        state_change_percent=per_region[quorum - 1] if len(per_region) >= quorum else 0,
        failure_rate_percent=(
            round(100 * sum(down for down, _ in checks) / len(checks), 1)
            if checks
            else 0
        ),
        checks=len(checks),
        window_seconds=max(int((now - oldest).total_seconds()), 0),
    )


def _down_again(
    monitors: Sequence[Monitor],
    region_ids: dict[int, list[int]],
    rows: Rows,
    now: datetime,
    window: int,
) -> set[int]:
    """The monitors whose incident is about to open again (enough regions
    failing, as the incident machine counts them) within the window after
    their last incident resolved."""
    failing = []
    for monitor in monitors:
        regions = region_ids[monitor.pk]
        fresh = _since(monitor, now, monitor.failure_threshold)
        count = 0
        for region_id in regions:
            head = rows[(monitor.pk, region_id)][: monitor.failure_threshold]
            if len(head) == monitor.failure_threshold and all(
                down and at >= fresh for down, at in head
            ):
                count += 1
        if regions and count >= monitor.effective_quorum(len(regions)):
            failing.append(monitor)
    if not failing:
        return set()
    cutoff = {
        m.pk: now - timedelta(seconds=m.interval_seconds * window) for m in failing
    }
    is_open: set[int] = set()
    resolved_recently: set[int] = set()
    recent = Incident.objects.filter(monitor_id__in=list(cutoff)).filter(
        Q(status=IncidentStatus.OPEN) | Q(resolved_at__gte=min(cutoff.values()))
    )
    for monitor_id, status, resolved_at, suppressed in recent.values_list(
        "monitor_id", "status", "resolved_at", "suppressed"
    ):
        if status == IncidentStatus.OPEN:
            is_open.add(monitor_id)
        elif (
            status == IncidentStatus.RESOLVED
            # An outage its parent monitor explained (monitors.dependencies)
            # is the parent's, not a sign of this one's flapping.
            and not suppressed
            and resolved_at is not None
            and resolved_at >= cutoff[monitor_id]
        ):
            resolved_recently.add(monitor_id)
    return resolved_recently - is_open


def flapping_detect(
    *, monitors: Sequence[Monitor], now: datetime
) -> dict[int, FlapReading]:
    """Before the incident machine: flag the monitors that start flapping now
    (and announce ``flapping_started``). Returns every enabled monitor's
    reading, for flapping_settle."""
    live = [m for m in monitors if m.enabled]
    if not live:
        return {}
    window = settings.UPTIME_FLAP_WINDOW
    region_ids, rows = _window_ticks(live, now, window)
    readings = {m.pk: _reading(m, region_ids[m.pk], rows, window, now) for m in live}
    calm = [m for m in live if not m.flapping]
    high = settings.UPTIME_FLAP_HIGH_PERCENT
    starting = {m.pk for m in calm if readings[m.pk].state_change_percent > high}
    starting |= _down_again(
        [m for m in calm if m.pk not in starting], region_ids, rows, now, window
    )
    for monitor in calm:
        if monitor.pk in starting:
            _set(monitor, since=now)
            flapping_started.send(
                sender=Monitor, monitor=monitor, reading=readings[monitor.pk], since=now
            )
    return readings


def flapping_settle(
    *,
    monitors: Sequence[Monitor],
    readings: dict[int, FlapReading],
    open_ids: set[int],
    now: datetime,
) -> None:
    """After the incident machine: a flapping monitor whose percent fell below
    the low threshold stops flapping, settled down (an incident is open) or
    up, and ``flapping_stopped`` says which."""
    low = settings.UPTIME_FLAP_LOW_PERCENT
    for monitor in monitors:
        reading = readings.get(monitor.pk)
        if not monitor.flapping or reading is None:
            continue
        if reading.state_change_percent >= low:
            continue
        since = monitor.flapping_since or now
        _set(monitor, since=None)
        incident = None
        if monitor.pk in open_ids:
            incident = Incident.objects.filter(
                monitor_id=monitor.pk, status=IncidentStatus.OPEN
            ).first()
        flapping_stopped.send(
            sender=Monitor,
            monitor=monitor,
            reading=reading,
            since=since,
            settled="down" if monitor.pk in open_ids else "up",
            incident=incident,
        )


def _set(monitor: Monitor, *, since: datetime | None) -> None:
    monitor.flapping = since is not None
    monitor.flapping_since = since
    Monitor.objects.filter(pk=monitor.pk).update(
        flapping=monitor.flapping, flapping_since=since
    )
