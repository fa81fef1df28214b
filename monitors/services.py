"""Workflows over several models: projects, regions, the one write path for
monitors (the API, the dashboard and the admin all call it), recording ticks."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import (
    DatabaseError,
    InterfaceError,
    OperationalError,
    connection,
    transaction,
)
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from uptime import sanitize
from uptime.bulk import insert_from_arrays, update_from_values

from . import partitions
from .checks import REGISTRY, check_fields, tls
from .checks.base import CheckResult
from .dependencies import dependency_error
from .flapping import flapping_detect, flapping_settle
from .incidents import incidents_evaluate
from .maintenance import maintenance_active
from .models import (
    Incident,
    IncidentStatus,
    Membership,
    Monitor,
    MonitorPause,
    MonitorStatus,
    Project,
    Region,
    Role,
    Tick,
    TickStatus,
)
from .projects import project_require
from .quotas import (
    Planned,
    QuotaExceeded,
    is_operator,
    monitor_quota_check,
    monitors_quota_check,
)
from .rollups import rollups_prune, rollups_record
from .scheduler import shared_slot
from .signals import (
    certificate_expiring,
    incident_acknowledged,
    incident_resolved,
    monitor_degraded,
    monitor_degraded_recovered,
)

log = logging.getLogger(__name__)


def project_create(*, owner: User, name: str, personal: bool = False) -> Project:
    """A new project with its creator as its (first) owner."""
    with transaction.atomic():
        project = Project.objects.create(
            name=name[:100], owner=owner, personal=personal
        )
        Membership.objects.create(project=project, user=owner, role=Role.OWNER)
    return project


def project_create_default(*, user: User) -> Project:
    return project_create(
        owner=user, name=f"{user.get_username()}'s project", personal=True
    )


def default_project_for(user: User) -> Project:
    """The user's personal project: where their monitors go by default.

    Never another project they joined: whoever invited them must not receive
    the monitors (and the secrets in their headers) they create without
    naming a project. Its owner can neither leave it nor be removed.
    """
    project = Project.objects.filter(owner=user, personal=True).first()
    if project is None:
        project = project_create_default(user=user)
    return project


def regions_sync(*, using: str = "default") -> None:
    """Create and activate the regions in UPTIME_REGIONS; deactivate others."""
    codes = list(settings.UPTIME_REGIONS)
    for code in codes:
        Region.objects.using(using).update_or_create(
            code=code,
            defaults={"active": True},
            create_defaults={"name": code, "active": True},
        )
    Region.objects.using(using).exclude(code__in=codes).update(active=False)


# What a check does: changing any of these on an enabled monitor checks it at
# once, on the new settings, instead of at its next slot. The kind, target and
# every option a check kind declares, plus when and where it runs; the other
# settings (name, thresholds, quorum, status page, channels) only change how
# results are read, so an edit of them waits for the schedule.
RECHECK_FIELDS = (*check_fields(), "interval_seconds", "timeout_seconds", "regions")

# Written by the services, the checks and the pings only, never by a caller.
_STATE_FIELDS = frozenset(
    {
        "status",
        "consecutive_failures",
        "next_check_at",
        "last_checked_at",
        "last_response_time_ms",
        "heartbeat_key",
        "last_ping_at",
        "cert_expires_at",
        "cert_issuer",
        "cert_notified_days",
    }
)


def _quota_check(*, user: User, monitor: Monitor, regions: int, enabled: bool) -> None:
    """Hold a tenant's save of ``monitor`` (its new settings, not yet saved)
    to the quotas; the project row is locked first, so two saves at once
    cannot both pass a limit one of them reaches."""
    if is_operator(user):
        return
    Project.objects.select_for_update().filter(pk=monitor.project_id).exists()
    monitor_quota_check(
        project=monitor.project,
        monitor=monitor if monitor.pk else None,
        kind=monitor.kind,
        url=monitor.url,
        interval_seconds=monitor.interval_seconds,
        regions=regions,
        enabled=enabled,
    )


def _quota_check_planned(
    *, user: User, planned: Sequence[tuple[Monitor, list[Region]]]
) -> None:
    """_quota_check for several new monitors of one project at once."""
    if is_operator(user) or not planned:
        return
    project = planned[0][0].project
    Project.objects.select_for_update().filter(pk=project.pk).exists()
    monitors_quota_check(
        project=project,
        monitor=None,
        planned=[
            Planned(m.kind, m.url, m.interval_seconds, len(regions), m.enabled)
            for m, regions in planned
        ],
    )


def _require_member(*, user: User, project: Project) -> None:
    """Only the project's members (the member role or above) write its
    monitors; a viewer's write is a PermissionDenied. The operator (a
    superuser, in the admin) is not a member of every project and may."""
    if is_operator(user):
        return
    project_require(user=user, project=project, min_role=Role.MEMBER)


def _policy_check(monitor: Monitor) -> None:
    """A monitor escalates only through its own project's policy."""
    policy = monitor.escalation_policy
    if policy is not None and policy.project_id != monitor.project_id:
        raise ValidationError(
            {"escalation_policy": "The policy belongs to another project."}
        )


