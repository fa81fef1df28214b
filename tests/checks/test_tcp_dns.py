"""TCP port and DNS checks against a real listener and DNS server on loopback."""

from __future__ import annotations

import json

import pytest

from tests.targets import Listener, free_port

from .conftest import run_check
from .servers import DnsServer


def test_an_open_port_is_up_with_address_and_timings() -> None:
    listener = Listener()
    try:
        result = run_check("tcp", f"tcp://127.0.0.1:{listener.port}")
    finally:
        listener.close()
    assert result.status == "up", result.message
    assert result.details["resolved_ip"] == "127.0.0.1"
    assert result.details["timings"]["connect_ms"] is not None
    assert listener.connections == 1


def test_a_name_resolves_before_connecting() -> None:
    listener = Listener()
    try:
        result = run_check("tcp", f"localhost:{listener.port}")
    finally:
        listener.close()
    assert result.status == "up"
    assert result.details["resolved_ip"] == "127.0.0.1"


def test_a_closed_port_is_down_connect() -> None:
    result = run_check("tcp", f"tcp://127.0.0.1:{free_port()}")
    assert (result.status, result.error) == ("down", "connect")
    assert "refused" in result.message.lower()
    assert result.details["resolved_ip"] is None


def test_ipv6_loopback_port() -> None:
    listener = Listener(host="::1")
    try:
        result = run_check("tcp", f"tcp://[::1]:{listener.port}")
    finally:
        listener.close()
    assert result.status == "up"
    assert result.details["resolved_ip"] == "::1"


def test_a_loopback_port_is_blocked_without_the_private_setting() -> None:
    listener = Listener()
    try:
        result = run_check(
            "tcp", f"tcp://127.0.0.1:{listener.port}", allow_private=False
        )
        by_name = run_check(
            "tcp", f"tcp://localhost:{listener.port}", allow_private=False
        )
    finally:
        listener.close()
    assert (result.status, result.error) == ("down", "blocked_address")
    assert by_name.error == "blocked_address"
    assert listener.connections == 0


@pytest.fixture
def zone(dns_server: DnsServer) -> DnsServer:
    dns_server.records.update(
        {
            ("shop.test", "A"): ["192.0.2.10", "192.0.2.11"],
            ("shop.test", "AAAA"): ["2001:db8::10"],
            ("www.shop.test", "CNAME"): ["shop.test."],
            ("shop.test", "MX"): ["10 mail.shop.test."],
            ("shop.test", "TXT"): ['"v=spf1 -all"'],
            ("shop.test", "NS"): ["ns1.shop.test."],
        }
    )
    return dns_server


@pytest.mark.parametrize(
    ("name", "rdtype", "expected", "record"),
    [
        ("shop.test", "A", "192.0.2.11", "192.0.2.10"),
        ("shop.test", "AAAA", "2001:db8:0::10", "2001:db8::10"),
        ("www.shop.test", "CNAME", "shop.test.", "shop.test"),
        ("shop.test", "MX", "mail.shop.test", "10 mail.shop.test"),
        ("shop.test", "TXT", "v=spf1 -all", "v=spf1 -all"),
        ("shop.test", "NS", "NS1.shop.test", "ns1.shop.test"),
    ],
)
def test_each_record_type_resolves_and_matches_the_expected_value(
    zone: DnsServer, name: str, rdtype: str, expected: str, record: str
) -> None:
    result = run_check(
        "dns", name, record_type=rdtype, expected=expected, resolver=zone.address
    )
    assert result.status == "up", result.message
    assert record in result.details["records"]
    assert result.details["resolver"] == zone.address
    assert (name, rdtype) in zone.queries


def test_an_unexpected_answer_is_down_assertion(zone: DnsServer) -> None:
    result = run_check(
        "dns",
        "shop.test",
        record_type="A",
        expected="203.0.113.5",
        resolver=zone.address,
    )
    assert (result.status, result.error) == ("down", "assertion")
    assert "192.0.2.10" in result.message and "203.0.113.5" in result.message
    assert result.details["records"] == ["192.0.2.10", "192.0.2.11"]


def test_a_missing_name_is_down_dns(zone: DnsServer) -> None:
    result = run_check("dns", "gone.test", resolver=zone.address)
    assert (result.status, result.error) == ("down", "dns")
    assert "NXDOMAIN" in result.message


def test_no_records_of_the_type_is_down_dns(zone: DnsServer) -> None:
    result = run_check("dns", "www.shop.test", record_type="A", resolver=zone.address)
    assert (result.status, result.error) == ("down", "dns")
    assert "no A records" in result.message


def test_a_silent_resolver_is_down_timeout(zone: DnsServer) -> None:
    zone.silent = True
    result = run_check("dns", "shop.test", resolver=zone.address, timeout=0.5)
    assert (result.status, result.error) == ("down", "timeout")
    assert result.response_time_ms is not None and result.response_time_ms < 1500


def test_a_private_resolver_is_refused_without_the_private_setting(
    zone: DnsServer,
) -> None:
    result = run_check("dns", "shop.test", resolver=zone.address, allow_private=False)
    assert (result.status, result.error) == ("down", "blocked_address")
    assert zone.queries == []


def test_a_dns_server_on_ipv6_loopback() -> None:
    server = DnsServer(host="::1")
    server.records[("v6.test", "AAAA")] = ["::1"]
    try:
        result = run_check(
            "dns", "v6.test", record_type="AAAA", resolver=server.address
        )
    finally:
        server.close()
    assert result.status == "up", result.message
    assert result.details["records"] == ["::1"]


def test_a_dns_answer_with_a_private_address_is_refused_and_not_echoed(
    dns_server: DnsServer,
) -> None:
    dns_server.records[("intranet.test", "A")] = ["10.20.30.40"]
    dns_server.records[("public.test", "A")] = ["93.184.216.34"]
    # The operator's default resolver may be private (a local cache); what
    # a name resolves to is still held to the address rule.
    refused = run_check(
        "dns",
        "intranet.test",
        allow_private=False,
        default_resolver=dns_server.address,
        record_type="A",
    )
    assert (refused.status, refused.error) == ("down", "blocked_address")
    assert "10.20.30.40" not in refused.message
    assert "10.20.30.40" not in json.dumps(refused.details)
    allowed = run_check(
        "dns",
        "public.test",
        allow_private=False,
        default_resolver=dns_server.address,
        record_type="A",
    )
    assert allowed.status == "up"
