"""The pipeline keeps checking through broker faults.

Every process here talks to a ``redis-server`` of the test's own (never the
machine's shared Redis), which the test kills and starts again.
"""

from __future__ import annotations

import re
import signal
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone
from django_celery_beat.models import PeriodicTask
from django_celery_beat.schedulers import ModelEntry

from monitors.models import Monitor, Region, Tick
from monitors.tasks import run_checks
from tests.e2e_support import (
    PrivateRedis,
    celery_beat,
    celery_dispatcher,
    celery_worker,
    wait_for,
)
from tests.targets import Target
from uptime import queues
from uptime.celery import app


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path / "redis.log")
    yield server
    server.close()


def slow_ok(h: BaseHTTPRequestHandler) -> None:
    # Slow enough that a batch is in flight whenever the broker goes away.
    time.sleep(0.3)
    h.send_response(200)
    h.send_header("Content-Length", "2")
    h.end_headers()
    h.wfile.write(b"ok")


def hold_a_message(redis_url: str, region: Region) -> None:
    """Give the check worker a message it holds unacknowledged: a batch due
    later than the test lasts (as an acks_late task in flight would be)."""
    later = timezone.now() + timedelta(minutes=10)
    with app.connection_for_write(redis_url) as conn:
        run_checks.apply_async(
            args=(region.code, later.isoformat(), []),
            queue=queues.checks_queue(region.code),
            eta=later,
            connection=conn,  # type: ignore[call-arg]  # apply_async passes it on to the producer; celery-types omits it
        )


def ticks_since(moment: datetime) -> int:
    return Tick.objects.filter(checked_at__gt=moment).count()


RESTARTS = 3


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_check_workers_keep_checking_through_redis_restarts(
    allow_private,
    make_monitor,
    regions: list[Region],
    private_redis: PrivateRedis,
    tmp_path: Path,
) -> None:
    target = Target()
    target.default = slow_ok
    region = regions[0]
    for n in range(10):
        monitor = make_monitor(
            name=f"m{n}",
            url=target.url(f"/{n}"),
            interval_seconds=2,
            timeout_seconds=1,
            regions=[region],
        )
        Monitor.objects.filter(pk=monitor.pk).update(next_check_at=monitor.created_at)
    broker = {"REDIS_URL": private_redis.url}
    checks_log = tmp_path / "checks.log"
    try:
        with (
            celery_worker(
                [queues.checks_queue(region.code)],
                pool="threads",
                concurrency=8,
                log_path=checks_log,
                **broker,
            ) as checks,
            celery_dispatcher(log_path=tmp_path / "dispatch.log", **broker) as disp,
            celery_beat(log_path=tmp_path / "beat.log", **broker) as beat,
        ):
            wait_for(lambda: ticks_since(timezone.now() - timedelta(days=1)) >= 10)
            for _ in range(RESTARTS):
                hold_a_message(private_redis.url, region)
                wait_for(lambda: private_redis.client().hlen("unacked") >= 1)
                private_redis.stop()
                time.sleep(1)  # the outage
                private_redis.start()
                back = timezone.now()
                # Every monitor is checked again within 10 s of Redis's return.
                wait_for(lambda: ticks_since(back) >= 10, timeout=10)  # noqa: B023
                assert checks.poll() is None
                assert disp.poll() is None
                assert beat.poll() is None
    finally:
        target.close()

    log = checks_log.read_text()
    assert log.count("Connected to redis://") == RESTARTS + 1
    assert "Unrecoverable error" not in log
    slots = list(Tick.objects.values_list("monitor_id", "region_id", "scheduled_at"))
    assert len(slots) == len(set(slots))


# The project's log line format (uptime/logs.py): "<time> INFO <logger> <message>".
TASK_LINE = re.compile(
    r"^(?P<at>[\d-]+ [\d:,]+) INFO \S+ "
    r"(?P<what>Task monitors\.dispatch_due\[[^]]+\] succeeded|"
    r"Discarding revoked task: monitors\.dispatch_due)",
    re.M,
)