def _writable(fields: Mapping[str, Any]) -> dict[str, Any]:
    values = dict(fields)
    owned = sorted(_STATE_FIELDS & values.keys())
    if owned:
        raise ValueError(f"{owned} are kept by the monitor services, not written.")
    return values


def _check_dependency(monitor: Monitor) -> None:
    """``depends_on``: a monitor of the same project, not itself, no cycle."""
    parent = monitor.depends_on if monitor.depends_on_id else None
    error = dependency_error(
        monitor=monitor, project_id=monitor.project_id, parent=parent
    )
    if error:
        raise ValidationError({"depends_on": error})


def _is_passive(kind: str) -> bool:
    """A kind that reads the database, not the network (heartbeats)."""
    declared = REGISTRY.get(kind)
    return declared is not None and declared.passive


def _apply_heartbeat_rule(monitor: Monitor, regions: list[Region]) -> list[Region]:
    """A heartbeat reads the database, not the network: one region checks it
    (the first by code), and one tick per slot is the whole vote, so the
    quorum goes back to its default."""
    if not _is_passive(monitor.kind):
        return regions
    monitor.region_quorum = None
    return sorted(regions, key=lambda r: r.code)[:1]


def _check_values(monitor: Monitor) -> dict[str, Any]:
    values = {name: getattr(monitor, name) for name in RECHECK_FIELDS}
    values["regions"] = set(monitor.regions.values_list("pk", flat=True))
    return values


def _pause(monitor: Monitor) -> None:
    """Stop checking. An open incident closes as ``paused``, not resolved:
    nobody knows whether the target recovered, so no alert is sent (no
    signal) and its reminders stop with it. The pause is recorded as a span
    that uptime leaves out."""
    now = timezone.now()
    monitor.enabled = False
    monitor.status = MonitorStatus.PAUSED
    monitor.next_check_at = None
    # A paused monitor is not flapping; resuming starts a fresh episode,
    # without a "stopped flapping" alert for the pause.
    monitor.flapping = False
    monitor.flapping_since = None
    monitor.save(
        update_fields=[
            "enabled",
            "status",
            "next_check_at",
            "flapping",
            "flapping_since",
            "updated_at",
        ]
    )
    Incident.objects.filter(monitor=monitor, status=IncidentStatus.OPEN).update(
        status=IncidentStatus.PAUSED, resolved_at=now
    )
    if not MonitorPause.objects.filter(monitor=monitor, ended_at=None).exists():
        MonitorPause.objects.create(monitor=monitor, started_at=now)


def _resume(monitor: Monitor) -> None:
    now = timezone.now()
    monitor.enabled = True
    monitor.status = MonitorStatus.PENDING
    monitor.consecutive_failures = 0
    monitor.next_check_at = shared_slot(now)
    monitor.save(
        update_fields=[
            "enabled",
            "status",
            "consecutive_failures",
            "next_check_at",
            "updated_at",
        ]
    )
    MonitorPause.objects.filter(monitor=monitor, ended_at=None).update(ended_at=now)


