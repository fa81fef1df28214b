"""One hostile target cannot cost another monitor its tick.

Each test puts 256 monitors whose target answers with one byte value
(0x00-0xFF) somewhere the check stores it (status line, a header, the body,
a gzip or JSON body, a DNS answer, a certificate subject) into the same
batch as a healthy neighbour from another project, runs the batch through
the real runner and PostgreSQL, and asserts every monitor has exactly one
tick for the slot and the neighbour's is UP.
"""

from __future__ import annotations

import asyncio
import gzip
import ssl
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from monitors import runner
from monitors.checks.base import CheckResult
from monitors.models import Monitor, Project, Region, Tick
from monitors.services import TickResult, ticks_record
from tests.targets import Target, respond

from .servers import DnsServer, self_signed_context

BYTES = range(256)
Reply = Callable[[int], bytes]


def _http(status_line: bytes, headers: bytes = b"", body: bytes = b"ok") -> bytes:
    return (
        status_line
        + b"\r\n"
        + headers
        + b"Content-Length: "
        + str(len(body)).encode()
        + b"\r\nConnection: close\r\n\r\n"
        + body
    )


REPLIES: dict[str, Reply] = {
    "status_line": lambda b: _http(b"HTTP/1.1 500 Bad" + bytes([b]) + b"Reason"),
    "header_value": lambda b: _http(
        b"HTTP/1.1 500 Internal Server Error", b"X-Bad: a" + bytes([b]) + b"z\r\n"
    ),
    "header_name": lambda b: _http(
        b"HTTP/1.1 500 Internal Server Error", b"X-" + bytes([b]) + b": v\r\n"
    ),
    "body": lambda b: _http(
        b"HTTP/1.1 500 Internal Server Error", body=b"a" + bytes([b]) + b"z"
    ),
    "gzip_body": lambda b: _http(
        b"HTTP/1.1 500 Internal Server Error",
        b"Content-Encoding: gzip\r\n",
        gzip.compress(b"a" + bytes([b]) + b"z"),
    ),
    "json_body": lambda b: _http(
        b"HTTP/1.1 200 OK",
        b"Content-Type: application/json\r\n",
        b'{"s": "a' + bytes([b]) + b'z"}',
    ),
}


