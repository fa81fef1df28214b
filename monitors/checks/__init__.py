"""Check kinds. Each module takes plain settings and returns a CheckResult.

They know nothing of Django models; ``monitors.runner`` maps monitors onto
specs and results onto ticks.
"""

from __future__ import annotations

from .base import CheckResult, CheckSpec
from .http import check_http

# kind -> coroutine function(spec, context) -> CheckResult
REGISTRY = {
    "http": check_http,
}

__all__ = ("REGISTRY", "CheckResult", "CheckSpec")
