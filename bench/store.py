"""The tick write path alone: how many ticks per second ``ticks_record``
stores (ticks, rollups, monitor state, the incident machine) in batches of
``--batch``, and how many SQL statements one batch costs.

Uses its own database (``uptime_bench``), no workers, no network.

    .venv/bin/python bench/store.py --monitors 5000 --batch 500 --seconds 15
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from run import DB_NAME, ensure_database  # noqa: E402  (after the path is set)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--monitors", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--down", type=float, default=0.02, help="share of DOWN")
    args = parser.parse_args()
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "uptime.settings",
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{DB_NAME}",
            "REDIS_URL": "redis://127.0.0.1:6379/14",
            "UPTIME_REGIONS": "bench",
            "SECRET_KEY": "bench-secret-key-not-for-production-0123456789",
            "LOG_LEVEL": "WARNING",
        }
    )
    ensure_database()
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from monitors.checks.base import CheckResult
    from monitors.models import Monitor, Region
    from monitors.services import TickResult, project_create, regions_sync, ticks_record

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE monitors_tick, monitors_incident, monitors_monitor CASCADE"
        )
    regions_sync()
    region = Region.objects.get(code="bench")
    user = User.objects.filter(username="bench-store").first() or (
        User.objects.create_user("bench-store")
    )
    project = project_create(owner=user, name="Store bench")
    monitors = Monitor.objects.bulk_create(
        [
            Monitor(
                project=project,
                name=f"store {i}",
                url=f"http://127.0.0.1:9/{i}",
                interval_seconds=30,
                status="up",
            )
            for i in range(args.monitors)
        ],
        batch_size=2000,
    )
    ids = [m.pk for m in monitors]
    down_every = round(1 / args.down) if args.down else 0
    slot = timezone.now().replace(microsecond=0) - timedelta(days=1)
    stored = batches = statements = 0
    started = time.perf_counter()
    offset = 0
    while time.perf_counter() - started < args.seconds:
        chunk = ids[offset : offset + args.batch] or ids[: args.batch]
        offset = offset + args.batch if offset + args.batch < len(ids) else 0
        if offset == 0:
            slot += timedelta(seconds=30)
        results = [
            TickResult(
                monitor_id=monitor_id,
                checked_at=slot,
                result=(
                    CheckResult(status="down", error="http_status", message="HTTP 500")
                    if down_every and (monitor_id + batches) % down_every == 0
                    else CheckResult(status="up", response_time_ms=120, status_code=200)
                ),
            )
            for monitor_id in chunk
        ]
        with CaptureQueriesContext(connection) as queries:
            stored += len(
                ticks_record(region=region, scheduled_at=slot, results=results)
            )
        statements += len(queries)
        batches += 1
    elapsed = time.perf_counter() - started
    print(f"| batch size | {args.batch} |")
    print(f"| batches | {batches} |")
    print(f"| ticks stored per second | {stored / elapsed:,.0f} |")
    print(f"| SQL statements per batch (mean) | {statements / batches:.1f} |")


if __name__ == "__main__":
    main()
