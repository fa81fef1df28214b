"""The aiohttp session every outbound HTTP request uses.

Its resolver drops blocked addresses from DNS answers (hosts-file names
included), and its socket factory checks the exact sockaddr it is about to
connect to: the address the kernel dials, so there is no window between
resolving and connecting for DNS rebinding, and every redirect hop passes
through it again.
"""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Callable
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

from . import guard
from .certificates import transport_cert
from .tracing import build_trace_config, current_progress

# Response header limits: one line, and how many (aiohttp refuses beyond).
MAX_HEADER_LINE = 8190
MAX_HEADERS = 100
DEFAULT_USER_AGENT = "UptimeMonitor/1.0"


class GuardedResolver(AbstractResolver):
    """Drops blocked addresses from DNS answers."""

    def __init__(self, *, allow_private: bool) -> None:
        self._inner = ThreadedResolver()
        self._allow_private = allow_private

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        if self._allow_private:
            return results
        allowed = [
            r
            for r in results
            if not guard.address_is_blocked(guard.sockaddr_ip(r["host"]))
        ]
        if not allowed:
            raise guard.BlockedAddress(results[0]["host"] if results else host)
        return allowed

    async def close(self) -> None:
        await self._inner.close()


def _socket_factory(allow_private: bool) -> Callable[[tuple[Any, ...]], socket.socket]:
    def factory(addr_info: tuple[Any, ...]) -> socket.socket:
        family, type_, proto, _, sockaddr = addr_info
        if not allow_private:
            ip = guard.sockaddr_ip(sockaddr[0])
            if guard.address_is_blocked(ip):
                raise guard.BlockedAddress(str(ip))
        progress = current_progress.get()
        if progress is not None:
            progress.peer_ip = str(sockaddr[0])
        return socket.socket(family=family, type=type_, proto=proto)

    return factory


class _PhaseTimingConnector(aiohttp.TCPConnector):
    """Notes when TCP is connected, so the TLS handshake is timed apart.

    asyncio's ``create_connection(sock=...)`` calls the protocol factory
    right after the socket connected and before the TLS handshake starts;
    wrapping that factory marks the boundary between the two phases.
    """

    async def _wrap_create_connection(self, *args: Any, **kwargs: Any) -> Any:
        progress = current_progress.get()
        if progress is not None and args and kwargs.get("ssl"):
            factory = args[0]

            def timed_factory() -> Any:
                progress.tcp_connected = time.monotonic()
                return factory()

            args = (timed_factory, *args[1:])
        transport, protocol = await super()._wrap_create_connection(*args, **kwargs)
        if progress is not None:
            # Read the certificate here: by the time a short response is
            # handed over, aiohttp may already have released the connection.
            progress.tls = transport_cert(transport)
        return transport, protocol


def guarded_session(
    *,
    allow_private: bool,
    user_agent: str = DEFAULT_USER_AGENT,
    verify_tls: bool = True,
    ssl_context: ssl.SSLContext | None = None,
) -> aiohttp.ClientSession:
    """A session whose every connection goes through the address guard."""
    connector = _PhaseTimingConnector(
        resolver=GuardedResolver(allow_private=allow_private),
        socket_factory=_socket_factory(allow_private),
        use_dns_cache=False,
        force_close=True,  # each check measures its own connect and TLS time
        limit=0,
        ssl=(ssl_context or True) if verify_tls else False,
    )
    return aiohttp.ClientSession(
        connector=connector,
        headers={"User-Agent": user_agent},
        # Decompressed in bounded steps (aiohttp >= 3.13); fetch caps the
        # decompressed size, so a gzip bomb stops at max_body.
        auto_decompress=True,
        trust_env=False,  # never route checks through a proxy from the env
        max_line_size=MAX_HEADER_LINE,
        max_field_size=MAX_HEADER_LINE,
        max_headers=MAX_HEADERS,
        timeout=aiohttp.ClientTimeout(total=None),
        trace_configs=[build_trace_config()],
    )
