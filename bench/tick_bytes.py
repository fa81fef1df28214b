"""Bytes per stored tick (table, TOAST and indexes), and per tick of rollups.

    .venv/bin/python bench/tick_bytes.py [--monitors 100] [--slots 300]

Stores ``monitors x slots`` ticks through the real write path
(``ticks_record``, one batch per slot from one region: what a worker does)
into its own database (``uptime_bench_tick_bytes``, or BENCH_DATABASE_URL),
emptied of ticks and monitors first. Healthy HTTP
checks carry what a real one does (status message, resolved address,
timings, final URL); one in 50 is DOWN with a small evidence body.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BENCH_DB = os.environ.get(
    "BENCH_DATABASE_URL",
    "postgres://postgres@127.0.0.1:5432/uptime_bench_tick_bytes",
)
os.environ["DATABASE_URL"] = BENCH_DB
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("SECRET_KEY", "bench-secret-key-not-for-production")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "uptime.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")


def ensure_database() -> None:
    import psycopg

    name = BENCH_DB.rsplit("/", 1)[1]
    admin = BENCH_DB.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [name]
        ).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def _size(cursor, table: str) -> int:
    """pg_total_relation_size of a table, or of all its partitions."""
    cursor.execute(
        """
        SELECT coalesce(sum(pg_total_relation_size(inhrelid)), 0)
        FROM pg_inherits WHERE inhparent = %s::regclass
        """,
        [table],
    )
    partitioned = int(cursor.fetchone()[0])
    cursor.execute("SELECT pg_total_relation_size(%s::regclass)", [table])
    return partitioned + int(cursor.fetchone()[0])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--monitors", type=int, default=100)
    parser.add_argument("--slots", type=int, default=300)
    args = parser.parse_args()

    ensure_database()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from django.contrib.auth.models import User
    from django.db import connection
    from django.utils import timezone

    from monitors.checks.base import CheckResult
    from monitors.models import Monitor, Project, Region, Tick
    from monitors.services import TickResult, regions_sync, ticks_record

    with connection.cursor() as cursor:
        # TRUNCATE, not DELETE: a previous run's dead rows would count.
        cursor.execute("TRUNCATE monitors_tick")
        cursor.execute("SELECT to_regclass('monitors_tickrollup')")
        if cursor.fetchone()[0]:
            cursor.execute("TRUNCATE monitors_tickrollup")
    Monitor.objects.all().delete()
    regions_sync()
    region = Region.objects.order_by("code").first()
    assert region is not None
    user = User.objects.filter(username="bench").first() or User.objects.create_user(
        "bench", "bench@example.com", "pw-bench-123!"
    )
    project = Project.objects.get(owner=user)
    monitors = Monitor.objects.bulk_create(
        Monitor(
            project=project,
            name=f"m{i}",
            url=f"https://shop{i}.example/",
            interval_seconds=60,
            timeout_seconds=5,
        )
        for i in range(args.monitors)
    )
    for m in monitors:
        m.regions.set([region])

    def result(n: int) -> CheckResult:
        timings = {
            "dns_ms": 1.3,
            "connect_ms": 20.4,
            "tls_ms": 31.2,
            "first_byte_ms": 80.5 + n % 50,
            "total_ms": 81.0 + n % 50,
        }
        if n % 50 == 0:
            return CheckResult(
                status="down",
                error="http_status",
                status_code=503,
                message="HTTP 503 Service Unavailable",
                details={
                    "resolved_ip": "93.184.216.34",
                    "timings": timings,
                    "status_code": 503,
                    "headers": {"Server": "nginx"},
                    "body": "<h1>503</h1>",
                },
            )
        return CheckResult(
            status="up",
            status_code=200,
            response_time_ms=81 + n % 50,
            message="HTTP 200 OK",
            details={
                "resolved_ip": "93.184.216.34",
                "timings": timings,
                "final_url": f"https://shop{n % 997}.example/",
            },
        )

    start = timezone.now().replace(second=0, microsecond=0) - timedelta(
        minutes=args.slots
    )
    n = 0
    for s in range(args.slots):
        at = start + timedelta(minutes=s)
        items = []
        for m in monitors:
            items.append(TickResult(m.pk, at, result(n)))
            n += 1
        ticks_record(region=region, scheduled_at=at, results=items, now=at)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
        ticks = _size(cursor, "monitors_tick")
        cursor.execute("SELECT to_regclass('monitors_tickrollup')")
        has_rollups = cursor.fetchone()[0] is not None
        if has_rollups:
            churned = _size(cursor, "monitors_tickrollup")
            cursor.execute("VACUUM FULL monitors_tickrollup")
            live = _size(cursor, "monitors_tickrollup")
    count = Tick.objects.count()
    print(f"{count} ticks: {ticks / count:.0f} bytes per tick (with indexes)")
    if has_rollups:
        # Every batch updates its monitors' rollup rows: old row versions
        # wait for (auto)vacuum, so the table is larger than its live rows.
        print(
            f"rollups: {live / count:.1f} bytes per tick live, "
            f"{churned / count:.1f} before VACUUM FULL"
        )


if __name__ == "__main__":
    main()
