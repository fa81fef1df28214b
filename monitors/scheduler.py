"""The dispatcher.

Beat calls ``dispatch_due`` every second. It claims due monitors with
``SELECT ... FOR UPDATE SKIP LOCKED`` (a second dispatcher skips the rows
the first holds, and after its commit sees them no longer due), advances each
one on its own slot grid, and after commit sends one ``monitors.run_checks``
task per (region, slot) with the ids of the monitors due in that slot.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from uptime.bulk import update_from_values

from . import health
from .models import Monitor

log = logging.getLogger(__name__)

MAX_CLAIM = 5000
MAX_BATCH = 1000

Sender = Callable[[str, datetime, list[int], datetime], None]


def shared_slot(moment: datetime) -> datetime:
    """The slot a new, resumed or edited monitor is first checked in: the
    next whole second. Monitors saved in the same second share it, and so
    one batch per region, instead of each being a batch of one paying the
    whole batch set-up; the check still runs within a second or two."""
    whole = moment.replace(microsecond=0)
    return whole if whole == moment else whole + timedelta(seconds=1)


def advance(monitor: Monitor, scheduled_at: datetime) -> datetime:
    """The slot after ``scheduled_at`` on the monitor's grid.

    Slots are ``phase + k * interval`` seconds since the epoch, so the
    schedule never drifts, however late a check ran. The first check (at
    save time, off the grid) is followed by the grid slot at least half an
    interval later, never by a second check a moment after.
    """
    following = monitor.next_slot_after(scheduled_at)
    if (following - scheduled_at).total_seconds() < monitor.interval_seconds / 2:
        following += timedelta(seconds=monitor.interval_seconds)
    return following


def send_batch(
    region: str, scheduled_at: datetime, ids: list[int], expires: datetime
) -> None:
    from uptime.queues import checks_queue

    from .tasks import run_checks

    run_checks.apply_async(
        args=(region, scheduled_at.isoformat(), ids),
        queue=checks_queue(region),
        expires=expires,
    )


def dispatch_due(*, now: datetime | None = None, send: Sender = send_batch) -> int:
    """Claim due monitors, advance them, send their batches. Returns tasks sent."""
    now = now or timezone.now()
    health.dispatch_recorded()
    horizon = now + timedelta(seconds=settings.UPTIME_DISPATCH_LEAD_SECONDS)
    batches: dict[tuple[str, datetime], list[int]] = defaultdict(list)
    expiry: dict[tuple[str, datetime], datetime] = {}
    with transaction.atomic():
        due = list(
            Monitor.objects.select_for_update(skip_locked=True)
            .filter(enabled=True, next_check_at__lte=horizon)
            .order_by("next_check_at")
            .only("id", "interval_seconds", "next_check_at")[:MAX_CLAIM]
        )
        if not due:
            return 0
        through = Monitor.regions.through
        regions: dict[int, list[str]] = defaultdict(list)
        for monitor_id, code in through.objects.filter(
            monitor_id__in=[m.pk for m in due], region__active=True
        ).values_list("monitor_id", "region__code"):
            regions[monitor_id].append(code)
        for monitor in due:
            scheduled = monitor.next_check_at
            assert scheduled is not None
            interval = timedelta(seconds=monitor.interval_seconds)
            if scheduled < now - interval:
                # Missed slots (dispatcher was down): check once, now-ish,
                # on the grid, instead of replaying every missed slot.
                scheduled = monitor.next_slot_after(now - interval)
            monitor.next_check_at = advance(monitor, scheduled)
            for code in regions[monitor.pk]:
                batches[(code, scheduled)].append(monitor.pk)
                expiry[(code, scheduled)] = min(
                    expiry.get((code, scheduled), scheduled + interval),
                    scheduled + interval,
                )
        update_from_values(due, ["next_check_at"])

        def send_all() -> None:
            for (code, scheduled), ids in batches.items():
                for start in range(0, len(ids), MAX_BATCH):
                    send(
                        code,
                        scheduled,
                        ids[start : start + MAX_BATCH],
                        expiry[(code, scheduled)],
                    )

        # Enqueue only once the claim is committed: a rolled-back claim sends
        # nothing, and a worker never sees a slot the database does not.
        transaction.on_commit(send_all)
    sent = sum((len(ids) + MAX_BATCH - 1) // MAX_BATCH for ids in batches.values())
    log.debug("dispatched %s monitors in %s tasks", len(due), sent)
    return sent
