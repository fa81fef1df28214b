"""Real Celery worker and beat processes for end-to-end tests.

Tests using these need ``transactional_db`` (or ``live_server``): the
worker processes are separate connections and must see committed rows.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis
from django.conf import settings
from django.db import close_old_connections, connection

from monitors.scheduler import dispatch_due
from tests.targets import free_port
from uptime import queues

ROOT = Path(__file__).resolve().parent.parent


def worker_env(**extra: str) -> dict[str, str]:
    db = connection.settings_dict
    url = (
        f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{db['NAME']}"
    )
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "uptime.test_settings",
            "DATABASE_URL": url,
            "REDIS_URL": settings.REDIS_URL,
            "UPTIME_REGIONS": ",".join(settings.UPTIME_REGIONS),
            "UPTIME_ALLOW_PRIVATE_TARGETS": "true"
            if settings.UPTIME_ALLOW_PRIVATE_TARGETS
            else "false",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env


def purge_broker() -> None:
    """Drop queued tasks a previous test left in the test Redis database."""
    redis.Redis.from_url(settings.REDIS_URL).flushdb()


# Set by an autouse fixture in tests/conftest.py: whether the running test is
# marked e2e. Starting processes from any other test is refused, so that
# `make test-fast` (-m "not e2e and not browser") never waits on one.
running_e2e_test = False


def _require_e2e_marker(what: str) -> None:
    if not running_e2e_test:
        raise RuntimeError(
            f"{what} starts a process: mark the test with pytest.mark.e2e"
        )


@contextmanager
def _celery_process(
    args: list[str],
    *,
    ready: bytes,
    what: str,
    log_path: Path | None,
    env: dict[str, str],
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``celery -A uptime <args>``; yield once ``ready`` is in its log."""
    _require_e2e_marker(what)
    log = open(log_path or os.devnull, "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "uptime", *args],
        cwd=ROOT,
        env=worker_env(**env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    started = threading.Event()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            log.write(line)
            log.flush()
            if ready in line:
                started.set()

    threading.Thread(target=pump, daemon=True).start()
    try:
        if not started.wait(30):
            raise RuntimeError(f"{what} did not start")
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        log.close()


@contextmanager
def celery_worker(
    queues: list[str],
    *,
    pool: str = "threads",
    concurrency: int = 8,
    log_path: Path | None = None,
    **env: str,
) -> Iterator[subprocess.Popen[bytes]]:
    """Start ``celery -A uptime worker -Q <queues>``; wait until it is ready."""
    name = f"test-{'-'.join(q.replace('.', '_') for q in queues)}-{os.getpid()}@%h"
    with _celery_process(
        [
            "worker",
            "-Q",
            ",".join(queues),
            "--pool",
            pool,
            "--concurrency",
            str(concurrency),
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-n",
            name,
            "--loglevel",
            "INFO",
        ],
        ready=b"ready.",
        what=f"celery worker for {queues}",
        log_path=log_path,
        env=env,
    ) as proc:
        yield proc


@contextmanager
def celery_beat(
    *, log_path: Path | None = None, **env: str
) -> Iterator[subprocess.Popen[bytes]]:
    """Start ``celery -A uptime beat`` as the Procfile does: the settings'
    django_celery_beat database scheduler, its schedule stored in the test
    database. Its tasks go to the ``dispatch``, ``default`` and ``alerts``
    queues, so a test also runs a worker for the ones it needs (for the
    dispatcher, ``celery_dispatcher``)."""
    with _celery_process(
        ["beat", "--loglevel", "INFO"],
        # Logged as the service starts, right before it loads the schedule.
        ready=b"beat: Starting...",
        what="celery beat",
        log_path=log_path,
        env=env,
    ) as proc:
        yield proc


@contextmanager
def celery_dispatcher(
    *, log_path: Path | None = None, **env: str
) -> Iterator[subprocess.Popen[bytes]]:
    """Start the Procfile's ``dispatch`` process: one solo worker on the
    ``dispatch`` queue, which runs what beat sends every second."""
    with _celery_process(
        [
            "worker",
            "-Q",
            queues.DISPATCH,
            "--pool",
            "solo",
            "--concurrency",
            "1",
            "--prefetch-multiplier",
            "1",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-n",
            f"test-dispatch-{os.getpid()}@%h",
            "--loglevel",
            "INFO",
        ],
        ready=b"ready.",
        what="celery dispatch worker",
        log_path=log_path,
        env=env,
    ) as proc:
        yield proc


class PrivateRedis:
    """A ``redis-server`` of the test's own on a free loopback port, which the
    test may stop and start again (never the machine's shared Redis). It
    keeps nothing on disk, so a restart loses every queue, as a crash of a
    Redis without persistence does."""

    def __init__(self, log_path: Path | None = None) -> None:
        _require_e2e_marker("a private redis-server")
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed")
        self.binary = binary
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.log = open(log_path or os.devnull, "ab")
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, socket_timeout=2)

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        wait_for(self._answers, timeout=10, every=0.05)

    def _answers(self) -> bool:
        try:
            return bool(self.client().ping())
        except redis.ConnectionError:
            return False

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None

    def close(self) -> None:
        self.stop()
        self.log.close()


@contextmanager
def dispatcher_loop(every: float = 0.2) -> Iterator[None]:
    """Run the dispatcher in a thread, as beat would (but more often)."""
    stop = threading.Event()

    def loop() -> None:
        try:
            while not stop.is_set():
                dispatch_due()
                stop.wait(every)
        finally:
            close_old_connections()
            connection.close()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(10)


def wait_for(predicate, timeout: float = 30.0, every: float = 0.1):
    """Poll until ``predicate()`` is truthy; return its value or fail."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"condition not met within {timeout} s")
