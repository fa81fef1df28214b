"""The small parsers behind the options, and the evidence bounds."""

from __future__ import annotations

import json

import pytest

from monitors.checks import tls
from monitors.checks.evidence import MAX_HEADER_VALUE, MAX_HEADERS
from monitors.checks.options import (
    parse_resolver,
    parse_status_codes,
    parse_tcp_target,
    status_accepted,
)
from tests.targets import Target, respond

from .conftest import run_check


def test_status_codes_parse_codes_and_ranges() -> None:
    ranges = parse_status_codes("200-299, 301,404")
    assert ranges == [(200, 299), (301, 301), (404, 404)]
    assert status_accepted(204, ranges) and status_accepted(404, ranges)
    assert not status_accepted(302, ranges)
    for bad in ("", "2xx", "99", "600", "299-200"):
        with pytest.raises(ValueError):
            parse_status_codes(bad)


def test_targets_and_resolvers_parse() -> None:
    assert parse_tcp_target("db.example.com:5432") == ("db.example.com", 5432)
    assert parse_tcp_target("tcp://[::1]:22") == ("::1", 22)
    assert parse_resolver("1.1.1.1") == ("1.1.1.1", 53)
    assert parse_resolver("[::1]:5353") == ("::1", 5353)
    for bad in ("db.example.com", "tcp://x:99999", "http://x:80"):
        with pytest.raises(ValueError):
            parse_tcp_target(bad)
    for bad in ("dns.google", "1.1.1.1:x", "1.1.1.1:0"):
        with pytest.raises(ValueError):
            parse_resolver(bad)


@pytest.mark.parametrize(
    ("left", "already", "announce"),
    [
        (30, None, None),
        (14, None, 14),
        (13, 14, None),
        (7, 14, 7),
        (6, 7, None),
        (5, None, 7),  # straight from far away to under 7: one announcement
        (-1, 7, None),
    ],
)
def test_each_expiry_threshold_is_announced_once(
    left: int, already: int | None, announce: int | None
) -> None:
    assert tls.threshold_crossed(left, (14, 7), already) == announce


def test_evidence_is_bounded_in_size(target: Target) -> None:
    headers = {f"X-H{i}": "v" * 2000 for i in range(60)}
    target.routes["/"] = respond(500, b"\xff\xfe" + b"y" * 100_000, headers)
    result = run_check("http", target.url("/"))
    evidence = result.details
    assert len(evidence["headers"]) == MAX_HEADERS + 1  # and a "more left out" note
    assert all(len(v) <= MAX_HEADER_VALUE + 1 for v in evidence["headers"].values())
    assert evidence["body"].startswith("\\xff\\xfe")  # raw bytes shown escaped
    assert len(evidence["body"]) <= 4096
    assert len(json.dumps(evidence)) < 40_000
