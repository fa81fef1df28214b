"""TLS certificate helpers: fetch a certificate for the evidence, and the
expiry arithmetic the recorder uses to announce certificates near expiry."""

from __future__ import annotations

import asyncio
import ssl
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from uptime import outbound

from .base import CheckContext


def _unverified_context() -> ssl.SSLContext:
    # Only to read the certificate of a server whose handshake already
    # failed verification; nothing is sent over this connection.
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


async def probe_certificate(
    url: str, *, ctx: CheckContext, timeout: float
) -> dict[str, Any] | None:
    """The certificate summary of an https URL's server, unverified.

    Goes through the same address guard as every check; None when the
    server cannot be reached or speaks no TLS.
    """
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        return None
    progress = outbound.Progress()
    try:
        async with asyncio.timeout(timeout):
            _reader, writer = await outbound.guarded_connect(
                parts.hostname,
                parts.port or 443,
                allow_private=ctx.allow_private,
                ssl_context=_unverified_context(),
                progress=progress,
            )
    except (OSError, TimeoutError, ssl.SSLError, ValueError):
        return None
    try:
        ssl_object = writer.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object else None
        if not der:
            return None
        summary = {"version": ssl_object.version()}
        summary.update(outbound.certificate_summary(der))
        return summary
    finally:
        writer.close()


def days_left(not_after: datetime, now: datetime) -> int:
    """Whole days until expiry, negative once expired (-2: two days ago)."""
    return int((not_after - now).total_seconds() / 86400)


def threshold_crossed(
    left: int, thresholds: tuple[int, ...], already: int | None
) -> int | None:
    """The threshold to announce now, if any.

    ``already`` is the smallest threshold announced for this certificate.
    With 14 and 7: 13 days left announces 14 once; 6 days left announces 7
    once; jumping straight from 20 to 5 announces only 7.
    """
    crossed = [t for t in thresholds if left <= t]
    if not crossed:
        return None
    smallest = min(crossed)
    if already is not None and already <= smallest:
        return None
    return smallest
