"""The parsers behind the kinds' targets and options, shared by the checks
and by their declarations (so a form refuses what a check could not run).
Plain values in, a value or a ValueError with the user's message out; no
Django models here. ``registry.clean_options`` applies them per kind.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from uptime import outbound

HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
DNS_RECORD_TYPES = ("A", "AAAA", "CNAME", "MX", "TXT", "NS")
MAX_REQUEST_HEADERS = 30
MAX_REQUEST_BODY = 64 * 1024
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,100}$")
# Framing and hop-by-hop headers are aiohttp's to set; a user value would
# corrupt the request or smuggle a second one behind it.
_RESERVED_HEADERS = {
    "content-length",
    "transfer-encoding",
    "connection",
    "upgrade",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
}
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9_-]{1,63}(?<!-)$")

StatusRanges = list[tuple[int, int]]


def parse_status_codes(text: str) -> StatusRanges:
    """``"200-299,301, 404"`` -> [(200, 299), (301, 301), (404, 404)]."""
    ranges: StatusRanges = []
    for part in (text or "").split(","):
        part = part.strip()
        if not part:
            continue
        match = re.fullmatch(r"(\d{3})(?:\s*-\s*(\d{3}))?", part)
        if not match:
            raise ValueError(f"{part!r} is not a status code or a range like 200-299.")
        low = int(match[1])
        high = int(match[2] or match[1])
        if not (100 <= low <= 599 and 100 <= high <= 599):
            raise ValueError(f"{part!r}: status codes are between 100 and 599.")
        if low > high:
            raise ValueError(f"{part!r}: the range runs backwards.")
        ranges.append((low, high))
    if not ranges:
        raise ValueError("Give at least one status code or range, e.g. 200-399.")
    return ranges


def status_accepted(code: int, ranges: StatusRanges) -> bool:
    return any(low <= code <= high for low, high in ranges)


def url_host(url: str) -> str:
    """The lowercase host of an ``http(s)://`` or ``tcp://`` target; '' when
    it has none (the per-host limits read it)."""
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def parse_tcp_target(target: str) -> tuple[str, int]:
    """``host:port``, ``tcp://host:port`` or ``[v6]:port`` -> (host, port)."""
    text = (target or "").strip()
    if "://" not in text:
        text = "tcp://" + text
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise ValueError(
            "Write the target as host:port, e.g. db.example.com:5432."
        ) from None
    if parts.scheme != "tcp" or parts.path not in ("", "/") or parts.query:
        raise ValueError("Write the target as host:port, e.g. db.example.com:5432.")
    host = parts.hostname or ""
    if not host:
        raise ValueError("The target has no host.")
    if not port:
        raise ValueError("The target needs a port between 1 and 65535.")
    _check_host(host)
    return host, port


def tcp_target(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"tcp://{shown}:{port}"


def blocked_message(host: str, address: object) -> str:
    """Why a private target is refused, and how a self-hoster allows it."""
    return (
        f"{host} is a private or reserved address ({address}); checks only "
        "reach public addresses. A self-hosted install can allow private "
        "targets by setting UPTIME_ALLOW_PRIVATE_TARGETS=true."
    )


def require_public(host: str, *, allow_private: bool) -> None:
    """The address rule, said up front as the target's error."""
    try:
        outbound.check_destination(host, allow_private=allow_private)
    except outbound.BlockedAddress as exc:
        raise ValueError(blocked_message(host, exc.address)) from None


def _check_host(host: str) -> None:
    if outbound.host_ip(host) is not None:
        return
    name = host.rstrip(".")
    if not name or len(name) > 253 or not all(_LABEL.match(x) for x in name.split(".")):
        raise ValueError(f"{host!r} is not a valid host name.")


def parse_dns_name(name: str) -> str:
    value = (name or "").strip().lower().rstrip(".")
    if value.startswith("dns://"):
        value = value[6:].rstrip("/")
    try:
        value = value.encode("idna").decode("ascii")
    except UnicodeError:
        raise ValueError(f"{name!r} is not a valid domain name.") from None
    _check_host(value)
    if outbound.host_ip(value) is not None:
        raise ValueError("Give a domain name to resolve, not an IP address.")
    return value


def parse_resolver(text: str) -> tuple[str, int]:
    """``1.1.1.1``, ``1.1.1.1:53``, ``[2606:4700::1111]:53`` -> (ip, port)."""
    value = (text or "").strip()
    port = 53
    host = value
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        if rest:
            if not rest.startswith(":") or not rest[1:].isdigit():
                raise ValueError("Write the resolver as ip or ip:port.")
            port = int(rest[1:])
    elif value.count(":") == 1:
        host, _, raw_port = value.partition(":")
        if not raw_port.isdigit():
            raise ValueError("Write the resolver as ip or ip:port.")
        port = int(raw_port)
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(
            "The resolver must be an IP address (optionally :port), not a name."
        ) from None
    if not 1 <= port <= 65535:
        raise ValueError("The resolver port must be between 1 and 65535.")
    return str(ip), port


def _host_header_allowed() -> bool:
    from django.conf import settings

    return bool(getattr(settings, "UPTIME_ALLOW_HOST_HEADER", False))


def validate_headers(headers: Any) -> dict[str, str]:
    if headers in (None, ""):
        return {}
    if not isinstance(headers, Mapping):
        raise ValueError('Give headers as an object: {"Name": "value"}.')
    if len(headers) > MAX_REQUEST_HEADERS:
        raise ValueError(f"At most {MAX_REQUEST_HEADERS} headers.")
    clean: dict[str, str] = {}
    for name, value in headers.items():
        if not isinstance(name, str) or not _TOKEN.match(name):
            raise ValueError(f"{str(name)[:100]!r} is not a valid header name.")
        if name.lower() in _RESERVED_HEADERS:
            raise ValueError(f"{name} is set by the checker and cannot be overridden.")
        if name.lower() == "host" and not _host_header_allowed():
            # A Host of one's choosing asks a shared address (CDN, load
            # balancer) for any site behind it, not the one in the URL.
            raise ValueError(
                f"{name} comes from the URL; this server does not allow setting "
                "it (UPTIME_ALLOW_HOST_HEADER)."
            )
        if not isinstance(value, str):
            raise ValueError(f"The value of {name} must be a string.")
        if len(value) > 1000 or any(c in value for c in "\r\n\0"):
            raise ValueError(
                f"The value of {name} must be one line of at most 1000 characters."
            )
        clean[name] = value
    return clean