def _locked(monitor: Monitor) -> Monitor:
    """The stored row, locked: the caller's instance may carry unsaved edits
    (a validated ModelForm writes the posted values on it)."""
    return (
        Monitor.objects.select_for_update(of=("self",))
        .select_related("project")
        .get(pk=monitor.pk)
    )


def _monitor_new(
    *,
    user: User,
    fields: Mapping[str, Any],
    project: Project | None,
) -> tuple[Monitor, list[Region], Any]:
    """An unsaved monitor with the create defaults, its regions and channels."""
    values = _writable(fields)
    project = values.pop("project", None) or project or default_project_for(user)
    _require_member(user=user, project=project)
    regions = values.pop("regions", None)
    channels = values.pop("channels", None)
    monitor = Monitor(project=project, **values)
    _policy_check(monitor)
    if _is_passive(monitor.kind) and "failure_threshold" not in values:
        # One silent interval is the failure: there is nothing to retry.
        monitor.failure_threshold = 1
    if regions is None:
        regions = Region.objects.filter(active=True)
    regions = _apply_heartbeat_rule(monitor, list(regions))
    if monitor.enabled:
        monitor.status = MonitorStatus.PENDING
        monitor.next_check_at = shared_slot(timezone.now())
    else:
        monitor.status, monitor.next_check_at = MonitorStatus.PAUSED, None
    return monitor, regions, channels


def _monitor_save_new(monitor: Monitor, regions: list[Region], channels: Any) -> None:
    monitor.save()  # alerts' post_save receiver links the default channels
    monitor.regions.set(regions)
    if not monitor.enabled:
        MonitorPause.objects.create(monitor=monitor, started_at=monitor.created_at)
    if channels is not None:
        monitor.channels.set(channels)


def monitor_create(
    *,
    user: User,
    fields: Mapping[str, Any],
    project: Project | None = None,
) -> Monitor:
    """Create a monitor from validated settings and check it at once.

    ``fields`` holds model field values, plus ``regions`` (default: every
    active region) and ``channels`` (default: the project's default
    channels). The project is ``fields["project"]``, else ``project``, else
    the user's default project. A monitor created disabled starts paused.
    """
    monitor, regions, channels = _monitor_new(user=user, fields=fields, project=project)
    _check_dependency(monitor)
    with transaction.atomic():
        _quota_check(
            user=user,
            monitor=monitor,
            regions=len(regions),
            enabled=monitor.enabled,
        )
        _monitor_save_new(monitor, regions, channels)
    return monitor


BULK_CREATE_MAX = 1000


class BulkItemError(Exception):
    """Item ``index`` of a bulk create was refused (``error``: the cause)."""

    def __init__(self, index: int, error: ValidationError) -> None:
        super().__init__(f"item {index}: {error}")
        self.index = index
        self.error = error


def monitors_create_bulk(
    *,
    user: User,
    items: Sequence[Mapping[str, Any]],
    project: Project | None = None,
) -> list[Monitor]:
    """Create many monitors from validated settings, all or nothing.

    The same defaults, membership rule and quotas as ``monitor_create``, in
    one transaction; the quotas hold for the whole set (each item counts
    the ones before it), read once per project rather than once per item.
    An item over a quota raises BulkItemError naming its index, and nothing
    is created. The enabled ones share the slot after the last save: one
    batch per region.
    """
    if len(items) > BULK_CREATE_MAX:
        raise ValueError(f"At most {BULK_CREATE_MAX} monitors at once.")
    planned = [
        _monitor_new(user=user, fields=fields, project=project) for fields in items
    ]
    for index, (monitor, _, _) in enumerate(planned):
        try:
            _check_dependency(monitor)
        except ValidationError as exc:
            raise BulkItemError(index, exc) from exc
    by_project: dict[int, list[int]] = {}
    for index, (monitor, _, _) in enumerate(planned):
        by_project.setdefault(monitor.project_id, []).append(index)
    with transaction.atomic():
        for indexes in by_project.values():
            try:
                _quota_check_planned(
                    user=user, planned=[planned[i][:2] for i in indexes]
                )
            except QuotaExceeded as exc:
                raise BulkItemError(indexes[exc.index], exc) from exc
        for monitor, regions, channels in planned:
            _monitor_save_new(monitor, regions, channels)
        first = shared_slot(timezone.now())
        enabled = [monitor for monitor, _, _ in planned if monitor.enabled]
        Monitor.objects.filter(pk__in=[m.pk for m in enabled]).update(
            next_check_at=first
        )
        for monitor in enabled:
            monitor.next_check_at = first
    return [monitor for monitor, _, _ in planned]


