"""Workflows over several models: projects, regions, recording ticks."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from .checks import tls
from .checks.base import CheckResult
from .incidents import incidents_evaluate
from .models import Monitor, MonitorStatus, Project, Region, Tick, TickStatus
from .signals import (
    certificate_expiring,
    monitor_degraded,
    monitor_degraded_recovered,
)

log = logging.getLogger(__name__)


def project_create_default(*, user: AbstractBaseUser) -> Project:
    name = f"{user.get_username()}'s project"
    project = Project.objects.create(name=name[:100], owner=user)
    project.members.add(user)
    return project


def default_project_for(user: AbstractBaseUser) -> Project:
    project = Project.objects.filter(members=user).order_by("id").first()
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


def monitor_delete(*, monitor: Monitor) -> None:
    """Delete a monitor and its history, safely while its checks are running.

    Django deletes the ticks first, then the monitor; a batch storing a tick
    in between would leave a tick pointing at a deleted monitor and fail the
    delete at commit. Locking the monitor row first makes ticks_record (which
    locks its monitors before inserting) wait, then skip the deleted monitor.
    """
    with transaction.atomic():
        if Monitor.objects.select_for_update().filter(pk=monitor.pk).exists():
            monitor.delete()


def monitor_schedule_now(*, monitor: Monitor) -> None:
    """Check at once (on create, on edit of what is checked, "check now")."""
    if monitor.enabled:
        Monitor.objects.filter(pk=monitor.pk).update(next_check_at=timezone.now())


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
        ticks = []
        for item in results:
            if item.monitor_id not in monitors:
                continue  # deleted while its check ran
            res = item.result
            ticks.append(
                Tick(
                    monitor_id=item.monitor_id,
                    region=region,
                    scheduled_at=scheduled_at,
                    checked_at=item.checked_at,
                    status=res.status,
                    response_time_ms=res.response_time_ms,
                    status_code=res.status_code,
                    error=res.error[:32],
                    message=res.message[:500],
                    details=res.details or None,
                )
            )
        # A redelivered task hits the unique slot and writes nothing new.
        Tick.objects.bulk_create(ticks, ignore_conflicts=True)
        touched = [monitors[t.monitor_id] for t in ticks]
        latest = {t.monitor_id: t for t in ticks}
        now = now or timezone.now()
        certificates_record(monitors=monitors, results=results, now=now)
        _degraded_announce(
            monitors=monitors, ticks=ticks, region=region, scheduled_at=scheduled_at
        )
        open_ids = incidents_evaluate(monitors=touched, now=now)
        for monitor in touched:
            if not monitor.enabled:
                continue
            tick = latest[monitor.pk]
            monitor.status = (
                MonitorStatus.DOWN if monitor.pk in open_ids else MonitorStatus.UP
            )
            if (
                monitor.last_checked_at is None
                or tick.checked_at >= monitor.last_checked_at
            ):
                monitor.last_checked_at = tick.checked_at
                if tick.status != TickStatus.DOWN:
                    monitor.last_response_time_ms = tick.response_time_ms
        Monitor.objects.bulk_update(
            touched, ["status", "last_checked_at", "last_response_time_ms"]
        )
    return ticks


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
        issuer = str(cert.get("issuer") or "")[:300]
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
    this region comes from one query for the whole batch (a subquery per
    monitor on the unique (monitor, region, scheduled_at) index), not one
    query per tick inside the batch's locked transaction.
    """
    candidates = [
        tick
        for tick in ticks
        if monitors[tick.monitor_id].degraded_threshold_ms is not None
        and tick.status != TickStatus.DOWN
    ]
    if not candidates:
        return
    previous_tick = Tick.objects.filter(
        monitor_id=OuterRef("pk"), region=region, scheduled_at__lt=scheduled_at
    ).order_by("-scheduled_at")
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
    """Delete ticks past retention in batches, so no single statement holds
    locks on the tick table for long. Returns the number deleted."""
    cutoff = timezone.now() - older_than
    total = 0
    while True:
        ids = list(
            Tick.objects.filter(scheduled_at__lt=cutoff).values_list("pk", flat=True)[
                :batch_size
            ]
        )
        if not ids:
            return total
        deleted, _ = Tick.objects.filter(pk__in=ids).delete()
        total += deleted
