"""``fetch``: one HTTP request and its redirects through a guarded session."""

from __future__ import annotations

import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from yarl import URL

from . import guard
from .certificates import response_cert
from .tracing import Progress, Timings, current_progress

DEFAULT_MAX_BODY = 1024 * 1024
# How much of a body a Response keeps for evidence when the caller asks.
BODY_HEAD_BYTES = 4096
_REDIRECTS = (301, 302, 303, 307, 308)
_CREDENTIAL_HEADERS = {"authorization", "cookie", "proxy-authorization"}


@dataclass
class Response:
    url: str
    status: int
    headers: dict[str, str]
    body: bytes
    body_truncated: bool
    redirects: int
    peer_ip: str | None
    timings: Timings
    tls: dict[str, Any] | None = None


class TooManyRedirects(Exception):
    pass


class BodyTooLarge(Exception):
    pass


@dataclass
class _Hop:
    """What the next request of a redirect chain sends, and where."""

    url: URL
    method: str
    data: bytes | None
    headers: Mapping[str, str] | None


def _dialable(url: URL, *, allow_private: bool) -> URL:
    """Refuse a blocked numeric host before dialing; canonicalize its spelling."""
    host = url.host or ""
    ip = guard.host_ip(host)
    if ip is None:
        return url
    if not allow_private and guard.address_is_blocked(ip):
        raise guard.BlockedAddress(str(ip))
    # Legacy numeric spellings are rejected by aiohttp; dial the canonical
    # form of the same address instead.
    if host.strip("[]") != str(ip) and ip.version == 4:
        return url.with_host(str(ip))
    return url


def _redirect_hop(hop: _Hop, status: int, location: str) -> _Hop:
    """The request a redirect asks for, with credentials kept to their origin."""
    target = hop.url.join(URL(location))
    if target.scheme not in ("http", "https"):
        raise guard.InvalidTarget(f"redirect to unsupported scheme {target.scheme}")
    method, data = hop.method, hop.data
    if status == 303 or (status in (301, 302) and method == "POST"):
        method, data = "GET", None
    headers = hop.headers
    if target.origin() != hop.url.origin() and headers:
        # Credentials are for the host the user named, never for wherever
        # it redirects to.
        headers = {
            k: v for k, v in headers.items() if k.lower() not in _CREDENTIAL_HEADERS
        }
    return _Hop(
        url=target,
        method=method,
        data=data,
        headers=headers,
    )


async def _read_body(
    resp: aiohttp.ClientResponse,
    progress: Progress,
    *,
    max_body: int,
    truncate_body: bool,
) -> tuple[bytes, bool]:
    """The body up to ``max_body`` bytes, and whether it was cut there."""
    chunks: list[bytes] = []
    size = 0
    while chunk := await resp.content.read(65536):
        size += len(chunk)
        progress.body_bytes = size
        if len(progress.body_head) < BODY_HEAD_BYTES:
            need = BODY_HEAD_BYTES - len(progress.body_head)
            progress.body_head += chunk[:need]
        if size > max_body:
            if not truncate_body:
                raise BodyTooLarge(f"body larger than {max_body} bytes")
            chunks.append(chunk[: max_body - (size - len(chunk))])
            return b"".join(chunks), True
        chunks.append(chunk)
    return b"".join(chunks), False


def _note_peer(resp: aiohttp.ClientResponse, progress: Progress) -> str | None:
    """The address the response came from, as the socket reports it."""
    conn = resp.connection
    if conn is not None and conn.transport is not None:
        peername = conn.transport.get_extra_info("peername")
        if peername:
            progress.peer_ip = str(peername[0])
    return progress.peer_ip


async def fetch(
    session: aiohttp.ClientSession,
    url: str,
    *,
    method: str = "GET",
    headers: Mapping[str, str] | None = None,
    data: bytes | None = None,
    allow_private: bool,
    follow_redirects: bool = True,
    max_redirects: int = 5,
    max_body: int = DEFAULT_MAX_BODY,
    verify_tls: bool = True,
    truncate_body: bool = True,
    ssl_context: ssl.SSLContext | None = None,
    progress: Progress | None = None,
) -> Response:
    """One request (and its redirects). The caller owns the total deadline.

    Wrap the call in ``asyncio.timeout()``: aiohttp's own timeouts are per
    phase, and a server dripping a byte at a time would stretch them.
    Pass ``progress`` to read what was reached when this raises. The body
    is read until ``max_body`` bytes (after decompression): beyond that it
    is cut (``truncate_body``) or ``BodyTooLarge`` is raised.
    """
    trace = progress if progress is not None else Progress()
    current_progress.set(trace)
    ssl_option: ssl.SSLContext | bool = (ssl_context or True) if verify_tls else False
    hop = _Hop(
        url=URL(url, encoded=False),
        method=method,
        data=data,
        headers=headers,
    )
    redirects = 0
    while True:
        hop.url = _dialable(hop.url, allow_private=allow_private)
        trace.url = str(hop.url)
        async with session.request(
            hop.method,
            hop.url,
            headers=dict(hop.headers or {}),
            data=hop.data,
            allow_redirects=False,
            ssl=ssl_option,
            trace_request_ctx=trace,
        ) as resp:
            trace.first_byte = time.monotonic()
            trace.status = resp.status
            trace.headers = dict(resp.headers.items())
            trace.tls = response_cert(resp) or trace.tls
            location = resp.headers.get("Location")
            if follow_redirects and resp.status in _REDIRECTS and location:
                if redirects >= max_redirects:
                    raise TooManyRedirects(f"more than {max_redirects} redirects")
                redirects = trace.redirects = redirects + 1
                hop = _redirect_hop(hop, resp.status, location)
                continue
            peer = _note_peer(resp, trace)
            body, truncated = await _read_body(
                resp, trace, max_body=max_body, truncate_body=truncate_body
            )
            end = trace.finished = time.monotonic()
            return Response(
                url=str(hop.url),
                status=resp.status,
                headers=dict(resp.headers.items()),
                body=body,
                body_truncated=truncated,
                redirects=redirects,
                peer_ip=peer,
                timings=trace.timings(end),
                tls=trace.tls,
            )
