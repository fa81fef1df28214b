"""Turn a tick's bounded evidence (``Tick.details``) into display rows.

The evidence comes from the monitored site (headers, body, certificate
names): it is data, never markup. Everything here returns plain strings and
the templates print them with autoescape; nothing is marked safe.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime

# Keys shown in their own section; anything else is listed as "other".
_KNOWN = frozenset(
    {
        "error",
        "message",
        "resolved_ip",
        "timings",
        "status_code",
        "headers",
        "body",
        "body_bytes_read",
        "certificate",
        "final_url",
        "redirects",
    }
)
_TIMING_LABELS = (
    ("dns_ms", "DNS lookup"),
    ("connect_ms", "TCP connect"),
    ("tls_ms", "TLS handshake"),
    ("first_byte_ms", "First byte"),
    ("total_ms", "Total"),
)
_MAX_OTHER_TEXT = 2000


def _text(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)[:_MAX_OTHER_TEXT]
    return str(value)[:_MAX_OTHER_TEXT]


def _when(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return parse_datetime(value)
    except ValueError:
        return None


def certificate_summary(
    cert: Any, *, now: datetime | None = None
) -> dict[str, Any] | None:
    if not isinstance(cert, dict) or not cert:
        return None
    expires = _when(cert.get("not_after"))
    days_left = None
    if expires is not None:
        days_left = (expires - (now or timezone.now())).days
    names = cert.get("dns_names")
    return {
        "subject": _text(cert.get("subject", "")),
        "issuer": _text(cert.get("issuer", "")),
        "not_before": _when(cert.get("not_before")),
        "not_after": expires,
        "days_left": days_left,
        "dns_names": [_text(n) for n in names] if isinstance(names, list) else [],
        "self_signed": bool(cert.get("self_signed")),
    }


def evidence_summary(
    details: Any, *, now: datetime | None = None
) -> dict[str, Any] | None:
    """Display rows for one piece of evidence; None when there is none."""
    if not isinstance(details, dict) or not details:
        return None
    timings = details.get("timings")
    headers = details.get("headers")
    body = details.get("body")
    return {
        "error": _text(details.get("error") or ""),
        "message": _text(details.get("message") or ""),
        "resolved_ip": _text(details.get("resolved_ip") or ""),
        "final_url": _text(details.get("final_url") or ""),
        "redirects": details.get("redirects"),
        "status_code": details.get("status_code"),
        "timings": [
            (label, timings[key])
            for key, label in _TIMING_LABELS
            if isinstance(timings, dict) and timings.get(key) is not None
        ],
        "headers": [(_text(k), _text(v)) for k, v in headers.items()]
        if isinstance(headers, dict)
        else [],
        "body": body if isinstance(body, str) else None,
        "body_bytes_read": details.get("body_bytes_read"),
        "certificate": certificate_summary(details.get("certificate"), now=now),
        "other": [
            (_text(k), _text(v))
            for k, v in sorted(details.items())
            if k not in _KNOWN and v not in (None, "", [], {})
        ],
    }
