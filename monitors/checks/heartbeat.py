"""Heartbeat checks: passive. The user's job pings a secret URL; this only
compares the last ping with the interval plus grace. The runner passes the
times in as plain values (``last_ping_at``, ``since``, ``interval_seconds``,
``grace_seconds``, ISO 8601), so there is no database access here.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from .base import CheckContext, CheckKind, CheckResult, CheckSpec, OptionField, down


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


async def check_heartbeat(spec: CheckSpec, ctx: CheckContext) -> CheckResult:
    options = spec.options
    now = _when(options.get("now")) or datetime.now(UTC)
    last_ping = _when(options.get("last_ping_at"))
    # Before the first ping, the clock runs from when the monitor was made.
    reference = last_ping or _when(options.get("since")) or now
    interval = int(options.get("interval_seconds") or 60)
    grace = int(options.get("grace_seconds") or 0)
    deadline = reference + timedelta(seconds=interval + grace)
    details = {
        "last_ping_at": last_ping.isoformat() if last_ping else None,
        "expected_by": deadline.isoformat(),
        "interval_seconds": interval,
        "grace_seconds": grace,
    }
    if now <= deadline:
        return CheckResult(
            status="up",
            message="Pinged on time." if last_ping else "Waiting for the first ping.",
            details=details,
        )
    late = int((now - deadline).total_seconds())
    if last_ping is None:
        message = (
            f"No ping received yet; expected one within {interval + grace} s "
            "of creation."
        )
    else:
        message = (
            f"No ping since {last_ping:%Y-%m-%d %H:%M:%S} UTC: "
            f"{late} s past the {interval} s interval plus {grace} s grace."
        )
    return down("no_ping", message, details=details)


def _no_target(target: str, *, allow_private: bool) -> str:
    return ""  # pinged, not checked: there is nothing to reach


def _settings(source: Any, config: Any) -> dict[str, Any]:
    last_ping = source.last_ping_at
    created = source.created_at
    return {
        "last_ping_at": last_ping.isoformat() if last_ping else None,
        "since": created.isoformat() if created else None,
        "interval_seconds": source.interval_seconds,
        "grace_seconds": source.heartbeat_grace_seconds,
    }


KIND = CheckKind(
    name="heartbeat",
    label="Heartbeat",
    run=check_heartbeat,
    clean_target=_no_target,
    target_label="URL (not used)",
    target_help="Leave empty: your job pings this monitor's own URL, shown once "
    "it is saved.",
    options=(
        OptionField(
            "heartbeat_grace_seconds",
            "Heartbeat grace (seconds)",
            default=60,
            min_value=0,
            max_value=86400,
            help_text="How late a ping may be before the monitor is down (on top "
            "of the interval).",
        ),
    ),
    settings_from=_settings,
    shown=("ping_url", "last_ping_at"),
    passive=True,
)
