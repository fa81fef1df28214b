"""Check kinds. Each module takes plain settings and returns a CheckResult.

They know nothing of Django models; ``monitors.runner`` maps monitors onto
specs and results onto ticks.
"""

from __future__ import annotations

from .base import CheckResult, CheckSpec
from .dns import check_dns
from .heartbeat import check_heartbeat
from .http import check_http
from .tcp import check_tcp

# kind -> coroutine function(spec, context) -> CheckResult
REGISTRY = {
    "http": check_http,
    "tcp": check_tcp,
    "dns": check_dns,
    "heartbeat": check_heartbeat,
}

__all__ = ("REGISTRY", "CheckResult", "CheckSpec")