def monitor_update(
    *, user: User, monitor: Monitor, fields: Mapping[str, Any]
) -> Monitor:
    """Write validated settings; returns the saved monitor.

    Only the given fields change. ``enabled`` pauses or resumes; a change of
    any of RECHECK_FIELDS on an enabled monitor checks it at once.
    """
    values = _writable(fields)
    regions = values.pop("regions", None)
    channels = values.pop("channels", None)
    enabled = values.pop("enabled", None)
    with transaction.atomic():
        stored = _locked(monitor)
        _require_member(user=user, project=stored.project)
        moved_to = values.get("project")
        if moved_to is not None and moved_to.pk != stored.project_id:
            _require_member(user=user, project=moved_to)
        before = _check_values(stored)
        old_project_id = stored.project_id
        for name, value in values.items():
            setattr(stored, name, value)
        if (
            moved_to is not None
            and "escalation_policy" not in values
            and stored.escalation_policy_id is not None
            and moved_to.pk != old_project_id
        ):
            # The old project's policy would alert its people: none now.
            stored.escalation_policy = None
            values["escalation_policy"] = None
        _policy_check(stored)
        moved = stored.project_id != old_project_id
        if moved and "depends_on" not in values:
            stored.depends_on = None  # another project's monitor: no longer
        if "depends_on" in values or moved:
            # Two edits at once (A on B, B on A) must not both pass the cycle
            # check: they queue on the project row.
            Project.objects.select_for_update().filter(pk=stored.project_id).exists()
            _check_dependency(stored)
        if regions is None:
            regions = stored.regions.all()
        regions = _apply_heartbeat_rule(stored, list(regions))
        _quota_check(
            user=user,
            monitor=stored,
            regions=len(regions),
            enabled=stored.enabled if enabled is None else enabled,
        )
        saved = {*values, "region_quorum", "updated_at"}
        if moved:
            saved.add("depends_on")
            # Its dependents stay in the old project: they no longer sit
            # behind it.
            Monitor.objects.filter(depends_on=stored).update(depends_on=None)
        stored.save(update_fields=list(saved))
        if {r.pk for r in regions} != before["regions"]:
            stored.regions.set(regions)
        if channels is not None:
            stored.channels.set(channels)
        elif moved_to is not None and moved_to.pk != old_project_id:
            # Another project's channels would alert people who no longer
            # see this monitor: only the new project's channels stay.
            stored.channels.set(stored.channels.filter(project=moved_to))
        if enabled is not None and enabled != stored.enabled:
            (_resume if enabled else _pause)(stored)
        elif _check_values(stored) != before:
            monitor_schedule_now(monitor=stored)
    return stored


def monitor_pause(*, user: User, monitor: Monitor) -> Monitor:
    """Stop checking (and so alerting): enabled off, status ``paused``."""
    with transaction.atomic():
        stored = _locked(monitor)
        _require_member(user=user, project=stored.project)
        _pause(stored)
    return stored


def monitor_resume(*, user: User, monitor: Monitor) -> Monitor:
    """Check again from now: enabled on, status ``pending`` until a result."""
    with transaction.atomic():
        stored = _locked(monitor)
        _require_member(user=user, project=stored.project)
        _resume(stored)
    return stored


