"""Run one batch of checks (one region, one slot) and store the ticks.

The checks run concurrently on the worker process's one long-lived asyncio
event loop (``_CheckRuntime``), each starting at its own phase in the slot's
second; the task's thread stores their results as they arrive, in bulk,
every ``FLUSH_SECONDS``. So a target that hangs until its timeout delays neither
the other checks nor the ticks (and incidents) of the fast ones.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import dataclasses
import gc
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from functools import partial

import aiohttp
from django.conf import settings
from django.db import InterfaceError, OperationalError, close_old_connections
from django.utils import timezone

from uptime import outbound

from . import health
from .checks import REGISTRY, CheckResult, CheckSpec, registry
from .checks.base import CheckContext
from .checks.options import parse_resolver, url_host
from .models import Monitor, MonitorKind, Region, TickStatus
from .regionhealth import batch_heartbeat, worker_name
from .services import TickResult, result_unstorable, ticks_record

log = logging.getLogger(__name__)

FLUSH_SECONDS = 0.5
# How often the lag meter wakes to see how late the event loop runs.
LAG_TICK_SECONDS = 0.1
# A late wake-up up to this is scheduling jitter on a busy but healthy
# machine, not a stall.
LAG_JITTER_SECONDS = 0.02
# How long a finished batch keeps retrying its ticks while the database is down.
STORE_RETRY_SECONDS = 30.0
# Results still unstored after that wait in this worker process, oldest
# dropped first beyond this many, until a later batch reaches the database.
MAX_UNSTORED = 50_000
# How long a replaced check session stays open for the batches still on it.
SESSION_GRACE_SECONDS = 300.0
_DONE = object()


def spec_for(monitor: Monitor) -> CheckSpec:
    """The plain settings a check kind needs (checks never see models): each
    kind's declaration reads them from the monitor's attributes."""
    spec = registry.spec_for(monitor, settings)
    return dataclasses.replace(spec, interval=monitor.interval_seconds)


def target_host(spec: CheckSpec) -> str:
    """The host a check sends traffic to, for the per-host limit.

    A DNS check's traffic goes to its resolver (none named: the default one,
    not limited); a heartbeat sends none.
    """
    if spec.kind == MonitorKind.HEARTBEAT:
        return ""
    if spec.kind == MonitorKind.DNS:
        try:
            return parse_resolver(str(spec.options.get("resolver") or ""))[0]
        except ValueError:
            return ""
    return url_host(spec.url)


class _HostLimits:
    """At most ``per_host`` checks in flight to one host in this process.

    So many monitors aimed at one host (by one tenant or by several) cannot
    turn a batch into a load test of a third party's server.
    """

    def __init__(self, per_host: int) -> None:
        self.per_host = per_host
        self.semaphores: dict[str, asyncio.Semaphore] = {}

    def get(self, host: str) -> asyncio.Semaphore | None:
        if not host:
            return None
        if host not in self.semaphores:
            self.semaphores[host] = asyncio.Semaphore(self.per_host)
        return self.semaphores[host]


def start_lag_bound(interval_seconds: float) -> float:
    """How late a batch may start: a quarter of the interval, at most
    UPTIME_MAX_START_LAG_SECONDS (0 turns the guard off). Later, its checks
    would measure our backlog rather than the target, and crowd the next
    slot's batch."""
    cap = settings.UPTIME_MAX_START_LAG_SECONDS
    return min(interval_seconds / 4, cap) if cap else float("inf")


def result_missed(message: str, **details: object) -> CheckResult:
    """A slot this worker did not check fairly: neither up nor down."""
    return CheckResult(
        status=TickStatus.MISSED,
        error="checker_lag",
        message=message[:500],
        details=dict(details),
    )


class _LoopLag:
    """How late the worker's event loop runs, measured by a ticker.

    The ticker asks to wake every ``LAG_TICK_SECONDS``; how much later it
    actually wakes is the time every other coroutine waited for the loop
    (CPU starvation, the GIL held by other batches). A check that timed out
    while this was large may have had its answer waiting in the socket.
    """

    def __init__(self) -> None:
        # (loop time woken, lag) for the last few minutes at most.
        self.samples: deque[tuple[float, float]] = deque(maxlen=3000)
        self.due: float | None = None

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            self.due = loop.time() + LAG_TICK_SECONDS
            await asyncio.sleep(LAG_TICK_SECONDS)
            woke = loop.time()
            self.samples.append((woke, woke - self.due))

    def stalled_since(self, start: float) -> float:
        """Seconds the loop was held up since loop time ``start``: the sum of
        the ticker's delays, the current one included (the ticker may not
        have run yet after a stall)."""
        now = asyncio.get_running_loop().time()
        stalled = max(now - self.due, 0.0) if self.due is not None else 0.0
        for woke, lag in reversed(self.samples):
            if woke < start:
                break
            stalled += max(lag - LAG_JITTER_SECONDS, 0.0)
        return stalled


