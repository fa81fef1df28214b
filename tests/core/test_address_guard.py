"""The address guard: no spelling of a private address reaches a listener."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Iterator

import pytest

from monitors.checks.base import CheckContext, CheckResult, CheckSpec
from monitors.checks.http import check_http
from tests.targets import Listener, Target, redirect
from uptime import outbound


def run(url: str, *, allow_private: bool = False) -> CheckResult:
    async def go() -> CheckResult:
        async with outbound.guarded_session(allow_private=allow_private) as session:
            ctx = CheckContext(
                session=session, allow_private=allow_private, user_agent="t"
            )
            return await check_http(CheckSpec("http", url, 2.0), ctx)

    return asyncio.run(go())


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = Listener("127.0.0.1")
    yield server
    server.close()


@pytest.fixture
def listener6() -> Iterator[Listener]:
    server = Listener("::1")
    yield server
    server.close()


SPELLINGS = [
    "127.0.0.1",
    "127.1",
    "2130706433",
    "0x7f000001",
    "0177.0.0.1",
    "0.0.0.0",
    "[::ffff:127.0.0.1]",
    "localhost",  # a hosts-file name
]


@pytest.mark.parametrize("host", SPELLINGS)
def test_loopback_spellings_are_refused_and_never_connected(
    host: str, listener: Listener
) -> None:
    result = run(f"http://{host}:{listener.port}/")
    assert (result.status, result.error) == ("down", "blocked_address")
    assert listener.connections == 0


def test_ipv6_loopback_is_refused_and_never_connected(listener6: Listener) -> None:
    result = run(f"http://[::1]:{listener6.port}/")
    assert (result.status, result.error) == ("down", "blocked_address")
    assert listener6.connections == 0


def test_the_same_listener_is_reached_when_private_targets_are_allowed(
    listener: Listener,
) -> None:
    result = run(f"http://127.1:{listener.port}/", allow_private=True)
    assert result.error != "blocked_address"
    assert listener.connections >= 1


def test_every_redirect_hop_is_checked_at_connect_time(monkeypatch) -> None:
    # Loopback stands in for the internet here: the guard treats 127.0.0.1 as
    # public and 127.0.0.2 as private, so a public page redirecting to a
    # private address can be played out on this machine alone.
    monkeypatch.setattr(
        outbound.guard,
        "address_is_blocked",
        lambda ip: str(getattr(ip, "ipv4_mapped", None) or ip) == "127.0.0.2",
    )
    private = Listener("127.0.0.2")
    front = Target("127.0.0.1")
    front.routes["/"] = redirect(f"http://127.0.0.2:{private.port}/")
    front.routes["/legacy"] = redirect(f"http://2130706434:{private.port}/")
    try:
        for path in ("/", "/legacy"):
            result = run(front.url(path))
            assert (result.status, result.error) == ("down", "blocked_address")
        assert front.hits == ["/", "/legacy"]
        assert private.connections == 0
    finally:
        front.close()
        private.close()


@pytest.mark.parametrize(
    "address",
    [
        "10.0.0.1",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",  # cloud metadata
        "100.64.0.1",  # CGNAT
        "224.0.0.1",  # multicast
        "240.0.0.1",  # reserved
        "0.0.0.0",
        "::1",
        "fe80::1",
        "fc00::1",
        "ff02::1",
        "::ffff:169.254.169.254",
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
        "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
    ],
)
def test_non_public_addresses_are_classified_as_blocked(address: str) -> None:
    assert outbound.address_is_blocked(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["93.184.216.34", "1.1.1.1", "2606:4700::1111"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert not outbound.address_is_blocked(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    ("spelling", "expected"),
    [
        ("127.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("[::ffff:127.0.0.1]", "::ffff:7f00:1"),
        ("0xa9fea9fe", "169.254.169.254"),
    ],
)
def test_numeric_spellings_resolve_to_their_address(
    spelling: str, expected: str
) -> None:
    assert str(outbound.host_ip(spelling)) == expected
