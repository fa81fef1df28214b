"""Is monitoring itself working? What the pipeline records and reports.

Check workers record each stored batch (checks by region and status, start
lag, the time of the region's last batch) and the dispatcher records each
run, through the shared counters in ``uptime.metrics``. From those, the
broker's queue lengths and the database, ``pipeline_status`` says whether
checks are flowing: ``/healthz/pipeline`` serves it to an outside dead man's
switch, the dashboard shows a banner from it, and ``/metrics`` exports the
same figures to Prometheus.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

import redis
from django.conf import settings
from django.db.models import Count
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client.core import GaugeMetricFamily, Metric

from uptime import metrics, queues

from .models import Monitor, Region
from .regionhealth import shortest_intervals

if TYPE_CHECKING:  # services imports the scheduler, which records here
    from .services import TickResult

DISPATCH = "dispatch"


def _region_stamp(code: str) -> str:
    return f"region:{code}"


def batch_recorded(
    *, region_code: str, scheduled_at: datetime, items: Sequence[TickResult]
) -> None:
    """Count a stored batch: its checks by status and how late each started."""
    recorder = metrics.Recorder()
    for item in items:
        recorder.add(
            "checks_total", {"region": region_code, "status": item.result.status}
        )
        recorder.observe_lag(
            region_code, (item.checked_at - scheduled_at).total_seconds()
        )
    recorder.stamp(_region_stamp(region_code))
    recorder.send()


def dispatch_recorded() -> None:
    recorder = metrics.Recorder()
    recorder.stamp(DISPATCH)
    recorder.send()


@dataclass
class PipelineStatus:
    ok: bool
    problems: list[str] = field(default_factory=list)
    dispatch_age_seconds: float | None = None
    queues: dict[str, int] = field(default_factory=dict)
    regions: dict[str, dict[str, float | bool | None]] = field(default_factory=dict)

    def as_json(self) -> dict[str, object]:
        return {
            "status": "ok" if self.ok else "unhealthy",
            "problems": self.problems,
            "dispatch_age_seconds": _rounded(self.dispatch_age_seconds),
            "queues": self.queues,
            "regions": self.regions,
        }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _age(stamp: float | None, now: float) -> float | None:
    return None if stamp is None else max(now - stamp, 0.0)


def queue_depths(region_codes: Sequence[str]) -> dict[str, int]:
    """Messages waiting in each queue (the Redis transport keeps a list per
    queue, named as the queue)."""
    names = [*queues.worker_queues(), *(queues.checks_queue(c) for c in region_codes)]
    pipe = metrics.client().pipeline(transaction=False)
    for name in names:
        pipe.llen(name)
    return dict(zip(names, (int(n) for n in pipe.execute()), strict=True))


def pipeline_status() -> PipelineStatus:
    """Whether dispatch runs, queues drain and every region's workers report.

    A region is silent when it has enabled monitors and no batch of it was
    stored for two of its shortest intervals plus a grace period.
    """
    now = time.time()
    status = PipelineStatus(ok=True)
    regions = list(Region.objects.filter(active=True).order_by("code"))
    by_id = shortest_intervals()
    shortest = {r.code: by_id[r.pk] for r in regions if r.pk in by_id}
    try:
        stamps = metrics.stamps([DISPATCH, *(_region_stamp(r.code) for r in regions)])
        status.queues = queue_depths([r.code for r in regions])
    except redis.RedisError:
        status.ok = False
        status.problems.append("The broker (Redis) is unreachable.")
        return status
    grace = settings.UPTIME_PIPELINE_GRACE_SECONDS
    status.dispatch_age_seconds = _age(stamps[DISPATCH], now)
    if status.dispatch_age_seconds is None or status.dispatch_age_seconds > grace:
        status.ok = False
        status.problems.append(
            "Dispatch has not run for a while: is the beat process running?"
        )
    for region in regions:
        age = _age(stamps[_region_stamp(region.code)], now)
        status.regions[region.code] = {
            "last_batch_age_seconds": _rounded(age),
            "shortest_interval_seconds": shortest.get(region.code),
            "healthy": region.healthy,
        }
        if not region.healthy:
            # As last judged by monitors.regionhealth (every few seconds).
            status.ok = False
            status.problems.append(
                f"Unhealthy region {region.code} ({region.health_reason or 'no reason'}"
                "): its checks do not vote; monitors without enough healthy "
                "regions hold their state."
            )
        interval = shortest.get(region.code)
        if interval is not None and (age is None or age > 2 * interval + grace):
            status.ok = False
            status.problems.append(
                f"No checks stored from region {region.code}: "
                "are its check workers running?"
            )
    for name, depth in status.queues.items():
        if depth > settings.UPTIME_PIPELINE_MAX_QUEUE:
            status.ok = False
            status.problems.append(f"Queue {name} is backing up ({depth} waiting).")
    return status


@never_cache
@require_GET
def pipeline_view(request: HttpRequest) -> JsonResponse:
    """``/healthz/pipeline``: 200 when checks flow, 503 with the problems."""
    status = pipeline_status()
    return JsonResponse(status.as_json(), status=200 if status.ok else 503)


def collect() -> Iterator[Metric]:
    """Gauges read at scrape time (see ``uptime.metrics``)."""
    by_status = GaugeMetricFamily(
        "uptime_monitors", "Monitors by status.", labels=["status"]
    )
    for row in Monitor.objects.values("status").annotate(n=Count("id")):
        by_status.add_metric([row["status"]], row["n"])
    yield by_status

    status = pipeline_status()
    healthy = GaugeMetricFamily(
        "uptime_pipeline_healthy", "1 when dispatch, queues and regions are fine."
    )
    healthy.add_metric([], 1 if status.ok else 0)
    yield healthy
    if status.dispatch_age_seconds is not None:
        age = GaugeMetricFamily(
            "uptime_dispatch_age_seconds", "Seconds since dispatch last ran."
        )
        age.add_metric([], status.dispatch_age_seconds)
        yield age
    depth = GaugeMetricFamily(
        "uptime_queue_depth", "Messages waiting in a queue.", labels=["queue"]
    )
    for name, n in status.queues.items():
        depth.add_metric([name], n)
    yield depth
    last = GaugeMetricFamily(
        "uptime_region_last_batch_age_seconds",
        "Seconds since a batch of the region was stored.",
        labels=["region"],
    )
    voting = GaugeMetricFamily(
        "uptime_region_healthy",
        "1 while a region's checks vote (see region health), else 0.",
        labels=["region"],
    )
    for code, info in status.regions.items():
        seconds = info["last_batch_age_seconds"]
        if isinstance(seconds, float):
            last.add_metric([code], seconds)
        voting.add_metric([code], 1 if info["healthy"] else 0)
    yield last
    yield voting