def monitor_delete(*, user: User, monitor: Monitor) -> None:
    """Delete a monitor and its history, safely while its checks are running.

    Django deletes the ticks first, then the monitor; a batch storing a tick
    in between would leave a tick pointing at a deleted monitor and fail the
    delete at commit. Locking the monitor row first makes ticks_record (which
    locks its monitors before inserting) wait, then skip the deleted monitor.
    """
    with transaction.atomic():
        stored = (
            Monitor.objects.select_for_update(of=("self",))
            .select_related("project")
            .filter(pk=monitor.pk)
            .first()
        )
        if stored is None:
            return
        _require_member(user=user, project=stored.project)
        stored.delete()


ACK_VIA = ("dashboard", "api", "link")
NOTE_MAX = 1000


def _note(note: str) -> str:
    return sanitize.clean_text(note or "", limit=NOTE_MAX)


def _locked_incident(incident: Incident) -> Incident:
    return (
        Incident.objects.select_for_update(of=("self",))
        .select_related("monitor__project", "acknowledged_by", "resolved_by")
        .get(pk=incident.pk)
    )


def incident_acknowledge(
    *,
    incident: Incident,
    user: User | None = None,
    name: str = "",
    note: str = "",
    via: str = "dashboard",
) -> Incident:
    """A person takes an open incident on: its reminders and escalation stop.

    From the dashboard or the API the user needs the member role (a viewer
    gets PermissionDenied). Through the signed link in an alert the link is
    the authority: ``user`` is whoever is signed in, if anyone, else only the
    ``name`` they typed is kept. Acknowledging twice keeps the first; a
    closed incident cannot be acknowledged (ValidationError on ``status``).
    The row is locked, so the escalation task, which locks it too, either
    runs before (and its step goes out) or sees the acknowledgement.
    """
    if via not in ACK_VIA:
        raise ValueError(f"via must be one of {ACK_VIA}")
    with transaction.atomic():
        stored = _locked_incident(incident)
        if via != "link":
            if user is None:
                raise PermissionDenied("Acknowledging needs a signed-in member.")
            _require_member(user=user, project=stored.monitor.project)
        if stored.acknowledged_at is not None:
            return stored
        if stored.status != IncidentStatus.OPEN:
            raise ValidationError(
                {"status": f"The incident is {stored.status}: nothing to acknowledge."}
            )
        stored.acknowledged_at = timezone.now()
        stored.acknowledged_by = user if getattr(user, "pk", None) else None
        stored.acknowledged_by_name = (
            "" if stored.acknowledged_by else sanitize.clean_text(name, limit=150)
        )
        stored.ack_note = _note(note)
        stored.save(
            update_fields=[
                "acknowledged_at",
                "acknowledged_by",
                "acknowledged_by_name",
                "ack_note",
            ]
        )
        incident_acknowledged.send(sender=Incident, incident=stored, via=via)
    return stored


def incident_resolve_by_hand(
    *, incident: Incident, user: User, note: str = ""
) -> Incident:
    """A person says the incident is over (member role or above).

    The usual recovery alerts go out (``incident_resolved``, as when checks
    recover). The monitor's DOWN ticks so far no longer count: only failing
    checks after this moment open a new incident (see incidents_evaluate).
    Resolving a closed incident changes nothing.
    """
    with transaction.atomic():
        # The monitor first, as ticks_record locks it: a batch evaluating
        # this monitor waits, then finds the incident resolved.
        Monitor.objects.select_for_update(of=("self",)).filter(
            pk=incident.monitor_id
        ).exists()
        stored = _locked_incident(incident)
        _require_member(user=user, project=stored.monitor.project)
        if stored.status != IncidentStatus.OPEN:
            return stored
        stored.status = IncidentStatus.RESOLVED
        stored.resolved_at = timezone.now()
        stored.resolved_by_hand = True
        stored.resolved_by = user
        stored.resolve_note = _note(note)
        stored.save(
            update_fields=[
                "status",
                "resolved_at",
                "resolved_by_hand",
                "resolved_by",
                "resolve_note",
            ]
        )
        monitor = stored.monitor
        if monitor.enabled:
            # Not known until the next check: the DOWN streak was set aside.
            Monitor.objects.filter(pk=monitor.pk).update(
                status=MonitorStatus.PENDING, consecutive_failures=0
            )
        incident_resolved.send(sender=Incident, incident=stored)
    return stored


