"""Maintenance windows and pauses: when incidents are held and uptime is not
counted.

A maintenance window (``MaintenanceWindow``) covers the monitors it names, or
every monitor of its project when it names none. While one is active the
checks go on and are stored and shown, but the incident machine opens no
incident (it holds) and no alert goes out; uptime leaves the window out. When
it ends with the target still down, the next check opens the incident by the
usual rules, with one DOWN alert.

An incident that was already open when a window starts stays open and
resolves by the usual rules; its reminders are held during the window, and
its recovery alert is still sent (whoever got the DOWN alert must learn that
it is over).

The write path for windows is here too (``maintenance_window_*``): the API,
the dashboard and the admin call it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import connection, transaction

from . import signals
from .models import (
    Incident,
    MaintenanceWindow,
    Monitor,
    MonitorPause,
    Project,
    Recurrence,
    Role,
    Weekday,
)
from .projects import project_require

Span = tuple[datetime, datetime]

# A weekly occurrence longer than a week would overlap the next one.
WEEKLY_MAX_DURATION = timedelta(days=7)

# Window rows for the given monitors that may overlap [since, until): the
# project's windows naming no monitor, and the windows naming the monitor.
# Recurring windows are expanded in Python (MaintenanceWindow.occurrences).
_WINDOWS_SQL = f"""
    SELECT 'left_out', m.id, w.starts_at, w.ends_at, w.recurrence, w.weekdays
    FROM {Monitor._meta.db_table} m
    JOIN {MaintenanceWindow._meta.db_table} w ON w.project_id = m.project_id
    WHERE m.id = ANY(%(ids)s)
      AND w.starts_at < %(until)s
      AND (w.recurrence = '{Recurrence.WEEKLY}' OR w.ends_at > %(since)s)
      AND (
        NOT EXISTS (
          SELECT 1 FROM {MaintenanceWindow.monitors.through._meta.db_table} x
          WHERE x.maintenancewindow_id = w.id)
        OR EXISTS (
          SELECT 1 FROM {MaintenanceWindow.monitors.through._meta.db_table} x
          WHERE x.maintenancewindow_id = w.id AND x.monitor_id = m.id)
      )
"""

# Pauses overlapping [since, until), shaped like window rows (open ones end
# at ``until``), so one statement returns everything uptime leaves out.
_PAUSES_SQL = f"""
    SELECT 'left_out', p.monitor_id, p.started_at, COALESCE(p.ended_at, %(until)s),
           '' AS recurrence, '{{}}'::smallint[] AS weekdays
    FROM {MonitorPause._meta.db_table} p
    WHERE p.monitor_id = ANY(%(ids)s)
      AND p.started_at < %(until)s
      AND (p.ended_at IS NULL OR p.ended_at > %(since)s)
"""

# Incidents overlapping [since, until), shaped the same (open ones end at
# ``until``), so uptime reads its downtime in the same statement.
_INCIDENTS_SQL = f"""
    SELECT 'incident', i.monitor_id, i.started_at,
           COALESCE(i.resolved_at, %(until)s), '', '{{}}'::smallint[]
    FROM {Incident._meta.db_table} i
    WHERE i.monitor_id = ANY(%(ids)s)
      AND i.started_at < %(until)s
      AND (i.resolved_at IS NULL OR i.resolved_at > %(since)s)
