"""What went wrong with an outbound call, told the same way everywhere.

Checks turn a failed request into a tick's error class and message; alert
transports need the same reading plus one more answer: will trying again
help (transient) or not (permanent)? Both apps import this module, so a
refused private address or a malformed URL is recognised once, and a
receiver's status or SMTP reply code is judged by one rule.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import http_exceptions

from uptime import outbound

# Error classes that the same request will meet again: the address rule or
# the URL itself refused it, so a retry cannot succeed.
PERMANENT_ERRORS = frozenset({"blocked_address", "invalid_url"})

# Receivers that are busy or briefly broken answer these (and any 5xx); every
# other 4xx refuses the request itself and will refuse it again.
TRANSIENT_STATUSES = frozenset({408, 409, 425, 429})


@dataclass(frozen=True)
class Failure:
    error: str  # machine-readable class, as stored in Tick.error
    message: str  # for a person
    permanent: bool  # retrying the same request cannot help


def causes(exc: BaseException) -> list[BaseException]:
    """The exception and what it wraps: aiohttp hides the guard's refusal in
    ``os_error``, asyncio and our own code in ``__cause__``/``__context__``."""
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        nxt = getattr(current, "os_error", None)
        if not isinstance(nxt, BaseException) or nxt in seen:
            nxt = current.__cause__ or current.__context__
        current = nxt
    return seen


def blocked_cause(exc: BaseException) -> outbound.BlockedAddress | None:
    """The address guard's refusal somewhere in the chain, if that is what
    stopped the request."""
    for item in causes(exc):
        if isinstance(item, outbound.BlockedAddress):
            return item
    return None


def _failure(error: str, message: str) -> Failure:
    return Failure(error=error, message=message, permanent=error in PERMANENT_ERRORS)


def _blocked(exc: BaseException, chain: list[BaseException]) -> Failure | None:
    blocked = blocked_cause(exc)
    if blocked is not None:
        return _failure(
            "blocked_address",
            f"Refused to connect to a non-public address ({blocked.address}).",
        )
    # Some aiohttp paths keep only the text of the refusal.
    if any("blocked non-public address" in str(item) for item in chain):
        return _failure(
            "blocked_address", "Refused to connect to a non-public address."
        )
    return None


def _protocol_or_tls(exc: BaseException, chain: list[BaseException]) -> Failure | None:
    if any(isinstance(item, http_exceptions.LineTooLong) for item in chain) or any(
        "Too many headers" in str(item) for item in chain
    ):
        return _failure(
            "protocol",
            f"Response headers too large (over {outbound.MAX_HEADERS} headers or "
            f"{outbound.MAX_HEADER_LINE} bytes in one line).",
        )
    if isinstance(
        exc, aiohttp.ClientConnectorCertificateError | aiohttp.ClientSSLError
    ) or any(isinstance(item, ssl.SSLError) for item in chain):
        reason = getattr(exc, "certificate_error", None) or exc
        return _failure("tls", f"TLS error: {reason}"[:500])
    return None


def _connection(exc: BaseException) -> Failure:
    if isinstance(exc, aiohttp.ClientConnectorError):
        reason = exc.os_error.strerror or exc.os_error
        return _failure("connect", f"Could not connect: {reason}")
    if isinstance(exc, ConnectionRefusedError):
        return _failure("connect", "Could not connect: connection refused.")
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return _failure(
            "connect", "The server closed the connection without a response."
        )
    if isinstance(exc, aiohttp.ClientResponseError | aiohttp.ClientPayloadError):
        return _failure("protocol", f"Invalid HTTP response: {exc}"[:500])
    if isinstance(exc, aiohttp.ClientError | OSError):
        return _failure("connect", f"Connection failed: {exc}"[:500])
    return _failure("internal", f"Check failed: {type(exc).__name__}")


def classify(exc: BaseException) -> Failure:
    """Read an exception from a request (or a bare connect) as a Failure.

    The order matters: the guard's refusal and the deadline win over
    whatever aiohttp wrapped them in.
    """
    chain = causes(exc)
    blocked = _blocked(exc, chain)
    if blocked is not None:
        return blocked
    if isinstance(exc, TimeoutError | asyncio.TimeoutError):
        return _failure("timeout", "No complete response within the timeout.")
    if isinstance(exc, outbound.TooManyRedirects):
        return _failure("too_many_redirects", str(exc).capitalize() + ".")
    if isinstance(exc, outbound.BodyTooLarge):
        return _failure("body_too_large", str(exc).capitalize() + ".")
    if isinstance(exc, aiohttp.ClientConnectorDNSError | socket.gaierror):
        return _failure("dns", "The host name does not resolve.")
    found = _protocol_or_tls(exc, chain)
    if found is not None:
        return found
    if isinstance(
        exc,
        outbound.InvalidTarget
        | aiohttp.InvalidURL
        | aiohttp.NonHttpUrlClientError
        | ValueError,
    ):
        return _failure("invalid_url", f"Invalid URL: {exc}")
    return _connection(exc)


def status_is_transient(status: int) -> bool:
    """An HTTP answer worth retrying later (5xx, 408, 409, 425, 429)."""
    return status >= 500 or status in TRANSIENT_STATUSES


def smtp_reply_is_permanent(code: int) -> bool:
    # SMTP reply codes: 4xx is "try again later", 5xx is final (RFC 5321 4.2.1).
    return 500 <= code < 600


def retry_after_seconds(headers: Mapping[str, Any] | Any) -> float | None:
    """A ``Retry-After`` given in seconds; None when absent or a date."""
    raw = headers.get("Retry-After")
    if raw is None:
        return None
    try:
        return float(raw)
    except (TypeError, ValueError):
        return None
