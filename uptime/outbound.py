"""The one helper for outbound HTTP: checks, webhooks and Slack all use it.

It refuses private, loopback, link-local, CGNAT, multicast and reserved
destinations by the address it actually connects to. Three layers, so that no
spelling of an address slips through:

1. ``host_ip()`` turns every numeric spelling (``127.1``, ``2130706433``,
   ``0x7f000001``, ``[::ffff:127.0.0.1]``) into one canonical address before
   the request starts;
2. the resolver drops blocked addresses from DNS answers (hosts-file names
   included), so a name that resolves only to blocked addresses fails as
   ``blocked_address``;
3. the connector's socket factory checks the exact sockaddr it is about to
   connect to. That is the address the kernel dials, so there is no window
   between resolving and connecting for DNS rebinding, and every redirect hop
   passes through it again.

``UPTIME_ALLOW_PRIVATE_TARGETS=true`` lifts the address rule (self-hosted
installs, tests on loopback); callers pass it in as ``allow_private``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver
from yarl import URL

MAX_URL_LENGTH = 2000
DEFAULT_MAX_BODY = 1024 * 1024
DEFAULT_USER_AGENT = "UptimeMonitor/1.0"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Networks that ipaddress' flags do not all cover. NAT64 and 6to4 embed an
# IPv4 address, which is checked on its own below.
_EXTRA_BLOCKED = [
    ipaddress.ip_network("100.64.0.0/10"),  # CGNAT
    ipaddress.ip_network("192.0.0.0/24"),  # IETF protocol assignments
    ipaddress.ip_network("198.18.0.0/15"),  # benchmarking
    ipaddress.ip_network("fc00::/7"),  # unique local
]
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class BlockedAddress(OSError):
    """The destination is a private or otherwise non-public address."""

    def __init__(self, address: str) -> None:
        super().__init__(f"blocked non-public address {address}")
        self.address = address


class InvalidTarget(ValueError):
    """The URL cannot be fetched at all (scheme, host, length)."""


def address_is_blocked(ip: IPAddress) -> bool:
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return address_is_blocked(ip.ipv4_mapped)
        if ip.sixtofour is not None:
            return address_is_blocked(ip.sixtofour)
        if ip in _NAT64:
            return address_is_blocked(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    if (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    ):
        return True
    return any(ip in net for net in _EXTRA_BLOCKED if net.version == ip.version)


def host_ip(host: str) -> IPAddress | None:
    """The address a numeric host means, in any spelling; None for names."""
    host = host.strip("[]")
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        pass
    # inet_aton accepts the legacy forms browsers and curl accept too:
    # 127.1, 2130706433, 0x7f000001, 0177.0.0.1.
    if host and all(c in "0123456789abcdefxABCDEFX." for c in host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def validate_url(url: str) -> tuple[str, int]:
    """Check a user's URL without touching the network; return (host, port)."""
    if len(url) > MAX_URL_LENGTH:
        raise InvalidTarget(f"URL is longer than {MAX_URL_LENGTH} characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidTarget(f"URL does not parse: {exc}.") from None
    if parts.scheme not in ("http", "https"):
        raise InvalidTarget("Only http and https URLs can be checked.")
    host = parts.hostname or ""
    if not host:
        raise InvalidTarget("URL has no host.")
    if any(c.isspace() for c in url):
        raise InvalidTarget("URL contains whitespace.")
    if host_ip(host) is None:
        try:
            host.encode("idna")
        except UnicodeError:
            raise InvalidTarget(f"Host {host!r} is not a valid host name.") from None
        labels = host.rstrip(".").split(".")
        if any(not label or len(label) > 63 for label in labels):
            raise InvalidTarget(f"Host {host!r} is not a valid host name.")
    return host, port or (443 if parts.scheme == "https" else 80)


def check_destination(host: str, *, allow_private: bool, resolve: bool = True) -> None:
    """Refuse a host that is, or resolves only to, a blocked address.

    Used up front (API, forms) where it can tell; the connect-time guard is
    what actually enforces the rule.
    """
    if allow_private:
        return
    ip = host_ip(host)
    if ip is not None:
        if address_is_blocked(ip):
            raise BlockedAddress(str(ip))
        return
    if not resolve:
        return
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return  # does not resolve now; the check will report it as "dns"
    addresses = {ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in infos}
    if addresses and all(address_is_blocked(a) for a in addresses):
        raise BlockedAddress(str(sorted(addresses, key=str)[0]))


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
            if not address_is_blocked(ipaddress.ip_address(r["host"]))
        ]
        if not allowed:
            raise BlockedAddress(results[0]["host"] if results else host)
        return allowed

    async def close(self) -> None:
        await self._inner.close()


