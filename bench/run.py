"""The whole box as a user runs it: N monitors, every Procfile process.

Starts a loopback target (several 127.x addresses, answers after 50-300 ms,
optionally a share of targets that hang until the check's timeout), the
Procfile's processes (web, beat, dispatch, worker and K checks processes) on
their own database (``uptime_bench``) and Redis database (14), creates the
monitors on their slot grid, lets them warm up, measures a window, and
prints one table:

    monitors, interval, checks/s, stored %, false DOWN, missed, lag
    p50/p99/max (from each check's own phase in its slot), CPU ms per check
    for each process and for PostgreSQL's backends of this database, RSS,
    and the overview and monitor page times of a signed-in user.

Bounded in time (warm-up + window + settle), loopback only; it stops every
process it started, however it ends.

    make bench                      # 1,000 monitors at 30 s, 120 s window
    .venv/bin/python bench/run.py --monitors 10000 --interval 30 \\
        --window 300 --checks-processes 2 --hang 0.2
"""

from __future__ import annotations

import argparse
import http.cookiejar
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DB_NAME = "uptime_bench"
REDIS_DB = 14
REGION = "bench"
TARGET_HOSTS = [f"127.0.0.{i}" for i in range(1, 9)]
PASSWORD = "bench-password-1234"
LOG_DIR = Path(
    os.environ.get("BENCH_LOG_DIR") or Path(tempfile.gettempdir()) / "uptime-bench"
)
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def bench_env(web_port: int) -> dict[str, str]:
    venv_bin = str(Path(sys.executable).parent)
    env = dict(os.environ)
    env.update(
        {
            "PATH": f"{venv_bin}:{env.get('PATH', '')}",
            "DJANGO_SETTINGS_MODULE": "uptime.settings",
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{DB_NAME}",
            "REDIS_URL": f"redis://127.0.0.1:6379/{REDIS_DB}",
            "UPTIME_REGIONS": REGION,
            "UPTIME_REGION": REGION,
            "UPTIME_ALLOW_PRIVATE_TARGETS": "true",
            "UPTIME_QUOTA_MONITORS": "1000000",
            "UPTIME_QUOTA_CHECKS_PER_MINUTE": "10000000",
            "UPTIME_MAX_CHECKS_PER_HOST": "1000",
            "SECRET_KEY": "bench-secret-key-not-for-production-0123456789",
            "DEBUG": "false",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "LOG_LEVEL": "WARNING",
            "PORT": str(web_port),
        }
    )
    return env


def procfile() -> dict[str, str]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return dict(line.split(":", 1) for line in lines if line.strip() and ":" in line)


# -- process accounting (/proc) ---------------------------------------------


def _stat(pid: int) -> tuple[int, float, int] | None:
    """(parent pid, CPU seconds, RSS pages) of one process."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2 :].split()
    cpu = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return int(fields[1]), cpu, int(fields[21])


def _all_pids() -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def process_tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for pid in _all_pids():
        stat = _stat(pid)
        if stat:
            children.setdefault(stat[0], []).append(pid)
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def postgres_backends() -> list[int]:
    """PostgreSQL's backends serving the benchmark database (its process
    title names the database)."""
    found = []
    for pid in _all_pids():
        try:
            title = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if title.startswith(b"postgres:") and f" {DB_NAME} ".encode() in title:
            found.append(pid)
    return found


def server_processes() -> dict[str, list[int]]:
    """Every PostgreSQL and Redis server process on the box (the whole
    cluster: background writers, WAL and other databases' backends too, so
    measure on a quiet box)."""
    found: dict[str, list[int]] = {"PostgreSQL (all)": [], "Redis (all)": []}
    for pid in _all_pids():
        try:
            title = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if title.startswith(b"postgres:") or b"/bin/postgres\0" in title:
            found["PostgreSQL (all)"].append(pid)
        elif title.startswith(b"redis-server"):
            found["Redis (all)"].append(pid)
    return found


def cpu_by_pid(pids: list[int]) -> dict[int, float]:
    out = {}
    for pid in pids:
        stat = _stat(pid)
        if stat:
            out[pid] = stat[1]
    return out


def cpu_delta(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU spent between two snapshots; a process born in between counts
    whole, one that died in between is lost (short-lived backends)."""
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


