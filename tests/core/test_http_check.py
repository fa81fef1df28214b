"""The HTTP check against real servers on loopback."""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Iterator

import pytest
import trustme

from monitors.checks.base import CheckContext, CheckResult, CheckSpec
from monitors.checks.http import check_http
from tests.targets import Target, drip, free_port, hang, redirect, respond
from uptime import outbound


def run(url: str, timeout: float = 2.0, *, allow_private: bool = True) -> CheckResult:
    async def go() -> CheckResult:
        async with outbound.guarded_session(allow_private=allow_private) as session:
            ctx = CheckContext(
                session=session, allow_private=allow_private, user_agent="t"
            )
            return await check_http(CheckSpec("http", url, timeout), ctx)

    return asyncio.run(go())


@pytest.fixture
def tls_target() -> Iterator[Target]:
    ca = trustme.CA()
    cert = ca.issue_cert("localhost", "127.0.0.1")
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(ctx)
    server = Target(ssl_context=ctx)
    yield server
    server.close()


def test_a_200_is_up_with_timings(target: Target) -> None:
    result = run(target.url("/"))
    assert result.status == "up"
    assert result.status_code == 200
    assert result.response_time_ms is not None and result.response_time_ms < 2000
    assert result.details["resolved_ip"] == "127.0.0.1"


def test_a_301_to_a_200_is_up_and_follows_the_redirect(target: Target) -> None:
    target.routes["/old"] = redirect("/new")
    target.routes["/new"] = respond(200, b"moved")
    result = run(target.url("/old"))
    assert result.status == "up"
    assert result.status_code == 200
    assert result.details["redirects"] == 1
    assert target.hits == ["/old", "/new"]


def test_a_500_is_down_with_the_status(target: Target) -> None:
    target.routes["/"] = respond(500, b"boom")
    result = run(target.url("/"))
    assert (result.status, result.error, result.status_code) == (
        "down",
        "http_status",
        500,
    )
    assert "500" in result.message


def test_a_redirect_loop_is_down(target: Target) -> None:
    target.routes["/loop"] = redirect("/loop", 302)
    result = run(target.url("/loop"))
    assert (result.status, result.error) == ("down", "too_many_redirects")
    assert len(target.hits) == 6  # the first request and five redirects


def test_connection_refused_is_down_connect() -> None:
    result = run(f"http://127.0.0.1:{free_port()}/")
    assert (result.status, result.error) == ("down", "connect")


def test_a_target_that_hangs_is_cut_at_the_timeout(target: Target) -> None:
    target.routes["/"] = hang(10)
    started = time.monotonic()
    result = run(target.url("/"), timeout=1.0)
    elapsed = time.monotonic() - started
    assert (result.status, result.error) == ("down", "timeout")
    assert 0.9 <= elapsed < 2.0


def test_a_target_dripping_a_byte_every_half_second_is_cut_at_the_deadline(
    target: Target,
) -> None:
    target.routes["/"] = drip(0.5, 1000)
    started = time.monotonic()
    result = run(target.url("/"), timeout=2.0)
    elapsed = time.monotonic() - started
    assert (result.status, result.error) == ("down", "timeout")
    # Each byte arrives well inside any per-read timeout; only a total
    # deadline stops it.
    assert 1.9 <= elapsed < 3.0


def test_a_self_signed_certificate_is_down_tls(tls_target: Target) -> None:
    result = run(tls_target.url("/"))
    assert (result.status, result.error) == ("down", "tls")
    assert "certificate" in result.message.lower()


def test_a_name_that_does_not_resolve_is_down_dns() -> None:
    # Names fail as unknown in tests (tests/conftest.py): no query leaves.
    result = run("http://does-not-exist.invalid/")
    assert (result.status, result.error) == ("down", "dns")


def test_many_slow_checks_run_concurrently(target: Target) -> None:
    target.routes["/slow"] = _sleep_then_ok(0.5)

    async def go() -> list[CheckResult]:
        async with outbound.guarded_session(allow_private=True) as session:
            ctx = CheckContext(session=session, allow_private=True, user_agent="t")
            spec = CheckSpec("http", target.url("/slow"), 5.0)
            return await asyncio.gather(*(check_http(spec, ctx) for _ in range(100)))

    started = time.monotonic()
    results = asyncio.run(go())
    elapsed = time.monotonic() - started
    assert [r.status for r in results] == ["up"] * 100
    assert elapsed < 3.0  # serially it would take 50 s


def _sleep_then_ok(seconds: float):
    ok = respond(200)

    def route(h):
        time.sleep(seconds)
        ok(h)

    return route
