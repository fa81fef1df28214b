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
import contextvars
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
# Response header limits: one line, and how many (aiohttp refuses beyond).
MAX_HEADER_LINE = 8190
MAX_HEADERS = 100
# How much of a body a Response keeps for evidence when the caller asks.
BODY_HEAD_BYTES = 4096
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


# The request being made in this task; the socket factory notes the address
# it dials there (happy-eyeballs subtasks copy the context, sharing the object).
_current_trace: contextvars.ContextVar[_Trace | None] = contextvars.ContextVar(
    "outbound_trace", default=None
)


def _socket_factory(allow_private: bool):  # type: ignore[no-untyped-def]
    def factory(addr_info: tuple[Any, ...]) -> socket.socket:
        family, type_, proto, _, sockaddr = addr_info
        if not allow_private:
            ip = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
            if address_is_blocked(ip):
                raise BlockedAddress(str(ip))
        trace = _current_trace.get()
        if trace is not None:
            trace.peer_ip = str(sockaddr[0])
        return socket.socket(family=family, type=type_, proto=proto)

    return factory


class _PhaseTimingConnector(aiohttp.TCPConnector):
    """Notes when TCP is connected, so the TLS handshake is timed apart.

    asyncio's ``create_connection(sock=...)`` calls the protocol factory
    right after the socket connected and before the TLS handshake starts;
    wrapping that factory marks the boundary between the two phases.
    """

    async def _wrap_create_connection(  # type: ignore[override]
        self, *args: Any, **kwargs: Any
    ) -> Any:
        trace = _current_trace.get()
        if trace is not None and args and kwargs.get("ssl"):
            factory = args[0]

            def timed_factory() -> Any:
                trace.tcp_connected = time.monotonic()
                return factory()

            args = (timed_factory, *args[1:])
        transport, protocol = await super()._wrap_create_connection(*args, **kwargs)
        if trace is not None:
            # Read the certificate here: by the time a short response is
            # handed over, aiohttp may already have released the connection.
            trace.tls = _transport_cert(transport)
        return transport, protocol


def ssl_context_with(extra_ca_file: str | None = None) -> ssl.SSLContext:
    """The system trust store, plus an extra CA bundle when one is given."""
    context = ssl.create_default_context()
    if extra_ca_file:
        context.load_verify_locations(cafile=extra_ca_file)
    return context


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
        trace_configs=[_build_trace_config()],
    )


@dataclass
class Timings:
    dns_ms: float | None = None
    connect_ms: float | None = None  # TCP connect
    tls_ms: float | None = None  # TLS handshake (https only)
    first_byte_ms: float | None = None  # since the start, redirects included
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


_CREDENTIAL_HEADERS = {"authorization", "cookie", "proxy-authorization"}


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
    connect_ms: float = 0.0  # TCP and TLS together, as aiohttp reports it
    peer_ip: str | None = None
    # What the request got to, so a caller holding this object can still
    # read it after fetch raised (timeout, body too large): the evidence.
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


# The public name for callers that want the evidence of a failed fetch.
Progress = _Trace


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


def certificate_summary(der: bytes) -> dict[str, Any]:
    """The parts of a certificate an operator needs, from its DER bytes.

    Parsed with ``cryptography`` rather than ``getpeercert()``, which returns
    nothing when verification is off (verify_tls=false, or the probe that
    fetches an invalid certificate for the evidence).
    """
    from cryptography import x509

    try:
        cert = x509.load_der_x509_certificate(der)
    except ValueError:
        return {"error": "unparseable certificate"}
    try:
        sans = cert.extensions.get_extension_for_class(
            x509.SubjectAlternativeName
        ).value.get_values_for_type(x509.DNSName)
    except x509.ExtensionNotFound:
        sans = []
    return {
        "subject": cert.subject.rfc4514_string()[:300],
        "issuer": cert.issuer.rfc4514_string()[:300],
        "not_before": cert.not_valid_before_utc.isoformat(),
        "not_after": cert.not_valid_after_utc.isoformat(),
        "serial": format(cert.serial_number, "x")[:64],
        "dns_names": [str(name)[:253] for name in sans[:10]],
        "self_signed": cert.issuer == cert.subject,
    }


def _peer_cert(resp: aiohttp.ClientResponse) -> dict[str, Any] | None:
    conn = resp.connection
    if conn is None or conn.transport is None:
        return None
    return _transport_cert(conn.transport)


