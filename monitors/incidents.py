"""The incident state machine.

Called inside the transaction that stores ticks, with the monitors locked.

* A region is *failing* when its latest ``failure_threshold`` ticks are all
  DOWN. An incident opens when at least ``quorum`` regions are failing.
* While an incident is open, a region counts as *recovered* only after
  ``recovery_threshold`` consecutive UP (or degraded) ticks. The incident
  resolves when fewer than ``quorum`` regions are still unrecovered. For a
  majority quorum over an odd number of regions this is exactly "recovered in
  at least quorum regions"; for a quorum of one it keeps the incident open
  while any region still fails, instead of resolving and at once reopening.
* Held: while a maintenance window covers a monitor (or once it is paused)
  no incident opens; one already open still resolves. See
  ``monitors.maintenance``.
* Only fresh ticks count: a region whose worker stopped reporting is "no
  data", never a stale vote for down or up.
* Only healthy regions vote: a region recorded unhealthy (silent, late or
  all-failing; monitors/regionhealth.py records it every few seconds) has
  its ticks set aside. An incident resolves only when
  at least ``quorum`` healthy regions have recovered; with fewer healthy
  regions than the quorum it holds its state (insufficient coverage).
* Resolved by hand (``services.incident_resolve_by_hand``): the ticks
  before that moment no longer vote, so a target still down opens a new
  incident only after ``failure_threshold`` fresh DOWN ticks.
* Dependencies: a monitor whose parent (``depends_on``) has an open
  incident opens its own incident ``suppressed`` (monitors.dependencies);
  parents are evaluated before their children in one batch, so a parent and
  a child that go down in the same batch are recorded in that order.
* A ``missed`` tick (a slot our checker did not check) is no vote at all:
  it is skipped, so a run of DOWN ticks with a missed slot inside is still
  consecutive.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.db import connection

from .maintenance import maintenance_active
from .models import Incident, IncidentStatus, Monitor, Tick, TickStatus
from .signals import incident_opened, incident_resolved

TickRow = dict[str, Any]


def _recent_ticks(
    monitors: Sequence[Monitor],
    region_ids: dict[int, list[int]],
    since: dict[int, datetime],
) -> dict[tuple[int, int], list[TickRow]]:
    """Latest ticks per (monitor, region), newest first, in one query.

    A LATERAL join walks the unique (monitor, region, scheduled_at) index
    backwards, LIMIT k per pair: cost does not grow with the tick table.
    """
    pairs = [
        (m.pk, r, max(m.failure_threshold, m.recovery_threshold), since[m.pk])
        for m in monitors
        for r in region_ids[m.pk]
    ]
    out: dict[tuple[int, int], list[TickRow]] = defaultdict(list)
    if not pairs:
        return out
    fields = ["status", "error", "message", "status_code", "scheduled_at", "checked_at"]
    values = ", ".join(
        ["(%s::bigint, %s::bigint, %s::int, %s::timestamptz)"] * len(pairs)
    )
    params: list[Any] = [v for pair in pairs for v in pair]
    # Missed slots (our lag) are no vote: DOWN, missed, DOWN is two DOWN
    # ticks in a row.
    # The earliest ``since`` as a constant too: the planner then prunes the
    # tick table's day partitions before opening (and locking) them.
    params += [TickStatus.MISSED, min(pair[3] for pair in pairs)]
    sql = f"""
        SELECT p.monitor_id, p.region_id, t.{", t.".join(fields)}
        FROM (VALUES {values}) AS p(monitor_id, region_id, k, since)
        CROSS JOIN LATERAL (
            SELECT {", ".join(fields)} FROM {Tick._meta.db_table}
            WHERE monitor_id = p.monitor_id AND region_id = p.region_id
              AND scheduled_at >= p.since AND status <> %s
              AND scheduled_at >= %s
            ORDER BY scheduled_at DESC LIMIT p.k
        ) t
        ORDER BY p.monitor_id, p.region_id, t.scheduled_at DESC
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for row in cursor.fetchall():
            out[(row[0], row[1])].append(dict(zip(fields, row[2:], strict=True)))
    return out


