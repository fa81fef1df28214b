"""Who hears of an incident, and escalation policies.

``incident_channels`` is the one place that decides which channels an
incident's event goes to; the receivers (opened, resolved), the reminders
and the escalation task all ask it. A monitor without an escalation policy
alerts its own channels at once (the one-step default). With a policy:

* its steps with no delay get the opening alert (``incident.opened``);
* a later step gets ``incident.escalated`` once its delay has passed with
  the incident still open and unacknowledged (``escalations_due``, every
  30 s from beat); with ``repeat_every_minutes`` it goes out again every so
  often, until someone acknowledges or the incident resolves;
* the recovery goes to every channel that heard the incident was down;
* the channels' own reminders do not apply (the steps' repeats do).

Rows go through the outbox like every alert: one per (incident, channel,
step, round), keyed so a repeated run writes nothing new.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from monitors.dependencies import incident_alerts_suppressed
from monitors.maintenance import maintenance_active
from monitors.models import EscalationPolicy, Incident, IncidentStatus, Project

from ..models import Channel, EscalationStep, Event, Notification
from .payloads import incident_payload

# The events that say an incident is down: whoever got one hears the recovery.
_DOWN_INCIDENT_EVENTS = (
    Event.INCIDENT_OPENED,
    Event.INCIDENT_REMINDER,
    Event.INCIDENT_ESCALATED,
)


def incident_channels(
    *, incident: Incident, event: str, step: EscalationStep | None = None
) -> QuerySet[Channel]:
    """The channels an incident's ``event`` goes to (before each channel's
    own switches: enabled, notify_down/up, which ``outbox`` applies).

    Every incident alert asks here: the opening and the recovery (signal
    receivers), reminders, and each escalation ``step``. A rule that holds
    an incident's alerts back belongs here, once.
    """
    if incident_alerts_suppressed(incident):
        # Opened behind its parent monitor's outage: nobody, at any step.
        return Channel.objects.none()
    monitor = incident.monitor
    if event == Event.INCIDENT_ESCALATED:
        if step is None or step.policy_id != monitor.escalation_policy_id:
            return Channel.objects.none()
        return step.channels.all()
    if monitor.escalation_policy_id is None:
        return monitor.channels.all()
    if event == Event.INCIDENT_OPENED:
        return Channel.objects.filter(
            escalation_steps__policy_id=monitor.escalation_policy_id,
            escalation_steps__delay_minutes=0,
        ).distinct()
    if event == Event.INCIDENT_RESOLVED:
        told = Notification.objects.filter(
            incident=incident, event__in=_DOWN_INCIDENT_EVENTS
        ).values("channel_id")
        return Channel.objects.filter(pk__in=told)
    return Channel.objects.none()


def opened_at(incident: Incident) -> datetime:
    """When the incident was confirmed (its opening alert), which every
    reminder and escalation delay counts from."""
    confirmed = (incident.details or {}).get("confirmed_at")
    if confirmed:
        try:
            return datetime.fromisoformat(confirmed)
        except ValueError:
            pass
    return incident.started_at


def step_round(step: EscalationStep, *, since: datetime, now: datetime) -> int | None:
    """Which round of ``step`` is due now (0 the first), or None when none
    is: not yet, or the opening alert covers it. Only the current round:
    after downtime the backlog is not sent."""
    start = since + timedelta(minutes=step.delay_minutes)
    if now < start:
        return None
    k = 0
    if step.repeat_every_minutes:
        k = int((now - start) / timedelta(minutes=step.repeat_every_minutes))
    if step.delay_minutes == 0 and k == 0:
        return None  # sent as the opening alert
    return k


def _escalate_incident(
    incident: Incident, steps: Sequence[EscalationStep], now: datetime
) -> list[int]:
    # Imported here: outbox imports this module for incident_channels.
    from .outbox import write_rows

    since = opened_at(incident)
    ids: list[int] = []
    for step in steps:
        k = step_round(step, since=since, now=now)
        if k is None:
            continue
        ids += write_rows(
            channels=incident_channels(
                incident=incident, event=Event.INCIDENT_ESCALATED, step=step
            ),
            event=Event.INCIDENT_ESCALATED,
            dedupe_key=f"incident:{incident.pk}:escalated:{step.pk}:{k}",
            payload=incident_payload(
                incident=incident,
                event=Event.INCIDENT_ESCALATED,
                now=now,
                escalation={
                    "policy": incident.monitor.escalation_policy_id,
                    "step": step.order,
                    "delay_minutes": step.delay_minutes,
                    "round": k,
                },
            ),
            incident=incident,
            monitor=incident.monitor,
            now=now,
        )
    return ids


def escalations_due(*, now: datetime | None = None) -> int:
    """Write the escalation steps now due; returns how many rows were new.

    Each incident in its own transaction with its row locked: an
    acknowledgement (which locks it too) either comes first and no step
    goes out, or after, and the step already written is sent.
    """
    now = now or timezone.now()
    candidates = list(
        Incident.objects.filter(
            status=IncidentStatus.OPEN,
            acknowledged_at__isnull=True,
            monitor__escalation_policy__isnull=False,
        )
        # A flapping monitor's incidents alert nobody.
        .exclude(monitor__flapping=True)
        .values_list("pk", "monitor_id", "monitor__escalation_policy_id")
    )
    if not candidates:
        return 0
    held = maintenance_active([monitor_id for _, monitor_id, _ in candidates], now)
    steps: dict[int, list[EscalationStep]] = defaultdict(list)
    for step in EscalationStep.objects.filter(
        policy_id__in={policy_id for _, _, policy_id in candidates}
    ).prefetch_related("channels"):
        steps[step.policy_id].append(step)
    written = 0
    for pk, monitor_id, policy_id in candidates:
        if monitor_id in held or not steps[policy_id]:
            continue
        with transaction.atomic():
            incident = (
                Incident.objects.select_for_update(of=("self",))
                .select_related("monitor")
                .filter(pk=pk, status=IncidentStatus.OPEN, acknowledged_at__isnull=True)
                .first()
            )
            if incident is None or incident.monitor.escalation_policy_id != policy_id:
                continue
            written += len(_escalate_incident(incident, steps[policy_id], now))
    return written


# --- the policies' one write path (API, dashboard, admin) ---------------------


def _steps_clean(project: Project, steps: Sequence[dict[str, Any]]) -> list[str]:
    errors = []
    if not steps:
        errors.append("A policy needs at least one step.")
    for index, step in enumerate(steps):
        channels = list(step.get("channels") or [])
        if not channels:
            errors.append(f"Step {index + 1}: pick at least one channel.")
        if any(c.project_id != project.pk for c in channels):
            errors.append(f"Step {index + 1}: channels of another project.")
        repeat = step.get("repeat_every_minutes")
        if repeat is not None and repeat < 1:
            errors.append(f"Step {index + 1}: repeat every 1 minute or more.")
    return errors


def _steps_write(policy: EscalationPolicy, steps: Sequence[dict[str, Any]]) -> None:
    EscalationStep.objects.filter(policy=policy).delete()
    ordered = sorted(enumerate(steps), key=lambda s: (s[1]["delay_minutes"], s[0]))
    for order, (_, data) in enumerate(ordered):
        step = EscalationStep.objects.create(
            policy=policy,
            order=order,
            delay_minutes=data["delay_minutes"],
            repeat_every_minutes=data.get("repeat_every_minutes"),
        )
        step.channels.set(data["channels"])


def policy_save(
    *,
    project: Project,
    name: str,
    steps: Sequence[dict[str, Any]] | None,
    policy: EscalationPolicy | None = None,
) -> EscalationPolicy:
    """Create (``policy`` None) or update a policy and replace its steps.

    ``steps``: dicts of delay_minutes, repeat_every_minutes (None: once) and
    channels (the project's); None on an update keeps them. Steps are kept
    in delay order. Raises ValidationError by field.
    """
    errors: dict[str, list[str]] = {}
    if steps is not None:
        step_errors = _steps_clean(project, steps)
        if step_errors:
            errors["steps"] = step_errors
    name = name.strip()
    if not name:
        errors["name"] = ["A policy needs a name."]
    elif (
        EscalationPolicy.objects.filter(project=project, name=name)
        .exclude(pk=policy.pk if policy is not None else 0)
        .exists()
    ):
        errors["name"] = ["The project has a policy of this name already."]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        if policy is None:
            policy = EscalationPolicy.objects.create(project=project, name=name)
        else:
            policy.name = name
            policy.save(update_fields=["name"])
        if steps is not None:
            _steps_write(policy, steps)
    return policy


def policy_delete(*, policy: EscalationPolicy) -> None:
    """Delete a policy and its steps; its monitors go back to alerting their
    own channels at once (the foreign key is SET_NULL)."""
    policy.delete()
