"""A check worker keeps checking through a database outage and stores what
it checked once the database is back.

The outage is real for the worker process only: its DATABASE_URL points at a
loopback proxy to PostgreSQL that the test cuts and restores (never the
shared cluster). The dispatcher runs in the test, straight to the database.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from monitors.models import Monitor, Region, Tick, TickStatus
from tests.e2e_support import celery_worker, dispatcher_loop, purge_broker, wait_for
from tests.faults import PgProxy
from tests.targets import Target, respond
from uptime import queues


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_a_check_worker_checks_through_a_database_outage_and_stores_afterwards(
    allow_private, make_monitor, regions: list[Region], tmp_path: Path
) -> None:
    target = Target()
    target.default = respond(200)
    region = regions[0]
    monitors = [
        make_monitor(
            name=f"m{n}",
            url=target.url(f"/{n}"),
            interval_seconds=2,
            timeout_seconds=1,
            regions=[region],
        )
        for n in range(3)
    ]
    for monitor in monitors:
        Monitor.objects.filter(pk=monitor.pk).update(next_check_at=monitor.created_at)
    db = connection.settings_dict
    proxy = PgProxy((db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432)))
    through_proxy = (
        f"postgres://{db['USER'] or 'postgres'}@127.0.0.1:{proxy.port}/{db['NAME']}"
    )
    log_path = tmp_path / "checks.log"
    purge_broker()
    try:
        with (
            celery_worker(
                [queues.checks_queue(region.code)],
                concurrency=16,
                log_path=log_path,
                DATABASE_URL=through_proxy,
            ) as worker,
            dispatcher_loop(),
        ):
            # Every monitor checked (not just recorded missed, which a batch
            # that expired in the queue gives without loading the monitor)
            # and stored once: the worker knows their settings.
            wait_for(
                lambda: (
                    Tick.objects.filter(status=TickStatus.UP)
                    .values("monitor")
                    .distinct()
                    .count()
                    == 3
                ),
                timeout=20,
            )
            proxy.sever()
            cut = timezone.now()
            time.sleep(8)  # the outage
            proxy.restore()
            back = timezone.now()

            def checked_during_outage() -> bool:
                during = Tick.objects.filter(checked_at__gte=cut, checked_at__lt=back)
                return all(during.filter(monitor=m).count() >= 3 for m in monitors)

            # What was checked while the database was away is stored after.
            wait_for(checked_during_outage, timeout=30)
            # And checking goes on as before.
            wait_for(
                lambda: (
                    Tick.objects.filter(checked_at__gt=back)
                    .values("monitor")
                    .distinct()
                    .count()
                    == 3
                ),
                timeout=15,
            )
            assert worker.poll() is None
    finally:
        proxy.close()
        target.close()

    assert "database unavailable" in log_path.read_text()
    slots = list(Tick.objects.values_list("monitor_id", "region_id", "scheduled_at"))
    assert len(slots) == len(set(slots))