def _lag_verdict(
    result: CheckResult, lag: _LoopLag, started: float, timeout: float
) -> CheckResult:
    """A timeout while our own loop was held up is missed, not DOWN.

    Held up means more than UPTIME_MAX_LOOP_LAG_MS, or a quarter of the
    check's timeout if less, in total while the check ran: the answer may
    have been waiting in the socket. A dead target on a healthy worker
    still times out as DOWN.
    """
    if result.status != TickStatus.DOWN or result.error != "timeout":
        return result
    stalled = lag.stalled_since(started)
    if stalled <= min(settings.UPTIME_MAX_LOOP_LAG_MS / 1000, timeout / 4):
        return result
    return result_missed(
        f"checker overloaded: timed out while the worker's event loop was "
        f"held up for {stalled:.1f} s",
        loop_lag_ms=round(stalled * 1000),
        check_error=result.error,
        check_message=result.message,
    )


async def _run_one(
    monitor_id: int,
    spec: CheckSpec,
    ctx: CheckContext,
    sem: asyncio.Semaphore,
    out: queue.Queue,
    host_sem: asyncio.Semaphore | None = None,
    lag: _LoopLag | None = None,
) -> None:
    # The host's limit first, so checks queued for one busy host do not hold
    # the batch-wide slots that other hosts' checks need.
    async with host_sem or contextlib.nullcontext(), sem:
        checked_at = timezone.now()
        started = asyncio.get_running_loop().time()
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
        if lag is not None:
            result = _lag_verdict(result, lag, started, spec.timeout)
        out.put(TickResult(monitor_id=monitor_id, checked_at=checked_at, result=result))


def check_phase(monitor_id: int) -> float:
    """Where in its slot's second a monitor's check starts, in seconds [0, 1).

    Derived from the id (Knuth's multiplicative hash, so neighbouring ids
    land far apart) and fixed for the monitor's life: the checks of one
    batch start spread over the second instead of all at its first instant,
    which would make the last of a few hundred start late on one event loop.
    """
    return ((monitor_id * 2654435761) % 2**32) // 2**22 / 1024


async def _run_phased(
    monitor_id: int,
    start_at: datetime | None,
    run: Callable[[], Awaitable[None]],
) -> None:
    if start_at is not None:
        wait = (start_at - timezone.now()).total_seconds()
        if settings.UPTIME_SPREAD_CHECKS:
            wait += check_phase(monitor_id)
        if wait > 0:
            await asyncio.sleep(wait)
    await run()