def _socket_factory(allow_private: bool):  # type: ignore[no-untyped-def]
    def factory(addr_info: tuple[Any, ...]) -> socket.socket:
        family, type_, proto, _, sockaddr = addr_info
        if not allow_private:
            ip = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
            if address_is_blocked(ip):
                raise BlockedAddress(str(ip))
        return socket.socket(family=family, type=type_, proto=proto)

    return factory


def guarded_session(
    *,
    allow_private: bool,
    user_agent: str = DEFAULT_USER_AGENT,
    verify_tls: bool = True,
) -> aiohttp.ClientSession:
    """A session whose every connection goes through the address guard."""
    connector = aiohttp.TCPConnector(
        resolver=GuardedResolver(allow_private=allow_private),
        socket_factory=_socket_factory(allow_private),
        use_dns_cache=False,
        force_close=True,  # each check measures its own connect and TLS time
        limit=0,
        ssl=None if verify_tls else False,
    )
    return aiohttp.ClientSession(
        connector=connector,
        headers={"User-Agent": user_agent},
        auto_decompress=True,
        trust_env=False,  # never route checks through a proxy from the env
        max_line_size=8190,
        max_field_size=8190,
        timeout=aiohttp.ClientTimeout(total=None),
        trace_configs=[_build_trace_config()],
    )


@dataclass
class Timings:
    dns_ms: float | None = None
    connect_ms: float | None = None
    first_byte_ms: float | None = None
    total_ms: float | None = None


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
class _Trace:
    started: float = field(default_factory=time.monotonic)
    dns_start: float | None = None
    dns_ms: float = 0.0
    conn_start: float | None = None
    connect_ms: float = 0.0


def _build_trace_config() -> aiohttp.TraceConfig:
    """Session-wide hooks that write into each request's own ``_Trace``."""
    config = aiohttp.TraceConfig()

    def hook(attr: str, start: bool):  # type: ignore[no-untyped-def]
        async def record(_session: Any, ctx: Any, _params: Any) -> None:
            trace = ctx.trace_request_ctx
            if not isinstance(trace, _Trace):
                return
            now = time.monotonic()
            if start:
                setattr(trace, f"{attr}_start", now)
            else:
                began = getattr(trace, f"{attr}_start")
                if began is not None:
                    total = f"{attr}_ms" if attr == "dns" else "connect_ms"
                    setattr(trace, total, getattr(trace, total) + (now - began) * 1000)

        return record

    config.on_dns_resolvehost_start.append(hook("dns", True))
    config.on_dns_resolvehost_end.append(hook("dns", False))
    config.on_connection_create_start.append(hook("conn", True))
    config.on_connection_create_end.append(hook("conn", False))
    return config


