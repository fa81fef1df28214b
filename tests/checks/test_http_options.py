"""HTTP(S) options and limits, against real servers on loopback."""

from __future__ import annotations

import base64
import gzip
import json
import time
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

import pytest

from tests.targets import Target, drip, redirect, respond
from uptime import outbound

from .conftest import run_check

MB = 1024 * 1024


@pytest.fixture
def seen() -> list[dict[str, object]]:
    return []


def recorder(seen: list[dict[str, object]], status: int = 200):
    def route(h: BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        seen.append(
            {
                "method": h.command,
                "headers": dict(h.headers.items()),
                "body": h.rfile.read(length) if length else b"",
            }
        )
        respond(status, b"ok")(h)

    return route


def big_body(size: int, chunk: int = 64 * 1024):
    """A body of ``size`` bytes, streamed, so the server holds little."""

    def route(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Length", str(size))
        h.end_headers()
        block = b"a" * chunk
        sent = 0
        try:
            while sent < size:
                h.wfile.write(block)
                sent += len(block)
        except OSError:
            pass  # the checker hung up at its cap: expected

    return route


def compressed(encoding: str, size: int):
    raw = b"\0" * size
    payload = gzip.compress(raw) if encoding == "gzip" else zlib.compress(raw, 9)
    return respond(200, payload, {"Content-Encoding": encoding})


def test_it_sends_the_method_headers_body_and_basic_auth(
    target: Target, seen: list[dict[str, object]]
) -> None:
    target.routes["/api"] = recorder(seen)
    result = run_check(
        "http",
        target.url("/api"),
        method="POST",
        headers={"X-Token": "abc", "Content-Type": "application/json"},
        body='{"ping": 1}',
        auth_username="bot",
        auth_password="s3cret",
    )
    assert result.status == "up"
    request = seen[0]
    assert request["method"] == "POST"
    headers = request["headers"]
    assert isinstance(headers, dict)
    assert headers["X-Token"] == "abc"
    assert (
        headers["Authorization"] == "Basic " + base64.b64encode(b"bot:s3cret").decode()
    )
    assert request["body"] == b'{"ping": 1}'


@pytest.mark.parametrize("method", ["HEAD", "PUT", "PATCH", "DELETE", "OPTIONS"])
def test_it_uses_every_method(
    target: Target, seen: list[dict[str, object]], method: str
) -> None:
    target.routes["/m"] = recorder(seen)
    assert run_check("http", target.url("/m"), method=method).status == "up"
    assert seen[0]["method"] == method


def test_accepted_status_codes_take_codes_and_ranges(target: Target) -> None:
    target.routes["/gone"] = respond(404, b"nope")
    assert run_check("http", target.url("/gone")).error == "http_status"
    result = run_check(
        "http", target.url("/gone"), accepted_status_codes="200-299, 404"
    )
    assert (result.status, result.status_code) == ("up", 404)


def test_a_wrong_status_records_headers_and_the_first_4kb_of_body(
    target: Target,
) -> None:
    body = b"<script>alert(1)</script>" + b"x" * 10_000
    target.routes["/"] = respond(503, body, {"X-Backend": "b7"})
    result = run_check("http", target.url("/"))
    assert (result.status, result.error, result.status_code) == (
        "down",
        "http_status",
        503,
    )
    details = result.details
    assert details["status_code"] == 503
    assert details["headers"]["X-Backend"] == "b7"
    assert details["body"].startswith("<script>alert(1)</script>")
    assert len(details["body"]) == 4096
    assert details["resolved_ip"] == "127.0.0.1"
    timings = details["timings"]
    assert set(timings) == {
        "dns_ms",
        "connect_ms",
        "tls_ms",
        "first_byte_ms",
        "total_ms",
    }
    assert timings["first_byte_ms"] <= timings["total_ms"]
    assert timings["tls_ms"] is None  # plain http


def test_redirects_off_takes_the_redirect_as_the_answer(target: Target) -> None:
    target.routes["/old"] = redirect("/new")
    result = run_check("http", target.url("/old"), follow_redirects=False)
    assert (result.status, result.status_code) == ("up", 301)
    assert target.hits == ["/old"]
    down = run_check(
        "http",
        target.url("/old"),
        follow_redirects=False,
        accepted_status_codes="200-299",
    )
    assert (down.error, down.details["headers"]["Location"]) == ("http_status", "/new")


def test_a_redirect_loop_stops_at_the_maximum_with_evidence(target: Target) -> None:
    target.routes["/loop"] = redirect("/loop", 302)
    result = run_check("http", target.url("/loop"), max_redirects=2)
    assert (result.status, result.error) == ("down", "too_many_redirects")
    assert len(target.hits) == 3
    assert result.details["redirects"] == 2
    assert result.details["status_code"] == 302


def test_keyword_present_and_absent(target: Target) -> None:
    target.routes["/"] = respond(200, b"<h1>All systems operational</h1>")
    assert run_check("http", target.url("/"), keyword="operational").status == "up"
    missing = run_check("http", target.url("/"), keyword="Welcome")
    assert (missing.status, missing.error) == ("down", "assertion")
    assert "Welcome" in missing.message
    assert missing.details["body"] == "<h1>All systems operational</h1>"
    forbidden = run_check(
        "http", target.url("/"), keyword="operational", keyword_mode="absent"
    )
    assert (forbidden.error, forbidden.status) == ("assertion", "down")
    assert (
        run_check(
            "http", target.url("/"), keyword="error", keyword_mode="absent"
        ).status
        == "up"
    )


def test_json_path_assertion(target: Target) -> None:
    target.routes["/health"] = respond(
        200,
        json.dumps({"status": "ok", "checks": [{"db": 3}]}).encode(),
        {"Content-Type": "application/json"},
    )
    url = target.url("/health")
    assert run_check("http", url, json_path='$.status == "ok"').status == "up"
    assert run_check("http", url, json_path="$.checks[0].db >= 3").status == "up"
    failed = run_check("http", url, json_path='$.status == "green"')
    assert (failed.status, failed.error) == ("down", "assertion")
    assert 'the value is "ok"' in failed.message
    absent = run_check("http", url, json_path="$.missing")
    assert "does not exist" in absent.message
    target.routes["/html"] = respond(200, b"<html>")
    not_json = run_check("http", target.url("/html"), json_path="$.status")
    assert (not_json.error, "not JSON" in not_json.message) == ("assertion", True)


def test_slower_than_the_threshold_is_degraded_with_evidence(target: Target) -> None:
    def slow(h: BaseHTTPRequestHandler) -> None:
        time.sleep(0.3)
        respond(200, b"late")(h)

    target.routes["/slow"] = slow
    result = run_check("http", target.url("/slow"), degraded_threshold_ms=100)
    assert (result.status, result.error) == ("degraded", "slow")
    assert result.response_time_ms is not None and result.response_time_ms >= 300
    assert "100 ms" in result.message
    assert result.details["body"] == "late"
    assert result.details["timings"]["first_byte_ms"] >= 300
    fast = run_check("http", target.url("/"), degraded_threshold_ms=2000)
    assert fast.status == "up"
    assert "body" not in fast.details  # no bulky evidence on healthy ticks


def test_a_50_mb_body_is_cut_at_the_cap(target: Target) -> None:
    target.routes["/big"] = big_body(50 * MB)
    result = run_check("http", target.url("/big"), timeout=5)
    assert (result.status, result.error) == ("down", "body_too_large")
    # Memory stays bounded: reading stopped within one chunk past the cap.
    read = result.details["body_bytes_read"]
    assert MB < read <= MB + 64 * 1024
    assert len(result.details["body"]) == 4096


def test_a_smaller_cap_applies(target: Target) -> None:
    target.routes["/big"] = big_body(200_000)
    result = run_check("http", target.url("/big"), max_body=100_000)
    assert result.error == "body_too_large"
    assert "100000" in result.message


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_a_compression_bomb_is_cut_at_the_cap_after_decompression(
    target: Target, encoding: str
) -> None:
    target.routes["/bomb"] = compressed(encoding, 200 * MB)
    result = run_check("http", target.url("/bomb"), timeout=5)
    assert (result.status, result.error) == ("down", "body_too_large")
    read = result.details["body_bytes_read"]
    assert MB < read <= 2 * MB  # decompressed bytes, not 200 MB
    assert result.details["headers"]["Content-Encoding"] == encoding


def test_a_small_gzip_body_is_read_decompressed(target: Target) -> None:
    target.routes["/"] = compressed("gzip", 1000)
    result = run_check("http", target.url("/"), keyword="\0\0\0")
    assert result.status == "up"


def test_a_slow_drip_is_cut_at_the_total_deadline(target: Target) -> None:
    target.routes["/drip"] = drip(0.05, 10_000)
    started = time.monotonic()
    result = run_check("http", target.url("/drip"), timeout=1.0)
    took = time.monotonic() - started
    assert (result.status, result.error) == ("down", "timeout")
    assert took < 2.5
    assert result.response_time_ms is not None and result.response_time_ms < 1500
    assert result.details["resolved_ip"] == "127.0.0.1"
    assert result.details["timings"]["connect_ms"] is not None


def test_too_many_response_headers_are_refused(target: Target) -> None:
    headers = {f"X-H{i}": "v" for i in range(outbound.MAX_HEADERS + 20)}
    target.routes["/"] = respond(200, b"ok", headers)
    result = run_check("http", target.url("/"))
    assert (result.status, result.error) == ("down", "protocol")
    assert "headers too large" in result.message


def test_an_overlong_header_line_is_refused(target: Target) -> None:
    target.routes["/"] = respond(200, b"ok", {"X-Big": "v" * 20_000})
    result = run_check("http", target.url("/"))
    assert (result.status, result.error) == ("down", "protocol")


@pytest.fixture
def v6_target() -> Iterator[Target]:
    server = Target(host="::1")
    yield server
    server.close()


def test_ipv6_loopback_target(v6_target: Target) -> None:
    v6_target.routes["/"] = respond(500, b"v6")
    result = run_check("http", v6_target.url("/"))
    assert (result.error, result.details["resolved_ip"]) == ("http_status", "::1")
    v6_target.routes["/"] = respond(200, b"v6")
    assert run_check("http", v6_target.url("/")).status == "up"


def test_loopback_is_blocked_without_the_private_setting(target: Target) -> None:
    result = run_check("http", target.url("/"), allow_private=False)
    assert (result.status, result.error) == ("down", "blocked_address")
    assert target.hits == []


def test_credentials_are_not_sent_to_another_origin_on_redirect(
    seen: list[dict[str, object]],
) -> None:
    first, second = Target(), Target()
    try:
        second.routes["/landing"] = recorder(seen)
        first.routes["/"] = redirect(second.url("/landing"))
        result = run_check(
            "http",
            first.url("/"),
            headers={"X-Keep": "1", "Cookie": "session=abc"},
            auth_username="bot",
            auth_password="s3cret",
        )
    finally:
        first.close()
        second.close()
    assert result.status == "up"
    headers = seen[0]["headers"]
    assert isinstance(headers, dict)
    assert headers["X-Keep"] == "1"
    assert "Authorization" not in headers and "Cookie" not in headers
