from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from celery import shared_task
from celery.signals import task_revoked
from django.conf import settings

from . import partitions, regionhealth, runner, scheduler, services


# Both are acknowledged on receipt, not after running (the project default is
# acks_late). Running a slot's batch or a dispatch again later is worthless:
# both carry an expiry shorter than any redelivery, and a batch that never
# ran is the slot's own loss, never a second check of it.
@shared_task(name="monitors.dispatch_due", ignore_result=True, acks_late=False)
def dispatch_due() -> int:
    return scheduler.dispatch_due()


@shared_task(name="monitors.run_checks", ignore_result=True, acks_late=False, bind=True)
def run_checks(self, region: str, scheduled_at: str, monitor_ids: list[int]) -> int:
    return runner.run_checks(
        region_code=region,
        scheduled_at=datetime.fromisoformat(scheduled_at),
        monitor_ids=monitor_ids,
        worker=self.request.hostname or "",
    )


@task_revoked.connect
def record_expired_batch(
    sender: Any = None, request: Any = None, expired: bool = False, **kwargs: Any
) -> None:
    """A batch that expired in the queue (the checkers were an interval or
    more behind) leaves ``missed`` ticks, so its slots are never silently lost."""
    if not expired or getattr(sender, "name", "") != run_checks.name:
        return
    region, scheduled_at, monitor_ids = request.args
    runner.batch_expired(
        region_code=region,
        scheduled_at=datetime.fromisoformat(scheduled_at),
        monitor_ids=monitor_ids,
    )


@shared_task(name="monitors.regions_health_record", ignore_result=True)
def regions_health_record() -> int:
    return len(regionhealth.regions_health_record())


@shared_task(name="monitors.prune_ticks", ignore_result=True)
def prune_ticks() -> int:
    return services.ticks_prune(
        older_than=timedelta(days=settings.UPTIME_TICK_RETENTION_DAYS)
    )


@shared_task(name="monitors.tick_partitions_ensure", ignore_result=True)
def tick_partitions_ensure() -> int:
    return len(partitions.tick_partitions_ensure())
