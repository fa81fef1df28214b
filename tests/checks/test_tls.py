"""https checks: certificate evidence, expiry, verification failures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import trustme

from uptime import outbound

from .conftest import run_check
from .servers import self_signed_target, tls_target


def test_a_valid_certificate_from_a_trusted_ca_is_up_with_its_summary(
    ca: trustme.CA, ca_file: str
) -> None:
    server = tls_target(ca)
    try:
        result = run_check(
            "http", server.url("/"), ssl_context=outbound.ssl_context_with(ca_file)
        )
    finally:
        server.close()
    assert result.status == "up", result.message
    cert = result.certificate
    assert cert is not None
    assert "certificate" not in result.details  # healthy ticks stay small
    not_after = datetime.fromisoformat(cert["not_after"])
    assert 85 <= (not_after - datetime.now(UTC)).days <= 90
    assert "trustme" in cert["issuer"]
    assert cert["self_signed"] is False
    assert cert["version"].startswith("TLS")
    timings = result.details["timings"]
    assert timings["tls_ms"] is not None and timings["tls_ms"] > 0
    assert timings["connect_ms"] is not None


def test_the_same_server_is_down_tls_without_the_test_ca(ca: trustme.CA) -> None:
    server = tls_target(ca)
    try:
        result = run_check("http", server.url("/"))
    finally:
        server.close()
    assert (result.status, result.error) == ("down", "tls")
    assert "certificate verify failed" in result.message
    # The handshake failed, yet the evidence still shows the certificate.
    assert "trustme" in result.details["certificate"]["issuer"]


def test_an_expired_certificate_is_down_tls_with_its_expiry(
    ca: trustme.CA, ca_file: str
) -> None:
    expired_at = datetime.now(UTC) - timedelta(days=3)
    server = tls_target(ca, not_after=expired_at)
    try:
        result = run_check(
            "http", server.url("/"), ssl_context=outbound.ssl_context_with(ca_file)
        )
    finally:
        server.close()
    assert (result.status, result.error) == ("down", "tls")
    assert "expired" in result.message
    not_after = datetime.fromisoformat(result.details["certificate"]["not_after"])
    assert abs((not_after - expired_at).total_seconds()) < 5
    assert result.details["resolved_ip"] == "127.0.0.1"


def test_a_self_signed_certificate_is_down_unless_verification_is_off() -> None:
    server = self_signed_target()
    try:
        result = run_check("http", server.url("/"))
        unverified = run_check("http", server.url("/"), verify_tls=False)
    finally:
        server.close()
    assert (result.status, result.error) == ("down", "tls")
    assert result.details["certificate"]["self_signed"] is True
    assert unverified.status == "up"
    # Even unverified, the certificate is recorded (expiry still matters).
    assert unverified.certificate is not None
    assert unverified.certificate["self_signed"] is True
    assert "self-signed.test" in unverified.certificate["subject"]


def test_https_on_ipv6_loopback(ca: trustme.CA, ca_file: str) -> None:
    server = tls_target(ca, host="::1")
    try:
        result = run_check(
            "http", server.url("/"), ssl_context=outbound.ssl_context_with(ca_file)
        )
    finally:
        server.close()
    assert result.status == "up", result.message
    assert result.details["resolved_ip"] == "::1"
    assert result.certificate is not None and result.certificate["not_after"]
