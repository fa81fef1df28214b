"""The address rule: which destinations outbound requests may reach.

Pure functions over addresses and URLs, no network I/O except the optional
DNS look-up of ``check_destination``. The session, the raw connector and the
up-front checks of the API and forms all call these, so there is one rule.
Call them through this module (``guard.address_is_blocked``) so that one
name decides everywhere.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

MAX_URL_LENGTH = 2000

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


def sockaddr_ip(host: str | int) -> IPAddress:
    """The address of a resolved sockaddr host, without an IPv6 zone id."""
    return ipaddress.ip_address(str(host).split("%", 1)[0])


def host_ip(host: str) -> IPAddress | None:
    """The address a numeric host means, in any spelling; None for names."""
    host = host.strip("[]")
    try:
        return sockaddr_ip(host)
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
    addresses = {sockaddr_ip(info[4][0]) for info in infos}
    if addresses and all(address_is_blocked(a) for a in addresses):
        raise BlockedAddress(str(sorted(addresses, key=str)[0]))
