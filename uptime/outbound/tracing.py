"""Timing one request: DNS, TCP connect, TLS, first byte, total.

Each request carries a ``Progress``. aiohttp's trace hooks and the guarded
connector write into it as the request goes, so a caller holding it can read
how far a request got even after ``fetch`` raised (the evidence of a timeout
or of a body too large).
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp


@dataclass
class Timings:
    dns_ms: float | None = None
    connect_ms: float | None = None  # TCP connect
    tls_ms: float | None = None  # TLS handshake (https only)
    first_byte_ms: float | None = None  # since the start, redirects included
    total_ms: float | None = None


@dataclass
class Progress:
    """What one request reached so far; pass one to ``fetch`` to keep it."""

    started: float = field(default_factory=time.monotonic)
    dns_start: float | None = None
    dns_ms: float = 0.0
    conn_start: float | None = None
    connect_ms: float = 0.0  # TCP and TLS together, as aiohttp reports it
    peer_ip: str | None = None
    tcp_connected: float | None = None
    tls_ms: float | None = None
    first_byte: float | None = None
    url: str = ""
    redirects: int = 0
    status: int | None = None
    headers: dict[str, str] | None = None
    body_head: bytes = b""
    body_bytes: int = 0
    tls: dict[str, Any] | None = None
    finished: float | None = None  # when the whole body was read

    def timings(self, end: float | None = None) -> Timings:
        tcp_ms = self.connect_ms
        if self.tls_ms is not None:
            tcp_ms = max(self.connect_ms - self.tls_ms, 0.0)
        first = self.first_byte
        return Timings(
            dns_ms=round(self.dns_ms, 1),
            connect_ms=round(tcp_ms, 1),
            tls_ms=None if self.tls_ms is None else round(self.tls_ms, 1),
            first_byte_ms=None
            if first is None
            else round((first - self.started) * 1000, 1),
            total_ms=round(
                ((end or self.finished or time.monotonic()) - self.started) * 1000, 1
            ),
        )


# The request being made in this task; the socket factory notes the address
# it dials there (happy-eyeballs subtasks copy the context, sharing the object).
current_progress: contextvars.ContextVar[Progress | None] = contextvars.ContextVar(
    "outbound_progress", default=None
)


def build_trace_config() -> aiohttp.TraceConfig:
    """Session-wide hooks that write into each request's own ``Progress``."""
    config = aiohttp.TraceConfig()

    def hook(attr: str, start: bool) -> Callable[[Any, Any, Any], Awaitable[None]]:
        async def record(_session: Any, ctx: Any, _params: Any) -> None:
            trace = ctx.trace_request_ctx
            if not isinstance(trace, Progress):
                return
            now = time.monotonic()
            if start:
                setattr(trace, f"{attr}_start", now)
            else:
                began = getattr(trace, f"{attr}_start")
                if began is not None:
                    total = f"{attr}_ms" if attr == "dns" else "connect_ms"
                    setattr(trace, total, getattr(trace, total) + (now - began) * 1000)
                if attr == "conn" and trace.tcp_connected is not None:
                    trace.tls_ms = (trace.tls_ms or 0.0) + (
                        now - trace.tcp_connected
                    ) * 1000
                    trace.tcp_connected = None

        return record

    config.on_dns_resolvehost_start.append(hook("dns", True))
    config.on_dns_resolvehost_end.append(hook("dns", False))
    config.on_connection_create_start.append(hook("conn", True))
    config.on_connection_create_end.append(hook("conn", False))
    return config
