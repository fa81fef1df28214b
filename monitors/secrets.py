"""A monitor's secrets: its basic-auth password and request header values.

Header values are shown masked (the API, the dashboard and admin forms), and
a masked value sent back stands for the stored one, so a read-modify-write
round trip never overwrites a secret with its mask. Stored secrets follow the
monitor only while its URL keeps the same origin: they were given for that
site, and a new URL must not receive them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol
from urllib.parse import urlsplit

MASK = "••••"
_DEFAULT_PORTS = {"http": 80, "https": 443}
# Shorter values show no characters at all: two out of a handful is a hint.
_SHOW_TAIL_FROM = 12


class HasSecrets(Protocol):
    url: str
    auth_password: str
    http_headers: Any


def mask_secret(value: str) -> str:
    """The mask shown for a secret: the last two characters of long values
    tell two keys apart, and nothing else is shown."""
    if len(value) >= _SHOW_TAIL_FROM:
        return MASK + value[-2:]
    return MASK * 2


def headers_masked(
    headers: Mapping[str, str], *, sent: Mapping[str, Any] | None = None
) -> dict[str, str]:
    """Header values masked, except those the caller sent in this request."""
    sent = sent or {}
    return {
        name: value if sent.get(name) == value else mask_secret(value)
        for name, value in headers.items()
    }


def _origin(url: str) -> tuple[str, str, int | None] | str:
    text = url.strip()
    parts = urlsplit(text)
    try:
        port = parts.port
    except ValueError:
        return text.lower()
    if not parts.scheme or not parts.hostname:
        # Not a URL with a host (a TCP host:port, a DNS name): compare whole.
        return text.lower()
    scheme = parts.scheme.lower()
    return (scheme, parts.hostname.rstrip("."), port or _DEFAULT_PORTS.get(scheme))


def secrets_kept_on_url_change(old_url: str, new_url: str) -> bool:
    """Whether stored secrets may stay: the same scheme, host and port."""
    return _origin(old_url) == _origin(new_url)


def _headers_after_edit(stored: Mapping[str, str], sent: Any, *, keep: bool) -> Any:
    if sent is None:
        return dict(stored) if keep else {}
    if not isinstance(sent, Mapping):
        return sent  # not an object: validate_headers() names the error
    result: dict[str, Any] = {}
    for name, value in sent.items():
        if not (isinstance(value, str) and value.startswith(MASK)):
            result[name] = value
        elif name in stored and value == mask_secret(stored[name]):
            if keep:
                result[name] = stored[name]
        else:
            raise ValueError(
                f"The value of {name} is masked; send its real value instead."
            )
    return result


def monitor_secrets_after_edit(
    monitor: HasSecrets | None,
    *,
    url: str,
    password: str | None,
    headers: Any,
) -> dict[str, Any]:
    """The ``auth_password`` and ``http_headers`` to store after an edit.

    ``monitor`` is the stored monitor (None on create); ``password`` None and
    ``headers`` None mean "not sent": keep what is stored, as do masked header
    values. On a change of origin nothing stored is kept: only what this
    request sends. Raises ValueError for a masked value that stands for
    nothing stored.
    """
    old_url = monitor.url if monitor is not None else url
    keep = secrets_kept_on_url_change(old_url, url)
    stored_password = monitor.auth_password if monitor is not None else ""
    stored_headers = (monitor.http_headers if monitor is not None else None) or {}
    if password is None:
        password = stored_password if keep else ""
    return {
        "auth_password": password,
        "http_headers": _headers_after_edit(stored_headers, headers, keep=keep),
    }