def monitor_schedule_now(*, monitor: Monitor) -> None:
    """Check at once (on create, on edit of what is checked, "check now")."""
    if monitor.enabled:
        Monitor.objects.filter(pk=monitor.pk).update(
            next_check_at=shared_slot(timezone.now())
        )


@dataclass(frozen=True)
class TickResult:
    monitor_id: int
    checked_at: datetime
    result: CheckResult


def ticks_record(
    *,
    region: Region,
    scheduled_at: datetime,
    results: Sequence[TickResult],
    now: datetime | None = None,
) -> list[Tick]:
    """Store a batch of checks from one region and run the incident machine.

    One transaction: the monitors are locked in id order (no deadlock between
    two regions' batches), so when two regions report the same monitor at the
    same instant the second waits and then sees the first one's tick.
    """
    if not results:
        return []
    ids = sorted({r.monitor_id for r in results})
    with transaction.atomic():
        monitors = {
            m.pk: m
            for m in Monitor.objects.select_for_update()
            .filter(pk__in=ids)
            .order_by("pk")
        }
        # A monitor deleted while its check ran has nothing to record.
        kept = [item for item in results if item.monitor_id in monitors]
        ticks = ticks_store(region=region, scheduled_at=scheduled_at, results=kept)
        rollups_record(ticks)
        now = now or timezone.now()
        certificates_record(monitors=monitors, results=kept, now=now)
        _degraded_announce(
            monitors=monitors, ticks=ticks, region=region, scheduled_at=scheduled_at
        )
        # A missed slot is no vote and leaves the monitor's status alone.
        touched = [
            monitors[t.monitor_id] for t in ticks if t.status != TickStatus.MISSED
        ]
        # In a maintenance window nothing alerts: no incident opens and
        # flapping is not judged (one query for both).
        held = maintenance_active([m.pk for m in touched], now)
        judged = [m for m in touched if m.pk not in held]
        # Flapping is flagged before the incident machine (so its transitions
        # alert nobody) and settled after it (so the settled state is known).
        flap_readings = flapping_detect(monitors=judged, now=now)
        open_ids = incidents_evaluate(monitors=touched, now=now, held=held)
        flapping_settle(
            monitors=judged, readings=flap_readings, open_ids=open_ids, now=now
        )
        monitors_status_update(monitors=touched, ticks=ticks, open_ids=open_ids)
    return ticks


def _tick_from(item: TickResult, *, region: Region, scheduled_at: datetime) -> Tick:
    """A tick row from a check result, every outside-world string cleaned.

    The result's message, error and evidence carry what the target sent
    (reason phrases, headers, bodies, DNS answers, certificate fields), so
    they pass the one sanitiser before they can reach an INSERT.
    """
    res = item.result
    # A healthy check's evidence (address, timings) was most of a tick's
    # bytes and no page needs it: only the checks that were not plainly up
    # keep theirs.
    keep = res.details and res.status != TickStatus.UP
    details = sanitize.clean_json(res.details) if keep else None
    return Tick(
        monitor_id=item.monitor_id,
        region=region,
        scheduled_at=scheduled_at,
        checked_at=item.checked_at,
        status=res.status,
        response_time_ms=res.response_time_ms,
        status_code=res.status_code,
        error=sanitize.clean_text(res.error, limit=32),
        message=sanitize.clean_text(res.message, limit=500),
        details=details or None,
    )


def result_unstorable() -> CheckResult:
    """What stands in for a check result that could not be stored."""
    return CheckResult(
        status=TickStatus.DOWN,
        error="internal",
        message="The check's result could not be stored.",
    )


def _tick_unstorable(tick: Tick) -> Tick:
    """The DOWN tick that stands in for a row the database refused."""
    stand_in = TickResult(tick.monitor_id, tick.checked_at, result_unstorable())
    return _tick_from(stand_in, region=tick.region, scheduled_at=tick.scheduled_at)


