"""Run one batch of checks (one region, one slot) and store the ticks.

The checks run concurrently on an asyncio event loop in a helper thread;
this thread stores their results as they arrive, in bulk, every
``FLUSH_SECONDS``. So a target that hangs until its timeout delays neither
the other checks nor the ticks (and incidents) of the fast ones.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from django.conf import settings
from django.utils import timezone

from uptime import outbound

from .checks import REGISTRY, CheckResult, CheckSpec, registry
from .checks.base import CheckContext
from .models import Monitor, Region
from .services import TickResult, ticks_record

log = logging.getLogger(__name__)

FLUSH_SECONDS = 0.5
_DONE = object()


def spec_for(monitor: Monitor) -> CheckSpec:
    """The plain settings a check kind needs (checks never see models): each
    kind's declaration reads them from the monitor's attributes."""
    return registry.spec_for(monitor, settings)


async def _run_one(
    monitor_id: int,
    spec: CheckSpec,
    ctx: CheckContext,
    sem: asyncio.Semaphore,
    out: queue.Queue,
) -> None:
    async with sem:
        checked_at = timezone.now()
        check = REGISTRY.get(spec.kind)
        try:
            if check is None:
                result = CheckResult(
                    status="down", error="internal", message=f"Unknown kind {spec.kind}"
                )
            else:
                result = await check(spec, ctx)
        except Exception:  # a bug in one check must not lose the others
            log.exception("check crashed for monitor %s", monitor_id)
            result = CheckResult(
                status="down", error="internal", message="The check crashed."
            )
        out.put(TickResult(monitor_id=monitor_id, checked_at=checked_at, result=result))


async def _run_all(
    specs: Sequence[tuple[int, CheckSpec]],
    out: queue.Queue,
    start_at: datetime | None = None,
) -> None:
    loop = asyncio.get_running_loop()
    # getaddrinfo runs in the default executor; the stock one has ~6 threads.
    loop.set_default_executor(
        ThreadPoolExecutor(max_workers=64, thread_name_prefix="dns")
    )
    allow_private = settings.UPTIME_ALLOW_PRIVATE_TARGETS
    sem = asyncio.Semaphore(settings.UPTIME_CHECK_CONCURRENCY)
    ssl_context = outbound.ssl_context_with(settings.UPTIME_EXTRA_CA_FILE or None)
    async with outbound.guarded_session(
        allow_private=allow_private,
        user_agent=settings.UPTIME_USER_AGENT,
        ssl_context=ssl_context,
    ) as session:
        ctx = CheckContext(
            session=session,
            allow_private=allow_private,
            user_agent=settings.UPTIME_USER_AGENT,
            ssl_context=ssl_context,
        )
        if start_at is not None:
            # The loop, its executor and the session are ready before the
            # slot; only the wait is left, so checks start on the slot.
            await asyncio.sleep(max((start_at - timezone.now()).total_seconds(), 0))
        await asyncio.gather(
            *(_run_one(mid, spec, ctx, sem, out) for mid, spec in specs)
        )


def run_checks(
    *, region_code: str, scheduled_at: datetime, monitor_ids: Sequence[int]
) -> int:
    """Check these monitors from this region for this slot; return ticks stored."""
    region = Region.objects.filter(code=region_code).first()
    if region is None:
        log.error("run_checks: unknown region %r, batch dropped", region_code)
        return 0
    monitors = list(Monitor.objects.filter(pk__in=monitor_ids, enabled=True))
    if not monitors:
        return 0
    specs = [(m.pk, spec_for(m)) for m in monitors]

    # Batches are sent a little ahead of their slot; start on the slot.
    delay = (scheduled_at - timezone.now()).total_seconds()
    start_at = (
        scheduled_at if 0 < delay <= settings.UPTIME_DISPATCH_LEAD_SECONDS + 1 else None
    )

    results: queue.Queue = queue.Queue()

    def loop_thread() -> None:
        try:
            asyncio.run(_run_all(specs, results, start_at))
        except Exception:
            log.exception("check batch for region %s failed", region_code)
        finally:
            results.put(_DONE)

    threading.Thread(
        target=loop_thread, name=f"checks-{region_code}", daemon=True
    ).start()

    stored = 0
    pending: list[TickResult] = []
    finished = False
    while not finished:
        deadline = time.monotonic() + FLUSH_SECONDS
        while True:
            remaining = deadline - time.monotonic()
            try:
                item = results.get(timeout=max(remaining, 0.001))
            except queue.Empty:
                break
            if item is _DONE:
                finished = True
                break
            pending.append(item)
        if pending:
            try:
                stored += len(
                    ticks_record(
                        region=region, scheduled_at=scheduled_at, results=pending
                    )
                )
            except Exception:
                ids = [p.monitor_id for p in pending]
                log.exception("storing ticks failed for monitors %s", ids)
                raise
            pending = []
    return stored