"""


def _spans(
    sql: str, *, monitor_ids: Sequence[int], since: datetime, until: datetime
) -> dict[str, dict[int, list[Span]]]:
    """kind ("left_out", "incident") -> monitor id -> spans overlapping
    [since, until), from one query."""
    out: dict[str, dict[int, list[Span]]] = defaultdict(lambda: defaultdict(list))
    if not monitor_ids:
        return out
    with connection.cursor() as cursor:
        cursor.execute(sql, {"ids": list(monitor_ids), "since": since, "until": until})
        rows = cursor.fetchall()
    for kind, monitor_id, starts_at, ends_at, recurrence, weekdays in rows:
        window = MaintenanceWindow(
            starts_at=starts_at,
            ends_at=ends_at,
            recurrence=recurrence,
            weekdays=weekdays,
        )
        out[kind][monitor_id] += window.occurrences(since, until)
    return out


def maintenance_until(monitor_ids: Iterable[int], now: datetime) -> dict[int, datetime]:
    """The monitors in maintenance at ``now``, with when it ends (the latest
    end of the windows covering them). One query."""
    moment = now + timedelta(microseconds=1)
    spans = _spans(_WINDOWS_SQL, monitor_ids=list(monitor_ids), since=now, until=moment)
    return {
        pk: max(end for _, end in found)
        for pk, found in spans["left_out"].items()
        if found
    }


def maintenance_active(monitor_ids: Iterable[int], now: datetime) -> set[int]:
    """The ids of the monitors a maintenance window covers at ``now``: the
    incident machine holds their transitions. One query."""
    return set(maintenance_until(monitor_ids, now))


def merge_spans(spans: Iterable[Span]) -> list[Span]:
    """Overlapping or touching spans joined, oldest first."""
    merged: list[Span] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def uptime_spans(
    *, monitor_ids: Sequence[int], since: datetime, until: datetime
) -> tuple[dict[int, list[Span]], dict[int, list[Span]]]:
    """What uptime over [since, until) is computed from, in one query: per
    monitor, the merged incident spans, and the merged spans it leaves out
    (pauses and maintenance windows). Monitors with none are absent."""
    found = _spans(
        f"{_INCIDENTS_SQL} UNION ALL {_PAUSES_SQL} UNION ALL {_WINDOWS_SQL}",
        monitor_ids=monitor_ids,
        since=since,
        until=until,
    )

    def clipped(kind: str) -> dict[int, list[Span]]:
        out = {
            pk: merge_spans((max(s, since), min(e, until)) for s, e in spans)
            for pk, spans in found[kind].items()
        }
        return {pk: spans for pk, spans in out.items() if spans}

    return clipped("incident"), clipped("left_out")


def excluded_spans(
    *, monitor_ids: Sequence[int], since: datetime, until: datetime
) -> dict[int, list[Span]]:
    """Per monitor, the merged spans in [since, until) that uptime leaves out:
    pauses and maintenance windows. One query; monitors with none are absent."""
    return uptime_spans(monitor_ids=monitor_ids, since=since, until=until)[1]


# --- the write path ------------------------------------------------------------

WINDOW_FIELDS = ("title", "starts_at", "ends_at", "recurrence", "weekdays", "monitors")


def maintenance_window_errors(
    values: Mapping[str, Any], project: Project
) -> dict[str, str]:
    """What is wrong with a window's values, by field (empty when nothing)."""
    errors: dict[str, str] = {}
    if not str(values.get("title") or "").strip():
        errors["title"] = "Give the window a title."
    starts_at, ends_at = values.get("starts_at"), values.get("ends_at")
    if starts_at is None:
        errors["starts_at"] = "This field is required."
    if ends_at is None:
        errors["ends_at"] = "This field is required."
    elif starts_at is not None and ends_at <= starts_at:
        errors["ends_at"] = "The window must end after it starts."
    recurrence = values.get("recurrence") or Recurrence.NONE
    weekdays = values.get("weekdays") or []
    if recurrence not in Recurrence.values:
        errors["recurrence"] = "Must be empty (once) or weekly."
    elif recurrence == Recurrence.WEEKLY:
        if not weekdays:
            errors["weekdays"] = "A weekly window needs at least one day."
        elif any(d not in Weekday.values for d in weekdays):
            errors["weekdays"] = "Days are 0 (Monday) to 6 (Sunday)."
        if starts_at and ends_at and ends_at - starts_at > WEEKLY_MAX_DURATION:
            errors["ends_at"] = "A weekly window lasts at most 7 days."
    foreign = [m.pk for m in values.get("monitors") or [] if m.project_id != project.pk]
    if foreign:
        errors["monitors"] = "Only monitors of the window's project."
    return errors


def _window_save(
    window: MaintenanceWindow, values: Mapping[str, Any]
) -> MaintenanceWindow:
    errors = maintenance_window_errors(values, window.project)
    if errors:
        raise ValidationError(errors)
    window.title = str(values["title"]).strip()[:200]
    window.starts_at, window.ends_at = values["starts_at"], values["ends_at"]
    window.recurrence = values.get("recurrence") or Recurrence.NONE
    weekly = window.recurrence == Recurrence.WEEKLY
    window.weekdays = sorted(set(values.get("weekdays") or [])) if weekly else []
    with transaction.atomic():
        window.save()
        window.monitors.set(values.get("monitors") or [])
    return window


def maintenance_window_create(
    *, user: AbstractBaseUser, project: Project, fields: Mapping[str, Any]
) -> MaintenanceWindow:
    """A new window in ``project``; the roles that write monitors may.
    Bad values raise ValidationError by field."""
    _require_writer(user=user, project=project)
    with transaction.atomic():
        window = _window_save(MaintenanceWindow(project=project), fields)
        # Inside the transaction, with its monitors set: status pages tell
        # their subscribers about the planned work (an outbox row each).
        signals.maintenance_scheduled.send(sender=MaintenanceWindow, window=window)
    return window


def maintenance_window_update(
    *, user: AbstractBaseUser, window: MaintenanceWindow, fields: Mapping[str, Any]
) -> MaintenanceWindow:
    """Change the given fields; the others keep their stored values."""
    _require_writer(user=user, project=window.project)
    values: dict[str, Any] = {
        name: getattr(window, name) for name in WINDOW_FIELDS if name != "monitors"
    }
    values["monitors"] = list(window.monitors.all()) if window.pk else []
    values.update(fields)
    return _window_save(window, values)


def maintenance_window_delete(
    *, user: AbstractBaseUser, window: MaintenanceWindow
) -> None:
    _require_writer(user=user, project=window.project)
    window.delete()


def _require_writer(*, user: AbstractBaseUser, project: Project) -> None:
    """As for monitors: members and above; the operator (a superuser, in the
    admin) is not a member of every project and may."""
    if getattr(user, "is_superuser", False):
        return
    project_require(user=user, project=project, min_role=Role.MEMBER)
