"""Make what the outside world sends storable: the one sanitiser.

Targets, resolvers, certificates and webhook receivers decide what bytes we
get. PostgreSQL refuses some of them: ``text`` and ``jsonb`` cannot hold NUL
(``\\u0000 cannot be converted to text``), and neither can hold a lone UTF-16
surrogate (what ``surrogateescape`` decoding makes of invalid UTF-8). One such
value used to fail a whole batch's INSERT, so one hostile target could erase
every other monitor's ticks in its slot.

Every string from outside that reaches the database passes through here:
NUL and other undecodable pieces are written as visible escapes (``\\x00``,
``\\xff``, ``\\ud800``) so evidence stays honest about what was received;
length and nesting are bounded; non-finite floats (which JSON cannot hold)
become text.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

ELLIPSIS = "…"
# Bounds for JSON evidence: deep enough for any evidence we build ourselves,
# shallow enough that a hostile document cannot recurse the encoder.
MAX_DEPTH = 8
MAX_ITEMS = 200
MAX_STRING = 16_384
MAX_KEY = 200

# NUL, and every UTF-16 surrogate (lone by definition in a Python str).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if 0xDC80 <= code <= 0xDCFF:
        # surrogateescape's stand-in for one raw byte that was not UTF-8.
        return f"\\x{code - 0xDC00:02x}"
    if code == 0:
        return "\\x00"
    return f"\\u{code:04x}"


def clean_text(value: object, *, limit: int = MAX_STRING) -> str:
    """A str PostgreSQL stores as is: no NUL, valid UTF-8, at most ``limit``.

    Bytes are decoded as UTF-8 with every invalid byte shown as ``\\xNN``.
    """
    if value is None:
        return ""
    if isinstance(value, bytes | bytearray | memoryview):
        text = bytes(value).decode("utf-8", errors="backslashreplace")
    else:
        text = value if isinstance(value, str) else str(value)
    text = _UNSTORABLE.sub(_escape, text)
    if len(text) > limit:
        text = text[: max(limit - 1, 0)] + ELLIPSIS
    return text


def clean_json(value: Any, *, limit: int = MAX_STRING, _depth: int = 0) -> Any:
    """A JSON-serialisable copy of ``value`` that PostgreSQL's jsonb accepts.

    Strings (keys too) go through :func:`clean_text`; containers are cut at
    ``MAX_ITEMS`` entries and ``MAX_DEPTH`` levels; anything that is not JSON
    (bytes, datetimes, sets, NaN) becomes text.
    """
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, str | bytes | bytearray | memoryview):
        return clean_text(value, limit=limit)
    if _depth >= MAX_DEPTH:
        return ELLIPSIS
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for index, (key, item) in enumerate(value.items()):
            if index >= MAX_ITEMS:
                out[ELLIPSIS] = f"{len(value) - MAX_ITEMS} more left out"
                break
            out[clean_text(key, limit=MAX_KEY)] = clean_json(
                item, limit=limit, _depth=_depth + 1
            )
        return out
    if isinstance(value, list | tuple | set | frozenset):
        items = list(value)
        cleaned = [
            clean_json(item, limit=limit, _depth=_depth + 1)
            for item in items[:MAX_ITEMS]
        ]
        if len(items) > MAX_ITEMS:
            cleaned.append(f"{len(items) - MAX_ITEMS} more left out")
        return cleaned
    return clean_text(value, limit=limit)
