"""TCP port checks: does host:port accept a connection within the timeout."""

from __future__ import annotations

import asyncio
import socket

from uptime import outbound
from uptime.failures import classify

from .base import CheckContext, CheckKind, CheckResult, CheckSpec, down, up_or_degraded
from .evidence import connection_evidence
from .options import parse_tcp_target, require_public, tcp_target


async def check_tcp(spec: CheckSpec, ctx: CheckContext) -> CheckResult:
    progress = outbound.Progress()
    try:
        host, port = parse_tcp_target(spec.url)
    except ValueError as exc:
        return down("invalid_url", str(exc))
    try:
        async with asyncio.timeout(spec.timeout):
            _reader, writer = await outbound.guarded_connect(
                host, port, allow_private=ctx.allow_private, progress=progress
            )
    except Exception as exc:  # every failure is a DOWN tick, never a crash
        failure = classify(exc)
        error, message = failure.error, failure.message
        if isinstance(exc, socket.gaierror):
            message = f"{host} does not resolve."
        details = connection_evidence(progress)
        return down(
            error,
            message,
            response_time_ms=int(details["timings"]["total_ms"] or 0),
            details=details,
        )
    writer.close()
    details = connection_evidence(progress)
    elapsed = int(details["timings"]["total_ms"] or 0)
    return up_or_degraded(
        spec,
        f"Connected to port {port}",
        response_time_ms=elapsed,
        details=details,
    )


def _clean_target(target: str, *, allow_private: bool) -> str:
    host, port = parse_tcp_target(target)
    require_public(host, allow_private=allow_private)
    return tcp_target(host, port)


# No options: the port must accept a connection within the timeout.
KIND = CheckKind(
    name="tcp",
    label="TCP port",
    run=check_tcp,
    clean_target=_clean_target,
    target_label="Host and port",
    target_help="host:port, for example db.example.com:5432.",
)
