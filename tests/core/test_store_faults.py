"""The runner never drops a batch's results on a storage fault.

The database outage is real: the test's connection goes through a loopback
proxy to PostgreSQL that the test cuts while the batch is running.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from monitors import runner, services
from monitors.models import Region, Tick
from tests.targets import Target, respond


class PgProxy:
    """Forwards loopback connections to PostgreSQL until cut; while cut, it
    closes every open connection and refuses new ones."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.cut = threading.Event()
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.cut.is_set():
                client.close()
                continue
            server = socket.create_connection(self.upstream)
            with self.lock:
                self.sockets += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                s.close()

    def sever(self) -> None:
        self.cut.set()
        with self.lock:
            for s in self.sockets:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            self.sockets.clear()

    def restore(self) -> None:
        self.cut.clear()

    def close(self) -> None:
        self.sever()
        self.listener.close()


@pytest.fixture
def proxied_database() -> Iterator[PgProxy]:
    """This thread's connection to the test database goes through a proxy."""
    settings_dict = connection.settings_dict
    original = (settings_dict["HOST"], settings_dict["PORT"])
    proxy = PgProxy((original[0] or "127.0.0.1", int(original[1] or 5432)))
    connection.close()
    settings_dict["HOST"], settings_dict["PORT"] = "127.0.0.1", proxy.port
    yield proxy
    connection.close()
    settings_dict["HOST"], settings_dict["PORT"] = original
    proxy.close()


@pytest.mark.django_db(transaction=True)
def test_results_wait_out_a_database_outage_and_are_stored(
    allow_private: None,
    make_monitor,
    regions: list[Region],
    target: Target,
    proxied_database: PgProxy,
) -> None:
    def cut_then_answer(h: BaseHTTPRequestHandler) -> None:
        # The database goes away while the check is in flight and comes
        # back after a few flushes have failed.
        proxied_database.sever()
        threading.Timer(1.5, proxied_database.restore).start()
        h.send_response(200)
        h.send_header("Content-Length", "2")
        h.end_headers()
        h.wfile.write(b"ok")

    target.routes["/"] = cut_then_answer
    monitor = make_monitor(url=target.url("/"), regions=regions[:1])
    at = timezone.now().replace(microsecond=0) - timedelta(seconds=1)
    stored = runner.run_checks(
        region_code=regions[0].code, scheduled_at=at, monitor_ids=[monitor.pk]
    )
    assert stored == 1
    tick = Tick.objects.get(monitor=monitor, scheduled_at=at)
    assert tick.status == "up"


def test_a_result_that_breaks_recording_costs_only_its_own_tick(
    allow_private: None,
    make_monitor,
    regions: list[Region],
    target: Target,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    target.routes["/"] = respond(200)
    good = make_monitor(name="good", url=target.url("/"), regions=regions[:1])
    bad = make_monitor(name="bad", url=target.url("/"), regions=regions[:1])
    real = services.incidents_evaluate

    def buggy(*, monitors: Any, now: Any) -> set[int]:
        # A bug that only one monitor's data triggers, after its tick row
        # was inserted: the whole recording transaction fails.
        if any(m.pk == bad.pk for m in monitors):
            raise RuntimeError("a bug")
        return real(monitors=monitors, now=now)

    monkeypatch.setattr(services, "incidents_evaluate", buggy)
    at = timezone.now().replace(microsecond=0) - timedelta(seconds=1)
    runner.run_checks(
        region_code=regions[0].code, scheduled_at=at, monitor_ids=[good.pk, bad.pk]
    )
    assert Tick.objects.get(monitor=good, scheduled_at=at).status == "up"
    assert not Tick.objects.filter(monitor=bad, scheduled_at=at).exists()
    assert f"monitor {bad.pk}: no tick stored" in caplog.text
