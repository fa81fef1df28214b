from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from typing import Any

import aiohttp


@dataclass(frozen=True)
class CheckSpec:
    """Plain settings for one check; built from a Monitor by the runner."""

    kind: str
    url: str
    timeout: float
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class CheckResult:
    status: str  # "up" | "down" | "degraded"
    response_time_ms: int | None = None
    status_code: int | None = None
    # Machine-readable class: dns, connect, tls, timeout, http_status,
    # assertion, body_too_large, too_many_redirects, blocked_address,
    # no_ping (heartbeat), slow (degraded), invalid_url, protocol, internal.
    error: str = ""
    message: str = ""  # for a person
    details: dict[str, Any] = field(default_factory=dict)  # bounded evidence
    # The server's certificate summary (https), whatever the status: the
    # recorder keeps the monitor's expiry from it. Stored in the tick only
    # as part of a failing tick's evidence, so healthy ticks stay small.
    certificate: dict[str, Any] | None = None


@dataclass
class CheckContext:
    """What a batch shares: one guarded HTTP session, the address rule."""

    session: aiohttp.ClientSession
    allow_private: bool
    user_agent: str
    # Trust store for https checks (system CAs plus UPTIME_EXTRA_CA_FILE).
    ssl_context: ssl.SSLContext | None = None
    # The operator's resolver (``ip:port``) for DNS checks that name none;
    # empty means the system's. Trusted like the system's, so it may be
    # private; the answers are still held to the address rule.
    default_resolver: str = ""


def down(error: str, message: str, **kwargs: Any) -> CheckResult:
    return CheckResult(status="down", error=error, message=message[:500], **kwargs)


def up_or_degraded(
    spec: CheckSpec, message: str, *, response_time_ms: int, **kwargs: Any
) -> CheckResult:
    """UP, or DEGRADED when slower than the monitor's threshold (any kind)."""
    threshold = spec.options.get("degraded_threshold_ms")
    if threshold and response_time_ms > int(threshold):
        return CheckResult(
            status="degraded",
            error="slow",
            message=(
                f"{message}, but slow: {response_time_ms} ms is above the "
                f"{int(threshold)} ms threshold."
            )[:500],
            response_time_ms=response_time_ms,
            **kwargs,
        )
    return CheckResult(
        status="up", message=message[:500], response_time_ms=response_time_ms, **kwargs
    )