def rss_mb(pids: list[int]) -> float:
    page = os.sysconf("SC_PAGE_SIZE")
    return sum((_stat(p) or (0, 0.0, 0))[2] for p in pids) * page / 2**20


# -- setup ------------------------------------------------------------------


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


@dataclass
class Setup:
    monitor_ids: list[int]
    hanging: set[int]
    sample_monitor: int


def create_monitors(args: argparse.Namespace, target_port: int) -> Setup:
    from django.contrib.auth.models import User
    from django.db import connection
    from django.utils import timezone

    from monitors.models import Monitor, Project, Region
    from monitors.services import regions_sync

    with connection.cursor() as cursor:  # a clean slate, fast
        cursor.execute(
            "TRUNCATE monitors_tick, monitors_incident, monitors_monitor CASCADE"
        )
    regions_sync()
    region = Region.objects.get(code=REGION)
    user = User.objects.filter(username="bench").first()
    if user is None:
        user = User.objects.create_user("bench", password=PASSWORD)
    project = Project.objects.filter(members=user).order_by("id").first()
    if project is None:
        from monitors.services import project_create

        project = project_create(owner=user, name="Bench")
    hang_every = round(1 / args.hang) if args.hang else 0
    now = timezone.now()
    monitors = []
    for i in range(args.monitors):
        host = TARGET_HOSTS[i % len(TARGET_HOSTS)]
        hangs = bool(hang_every) and i % hang_every == 0
        path = f"/hang/{i}" if hangs else f"/ok/{i}"
        monitors.append(
            Monitor(
                project=project,
                name=f"bench {i}",
                url=f"http://{host}:{target_port}{path}",
                interval_seconds=args.interval,
                timeout_seconds=args.timeout,
                status="up",
            )
        )
    monitors = Monitor.objects.bulk_create(monitors, batch_size=2000)
    Monitor.regions.through.objects.bulk_create(
        [
            Monitor.regions.through(monitor_id=m.pk, region_id=region.pk)
            for m in monitors
        ],
        batch_size=5000,
    )
    # On the grid from the start, as a long-running install would be.
    for m in monitors:
        m.next_check_at = m.next_slot_after(now + timedelta(seconds=3))
    from uptime.bulk import update_from_values

    for start in range(0, len(monitors), 2000):
        update_from_values(monitors[start : start + 2000], ["next_check_at"])
    hanging = {m.pk for m in monitors if "/hang/" in m.url}
    sample = next(m.pk for m in monitors if m.pk not in hanging)
    return Setup([m.pk for m in monitors], hanging, sample)


# -- pages ------------------------------------------------------------------


def page_times(web_port: int, monitor_id: int, rounds: int = 5) -> dict[str, float]:
    """Median server round trip (ms) of the overview and a monitor page for
    a signed-in user, through gunicorn as a browser would."""
    base = f"http://127.0.0.1:{web_port}"
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.open(f"{base}/accounts/login/", timeout=30).read()
    token = next(c.value for c in jar if c.name == "csrftoken")
    form = urllib.parse.urlencode(
        {"username": "bench", "password": PASSWORD, "csrfmiddlewaretoken": token}
    ).encode()
    request = urllib.request.Request(  # noqa: S310  (our own loopback http URL)
        f"{base}/accounts/login/", data=form, headers={"Referer": base + "/"}
    )
    started = time.perf_counter()
    opener.open(request, timeout=60).read()  # follows the redirect to /
    login_ms = (time.perf_counter() - started) * 1000
    times: dict[str, float] = {"login to overview": login_ms}
    for name, path in (("overview", "/"), ("monitor page", f"/monitors/{monitor_id}/")):
        samples = []
        for _ in range(rounds):
            started = time.perf_counter()
            body = opener.open(base + path, timeout=60).read()
            samples.append((time.perf_counter() - started) * 1000)
        if b"bench" not in body:
            raise RuntimeError(f"{path} did not show the bench monitors")
        times[name] = statistics.median(samples)
    return times


# -- the run ----------------------------------------------------------------


