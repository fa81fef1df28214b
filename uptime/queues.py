"""Queue names, in one place. Routing refers to these, never to literals."""

from __future__ import annotations

DEFAULT = "default"
ALERTS = "alerts"
# The once-a-second dispatcher has a queue and a process of its own, so an
# alert backlog or a dead alerts worker never delays checks.
DISPATCH = "dispatch"
CHECKS_PREFIX = "checks."


def checks_queue(region_code: str) -> str:
    return f"{CHECKS_PREFIX}{region_code}"


def worker_queues() -> tuple[str, ...]:
    """The queues outside the per-region check queues."""
    return (DISPATCH, DEFAULT, ALERTS)
