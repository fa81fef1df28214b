from __future__ import annotations

from datetime import datetime, timedelta

from monitors.models import Incident, IncidentStatus, Monitor, Region, Tick


def add_ticks(
    monitor: Monitor,
    region: Region,
    *,
    start: datetime,
    count: int,
    every: timedelta = timedelta(minutes=1),
    ms: int | list[int] = 100,
    status: str = "up",
    error: str = "",
    message: str = "",
) -> list[Tick]:
    ticks = []
    for i in range(count):
        at = start + every * i
        value = ms[i % len(ms)] if isinstance(ms, list) else ms
        ticks.append(
            Tick(
                monitor=monitor,
                region=region,
                scheduled_at=at,
                checked_at=at,
                status=status,
                response_time_ms=None if status == "down" else value,
                error=error,
                message=message,
            )
        )
    return Tick.objects.bulk_create(ticks)


def add_incident(
    monitor: Monitor,
    started_at: datetime,
    resolved_at: datetime | None,
    cause: str = "",
) -> Incident:
    return Incident.objects.create(
        monitor=monitor,
        status=IncidentStatus.RESOLVED if resolved_at else IncidentStatus.OPEN,
        started_at=started_at,
        resolved_at=resolved_at,
        cause=cause,
    )