def start_processes(
    args: argparse.Namespace, env: dict[str, str]
) -> dict[str, subprocess.Popen]:
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    commands = procfile()
    wanted = ["web", "beat", "dispatch", "worker"] + ["checks"] * args.checks_processes
    processes = {}
    for index, name in enumerate(wanted):
        command = commands[name].strip()
        label = name
        if name == "checks":
            label = f"checks{index - 3}"
            command = re.sub(r"-n \S+", f"-n {label}.{REGION}@%h", command)
        log = (LOG_DIR / f"{label}.log").open("w")
        processes[label] = subprocess.Popen(
            ["bash", "-c", f"exec {command}"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return processes


def stop(processes: dict[str, subprocess.Popen]) -> None:
    for process in processes.values():
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    for process in processes.values():
        try:
            process.wait(max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def expected_slots(setup: Setup, window: tuple, interval: int) -> int:
    """Slots of every monitor's grid inside the window."""
    from monitors.models import Monitor

    total = 0
    start, end = window
    for monitor in Monitor.objects.filter(pk__in=setup.monitor_ids).only(
        "id", "interval_seconds"
    ):
        slot = monitor.next_slot_after(start - timedelta(microseconds=1))
        while slot < end:
            total += 1
            slot += timedelta(seconds=interval)
    return total


def tick_figures(setup: Setup, window: tuple) -> dict[str, float]:
    from monitors.models import Tick
    from monitors.runner import check_phase

    rows = list(
        Tick.objects.filter(
            scheduled_at__gte=window[0], scheduled_at__lt=window[1]
        ).values_list("monitor_id", "scheduled_at", "checked_at", "status", "error")
    )
    lag, false_down, missed, hang_down, slots = [], 0, 0, 0, set()
    for monitor_id, scheduled, checked, status, _error in rows:
        slots.add((monitor_id, scheduled))
        if status == "missed":
            missed += 1
            continue
        if monitor_id in setup.hanging:
            hang_down += status == "down"
            continue
        false_down += status == "down"
        phase = check_phase(monitor_id)
        lag.append(((checked - scheduled).total_seconds() - phase) * 1000)
    return {
        "ticks": len(rows),
        "duplicates": len(rows) - len(slots),
        "false_down": false_down,
        "missed": missed,
        "hang_down": hang_down,
        "lag_p50": percentile(lag, 0.5) if lag else float("nan"),
        "lag_p99": percentile(lag, 0.99) if lag else float("nan"),
        "lag_max": max(lag) if lag else float("nan"),
    }


def run(args: argparse.Namespace) -> None:
    ensure_database()
    web_port, target_port = free_port(), free_port()
    env = bench_env(web_port)
    os.environ.update({k: v for k, v in env.items() if k != "PATH"})
    import django

    django.setup()
    import redis
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    call_command("migrate", verbosity=0)
    redis.Redis.from_url(env["REDIS_URL"]).flushdb()  # its own database only
    target = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "bench/target.py"),
            str(target_port),
            ",".join(TARGET_HOSTS),
            str(args.min_ms),
            str(args.max_ms),
        ]
    )
    processes: dict[str, subprocess.Popen] = {}
    try:
        setup = create_monitors(args, target_port)
        connection.close()
        processes = start_processes(args, env)
        print(
            f"{args.monitors} monitors at {args.interval} s "
            f"({args.monitors / args.interval:.0f} checks/s), "
            f"{args.checks_processes} checks process(es), "
            f"{args.hang:.0%} hanging; warm-up {args.warmup} s, "
            f"window {args.window} s; logs in {LOG_DIR}",
            flush=True,
        )
        time.sleep(args.warmup)
        for name, process in processes.items():
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited; see {LOG_DIR / name}.log")
        trees = {name: process_tree(p.pid) for name, p in processes.items()}
        before = {name: cpu_by_pid(pids) for name, pids in trees.items()}
        pg_before = cpu_by_pid(postgres_backends())
        servers_before = {n: cpu_by_pid(p) for n, p in server_processes().items()}
        window_start = timezone.now()
        time.sleep(args.window)
        window_end = timezone.now()
        trees = {name: process_tree(p.pid) for name, p in processes.items()}
        after = {name: cpu_by_pid(pids) for name, pids in trees.items()}
        pg_after = cpu_by_pid(postgres_backends())
        servers = {
            name: cpu_delta(servers_before.get(name, {}), cpu_by_pid(pids))
            for name, pids in server_processes().items()
        }
        rss = {name: rss_mb(pids) for name, pids in trees.items()}
        # Pages under the same load, after the CPU window (not charged to checks).
        pages = page_times(web_port, setup.sample_monitor)
        # Let the window's last slots finish (a hanging check takes its timeout).
        time.sleep(args.timeout + 4)
        window = (window_start, window_end)
        figures = tick_figures(setup, window)
        expected = expected_slots(setup, window, args.interval)
    finally:
        stop(processes)
        target.terminate()  # its hanging requests may hold a graceful stop
        try:
            target.wait(10)
        except subprocess.TimeoutExpired:
            target.kill()
            target.wait()
    report(
        args,
        figures,
        expected,
        window,
        before,
        after,
        pg_before,
        pg_after,
        servers,
        rss,
        pages,
    )