class RawServer:
    """Asyncio servers on loopback in one thread, each answering raw bytes."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def serve(self, reply: bytes, ssl_context: ssl.SSLContext | None = None) -> int:
        async def handle(
            reader: asyncio.StreamReader, writer: asyncio.StreamWriter
        ) -> None:
            try:
                await reader.readuntil(b"\r\n\r\n")
                writer.write(reply)
                await writer.drain()
            except (OSError, asyncio.IncompleteReadError, ssl.SSLError):
                pass
            finally:
                writer.close()

        async def start() -> int:
            server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=ssl_context)
            return server.sockets[0].getsockname()[1]

        return asyncio.run_coroutine_threadsafe(start(), self.loop).result(10)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@pytest.fixture
def raw_server() -> Iterator[RawServer]:
    server = RawServer()
    yield server
    server.close()


@pytest.fixture
def neighbour(regions: list[Region]) -> Iterator[Monitor]:
    """A healthy monitor of another tenant, checked in the same batch."""
    other = User.objects.create_user("neighbour", "n@example.com", "pw-n-123!")
    target = Target()
    target.routes["/"] = respond(200, b"fine")
    monitor = Monitor.objects.create(
        project=Project.objects.get(owner=other),
        name="Neighbour",
        url=target.url("/"),
        interval_seconds=10,
        timeout_seconds=5,
    )
    monitor.regions.set(regions[:1])
    yield monitor
    target.close()


def _slot() -> datetime:
    return timezone.now().replace(microsecond=0) - timedelta(seconds=1)


def _run_batch(region: Region, monitors: list[Monitor], neighbour: Monitor) -> datetime:
    at = _slot()
    ids = [neighbour.pk, *(m.pk for m in monitors)]
    runner.run_checks(region_code=region.code, scheduled_at=at, monitor_ids=ids)
    return at


def _assert_one_tick_each(
    region: Region, at: datetime, monitors: list[Monitor], neighbour: Monitor
) -> dict[int, Tick]:
    ticks = {
        t.monitor_id: t for t in Tick.objects.filter(region=region, scheduled_at=at)
    }
    assert Tick.objects.filter(region=region, scheduled_at=at).count() == len(ticks)
    missing = [m.name for m in monitors if m.pk not in ticks]
    assert missing == []
    assert ticks[neighbour.pk].status == "up"
    # The sanitiser made every result storable: none needed the stand-in.
    assert [t.monitor_id for t in ticks.values() if t.error == "internal"] == []
    return ticks


@pytest.mark.parametrize("where", sorted(REPLIES))
def test_a_hostile_http_answer_never_costs_a_neighbour_its_tick(
    where: str,
    allow_private: None,
    make_monitor,
    regions: list[Region],
    raw_server: RawServer,
    neighbour: Monitor,
) -> None:
    reply = REPLIES[where]
    monitors = []
    for b in BYTES:
        port = raw_server.serve(reply(b))
        monitors.append(
            make_monitor(
                name=f"{where}-{b:02x}",
                url=f"http://127.0.0.1:{port}/",
                regions=regions[:1],
                json_path='$.s == "nothing"' if where == "json_body" else "",
            )
        )
    at = _run_batch(regions[0], monitors, neighbour)
    ticks = _assert_one_tick_each(regions[0], at, monitors, neighbour)
    nul = ticks[monitors[0].pk]
    assert nul.details is not None
    if where in ("body", "gzip_body", "json_body"):
        # Evidence stays honest: the NUL byte is shown, escaped.
        assert "a\\x00z" in nul.details["body"]
    if where == "header_value":
        # aiohttp refuses a NUL in a header; a byte that is not UTF-8 is kept
        # and shown escaped.
        assert nul.error == "protocol"
        invalid = ticks[monitors[0xFF].pk]
        assert invalid.details is not None
        assert invalid.details["headers"]["X-Bad"] == "a\\xffz"


def test_a_hostile_dns_answer_never_costs_a_neighbour_its_tick(
    allow_private: None,
    make_monitor,
    regions: list[Region],
    neighbour: Monitor,
) -> None:
    dns_server = DnsServer()
    try:
        monitors = []
        for b in BYTES:
            name = f"b{b}.poison.test"
            dns_server.records[(name, "TXT")] = [f'"a\\{b:03d}z"']
            monitors.append(
                make_monitor(
                    name=f"dns-{b:02x}",
                    kind="dns",
                    url=name,
                    dns_record_type="TXT",
                    dns_expected="nothing",
                    dns_resolver=dns_server.address,
                    regions=regions[:1],
                )
            )
        at = _run_batch(regions[0], monitors, neighbour)
        ticks = _assert_one_tick_each(regions[0], at, monitors, neighbour)
    finally:
        dns_server.close()
    nul, invalid = ticks[monitors[0].pk], ticks[monitors[0xFF].pk]
    assert nul.details is not None and invalid.details is not None
    assert nul.details["records"] == ["a\\x00z"]
    assert invalid.details["records"] == ["a\\xffz"]


def test_a_hostile_certificate_subject_never_costs_a_neighbour_its_tick(
    allow_private: None,
    make_monitor,
    regions: list[Region],
    raw_server: RawServer,
    neighbour: Monitor,
) -> None:
    monitors = []
    reply = _http(b"HTTP/1.1 500 Internal Server Error")
    for b in BYTES:
        port = raw_server.serve(reply, self_signed_context(f"a{chr(b)}z"))
        monitors.append(
            make_monitor(
                name=f"cert-{b:02x}",
                url=f"https://127.0.0.1:{port}/",
                verify_tls=False,
                regions=regions[:1],
            )
        )
    at = _run_batch(regions[0], monitors, neighbour)
    ticks = _assert_one_tick_each(regions[0], at, monitors, neighbour)
    nul = ticks[monitors[0].pk]
    assert nul.details is not None
    # RFC 4514 writes the NUL as \00; it reaches the tick and the monitor.
    assert "CN=a\\00z" in nul.details["certificate"]["subject"]
    nul_monitor = Monitor.objects.get(pk=monitors[0].pk)
    assert nul_monitor.cert_expires_at is not None
    assert "CN=a\\00z" in nul_monitor.cert_issuer


def test_a_row_the_database_refuses_becomes_an_internal_tick_and_keeps_the_rest(
    make_monitor, regions: list[Region], caplog: pytest.LogCaptureFixture
) -> None:
    good, bad = make_monitor(name="good"), make_monitor(name="bad")
    at = _slot()
    now = timezone.now()
    results = [
        TickResult(good.pk, now, CheckResult(status="up", response_time_ms=12)),
        # smallint out of range: refused by PostgreSQL whatever the sanitiser does.
        TickResult(bad.pk, now, CheckResult(status="down", status_code=70_000)),
    ]
    ticks_record(region=regions[0], scheduled_at=at, results=results)
    stored = {
        t.monitor_id: t for t in Tick.objects.filter(region=regions[0], scheduled_at=at)
    }
    assert stored[good.pk].status == "up"
    assert (stored[bad.pk].status, stored[bad.pk].error) == ("down", "internal")
    assert f"tick for monitor {bad.pk}" in caplog.text


def test_deeply_nested_json_is_an_assertion_failure_not_a_crash(
    allow_private: None, make_monitor, regions: list[Region], target: Target
) -> None:
    target.routes["/"] = respond(200, b"[" * 100_000 + b"]" * 100_000)
    monitor = make_monitor(
        url=target.url("/"), json_path="$[0] == 1", regions=regions[:1]
    )
    at = _slot()
    runner.run_checks(
        region_code=regions[0].code, scheduled_at=at, monitor_ids=[monitor.pk]
    )
    tick = Tick.objects.get(monitor=monitor, scheduled_at=at)
    assert (tick.status, tick.error) == ("down", "assertion")
    assert "nested too deeply" in tick.message
