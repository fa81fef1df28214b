"""What the importers (``kuma``, ``gatus``) share: unique names, literals,
and the list of what could not be mapped."""

from __future__ import annotations

import json
import re
from typing import Any

# A plain path the JSON assertion grammar reads (monitors.checks.jsonpath):
# names and indexes, no filters or functions.
_PLAIN_PATH = re.compile(r"^[A-Za-z_][\w-]*(?:\.[A-Za-z_][\w-]*|\[\d+\])*$")


class Notes:
    """What an importer could not map, or mapped only approximately: shown
    to the person importing, never dropped silently."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, where: str, what: str) -> None:
        self.lines.append(f"{where}: {what}")


class Names:
    """Unique item names: a second "API" becomes "API (2)"."""

    def __init__(self, limit: int) -> None:
        self.seen: set[str] = set()
        self.limit = limit

    def take(self, wanted: str) -> str:
        base = (wanted or "").strip()[: self.limit] or "unnamed"
        name, count = base, 1
        while name in self.seen:
            count += 1
            suffix = f" ({count})"
            name = base[: self.limit - len(suffix)] + suffix
        self.seen.add(name)
        return name


def json_literal(text: str) -> str:
    """An expected value as a JSON literal: numbers, booleans and null as
    they are, anything else as a string."""
    value = text.strip()
    try:
        parsed = json.loads(value)
    except ValueError:
        return json.dumps(value)
    if isinstance(parsed, (int, float, bool)) or parsed is None:
        return value
    return json.dumps(value)


def json_assertion(path: str, expected: str | None) -> str | None:
    """``data.status`` + ``ok`` -> ``$.data.status == "ok"``; None when the
    path is more than names and indexes (a JSONata or Gatus function)."""
    path = path.strip()
    if path.startswith("$."):
        path = path[2:]
    if not _PLAIN_PATH.match(path):
        return None
    if expected is None:
        return f"$.{path}"
    return f"$.{path} == {json_literal(expected)}"


def first_address(value: Any) -> tuple[str, list[str]]:
    """The first of comma-separated addresses, and the rest."""
    parts = [p.strip() for p in str(value or "").split(",") if p.strip()]
    return (parts[0] if parts else ""), parts[1:]
