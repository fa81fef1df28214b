from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import aiohttp


@dataclass(frozen=True)
class CheckSpec:
    """Plain settings for one check; built from a Monitor by the runner."""

    kind: str
    url: str
    timeout: float
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class CheckResult:
    status: str  # "up" | "down" | "degraded"
    response_time_ms: int | None = None
    status_code: int | None = None
    error: str = ""  # machine-readable: timeout, dns, connect, tls, http_status, ...
    message: str = ""  # for a person
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class CheckContext:
    """What a batch shares: one guarded HTTP session, the address rule."""

    session: aiohttp.ClientSession
    allow_private: bool
    user_agent: str


def down(error: str, message: str, **kwargs: Any) -> CheckResult:
    return CheckResult(status="down", error=error, message=message[:500], **kwargs)
