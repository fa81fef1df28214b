"""Server time of the dashboard with 1,000 monitors and 10 million ticks.

    .venv/bin/python bench/dashboard.py [--monitors 1000] [--ticks 10000000]

Seeds its own PostgreSQL database (``uptime_bench_dashboard``, or
BENCH_DATABASE_URL) once with INSERT ... SELECT generate_series (a few
minutes for 10 M ticks), then times whole requests through Django's test client: URL routing,
middleware, session and auth, the SQL, template rendering. No network and no
browser, so the figures are the server's share of a page load.

Data: every monitor is checked from 3 regions every 60 s, so 10 M ticks are
about 55 hours of history; 2 % of monitors are down now; each monitor had a
few incidents in the last 30 days (uptime comes from incidents).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BENCH_DB = os.environ.get(
    "BENCH_DATABASE_URL",
    "postgres://postgres@127.0.0.1:5432/uptime_bench_dashboard",
)
os.environ["DATABASE_URL"] = BENCH_DB
os.environ.setdefault("UPTIME_REGIONS", "eu,us,ap")
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("SECRET_KEY", "bench-secret-key-not-for-production")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "uptime.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost")

REGIONS = ("ap", "eu", "us")
INTERVAL = 60


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


def seed(monitors: int, ticks: int) -> None:
    from django.contrib.auth.models import User
    from django.db import connection, transaction
    from django.utils import timezone

    from monitors import partitions, rollups
    from monitors.models import Incident, Monitor, Region, Tick

    if User.objects.filter(username="bench").exists():  # seeded before
        have = (Monitor.objects.count(), _estimate_ticks())
        print(f"seed: reusing {have[0]} monitors, ~{have[1]:,} ticks")
        return
    # All or nothing: a failed seed leaves no "bench" user to be reused.
    transaction.set_autocommit(False)
    user = User.objects.create_user("bench", "bench@example.com", "bench-password-1")
    project = user.projects.get()
    slots = max(ticks // (monitors * len(REGIONS)), 1)
    print(f"seed: {monitors} monitors x {len(REGIONS)} regions x {slots} slots")
    started = time.monotonic()
    m, t = Monitor._meta.db_table, Tick._meta.db_table
    mr = Monitor.regions.through._meta.db_table
    now = timezone.now()
    with transaction.atomic():
        # The ORM for the small tables (so new model fields get their
        # defaults), generate_series for the 10 M ticks.
        monitor_rows = Monitor.objects.bulk_create(
            Monitor(
                project=project,
                name=f"Site {n}",
                url=f"https://site-{n}.example/health",
                interval_seconds=INTERVAL,
                timeout_seconds=10,
                status="down" if n % 50 == 0 else "up",
                next_check_at=now + timedelta(days=1),
                last_checked_at=now,
                last_response_time_ms=50 + n % 400,
            )
            for n in range(1, monitors + 1)
        )
        Monitor.objects.filter(project=project).update(
            created_at=now - timedelta(days=30)
        )
        regions = list(Region.objects.filter(code__in=REGIONS))
        through = Monitor.regions.through
        through.objects.bulk_create(
            through(monitor_id=mon.pk, region_id=reg.pk)
            for mon in monitor_rows
            for reg in regions
        )
        incidents = []
        for mon in monitor_rows:
            for k in range(1, 5):
                start = now - timedelta(hours=24 + k * 131 + mon.pk % 97)
                incidents.append(
                    Incident(
                        monitor=mon,
                        status="resolved",
                        started_at=start,
                        resolved_at=start + timedelta(minutes=3 + k),
                        cause="timeout: no answer in 10 s",
                    )
                )
            if mon.status == "down":
                incidents.append(
                    Incident(
                        monitor=mon,
                        status="open",
                        started_at=now - timedelta(minutes=5),
                        cause="http_status: HTTP 503",
                    )
                )
        Incident.objects.bulk_create(incidents)
        with connection.cursor() as c:
            c.execute("SET LOCAL synchronous_commit = off")
            # Day partitions for the seeded days (as the beat task would
            # have made them), so DEFAULT stays empty.
            have = partitions.day_partitions(c)
            first = (now - timedelta(minutes=slots * INTERVAL // 60 + 1)).date()
            day = first
            while day <= now.date():
                if day not in have:
                    partitions.create_day(c, day)
                day += timedelta(days=1)
            # Slot s of each (monitor, region); every 97th check is down, and
            # the last 5 slots of the monitors that are down now.
            c.execute(
                f"""
                INSERT INTO {t} (monitor_id, region_id, scheduled_at, checked_at,
                    status, response_time_ms, status_code, error, message)
                SELECT mr.monitor_id, mr.region_id, slot, slot,
                       CASE WHEN bad THEN 'down' ELSE 'up' END,
                       CASE WHEN bad THEN NULL
                            ELSE 20 + ((mr.monitor_id * 7 + s * 13) %% 400) END,
                       CASE WHEN bad THEN 503 ELSE 200 END,
                       CASE WHEN bad THEN 'http_status' ELSE '' END,
                       CASE WHEN bad THEN 'HTTP 503' ELSE '' END
                FROM {mr} mr
                JOIN {m} m ON m.id = mr.monitor_id
                CROSS JOIN LATERAL (
                    SELECT s, date_trunc('minute', %s::timestamptz)
                              - make_interval(secs => s * {INTERVAL}) AS slot,
                           ((mr.monitor_id + s) %% 97 = 0
                            OR (m.status = 'down' AND s < 5)) AS bad
                    FROM generate_series(0, %s - 1) AS s
                ) g
                WHERE m.project_id = %s
                """,
                [now, slots, project.pk],
            )
        # The charts past the last hour read the rollups.
        rollups.rollups_rebuild()
    transaction.commit()
    transaction.set_autocommit(True)
    with connection.cursor() as c:
        for table in (t, m, "monitors_incident", "monitors_tickrollup"):
            c.execute(f"ANALYZE {table}")
    print(f"seed: done in {time.monotonic() - started:.0f} s")


def _estimate_ticks() -> int:
    from django.db import connection

    with connection.cursor() as c:
        # The table is partitioned: its partitions hold the estimates.
        c.execute(
            """
            SELECT coalesce(sum(greatest(c.reltuples, 0)), 0)::bigint
            FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = 'monitors_tick'::regclass
            """
        )
        return int(c.fetchone()[0])


def timed(client, url: str, runs: int) -> tuple[float, float, int, int]:
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    for _ in range(2):  # warm caches and connections
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
    samples = []
    for _ in range(runs):
        begin = time.perf_counter()
        response = client.get(url)
        samples.append((time.perf_counter() - begin) * 1000)
    reset_queries()
    with CaptureQueriesContext(connection) as ctx:
        client.get(url)
    return (
        statistics.median(samples),
        max(samples),
        len(ctx.captured_queries),
        len(response.content),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--monitors", type=int, default=1000)
    parser.add_argument("--ticks", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()

    ensure_database()
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.test import Client
    from django.urls import reverse

    from monitors.dashboard import views
    from monitors.models import Monitor

    call_command("migrate", verbosity=0)
    seed(args.monitors, args.ticks)

    user = User.objects.get(username="bench")
    project = user.projects.get()
    project.status_page_enabled = True
    project.save(update_fields=["status_page_enabled"])
    client = Client()
    client.force_login(user)
    monitor = Monitor.objects.filter(project=project, status="down").first()
    n = Monitor.objects.filter(project=project).count()
    print(f"data: {n} monitors, ~{_estimate_ticks():,} ticks")
    print(
        f"server-side, median of {args.runs} after 2 warm-up requests; "
        f"overview default page size {views.OVERVIEW_PAGE_SIZE}"
    )
    pages = [
        ("overview (100 per page)", reverse("dashboard:overview")),
        (
            "overview, all 1000 on one page",
            reverse("dashboard:overview") + "?per_page=1000",
        ),
        (
            "overview, rows only (auto-refresh)",
            reverse("dashboard:overview") + "?partial=1",
        ),
        ("overview, search", reverse("dashboard:overview") + "?q=Site+12"),
        ("monitor page, 24 h chart", monitor.get_absolute_url()),
        ("monitor page, 1 h chart", monitor.get_absolute_url() + "?range=1h"),
        ("monitor page, 7 d chart", monitor.get_absolute_url() + "?range=7d"),
        ("monitor page, 30 d chart", monitor.get_absolute_url() + "?range=30d"),
        ("incidents", reverse("dashboard:incidents")),
        (
            "status page (all monitors)",
            reverse("dashboard:status_page", args=[project.slug]),
        ),
        ("uptime badge", reverse("dashboard:badge_uptime", args=[monitor.badge_key])),
    ]
    print(f"{'page':40} {'median':>9} {'max':>9} {'queries':>8} {'bytes':>9}")
    for label, url in pages:
        median, worst, queries, size = timed(client, url, args.runs)
        print(f"{label:40} {median:7.1f}ms {worst:7.1f}ms {queries:8d} {size:9,d}")


if __name__ == "__main__":
    main()