def _peer_cert(resp: aiohttp.ClientResponse) -> dict[str, Any] | None:
    conn = resp.connection
    if conn is None or conn.transport is None:
        return None
    ssl_object = conn.transport.get_extra_info("ssl_object")
    if ssl_object is None:
        return None
    info: dict[str, Any] = {"version": ssl_object.version()}
    cert = ssl_object.getpeercert()
    if cert:
        info["not_after"] = cert.get("notAfter")
        info["issuer"] = ", ".join(
            f"{k}={v}" for rdn in cert.get("issuer", ()) for (k, v) in rdn
        )
        info["subject"] = ", ".join(
            f"{k}={v}" for rdn in cert.get("subject", ()) for (k, v) in rdn
        )
    return info


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
    auth: aiohttp.BasicAuth | None = None,
    truncate_body: bool = True,
) -> Response:
    """One request (and its redirects). The caller owns the total deadline.

    Wrap the call in ``asyncio.timeout()``: aiohttp's own timeouts are per
    phase, and a server dripping a byte at a time would stretch them.
    """
    trace = _Trace()
    current = URL(url, encoded=False)
    redirects = 0
    while True:
        host = current.host or ""
        ip = host_ip(host)
        if ip is not None:
            if not allow_private and address_is_blocked(ip):
                raise BlockedAddress(str(ip))
            # Legacy numeric spellings are rejected by aiohttp; dial the
            # canonical form of the same address instead.
            if host.strip("[]") != str(ip) and ip.version == 4:
                current = current.with_host(str(ip))
        ssl_option: ssl.SSLContext | bool | None = None if verify_tls else False
        async with session.request(
            method,
            current,
            headers=dict(headers or {}),
            data=data,
            allow_redirects=False,
            ssl=ssl_option,
            auth=auth,
            trace_request_ctx=trace,
        ) as resp:
            first_byte = time.monotonic()
            location = resp.headers.get("Location")
            if (
                follow_redirects
                and resp.status in (301, 302, 303, 307, 308)
                and location
            ):
                if redirects >= max_redirects:
                    raise TooManyRedirects(f"more than {max_redirects} redirects")
                redirects += 1
                current = current.join(URL(location))
                if current.scheme not in ("http", "https"):
                    raise InvalidTarget(
                        f"redirect to unsupported scheme {current.scheme}"
                    )
                if resp.status == 303 or (
                    resp.status in (301, 302) and method == "POST"
                ):
                    method, data = "GET", None
                auth = auth if current.host == host else None
                continue
            peer = None
            if resp.connection is not None and resp.connection.transport is not None:
                peername = resp.connection.transport.get_extra_info("peername")
                if peername:
                    peer = str(peername[0])
            tls = _peer_cert(resp)
            chunks: list[bytes] = []
            size = 0
            truncated = False
            while True:
                chunk = await resp.content.read(65536)
                if not chunk:
                    break
                size += len(chunk)
                if size > max_body:
                    if not truncate_body:
                        raise BodyTooLarge(f"body larger than {max_body} bytes")
                    chunks.append(chunk[: max_body - (size - len(chunk))])
                    truncated = True
                    break
                chunks.append(chunk)
            end = time.monotonic()
            return Response(
                url=str(current),
                status=resp.status,
                headers={k: v for k, v in resp.headers.items()},
                body=b"".join(chunks),
                body_truncated=truncated,
                redirects=redirects,
                peer_ip=peer,
                timings=Timings(
                    dns_ms=round(trace.dns_ms, 1),
                    connect_ms=round(trace.connect_ms, 1),
                    first_byte_ms=round((first_byte - trace.started) * 1000, 1),
                    total_ms=round((end - trace.started) * 1000, 1),
                ),
                tls=tls,
            )


async def _post(
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    timeout: float,
    allow_private: bool,
    user_agent: str,
) -> Response:
    async with guarded_session(allow_private=allow_private, user_agent=user_agent) as s:
        async with asyncio.timeout(timeout):
            return await fetch(
                s,
                url,
                method="POST",
                headers=headers,
                data=body,
                allow_private=allow_private,
                follow_redirects=False,
                max_body=64 * 1024,
            )


def post(
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    timeout: float = 10.0,
    allow_private: bool,
    user_agent: str = DEFAULT_USER_AGENT,
) -> Response:
    """A guarded POST from synchronous code (alert delivery). No redirects."""
    return asyncio.run(
        _post(
            url,
            body,
            headers,
            timeout=timeout,
            allow_private=allow_private,
            user_agent=user_agent,
        )
    )
