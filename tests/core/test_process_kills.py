"""``kill -9`` of any process of the pipeline: once it is started again,
slots keep being checked and stored, none twice."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from contextlib import AbstractContextManager, ExitStack
from datetime import datetime
from pathlib import Path

import pytest
from django.utils import timezone

from monitors.models import Monitor, Region, Tick
from tests.e2e_support import (
    celery_beat,
    celery_dispatcher,
    celery_worker,
    purge_broker,
    wait_for,
)
from tests.targets import Target, respond
from uptime import queues

Starter = Callable[[], AbstractContextManager[subprocess.Popen[bytes]]]


def all_checked_since(moment: datetime, count: int) -> bool:
    return (
        Tick.objects.filter(checked_at__gt=moment).values("monitor").distinct().count()
        == count
    )


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_checking_resumes_after_kill_9_of_each_process_and_its_restart(
    allow_private, make_monitor, regions: list[Region], tmp_path: Path
) -> None:
    target = Target()
    target.default = respond(200)
    region = regions[0]
    for n in range(5):
        monitor = make_monitor(
            name=f"m{n}",
            url=target.url(f"/{n}"),
            interval_seconds=2,
            timeout_seconds=1,
            regions=[region],
        )
        Monitor.objects.filter(pk=monitor.pk).update(next_check_at=monitor.created_at)
    purge_broker()
    starters: dict[str, Starter] = {
        "checks": lambda: celery_worker(
            [queues.checks_queue(region.code)], log_path=tmp_path / "checks.log"
        ),
        "dispatch": lambda: celery_dispatcher(log_path=tmp_path / "dispatch.log"),
        "beat": lambda: celery_beat(log_path=tmp_path / "beat.log"),
    }
    try:
        with ExitStack() as stack:
            procs = {
                name: stack.enter_context(start()) for name, start in starters.items()
            }
            wait_for(lambda: Tick.objects.values("monitor").distinct().count() == 5)
            for name, start in starters.items():
                procs[name].kill()  # SIGKILL: no shutdown code runs
                procs[name].wait(10)
                procs[name] = stack.enter_context(start())
                back = timezone.now()
                # Every monitor is checked again within 10 s of the restart.
                wait_for(lambda: all_checked_since(back, 5), timeout=10)  # noqa: B023
                assert all(p.poll() is None for p in procs.values())
    finally:
        target.close()

    slots = list(Tick.objects.values_list("monitor_id", "region_id", "scheduled_at"))
    assert len(slots) == len(set(slots))