def _streak_start(rows: list[TickRow]) -> datetime:
    """When the current run of DOWN ticks began (rows newest first)."""
    start: datetime = rows[0]["checked_at"]
    for row in rows:
        if row["status"] != TickStatus.DOWN:
            break
        start = row["checked_at"]
    return start


def incidents_evaluate(
    *, monitors: Sequence[Monitor], now: datetime, held: set[int] | None = None
) -> set[int]:
    """Open or resolve incidents for these (locked) monitors.

    ``held``: the monitors in a maintenance window, when the caller already
    knows them. Returns the ids of the monitors that have an open incident
    afterwards.
    """
    if not monitors:
        return set()
    ids = [m.pk for m in monitors]
    region_ids: dict[int, list[int]] = defaultdict(list)
    region_codes: dict[int, str] = {}
    through = Monitor.regions.through
    # The join on region is there for `active` anyway: take its code too,
    # and its health as last recorded (monitors/regionhealth.py).
    voting: set[int] = set()
    for monitor_id, region_id, code, healthy in through.objects.filter(
        monitor_id__in=ids, region__active=True
    ).values_list("monitor_id", "region_id", "region__code", "region__healthy"):
        region_ids[monitor_id].append(region_id)
        region_codes[region_id] = code
        if healthy:
            voting.add(region_id)
    since = {
        m.pk: now
        - timedelta(
            seconds=m.interval_seconds
            * (max(m.failure_threshold, m.recovery_threshold) + 2)
            + m.timeout_seconds
        )
        for m in monitors
    }
    # An incident a person resolved by hand: the DOWN ticks until then were
    # judged over, so only checks after it may open the next one.
    for monitor_id, resolved_at in Incident.objects.filter(
        monitor_id__in=ids,
        resolved_by_hand=True,
        resolved_at__gt=min(since.values()),
    ).values_list("monitor_id", "resolved_at"):
        if resolved_at is not None and resolved_at > since[monitor_id]:
            since[monitor_id] = resolved_at
    recent = _recent_ticks(monitors, region_ids, since)
    open_incidents = {
        i.monitor_id: i
        for i in Incident.objects.filter(monitor_id__in=ids, status=IncidentStatus.OPEN)
    }
    still_open: set[int] = set()
    # Held: no incident opens for a monitor in a maintenance window, or one
    # paused while its batch was running (monitors.maintenance).
    if held is None:
        held = maintenance_active(ids, now)
    held = held | {m.pk for m in monitors if not m.enabled}

    # Parents first: a child that opens in this batch sees the parent's
    # incident opened just before it.
    parents_open = _parents_open(monitors, open_incidents)
    for monitor in _parents_first(monitors):
        regions = region_ids[monitor.pk]
        quorum = monitor.effective_quorum(len(regions))
        voters = [r for r in regions if r in voting]
        monitor.consecutive_failures = _failure_streak(monitor, voters, recent)
        incident = open_incidents.get(monitor.pk)
        if incident is None:
            failing = {}
            for region_id in voters:
                rows = recent[(monitor.pk, region_id)][: monitor.failure_threshold]
                if len(rows) == monitor.failure_threshold and all(
                    r["status"] == TickStatus.DOWN for r in rows
                ):
                    failing[region_id] = rows
            if regions and len(failing) >= quorum and monitor.pk not in held:
                parent = parents_open.get(monitor.depends_on_id or 0)
                opened = _open(monitor, failing, region_codes, quorum, now, parent)
                parents_open[monitor.pk] = opened
                still_open.add(monitor.pk)
        else:
            recovered, unrecovered = _recovery_votes(monitor, voters, recent)
            if recovered >= quorum and unrecovered < quorum:
                incident.status = IncidentStatus.RESOLVED
                incident.resolved_at = now
                incident.save(update_fields=["status", "resolved_at"])
                parents_open.pop(monitor.pk, None)
                incident_resolved.send(sender=Incident, incident=incident)
            else:
                still_open.add(monitor.pk)
    return still_open


