"""Bounded evidence for failing ticks: what an operator needs to see why.

Everything here is plain JSON data, capped in size, so a hostile target
cannot grow the tick table. It is data, never markup: every place that shows
it escapes it (API as JSON, admin and dashboard through autoescape).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from uptime import outbound, sanitize

BODY_HEAD_BYTES = outbound.BODY_HEAD_BYTES
MAX_HEADERS = 50
MAX_HEADER_NAME = 100
MAX_HEADER_VALUE = 512


def bounded_headers(headers: Mapping[str, str] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in (headers or {}).items():
        if len(out) >= MAX_HEADERS:
            out["…"] = f"{len(headers or {}) - MAX_HEADERS} more headers left out"
            break
        key = str(name)[:MAX_HEADER_NAME]
        text = str(value)
        if len(text) > MAX_HEADER_VALUE:
            text = text[:MAX_HEADER_VALUE] + "…"
        # Repeated headers (Set-Cookie) are joined, like a proxy would.
        out[key] = f"{out[key]}, {text}"[:MAX_HEADER_VALUE] if key in out else text
    return out


def body_text(head: bytes) -> str:
    """The body's start as text, every byte that is not UTF-8 shown as \\xNN."""
    return sanitize.clean_text(head[:BODY_HEAD_BYTES], limit=BODY_HEAD_BYTES)


def http_evidence(
    progress: outbound.Progress, *, full: bool, end: float | None = None
) -> dict[str, Any]:
    """What a request reached. ``full`` adds headers and the body's start."""
    details: dict[str, Any] = {
        "resolved_ip": progress.peer_ip,
        "timings": asdict(progress.timings(end)),
    }
    if progress.url:
        details["final_url"] = progress.url[:2000]
    if progress.redirects:
        details["redirects"] = progress.redirects
    if full:
        if progress.tls:
            details["certificate"] = progress.tls
        details["status_code"] = progress.status
        if progress.headers is not None:
            details["headers"] = bounded_headers(progress.headers)
        if progress.status is not None:
            details["body"] = body_text(progress.body_head)
            details["body_bytes_read"] = progress.body_bytes
    return details


def connection_evidence(progress: outbound.Progress) -> dict[str, Any]:
    """For kinds without HTTP (TCP): address and timing phases."""
    return {
        "resolved_ip": progress.peer_ip,
        "timings": asdict(progress.timings()),
    }