def dispatch_events(log: Path) -> list[tuple[float, str]]:
    """(time, "ran" or "expired") for each dispatch the worker took."""
    events = []
    for match in TASK_LINE.finditer(log.read_text()):
        at = datetime.strptime(match["at"], "%Y-%m-%d %H:%M:%S,%f").timestamp()
        events.append((at, "expired" if "Discarding" in match["what"] else "ran"))
    return events


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_dispatch_runs_every_second_without_the_alerts_worker_and_drops_stale_runs(
    private_redis: PrivateRedis, tmp_path: Path
) -> None:
    # The dispatch worker's own task lines are what this test counts.
    broker = {"REDIS_URL": private_redis.url, "UPTIME_LOG_ROUTINE_TASKS": "true"}
    dispatch_log = tmp_path / "dispatch.log"
    # A backlog on the queues of the default,alerts worker, which does not
    # run at all here.
    with app.connection_for_write(private_redis.url) as conn:
        for _ in range(100):
            app.send_task("alerts.sweep", queue=queues.ALERTS, connection=conn)
            app.send_task("monitors.prune_ticks", queue=queues.DEFAULT, connection=conn)
    with (
        celery_dispatcher(log_path=dispatch_log, **broker) as disp,
        celery_beat(log_path=tmp_path / "beat.log", **broker),
    ):
        wait_for(lambda: len(dispatch_events(dispatch_log)) >= 2, timeout=15)
        started = time.time()
        time.sleep(6)  # a window to count runs in, not an assertion
        ran = [at for at, what in dispatch_events(dispatch_log) if what == "ran"]
        in_window = [at for at in ran if started <= at < started + 6]
        assert len(in_window) >= 5

        # The dispatcher stalls for 5 s while beat keeps sending; once it
        # resumes, the stale dispatches are dropped, not run in a burst.
        disp.send_signal(signal.SIGSTOP)
        try:
            time.sleep(5)
        finally:
            disp.send_signal(signal.SIGCONT)
        resumed = time.time()
        wait_for(
            lambda: any(
                at > resumed + 2 and what == "ran"
                for at, what in dispatch_events(dispatch_log)
            ),
            timeout=15,
        )
        backlog = private_redis.client()
        assert backlog.llen(queues.ALERTS) >= 100
        assert backlog.llen(queues.DEFAULT) >= 100
        assert disp.poll() is None

    after = [(at, w) for at, w in dispatch_events(dispatch_log) if at >= resumed]
    expired = [at for at, what in after if what == "expired"]
    burst = [at for at, what in after if what == "ran" and at < resumed + 2]
    assert len(expired) >= 3
    assert len(burst) <= 3


@pytest.mark.django_db
def test_every_beat_entry_keeps_its_expiry_in_the_database_scheduler() -> None:
    for name, fields in settings.CELERY_BEAT_SCHEDULE.items():
        entry = ModelEntry.from_entry(name, app=app, **fields)
        assert entry.options.get("expires"), name
    dispatch = PeriodicTask.objects.get(name="dispatch-due-monitors")
    assert dispatch.expire_seconds == 1
    assert dispatch.queue == queues.DISPATCH


def test_the_procfile_runs_the_dispatcher_alone_on_its_queue() -> None:
    root = Path(settings.BASE_DIR)
    for procfile in ("Procfile", "Procfile.dev"):
        lines = dict(
            line.split(":", 1)
            for line in (root / procfile).read_text().splitlines()
            if line.strip()
        )
        assert f"-Q {queues.DISPATCH} " in lines["dispatch"]
        assert "--concurrency 1" in lines["dispatch"]
        assert queues.DISPATCH not in lines["worker"]
        assert queues.DISPATCH not in lines["checks"]
    assert settings.CELERY_TASK_ROUTES["monitors.dispatch_due"] == {
        "queue": queues.DISPATCH
    }