def _parents_first(monitors: Sequence[Monitor]) -> list[Monitor]:
    """The batch ordered so that a monitor comes after its parent (and its
    parent's parent) when they are in the batch too."""
    by_id = {m.pk: m for m in monitors}

    def depth(monitor: Monitor) -> int:
        seen: set[int] = set()
        parent_id = monitor.depends_on_id
        while parent_id in by_id and parent_id not in seen:
            seen.add(parent_id)
            parent_id = by_id[parent_id].depends_on_id
        return len(seen)

    return sorted(monitors, key=depth)


def _parents_open(
    monitors: Sequence[Monitor], open_incidents: dict[int, Incident]
) -> dict[int, Incident]:
    """The open incidents of these monitors and of their parents, by monitor."""
    parent_ids = {m.depends_on_id for m in monitors if m.depends_on_id}
    found = dict(open_incidents)
    missing = parent_ids - found.keys()
    if missing:
        for incident in Incident.objects.filter(
            monitor_id__in=missing, status=IncidentStatus.OPEN
        ):
            found[incident.monitor_id] = incident
    return found


def _failure_streak(
    monitor: Monitor,
    voters: list[int],
    recent: dict[tuple[int, int], list[TickRow]],
) -> int:
    """The longest current run of DOWN ticks among the voting regions, up to
    what the incident machine reads (at least the failure threshold)."""
    longest = 0
    for region_id in voters:
        run = 0
        for row in recent[(monitor.pk, region_id)]:
            if row["status"] != TickStatus.DOWN:
                break
            run += 1
        longest = max(longest, run)
    return min(longest, monitor.failure_threshold)


def _recovery_votes(
    monitor: Monitor,
    voters: list[int],
    recent: dict[tuple[int, int], list[TickRow]],
) -> tuple[int, int]:
    """(recovered, unrecovered) among the healthy regions with fresh ticks.

    A region without fresh data does not vote either way; so an incident
    whose other regions fell silent cannot resolve on one region's word.
    """
    recovered = unrecovered = 0
    for region_id in voters:
        rows = recent[(monitor.pk, region_id)]
        if not rows:
            continue  # no fresh data from this region: no vote
        head = rows[: monitor.recovery_threshold]
        if len(head) == monitor.recovery_threshold and all(
            r["status"] != TickStatus.DOWN for r in head
        ):
            recovered += 1
        else:
            unrecovered += 1
    return recovered, unrecovered


def _open(
    monitor: Monitor,
    failing: dict[int, list[TickRow]],
    region_codes: dict[int, str],
    quorum: int,
    now: datetime,
    parent: Incident | None = None,
) -> Incident:
    latest_region, latest_rows = max(
        failing.items(), key=lambda kv: kv[1][0]["checked_at"]
    )
    latest = latest_rows[0]
    reason = latest["message"] or latest["error"] or "down"
    cause = f"{latest['error']}: {reason}" if latest["error"] else reason
    started_at = min(_streak_start(rows) for rows in failing.values())
    details = {
        "error": latest["error"],
        "status_code": latest["status_code"],
        "quorum": quorum,
        "confirmed_at": now.isoformat(),
        "regions": {
            region_codes.get(region_id, str(region_id)): {
                "first_failed_at": _streak_start(rows).isoformat(),
                "error": rows[0]["error"],
                "message": rows[0]["message"],
                "status_code": rows[0]["status_code"],
            }
            for region_id, rows in failing.items()
        },
    }
    # The failing tick's evidence (bounded by the check), so the incident and
    # its alerts show why without a second lookup. One indexed row.
    evidence = (
        Tick.objects.filter(
            monitor_id=monitor.pk,
            region_id=latest_region,
            scheduled_at=latest["scheduled_at"],
        )
        .values_list("details", flat=True)
        .first()
    )
    if evidence:
        details["evidence"] = evidence
    incident = Incident.objects.create(
        monitor=monitor,
        status=IncidentStatus.OPEN,
        started_at=started_at,
        cause=cause[:500],
        details=details,
        # The parent's outage explains this one: recorded, alerting nobody.
        suppressed=parent is not None,
        suppressed_by=parent,
    )
    incident_opened.send(sender=Incident, incident=incident)
    return incident