TICK_COLUMNS = (
    "monitor",
    "region",
    "scheduled_at",
    "checked_at",
    "status",
    "response_time_ms",
    "status_code",
    "error",
    "message",
    "details",
)


def ticks_store(
    *, region: Region, scheduled_at: datetime, results: Sequence[TickResult]
) -> list[Tick]:
    """Insert the batch's ticks; one bad row never loses the others.

    One INSERT from per-column arrays normally. If the database refuses it for a reason
    in the data (not a lost connection), each row is inserted in its own
    savepoint; a row that is still refused becomes a DOWN tick with
    ``error=internal`` and a log line naming its monitor. A redelivered task
    hits the unique (monitor, region, scheduled_at) key and writes nothing new:
    only the ticks really inserted get a primary key (``rollups_record``
    counts those alone).
    """
    ticks = [
        _tick_from(item, region=region, scheduled_at=scheduled_at) for item in results
    ]
    try:
        with transaction.atomic():
            _ticks_insert(ticks)
        return ticks
    except (OperationalError, InterfaceError):
        raise  # the database is gone; the caller keeps the results and retries
    except DatabaseError:
        log.exception(
            "bulk tick insert failed for region %s slot %s; storing row by row",
            region.code,
            scheduled_at.isoformat(),
        )
    stored = []
    for tick in ticks:
        for candidate in (tick, _tick_unstorable(tick)):
            try:
                with transaction.atomic():
                    _ticks_insert([candidate])
            except (OperationalError, InterfaceError):
                raise
            except DatabaseError:
                log.exception(
                    "tick for monitor %s (region %s, slot %s) could not be stored",
                    tick.monitor_id,
                    region.code,
                    scheduled_at.isoformat(),
                )
                continue
            stored.append(candidate)
            break
    return stored


def _ticks_insert(ticks: Sequence[Tick]) -> None:
    """Insert the ticks, skipping slots already stored (a redelivered
    batch); the ones written get their primary key, the ones already stored
    keep None (so ``rollups_record`` counts a slot once)."""
    rows = insert_from_arrays(
        ticks,
        TICK_COLUMNS,
        ignore_conflicts=True,
        returning=("id", "monitor_id", "region_id", "scheduled_at"),
    )
    inserted = {(m, r, at): pk for pk, m, r, at in rows}
    for tick in ticks:
        key = (tick.monitor_id, tick.region_id, tick.scheduled_at)
        tick.pk = inserted.pop(key, None)
        tick._state.adding = tick.pk is None
        tick._state.db = connection.alias


def monitors_status_update(
    *, monitors: Sequence[Monitor], ticks: Sequence[Tick], open_ids: set[int]
) -> None:
    """Set each checked monitor's status and its last check from its ticks."""
    latest = {t.monitor_id: t for t in ticks if t.status != TickStatus.MISSED}
    for monitor in monitors:
        if not monitor.enabled or monitor.pk not in latest:
            continue
        tick = latest[monitor.pk]
        if monitor.pk in open_ids:
            monitor.status = MonitorStatus.DOWN
        elif monitor.consecutive_failures:
            monitor.status = MonitorStatus.FAILING
        else:
            monitor.status = MonitorStatus.UP
        if (
            monitor.last_checked_at is None
            or tick.checked_at >= monitor.last_checked_at
        ):
            monitor.last_checked_at = tick.checked_at
            if tick.status != TickStatus.DOWN:
                monitor.last_response_time_ms = tick.response_time_ms
    update_from_values(
        [m for m in monitors if m.enabled],
        ["status", "last_checked_at", "last_response_time_ms", "consecutive_failures"],
    )


