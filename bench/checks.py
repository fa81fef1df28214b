"""How many checks per second one check-worker process sustains, and how
late checks start (checked_at - scheduled_at) at that rate.

Runs against its own PostgreSQL database (uptime_bench) and Redis db 14, a
fast aiohttp target on loopback, ONE real Celery check worker process
(`celery -A uptime worker -Q checks.bench --pool threads`, as the Procfile's
`checks` process) and the dispatcher every 0.2 s (beat's job). Bounded:
each step runs STEP_SECONDS, traffic goes to 127.0.0.1 only.

    make bench            # or: .venv/bin/python bench/checks.py [rates...]
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DB_NAME = "uptime_bench"
os.environ.update(
    {
        "DJANGO_SETTINGS_MODULE": "uptime.settings",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{DB_NAME}",
        "REDIS_URL": "redis://127.0.0.1:6379/14",
        "UPTIME_REGIONS": "bench",
        "UPTIME_REGION": "bench",
        "UPTIME_ALLOW_PRIVATE_TARGETS": "true",
        "UPTIME_MIN_INTERVAL_SECONDS": "1",
        "LOG_LEVEL": "WARNING",
        "SECRET_KEY": "bench-secret-key-not-for-production",
    }
)
STEP_SECONDS = int(os.environ.get("BENCH_STEP_SECONDS", "30"))
INTERVAL = 10


def ensure_database() -> None:
    import psycopg

    with psycopg.connect(
        "postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True
    ) as c:
        exists = c.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [DB_NAME]
        ).fetchone()
        if not exists:
            c.execute(f'CREATE DATABASE "{DB_NAME}"')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


# Each check opens a new connection (as it must, to time connect and TLS), and
# a closed loopback connection holds its ephemeral port in TIME_WAIT for 60 s:
# one (client, server) address pair tops out near 470 new connections/s. Real
# targets are many addresses; spread the benchmark over several loopback ones.
TARGET_HOSTS = [f"127.0.0.{i}" for i in range(1, 9)]


def step(rate: int, port: int) -> dict[str, float]:
    # Drop what the previous step left queued, let its last batches finish.
    import redis
    from django.db import connection, transaction
    from django.utils import timezone

    from monitors.models import Monitor, Project, Region, Tick
    from monitors.scheduler import dispatch_due

    redis.Redis.from_url(os.environ["REDIS_URL"]).delete("checks.bench")
    time.sleep(6)
    with transaction.atomic():
        # Lock in id order first, as ticks_record does, so a batch still
        # being stored waits instead of deadlocking with the delete.
        list(Monitor.objects.select_for_update().order_by("pk").values_list("pk"))
        Monitor.objects.all().delete()
    region = Region.objects.get(code="bench")
    project = Project.objects.order_by("id").first()
    count = rate * INTERVAL
    now = timezone.now()
    monitors = Monitor.objects.bulk_create(
        [
            Monitor(
                project=project,
                name=f"bench {i}",
                url=f"http://{TARGET_HOSTS[i % len(TARGET_HOSTS)]}:{port}/",
                interval_seconds=INTERVAL,
                timeout_seconds=5,
                next_check_at=None,
            )
            for i in range(count)
        ]
    )
    Monitor.regions.through.objects.bulk_create(
        [
            Monitor.regions.through(monitor_id=m.pk, region_id=region.pk)
            for m in monitors
        ]
    )
    # Start on the grid (phase-spread), as a long-running install would be.
    for m in monitors:
        m.next_check_at = m.next_slot_after(now + timedelta(seconds=2))
    Monitor.objects.bulk_update(monitors, ["next_check_at"], batch_size=2000)

    stop = threading.Event()

    def dispatcher() -> None:
        while not stop.is_set():
            dispatch_due()
            stop.wait(0.2)
        connection.close()

    thread = threading.Thread(target=dispatcher, daemon=True)
    started = timezone.now()
    thread.start()
    time.sleep(STEP_SECONDS)
    stop.set()
    thread.join()
    # Slots fully inside the window: started+3 s .. end-INTERVAL (time to finish).
    window_start = started + timedelta(seconds=3)
    window_end = started + timedelta(seconds=STEP_SECONDS - 6)
    time.sleep(3)
    ticks = list(
        Tick.objects.filter(
            scheduled_at__gte=window_start, scheduled_at__lt=window_end
        ).values_list("scheduled_at", "checked_at", "status")
    )
    seconds = (window_end - window_start).total_seconds()
    expected = rate * seconds
    lateness = [(c - s).total_seconds() * 1000 for s, c, _ in ticks]
    up = sum(1 for *_, st in ticks if st == "up")
    return {
        "rate": rate,
        "expected": expected,
        "stored": len(ticks),
        "up": up,
        "checks_per_s": len(ticks) / seconds,
        "p50_ms": percentile(lateness, 0.5) if lateness else float("nan"),
        "p99_ms": percentile(lateness, 0.99) if lateness else float("nan"),
        "mean_ms": statistics.fmean(lateness) if lateness else float("nan"),
    }


def main() -> None:
    rates = [int(r) for r in sys.argv[1:]] or [100, 200, 400, 800]
    ensure_database()
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.core.management import call_command

    from monitors.models import Tick

    call_command("migrate", verbosity=0)
    Tick.objects.all().delete()
    if not User.objects.filter(username="bench").exists():
        User.objects.create_user("bench")
    import redis

    redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()

    port = free_port()
    target = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "bench/fast_target.py"),
            str(port),
            ",".join(TARGET_HOSTS),
        ]
    )
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "uptime",
            "worker",
            "-Q",
            "checks.bench",
            "--pool",
            "threads",
            "--concurrency",
            "16",
            "--without-gossip",
            "--without-mingle",
            "--loglevel",
            "WARNING",
        ],
        cwd=ROOT,
        env=dict(os.environ),
    )
    try:
        time.sleep(4)
        print(
            f"one check worker process, interval {INTERVAL} s, {STEP_SECONDS} s per step"
        )
        print("rate/s  stored/expected  up    checks/s  lateness p50 ms  p99 ms")
        for rate in rates:
            r = step(rate, port)
            print(
                f"{r['rate']:>6}  {r['stored']:>6}/{r['expected']:<8.0f} {r['up']:>6}"
                f"  {r['checks_per_s']:>8.1f}  {r['p50_ms']:>15.1f}  {r['p99_ms']:>6.1f}",
                flush=True,
            )
    finally:
        # An overloaded worker may still be draining its queue: give it a
        # moment, then stop it hard, so the benchmark always ends.
        for process in (worker, target):
            process.terminate()
        for process in (worker, target):
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


if __name__ == "__main__":
    main()
