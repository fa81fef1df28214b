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

One module per job: ``guard`` (the address rule), ``session`` (the guarded
aiohttp session), ``tracing`` (phase timings of one request),
``certificates`` (TLS trust and certificate summaries), ``fetching``
(``fetch``), ``connecting`` (raw TCP/TLS), ``posting`` (sync ``post``).
Callers use the names re-exported here: ``from uptime import outbound``.
"""

from __future__ import annotations

from .certificates import certificate_summary, ssl_context_with
from .connecting import guarded_connect
from .fetching import (
    BODY_HEAD_BYTES,
    DEFAULT_MAX_BODY,
    BodyTooLarge,
    Response,
    TooManyRedirects,
    fetch,
)
from .guard import (
    BlockedAddress,
    InvalidTarget,
    address_is_blocked,
    check_destination,
    host_ip,
    validate_url,
)
from .posting import post
from .session import (
    MAX_HEADER_LINE,
    MAX_HEADERS,
    guarded_session,
)
from .tracing import Progress

__all__ = [
    "BODY_HEAD_BYTES",
    "DEFAULT_MAX_BODY",
    "MAX_HEADERS",
    "MAX_HEADER_LINE",
    "BlockedAddress",
    "BodyTooLarge",
    "InvalidTarget",
    "Progress",
    "Response",
    "TooManyRedirects",
    "address_is_blocked",
    "certificate_summary",
    "check_destination",
    "fetch",
    "guarded_connect",
    "guarded_session",
    "host_ip",
    "post",
    "ssl_context_with",
    "validate_url",
]