def certificates_record(
    *, monitors: dict[int, Monitor], results: Sequence[TickResult], now: datetime
) -> None:
    """Keep each https monitor's certificate expiry and issuer current, and
    announce ``certificate_expiring`` once per threshold crossed.

    Runs inside ticks_record's transaction with the monitors locked, so two
    regions reporting the same certificate announce it once.
    """
    thresholds = tuple(settings.UPTIME_CERT_EXPIRY_DAYS)
    for item in results:
        cert = item.result.certificate or {}
        raw = cert.get("not_after")
        if not raw or item.monitor_id not in monitors:
            continue
        try:
            not_after = datetime.fromisoformat(raw)
        except (TypeError, ValueError):
            continue
        monitor = monitors[item.monitor_id]
        issuer = sanitize.clean_text(cert.get("issuer"), limit=300)
        previous = monitor.cert_expires_at
        notified = monitor.cert_notified_days
        if previous is not None and not_after > previous:
            notified = None  # renewed: a new certificate starts over
        left = tls.days_left(not_after, now)
        crossed = tls.threshold_crossed(left, thresholds, notified)
        if crossed is not None:
            notified = crossed
        if (previous, monitor.cert_issuer, monitor.cert_notified_days) != (
            not_after,
            issuer,
            notified,
        ):
            monitor.cert_expires_at = not_after
            monitor.cert_issuer = issuer
            monitor.cert_notified_days = notified
            Monitor.objects.filter(pk=monitor.pk).update(
                cert_expires_at=not_after,
                cert_issuer=issuer,
                cert_notified_days=notified,
            )
        if crossed is not None:
            certificate_expiring.send(
                sender=Monitor, monitor=monitor, days_left=left, not_after=not_after
            )


def _degraded_announce(
    *,
    monitors: dict[int, Monitor],
    ticks: Sequence[Tick],
    region: Region,
    scheduled_at: datetime,
) -> None:
    """Send monitor_degraded / monitor_degraded_recovered on a region's turn.

    Only monitors with a degraded threshold can turn. Their previous tick in
    this region (within a day, or ten intervals) comes from one query for the
    whole batch (a subquery per
    monitor on the unique (monitor, region, scheduled_at) index), not one
    query per tick inside the batch's locked transaction.
    """
    candidates = [
        tick
        for tick in ticks
        if monitors[tick.monitor_id].degraded_threshold_ms is not None
        and tick.status not in (TickStatus.DOWN, TickStatus.MISSED)
    ]
    if not candidates:
        return
    # Looked for a day back at least (ten intervals for slower monitors): a
    # bound the planner can prune the tick table's day partitions with,
    # instead of opening every day kept.
    widest = max(monitors[t.monitor_id].interval_seconds for t in candidates)
    floor = scheduled_at - max(timedelta(days=1), timedelta(seconds=10 * widest))
    previous_tick = (
        Tick.objects.filter(
            monitor_id=OuterRef("pk"),
            region=region,
            scheduled_at__lt=scheduled_at,
            scheduled_at__gte=floor,
        )
        .exclude(status=TickStatus.MISSED)
        .order_by("-scheduled_at")
    )
    previous_status = dict(
        Monitor.objects.filter(pk__in=[t.monitor_id for t in candidates])
        .annotate(previous=Subquery(previous_tick.values("status")[:1]))
        .values_list("pk", "previous")
    )
    for tick in candidates:
        monitor = monitors[tick.monitor_id]
        previous = previous_status.get(monitor.pk)
        if tick.status == TickStatus.DEGRADED and previous != TickStatus.DEGRADED:
            monitor_degraded.send(sender=Monitor, monitor=monitor, tick=tick)
        elif tick.status == TickStatus.UP and previous == TickStatus.DEGRADED:
            monitor_degraded_recovered.send(sender=Monitor, monitor=monitor, tick=tick)


def ticks_prune(*, older_than: timedelta, batch_size: int = 10_000) -> int:
    """Drop the raw ticks past retention: whole day partitions (milliseconds
    each, whatever their size) and, in small batches, the DEFAULT partition's
    strays. Rollups past their own retention go too. Returns the number of
    ticks removed."""
    removed = partitions.tick_partitions_drop(
        older_than=older_than, batch_size=batch_size
    )
    rollups_prune()
    return removed