class _CheckRuntime:
    """The event loop every batch of this worker process runs on, with what
    it needs for the process's life: the DNS executor, the TLS context (the
    CA bundle is read once), the guarded session and the lag meter.

    Building these per batch cost a thread, a loop, a 64-thread executor and
    a CA bundle parse every second of every region. The loop runs in its own
    daemon thread, started by the first batch (so after a prefork pool has
    forked); batches are submitted to it from Celery's task threads and
    their results come back through a queue.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.lag = _LoopLag()
        self.context: CheckContext | None = None
        self.config: tuple[bool, str, str | None, str] | None = None
        self.retired: list[aiohttp.ClientSession] = []
        atexit.register(self.close)

    def close(self) -> None:
        """Close the sessions at process exit (a worker's warm shutdown),
        so aiohttp does not report them as leaked."""
        loop = self.loop
        if loop is None or not loop.is_running():
            return
        sessions = [*self.retired, *([self.context.session] if self.context else [])]

        async def close_all() -> None:
            for session in sessions:
                await session.close()

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(close_all(), loop).result(timeout=2)

    def submit(
        self,
        specs: Sequence[tuple[int, CheckSpec]],
        out: queue.Queue,
        start_at: datetime | None,
    ) -> Future[None]:
        with self.lock:
            if self.loop is None:
                self.loop = self._start()
            loop = self.loop
        return asyncio.run_coroutine_threadsafe(self._batch(specs, out, start_at), loop)

    def _start(self) -> asyncio.AbstractEventLoop:
        loop = asyncio.new_event_loop()
        # getaddrinfo runs in the default executor; the stock one has ~6 threads.
        loop.set_default_executor(
            ThreadPoolExecutor(max_workers=64, thread_name_prefix="dns")
        )
        threading.Thread(
            target=loop.run_forever, name="checks-loop", daemon=True
        ).start()
        asyncio.run_coroutine_threadsafe(self.lag.run(), loop)
        # A full garbage collection walks every object the process holds
        # (Django, the apps, the loaded modules): about every 4 s at a few
        # hundred checks per second, holding every thread for 100-200 ms,
        # so the checks due then started that late. What exists by the
        # first batch lives as long as the process: collect what is garbage
        # now, once, and leave the rest out of later collections.
        gc.collect()
        gc.freeze()
        return loop

    async def _context(self) -> CheckContext:
        """The shared context, rebuilt when the settings it was built from
        change (tests override them; a deployment changes them by restart).
        Runs on the loop thread only, so it needs no lock."""
        config = (
            settings.UPTIME_ALLOW_PRIVATE_TARGETS,
            settings.UPTIME_USER_AGENT,
            settings.UPTIME_EXTRA_CA_FILE or None,
            settings.UPTIME_DNS_RESOLVER,
        )
        if self.context is None or config != self.config:
            old, self.config = self.context, config
            allow_private, user_agent, extra_ca_file, resolver = config
            ssl_context = outbound.ssl_context_with(extra_ca_file)
            self.context = CheckContext(
                session=outbound.guarded_session(
                    allow_private=allow_private,
                    user_agent=user_agent,
                    ssl_context=ssl_context,
                ),
                allow_private=allow_private,
                user_agent=user_agent,
                ssl_context=ssl_context,
                default_resolver=resolver,
            )
            if old is not None:  # batches still running on it finish first
                self.retired.append(old.session)
                asyncio.get_running_loop().call_later(
                    SESSION_GRACE_SECONDS,
                    lambda: asyncio.ensure_future(self._close_retired(old.session)),
                )
        return self.context

    async def _close_retired(self, session: aiohttp.ClientSession) -> None:
        self.retired.remove(session)
        await session.close()

    async def _batch(
        self,
        specs: Sequence[tuple[int, CheckSpec]],
        out: queue.Queue,
        start_at: datetime | None,
    ) -> None:
        ctx = await self._context()
        sem = asyncio.Semaphore(settings.UPTIME_CHECK_CONCURRENCY)
        hosts = _HostLimits(settings.UPTIME_MAX_CHECKS_PER_HOST)
        await asyncio.gather(
            *(
                _run_phased(
                    mid,
                    start_at,
                    partial(
                        _run_one,
                        mid,
                        spec,
                        ctx,
                        sem,
                        out,
                        hosts.get(target_host(spec)),
                        self.lag,
                    ),
                )
                for mid, spec in specs
            )
        )


_runtime = _CheckRuntime()


class _LastKnown:
    """The region and check settings this worker process last loaded.

    A batch that starts while the database is out of reach still checks its
    monitors, with the settings they had at their previous check, and keeps
    the results until the database is back (``_Store``), instead of failing
    and leaving the slot unchecked. Bounded by the monitors this process
    checks; a monitor it never loaded is skipped until the database returns.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.regions: dict[str, Region] = {}
        self.specs: dict[int, CheckSpec] = {}

    def remember(
        self,
        region: Region,
        monitor_ids: Sequence[int],
        specs: Sequence[tuple[int, CheckSpec]],
    ) -> None:
        with self.lock:
            self.regions[region.code] = region
            for monitor_id in monitor_ids:  # paused or deleted ones drop out
                self.specs.pop(monitor_id, None)
            self.specs.update(specs)

    def recall(
        self, region_code: str, monitor_ids: Sequence[int]
    ) -> tuple[Region | None, list[tuple[int, CheckSpec]]]:
        with self.lock:
            specs = [(i, self.specs[i]) for i in monitor_ids if i in self.specs]
            return self.regions.get(region_code), specs


_last_known = _LastKnown()


def _load_batch(
    region_code: str, monitor_ids: Sequence[int]
) -> tuple[Region | None, list[tuple[int, CheckSpec]]]:
    try:
        region = Region.objects.filter(code=region_code).first()
        if region is None:
            return None, []
        monitors = list(Monitor.objects.filter(pk__in=monitor_ids, enabled=True))
        specs = [(m.pk, spec_for(m)) for m in monitors]
    except (OperationalError, InterfaceError):
        close_old_connections()
        region, specs = _last_known.recall(region_code, monitor_ids)
        log.warning(
            "database unavailable loading a batch for region %s: checking %d of "
            "%d monitors with their last known settings",
            region_code,
            len(specs),
            len(monitor_ids),
        )
        return region, specs
    _last_known.remember(region, monitor_ids, specs)
    return region, specs


def run_checks(
    *,
    region_code: str,
    scheduled_at: datetime,
    monitor_ids: Sequence[int],
    worker: str = "",
) -> int:
    """Check these monitors from this region for this slot; return ticks stored."""
    region, specs = _load_batch(region_code, monitor_ids)
    if region is None:
        log.error("run_checks: unknown region %r, batch dropped", region_code)
        return 0
    if not specs:
        return 0
    # Batches are sent a little ahead of their slot; each check starts on the
    # slot, at its phase (a late batch's checks still keep their phases, so a
    # backlog does not bunch them either).
    delay = (scheduled_at - timezone.now()).total_seconds()
    start_at = (
        scheduled_at if delay <= settings.UPTIME_DISPATCH_LEAD_SECONDS + 1 else None
    )
    # Region health: this worker is alive here, and this late after the slot
    # (reported before the lag guard, so a skipped batch still shows its lag).
    batch_heartbeat(
        worker=worker or worker_name(),
        region=region,
        lag_ms=max(int(-delay * 1000), 0),
    )
    store = _Store(region=region, scheduled_at=scheduled_at)
    specs, store.pending = _skip_late(specs, region_code, scheduled_at)
    if not specs:
        store.flush()
        return store.drain()

    results: queue.Queue = queue.Queue()

    def batch_done(future: Future[None]) -> None:
        if not future.cancelled() and future.exception() is not None:
            log.error(
                "check batch for region %s failed",
                region_code,
                exc_info=future.exception(),
            )
        results.put(_DONE)

    _runtime.submit(specs, results, start_at).add_done_callback(batch_done)

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
            store.pending.append(item)
        store.flush()
    stored = store.drain()
    if store.pending:
        _unstored.keep(store)
    elif _unstored.items:
        _unstored.store()
    return stored


class _Unstored:
    """Finished results that outlived a batch's ``STORE_RETRY_SECONDS``
    because the database was still away: kept in memory (bounded by
    ``MAX_UNSTORED``) and stored by the next batch of this process that
    reaches the database, so a long outage costs late ticks, not lost ones.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.items: deque[tuple[Region, datetime, TickResult]] = deque()

    def keep(self, store: _Store) -> None:
        with self.lock:
            for item in store.pending:
                self.items.append((store.region, store.scheduled_at, item))
            dropped = 0
            while len(self.items) > MAX_UNSTORED:
                self.items.popleft()
                dropped += 1
        log.error(
            "database unavailable: %d ticks of region %s (slot %s) kept in memory "
            "until it is back; %d older ones dropped",
            len(store.pending),
            store.region.code,
            store.scheduled_at.isoformat(),
            dropped,
        )
        store.pending = []

    def store(self) -> None:
        with self.lock:
            items, self.items = list(self.items), deque()
        by_slot: dict[tuple[int, datetime], _Store] = {}
        for region, scheduled_at, item in items:
            key = (region.pk, scheduled_at)
            if key not in by_slot:
                by_slot[key] = _Store(region=region, scheduled_at=scheduled_at)
            by_slot[key].pending.append(item)
        for slot in by_slot.values():
            slot.flush()
            if slot.pending:  # the database went away again
                self.keep(slot)
            else:
                log.info(
                    "stored %d ticks of region %s (slot %s) kept during an outage",
                    slot.stored,
                    slot.region.code,
                    slot.scheduled_at.isoformat(),
                )


_unstored = _Unstored()


def batch_expired(
    *, region_code: str, scheduled_at: datetime, monitor_ids: Sequence[int]
) -> int:
    """Record ``missed`` ticks for a batch that expired before any worker
    took it; returns ticks stored. Never raises: it runs in Celery's
    revocation hook."""
    try:
        region = Region.objects.filter(code=region_code).first()
        ids = list(
            Monitor.objects.filter(pk__in=monitor_ids, enabled=True).values_list(
                "pk", flat=True
            )
        )
        if region is None or not ids:
            return 0
        results = _missed_ticks(
            ids,
            region_code,
            scheduled_at,
            "the batch expired {late} s after its slot",
        )
        return len(
            ticks_record(region=region, scheduled_at=scheduled_at, results=results)
        )
    except Exception:
        log.exception("recording the expired batch for region %s failed", region_code)
        return 0


def _skip_late(
    specs: list[tuple[int, CheckSpec]], region_code: str, scheduled_at: datetime
) -> tuple[list[tuple[int, CheckSpec]], list[TickResult]]:
    """Split a batch into the monitors still on time and missed ticks for
    those whose start-lag bound has passed (a backlog: the worker, not the
    target, is behind)."""
    late_by = (timezone.now() - scheduled_at).total_seconds()
    on_time = [(pk, s) for pk, s in specs if late_by <= start_lag_bound(s.interval)]
    if len(on_time) == len(specs):
        return specs, []
    kept = {pk for pk, _ in on_time}
    skipped = [pk for pk, _ in specs if pk not in kept]
    return on_time, _missed_ticks(
        skipped, region_code, scheduled_at, "started {late} s late"
    )


def _missed_ticks(
    monitor_ids: Sequence[int], region_code: str, scheduled_at: datetime, why: str
) -> list[TickResult]:
    """``missed`` results for monitors whose slot this checker did not check
    in time (``why`` names ``{late}``, the seconds since the slot), and one
    warning for the batch."""
    now = timezone.now()
    late_by = (now - scheduled_at).total_seconds()
    log.warning(
        "checker overloaded: batch for region %s slot %s %s; "
        "%d monitors recorded as missed",
        region_code,
        scheduled_at.isoformat(),
        why.format(late=f"{late_by:.1f}"),
        len(monitor_ids),
    )
    missed = result_missed(
        f"checker overloaded: {why.format(late=f'{late_by:.0f}')}",
        start_lag_ms=round(late_by * 1000),
    )
    return [TickResult(pk, now, missed) for pk in monitor_ids]


class _Store:
    """Store a batch's results as they arrive, and never drop them.

    A lost database connection keeps the results pending: they are stored
    at the next flush, and after the last check for up to
    ``STORE_RETRY_SECONDS`` (then ``_Unstored`` keeps them). Any other
    storage error is one bad result's fault, not the batch's: the results
    are then stored one monitor at a time, and the one that still fails
    becomes an ``internal`` DOWN tick with a log line naming its monitor.
    """

    def __init__(self, *, region: Region, scheduled_at: datetime) -> None:
        self.region = region
        self.scheduled_at = scheduled_at
        self.pending: list[TickResult] = []
        self.stored = 0

    def _record(self, items: Sequence[TickResult]) -> None:
        self.stored += len(
            ticks_record(
                region=self.region, scheduled_at=self.scheduled_at, results=items
            )
        )
        health.batch_recorded(
            region_code=self.region.code, scheduled_at=self.scheduled_at, items=items
        )

    def flush(self) -> None:
        if not self.pending:
            return
        batch, self.pending = self.pending, []
        try:
            self._record(batch)
        except (OperationalError, InterfaceError):
            log.warning(
                "database unavailable storing %d ticks for region %s; will retry",
                len(batch),
                self.region.code,
                exc_info=True,
            )
            close_old_connections()
            self.pending = batch + self.pending
        except Exception:
            log.exception(
                "storing ticks for monitors %s failed; storing one by one",
                [item.monitor_id for item in batch],
            )
            for item in batch:
                self._record_alone(item)

    def _record_alone(self, item: TickResult) -> None:
        try:
            self._record([item])
            return
        except (OperationalError, InterfaceError):
            close_old_connections()
            self.pending.append(item)
            return
        except Exception:
            log.exception("storing the tick of monitor %s failed", item.monitor_id)
        stand_in = TickResult(item.monitor_id, item.checked_at, result_unstorable())
        try:
            self._record([stand_in])
        except Exception:
            log.exception("monitor %s: no tick stored for this slot", item.monitor_id)

    def drain(self) -> int:
        """Retry what is still pending until stored or out of time."""
        give_up = time.monotonic() + STORE_RETRY_SECONDS
        pause = 0.25
        while self.pending and time.monotonic() < give_up:
            time.sleep(pause)
            pause = min(pause * 2, 4.0)
            self.flush()
        return self.stored
