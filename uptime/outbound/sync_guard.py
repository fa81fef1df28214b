"""The address guard for libraries that speak HTTP through ``requests``.

Apprise builds its own connections with ``requests`` (urllib3 underneath),
not through our aiohttp session. Inside ``guarded_requests()`` every
connection urllib3 opens on this thread is resolved here, each address is
checked with the same rule as the aiohttp session's socket factory, and
urllib3 is handed the checked numeric address to dial: the address checked is
the address connected to, so a name that re-resolves to a private address
between a check and the connect (DNS rebinding) gains nothing. Redirect hops
open new connections and pass through the same check.

The two wrappers are installed once per process and step aside when no
``guarded_requests()`` block is active on the calling thread or task, so
other users of ``requests`` in the process are untouched.

Each block also records what the library will not tell its caller (Apprise
answers only True or False): the last HTTP status and its headers, the start
of the answer, and an address the guard refused.
"""

from __future__ import annotations

import contextvars
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import requests
import urllib3.util.connection as urllib3_connection

from . import guard

SNIPPET_BYTES = 200


@dataclass
class RequestsRecord:
    """What happened inside one ``guarded_requests()`` block."""

    allow_private: bool
    blocked: str | None = None
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    error: BaseException | None = None


_active: contextvars.ContextVar[RequestsRecord | None] = contextvars.ContextVar(
    "guarded_requests", default=None
)
_install_lock = threading.Lock()
_installed = False


def _checked_address(host: str, port: int, record: RequestsRecord) -> list[str]:
    """The addresses ``host`` resolves to that the guard allows, in order.
    Raises BlockedAddress when it resolves only to refused ones."""
    host = host.strip("[]")
    infos = socket.getaddrinfo(
        host, port, urllib3_connection.allowed_gai_family(), socket.SOCK_STREAM
    )
    allowed: list[str] = []
    for info in infos:
        ip = guard.sockaddr_ip(info[4][0])
        if guard.address_is_blocked(ip):
            record.blocked = str(ip)
        elif str(ip) not in allowed:
            allowed.append(str(ip))
    if not allowed:
        raise guard.BlockedAddress(record.blocked or host)
    return allowed


def _wrap_create_connection(original: Any) -> Any:
    def create_connection(
        address: tuple[str, int], *args: Any, **kwargs: Any
    ) -> socket.socket:
        record = _active.get()
        if record is None or record.allow_private:
            return original(address, *args, **kwargs)  # type: ignore[no-any-return]  # urllib3's own function
        host, port = address
        last: OSError | None = None
        for ip in _checked_address(host, port, record):
            try:
                # A numeric host: urllib3 dials exactly the checked address
                # (TLS still verifies the certificate for the URL's name).
                return original((ip, port), *args, **kwargs)  # type: ignore[no-any-return]  # urllib3's own function
            except OSError as exc:
                last = exc
        assert last is not None  # _checked_address returned at least one
        raise last

    create_connection.guarded = True  # type: ignore[attr-defined]  # marks the wrapper installed
    return create_connection


def _wrap_send(original: Any) -> Any:
    def send(self: requests.Session, request: Any, **kwargs: Any) -> Any:
        record = _active.get()
        if record is None:
            return original(self, request, **kwargs)
        try:
            resp = original(self, request, **kwargs)
        except Exception as exc:
            record.error = exc
            raise
        record.status = resp.status_code
        record.headers = dict(resp.headers)
        record.body = resp.content[:SNIPPET_BYTES]
        return resp

    return send


def install() -> None:
    """Put the two wrappers in place (once per process)."""
    global _installed
    with _install_lock:
        if _installed:
            return
        urllib3_connection.create_connection = _wrap_create_connection(
            urllib3_connection.create_connection
        )
        requests.Session.send = _wrap_send(requests.Session.send)  # type: ignore[method-assign]  # the one recording wrapper
        _installed = True


@contextmanager
def guarded_requests(*, allow_private: bool) -> Iterator[RequestsRecord]:
    """Run ``requests`` calls made in this block behind the address guard
    and record their outcome."""
    install()
    record = RequestsRecord(allow_private=allow_private)
    token = _active.set(record)
    try:
        yield record
    finally:
        _active.reset(token)
