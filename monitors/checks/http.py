"""HTTP(S) checks: one guarded request under a hard total deadline."""

from __future__ import annotations

import asyncio
import ssl
import time
from http import HTTPStatus

import aiohttp

from uptime import outbound

from .base import CheckContext, CheckResult, CheckSpec, down


def _status_text(code: int) -> str:
    try:
        return f"HTTP {code} {HTTPStatus(code).phrase}"
    except ValueError:
        return f"HTTP {code}"


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        nxt = getattr(current, "os_error", None)
        if not isinstance(nxt, BaseException) or nxt in seen:
            nxt = current.__cause__ or current.__context__
        current = nxt
    return seen


def classify(exc: BaseException) -> tuple[str, str]:
    """Map an exception from a request to (error, message)."""
    chain = _chain(exc)
    for item in chain:
        if isinstance(item, outbound.BlockedAddress):
            return (
                "blocked_address",
                f"Refused to connect to a non-public address ({item.address}).",
            )
    if any("blocked non-public address" in str(item) for item in chain):
        return "blocked_address", "Refused to connect to a non-public address."
    if isinstance(exc, TimeoutError | asyncio.TimeoutError):
        return "timeout", "No complete response within the timeout."
    if isinstance(exc, outbound.TooManyRedirects):
        return "too_many_redirects", str(exc).capitalize() + "."
    if isinstance(exc, outbound.BodyTooLarge):
        return "body_too_large", str(exc).capitalize() + "."
    if isinstance(exc, outbound.InvalidTarget | aiohttp.InvalidURL | ValueError):
        return "invalid_url", f"Invalid URL: {exc}"
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return "dns", "The host name does not resolve."
    if isinstance(
        exc, aiohttp.ClientConnectorCertificateError | aiohttp.ClientSSLError
    ) or any(isinstance(item, ssl.SSLError) for item in chain):
        reason = getattr(exc, "certificate_error", None) or exc
        return "tls", f"TLS error: {reason}"[:500]
    if isinstance(exc, aiohttp.ClientConnectorError):
        return "connect", f"Could not connect: {exc.os_error.strerror or exc.os_error}"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "connect", "The server closed the connection without a response."
    if isinstance(exc, aiohttp.ClientResponseError | aiohttp.ClientPayloadError):
        return "protocol", f"Invalid HTTP response: {exc}"[:500]
    if isinstance(exc, aiohttp.ClientError | OSError):
        return "connect", f"Connection failed: {exc}"[:500]
    return "internal", f"Check failed: {type(exc).__name__}"


async def check_http(spec: CheckSpec, ctx: CheckContext) -> CheckResult:
    options = spec.options
    started = time.monotonic()
    try:
        async with asyncio.timeout(spec.timeout):
            resp = await outbound.fetch(
                ctx.session,
                spec.url,
                allow_private=ctx.allow_private,
                max_redirects=int(options.get("max_redirects", 5)),
                verify_tls=bool(options.get("verify_tls", True)),
            )
    except Exception as exc:  # every failure is a DOWN tick, never a crash
        error, message = classify(exc)
        elapsed = int((time.monotonic() - started) * 1000)
        return down(error, message, response_time_ms=elapsed)
    elapsed = int(resp.timings.total_ms or (time.monotonic() - started) * 1000)
    details = {
        "final_url": resp.url,
        "redirects": resp.redirects,
        "resolved_ip": resp.peer_ip,
        "timings": vars(resp.timings),
    }
    if 200 <= resp.status < 400:
        return CheckResult(
            status="up",
            response_time_ms=elapsed,
            status_code=resp.status,
            message=_status_text(resp.status),
            details=details,
        )
    return down(
        "http_status",
        _status_text(resp.status),
        response_time_ms=elapsed,
        status_code=resp.status,
        details=details,
    )
