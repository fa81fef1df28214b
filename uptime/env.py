"""Small typed readers for settings that come from the environment.

Each reader fails loudly with the variable's name, so a typo in a deployment
stops the process at start instead of running with a surprising default.
"""

from __future__ import annotations

import os
import re


class ConfigError(Exception):
    pass


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name}={raw!r} is not a boolean (use true or false)")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not an integer") from None
    if minimum is not None and value < minimum:
        raise ConfigError(f"{name}={value} is below the minimum of {minimum}")
    return value


def env_list(name: str, default: str = "") -> list[str]:
    raw = os.environ.get(name, default)
    return [item.strip() for item in raw.split(",") if item.strip()]


_RATE = re.compile(r"^([1-9][0-9]*)/(s|sec|second|m|min|minute|h|hour|d|day)$")
_RATE_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """``10/min`` -> (10 requests, 60 seconds)."""
    match = _RATE.match(rate.strip().lower())
    if match is None:
        raise ValueError(f"{rate!r} is not a rate such as 10/min")
    return int(match.group(1)), _RATE_SECONDS[match.group(2)[0]]


def env_rate(name: str, default: str) -> str:
    """A rate limit written ``<count>/<s|min|hour|day>``, e.g. ``10/min``."""
    raw = env_str(name, default) or default
    try:
        parse_rate(raw)
    except ValueError:
        raise ConfigError(
            f"{name}={raw!r} is not a rate: write <count>/<s|min|hour|day>, e.g. 10/min"
        ) from None
    return raw.lower()