def _transport_cert(transport: Any) -> dict[str, Any] | None:
    ssl_object = transport.get_extra_info("ssl_object")
    if ssl_object is None:
        return None
    info: dict[str, Any] = {"version": ssl_object.version()}
    der = ssl_object.getpeercert(binary_form=True)
    if der:
        info.update(certificate_summary(der))
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
    ssl_context: ssl.SSLContext | None = None,
    progress: _Trace | None = None,
) -> Response:
    """One request (and its redirects). The caller owns the total deadline.

    Wrap the call in ``asyncio.timeout()``: aiohttp's own timeouts are per
    phase, and a server dripping a byte at a time would stretch them.
    Pass ``progress`` to read what was reached when this raises. The body
    is read until ``max_body`` bytes (after decompression): beyond that it
    is cut (``truncate_body``) or ``BodyTooLarge`` is raised.
    """
    trace = progress if progress is not None else _Trace()
    _current_trace.set(trace)
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
        ssl_option: ssl.SSLContext | bool = (
            (ssl_context or True) if verify_tls else False
        )
        trace.url = str(current)
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
            trace.first_byte = time.monotonic()
            trace.status = resp.status
            trace.headers = {k: v for k, v in resp.headers.items()}
            trace.tls = _peer_cert(resp) or trace.tls
            location = resp.headers.get("Location")
            if (
                follow_redirects
                and resp.status in (301, 302, 303, 307, 308)
                and location
            ):
                if redirects >= max_redirects:
                    raise TooManyRedirects(f"more than {max_redirects} redirects")
                redirects += 1
                trace.redirects = redirects
                origin = current.origin()
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
                if current.origin() != origin and headers:
                    # Credentials are for the host the user named, never for
                    # wherever it redirects to.
                    headers = {
                        k: v
                        for k, v in headers.items()
                        if k.lower() not in _CREDENTIAL_HEADERS
                    }
                continue
            peer = trace.peer_ip
            if resp.connection is not None and resp.connection.transport is not None:
                peername = resp.connection.transport.get_extra_info("peername")
                if peername:
                    peer = trace.peer_ip = str(peername[0])
            tls = trace.tls
            chunks: list[bytes] = []
            size = 0
            truncated = False
            while True:
                chunk = await resp.content.read(65536)
                if not chunk:
                    break
                size += len(chunk)
                trace.body_bytes = size
                if len(trace.body_head) < BODY_HEAD_BYTES:
                    need = BODY_HEAD_BYTES - len(trace.body_head)
                    trace.body_head += chunk[:need]
                if size > max_body:
                    if not truncate_body:
                        raise BodyTooLarge(f"body larger than {max_body} bytes")
                    chunks.append(chunk[: max_body - (size - len(chunk))])
                    truncated = True
                    break
                chunks.append(chunk)
            end = trace.finished = time.monotonic()
            return Response(
                url=str(current),
                status=resp.status,
                headers={k: v for k, v in resp.headers.items()},
                body=b"".join(chunks),
                body_truncated=truncated,
                redirects=redirects,
                peer_ip=peer,
                timings=trace.timings(end),
                tls=tls,
            )


async def guarded_connect(
    host: str,
    port: int,
    *,
    allow_private: bool,
    ssl_context: ssl.SSLContext | None = None,
    progress: _Trace | None = None,
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A raw TCP (optionally TLS) connection under the same address rule.

    For the TCP check and the certificate probe. Resolves, drops blocked
    addresses, and dials the exact sockaddr it checked, trying each allowed
    address in turn. Times DNS, TCP connect and TLS into ``progress``. The
    caller owns the total deadline (``asyncio.timeout()``).
    """
    trace = progress if progress is not None else _Trace()
    loop = asyncio.get_running_loop()
    ip = host_ip(host)
    if ip is not None:
        family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
        sockaddr: tuple[Any, ...] = (
            (str(ip), port, 0, 0) if ip.version == 6 else (str(ip), port)
        )
        infos: list[tuple[Any, ...]] = [
            (family, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", sockaddr)
        ]
    else:
        began = time.monotonic()
        try:
            infos = await loop.getaddrinfo(
                host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
            )
        finally:
            trace.dns_ms += (time.monotonic() - began) * 1000
    allowed = [
        info
        for info in infos
        if allow_private
        or not address_is_blocked(ipaddress.ip_address(info[4][0].split("%", 1)[0]))
    ]
    if not allowed:
        raise BlockedAddress(str(infos[0][4][0]) if infos else host)
    last_error: OSError | None = None
    for family, type_, proto, _, addr in allowed:
        sock = socket.socket(family, type_, proto)
        sock.setblocking(False)
        began = time.monotonic()
        try:
            await loop.sock_connect(sock, addr)
        except OSError as exc:
            sock.close()
            last_error = exc
            continue
        except BaseException:
            sock.close()
            raise
        trace.peer_ip = str(addr[0])
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
