"""HTTP(S) checks: one guarded request under a hard total deadline."""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import ssl
import time
from http import HTTPStatus
from typing import Any

import aiohttp
from aiohttp import http_exceptions

from uptime import outbound

from . import jsonpath, tls
from .base import CheckContext, CheckResult, CheckSpec, down, up_or_degraded
from .evidence import http_evidence
from .options import parse_status_codes, status_accepted


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
    if isinstance(exc, aiohttp.ClientConnectorDNSError | socket.gaierror):
        return "dns", "The host name does not resolve."
    if any(isinstance(item, http_exceptions.LineTooLong) for item in chain) or any(
        "Too many headers" in str(item) for item in chain
    ):
        return (
            "protocol",
            f"Response headers too large (over {outbound.MAX_HEADERS} headers or "
            f"{outbound.MAX_HEADER_LINE} bytes in one line).",
        )
    if isinstance(
        exc, aiohttp.ClientConnectorCertificateError | aiohttp.ClientSSLError
    ) or any(isinstance(item, ssl.SSLError) for item in chain):
        reason = getattr(exc, "certificate_error", None) or exc
        return "tls", f"TLS error: {reason}"[:500]
    if isinstance(exc, outbound.InvalidTarget | aiohttp.InvalidURL | ValueError):
        return "invalid_url", f"Invalid URL: {exc}"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return "connect", f"Could not connect: {exc.os_error.strerror or exc.os_error}"
    if isinstance(exc, ConnectionRefusedError):
        return "connect", "Could not connect: connection refused."
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "connect", "The server closed the connection without a response."
    if isinstance(exc, aiohttp.ClientResponseError | aiohttp.ClientPayloadError):
        return "protocol", f"Invalid HTTP response: {exc}"[:500]
    if isinstance(exc, aiohttp.ClientError | OSError):
        return "connect", f"Connection failed: {exc}"[:500]
    return "internal", f"Check failed: {type(exc).__name__}"


def _request_body(options: dict[str, Any]) -> bytes | None:
    body = options.get("body") or ""
    return body.encode() if body else None


def _assert_body(options: dict[str, Any], body: bytes) -> str | None:
    """The failed assertion's message, or None when the body passes."""
    keyword = options.get("keyword") or ""
    if keyword:
        text = body.decode("utf-8", errors="replace")
        present = keyword in text
        if options.get("keyword_mode") == "absent" and present:
            return f"The body contains {keyword!r}, which must be absent."
        if options.get("keyword_mode", "present") != "absent" and not present:
            return f"The body does not contain {keyword!r}."
    expression = options.get("json_path") or ""
    if expression:
        try:
            assertion = jsonpath.parse(expression)
        except ValueError as exc:
            return f"Invalid JSON path assertion: {exc}"
        try:
            document = json.loads(body)
            passed, explanation = jsonpath.evaluate(assertion, document)
        except RecursionError:
            # A hostile document nested deeper than the parser's stack.
            return "The JSON body is nested too deeply to evaluate the assertion."
        except ValueError:
            return "The body is not JSON, so the JSON path assertion fails."
        if not passed:
            return f"JSON assertion {expression} failed: {explanation}."
    return None


async def check_http(spec: CheckSpec, ctx: CheckContext) -> CheckResult:
    options = spec.options
    progress = outbound.Progress()
    try:
        ranges = parse_status_codes(options.get("accepted_status_codes") or "200-399")
    except ValueError:
        ranges = [(200, 399)]
    headers = dict(options.get("headers") or {})
    if options.get("auth_username"):
        # As a header (aiohttp's BasicAuth is deprecated); fetch drops it on
        # a redirect to another host.
        pair = f"{options['auth_username']}:{options.get('auth_password') or ''}"
        headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode(
            "ascii"
        )
    verify_tls = bool(options.get("verify_tls", True))
    try:
        async with asyncio.timeout(spec.timeout):
            resp = await outbound.fetch(
                ctx.session,
                spec.url,
                method=options.get("method") or "GET",
                headers=headers,
                data=_request_body(options),
                allow_private=ctx.allow_private,
                follow_redirects=bool(options.get("follow_redirects", True)),
                max_redirects=int(options.get("max_redirects", 5)),
                max_body=int(options.get("max_body") or outbound.DEFAULT_MAX_BODY),
                truncate_body=False,
                verify_tls=verify_tls,
                ssl_context=ctx.ssl_context,
                progress=progress,
            )
    except Exception as exc:  # every failure is a DOWN tick, never a crash
        end = time.monotonic()
        error, message = classify(exc)
        details = http_evidence(progress, full=True, end=end)
        remaining = spec.timeout - (end - progress.started)
        if error == "tls" and "certificate" not in details and remaining > 0.1:
            # The handshake failed, so the session has no certificate to
            # show: fetch it again without verifying, for the evidence,
            # within what is left of the same deadline.
            cert = await tls.probe_certificate(
                progress.url or spec.url, ctx=ctx, timeout=remaining
            )
            if cert:
                details["certificate"] = cert
        return down(
            error,
            message,
            response_time_ms=int((end - progress.started) * 1000),
            status_code=progress.status if error != "tls" else None,
            details=details,
            certificate=details.get("certificate"),
        )
    elapsed = int(resp.timings.total_ms or 0)
    if not status_accepted(resp.status, ranges):
        return down(
            "http_status",
            f"{_status_text(resp.status)}, expected "
            f"{options.get('accepted_status_codes') or '200-399'}.",
            response_time_ms=elapsed,
            status_code=resp.status,
            details=http_evidence(progress, full=True),
            certificate=progress.tls,
        )
    failed = _assert_body(options, resp.body)
    if failed:
        return down(
            "assertion",
            failed,
            response_time_ms=elapsed,
            status_code=resp.status,
            details=http_evidence(progress, full=True),
            certificate=progress.tls,
        )
    result = up_or_degraded(
        spec,
        _status_text(resp.status),
        response_time_ms=elapsed,
        status_code=resp.status,
        details=http_evidence(progress, full=False),
        certificate=progress.tls,
    )
    if result.status == "degraded":
        result.details = http_evidence(progress, full=True)
    return result