def report(
    args,
    figures,
    expected,
    window,
    before,
    after,
    pg_before,
    pg_after,
    servers,
    rss,
    pages,
) -> None:
    seconds = (window[1] - window[0]).total_seconds()
    checks = max(figures["ticks"], 1)
    cpu = {name: cpu_delta(before[name], after[name]) for name in before}
    pg = cpu_delta(pg_before, pg_after)
    project_ms = sum(cpu.values()) * 1000 / checks
    print()
    print("| figure | value |")
    print("| --- | --- |")
    rows = [
        ("monitors", f"{args.monitors:,}"),
        ("interval", f"{args.interval} s"),
        ("checks processes", str(args.checks_processes)),
        ("hanging targets", f"{args.hang:.0%}"),
        ("checks/s stored", f"{figures['ticks'] / seconds:.1f}"),
        (
            "stored",
            f"{figures['ticks']:,} of {expected:,} slots "
            f"({figures['ticks'] / max(expected, 1):.2%})",
        ),
        ("duplicates", str(figures["duplicates"])),
        ("false DOWN", str(figures["false_down"])),
        ("missed", str(figures["missed"])),
        ("hanging targets DOWN", str(figures["hang_down"])),
        (
            "lag p50 / p99 / max",
            f"{figures['lag_p50']:.0f} / "
            f"{figures['lag_p99']:.0f} / {figures['lag_max']:.0f} ms",
        ),
    ]
    for name in sorted(cpu):
        rows.append((f"CPU ms/check {name}", f"{cpu[name] * 1000 / checks:.2f}"))
    rows.append(("CPU ms/check project processes", f"{project_ms:.2f}"))
    rows.append(
        (
            f"CPU ms/check PostgreSQL ({len(pg_after)} backends)",
            f"{pg * 1000 / checks:.2f}",
        )
    )
    rows.append(
        ("CPU ms/check project + PostgreSQL", f"{project_ms + pg * 1000 / checks:.2f}")
    )
    for name, seconds_used in sorted(servers.items()):
        rows.append((f"CPU ms/check {name}", f"{seconds_used * 1000 / checks:.2f}"))
    whole = project_ms + sum(servers.values()) * 1000 / checks
    rows.append(("CPU ms/check whole box (target excluded)", f"{whole:.2f}"))
    rows.append(("RSS", ", ".join(f"{n} {v:.0f} MB" for n, v in sorted(rss.items()))))
    for name, ms in pages.items():
        rows.append((f"{name} (signed in)", f"{ms:.0f} ms"))
    for name, value in rows:
        print(f"| {name} | {value} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--monitors", type=int, default=1000)
    parser.add_argument("--interval", type=int, default=30)
    parser.add_argument("--window", type=int, default=120, help="seconds measured")
    parser.add_argument("--warmup", type=int, default=40, help="seconds before")
    parser.add_argument("--checks-processes", type=int, default=1)
    parser.add_argument(
        "--hang",
        type=float,
        default=0.0,
        help="share of targets that never answer (0-1)",
    )
    parser.add_argument("--timeout", type=int, default=5, help="check timeout, s")
    parser.add_argument("--min-ms", type=int, default=50)
    parser.add_argument("--max-ms", type=int, default=300)
    args = parser.parse_args()
    if not shutil.which("bash"):
        raise SystemExit("bench/run.py needs bash to start the Procfile commands")
    run(args)


if __name__ == "__main__":
    main()
