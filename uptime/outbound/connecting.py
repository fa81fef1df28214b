"""``guarded_connect``: a raw TCP (or TLS) connection under the address rule."""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from typing import Any

from . import guard
from .tracing import Progress

AddrInfo = tuple[Any, ...]


async def _resolve(host: str, port: int, progress: Progress) -> list[AddrInfo]:
    """The addresses to try: a numeric host as it is, a name through DNS."""
    ip = guard.host_ip(host)
    if ip is not None:
        family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
        sockaddr: AddrInfo = (
            (str(ip), port, 0, 0) if ip.version == 6 else (str(ip), port)
        )
        return [(family, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", sockaddr)]
    began = time.monotonic()
    try:
        return await asyncio.get_running_loop().getaddrinfo(
            host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
        )
    finally:
        progress.dns_ms += (time.monotonic() - began) * 1000


async def _dial(addr_info: AddrInfo) -> socket.socket:
    """A connected non-blocking socket to exactly this sockaddr."""
    family, type_, proto, _, addr = addr_info
    sock = socket.socket(family, type_, proto)
    sock.setblocking(False)
    try:
        await asyncio.get_running_loop().sock_connect(sock, addr)
    except BaseException:
        sock.close()
        raise
    return sock


async def guarded_connect(
    host: str,
    port: int,
    *,
    allow_private: bool,
    ssl_context: ssl.SSLContext | None = None,
    progress: Progress | None = None,
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A raw TCP (optionally TLS) connection under the same address rule.

    For the TCP check and the certificate probe. Resolves, drops blocked
    addresses, and dials the exact sockaddr it checked, trying each allowed
    address in turn. Times DNS, TCP connect and TLS into ``progress``. The
    caller owns the total deadline (``asyncio.timeout()``).
    """
    trace = progress if progress is not None else Progress()
    infos = await _resolve(host, port, trace)
    allowed = [
        info
        for info in infos
        if allow_private or not guard.address_is_blocked(guard.sockaddr_ip(info[4][0]))
    ]
    if not allowed:
        raise guard.BlockedAddress(str(infos[0][4][0]) if infos else host)
    last_error: OSError | None = None
    for addr_info in allowed:
        began = time.monotonic()
        try:
            sock = await _dial(addr_info)
        except OSError as exc:
            last_error = exc
            continue
        trace.peer_ip = str(addr_info[4][0])
        connected = time.monotonic()
        trace.connect_ms += (connected - began) * 1000
        try:
            if ssl_context is None:
                return await asyncio.open_connection(sock=sock)
            streams = await asyncio.open_connection(
                sock=sock, ssl=ssl_context, server_hostname=host.strip("[]")
            )
        except BaseException:
            sock.close()
            raise
        trace.tls_ms = (time.monotonic() - connected) * 1000
        trace.connect_ms += trace.tls_ms
        return streams
    assert last_error is not None
    raise last_error
