"""The one interface every alert transport implements (healthchecks style)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import aiohttp
from django.conf import settings

from uptime import failures, outbound

if TYPE_CHECKING:
    from ..models import Channel, Notification


class TransportError(Exception):
    """Delivery failed. ``permanent``: retrying cannot help (bad address,
    revoked token); otherwise the outbox retries with backoff, no sooner than
    ``retry_after`` seconds when the receiver said so."""

    def __init__(
        self, message: str, *, permanent: bool = False, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.retry_after = retry_after


class Transport:
    # How the channel form presents this kind (read through the registry,
    # never by naming kinds): the target's label and help, and the channel
    # fields only this kind uses, shown in its own section.
    target_label: ClassVar[str] = "Send to"
    target_help: ClassVar[str] = ""
    options: ClassVar[tuple[str, ...]] = ()

    def __init__(self, channel: Channel) -> None:
        self.channel = channel

    def notify(self, notification: Notification) -> None:
        raise NotImplementedError


LABELS = {
    "incident.opened": "DOWN",
    "incident.resolved": "UP",
    "incident.reminder": "STILL DOWN",
    "incident.escalated": "ESCALATED",
    "certificate.expiring": "CERTIFICATE",
    "monitor.degraded": "SLOW",
    "monitor.degraded_resolved": "FAST AGAIN",
    "monitor.flapping_started": "FLAPPING",
    "monitor.flapping_stopped": "STABLE",
    "test": "TEST",
    "channel.confirmation": "CONFIRM",
    "region.unhealthy": "REGION UNHEALTHY",
    "region.healthy": "REGION HEALTHY",
}


@dataclass(frozen=True)
class Message:
    """What every transport says, built once from the stored payload."""

    event: str
    label: str
    subject: str
    summary: str
    monitor_name: str
    monitor_url: str
    cause: str
    regions: list[str]
    incident_url: str
    payload: dict[str, Any]
    evidence: dict[str, Any]
    # Names of the monitors behind this one that are failing too (their own
    # alerts are suppressed while this one is down).
    affected: list[str]
    # The signed link that acknowledges the open incident ("" for others).
    acknowledge_url: str = ""


def _duration(seconds: int | None) -> str:
    if seconds is None:
        return ""
    minutes, sec = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {sec} s"
    return f"{sec} s"


def _flapping_summary(event: str, name: str, data: dict[str, Any]) -> str:
    flap = data.get("flapping") or {}
    if event == "monitor.flapping_started":
        window = _duration(flap.get("window_seconds")) or "its window"
        return (
            f"{name} is flapping: {flap.get('failure_rate_percent')} % of its "
            f"last {flap.get('checks')} checks failed ({window}), and its state "
            f"changed {flap.get('state_change_percent')} % of the time. Single "
            "DOWN and UP alerts are held until it settles."
        )
    if flap.get("settled") == "down":
        cause = (data.get("incident") or {}).get("cause") or "no answer"
        return f"{name} stopped flapping and is down: {cause}."
    return f"{name} stopped flapping and is up."


def message_for(notification: Notification) -> Message:
    payload = notification.payload or {}
    event = payload.get("type", notification.event)
    data = payload.get("data") or {}
    monitor = data.get("monitor") or {}
    incident = data.get("incident") or {}
    label = LABELS.get(event, event.upper())
    name = monitor.get("name", "")
    url = monitor.get("url", "")
    regions = sorted(incident.get("regions") or [])
    cause = incident.get("cause", "")
    if event == "incident.opened":
        summary = f"{name} is down: {cause or 'no answer'}."
    elif event == "incident.resolved":
        took = _duration(incident.get("duration_seconds"))
        summary = f"{name} is up again after {took}." if took else f"{name} is up."
    elif event == "incident.reminder":
        took = _duration(incident.get("duration_seconds"))
        summary = f"{name} is still down ({took}): {cause or 'no answer'}."
    elif event == "incident.escalated":
        took = _duration(incident.get("duration_seconds"))
        summary = (
            f"{name} is down ({took}) and nobody has acknowledged it yet: "
            f"{cause or 'no answer'}."
        )
    elif event == "certificate.expiring":
        cert = data.get("certificate") or {}
        days = cert.get("days_left")
        summary = (
            f"The TLS certificate of {name} expires in {days} days "
            f"({cert.get('not_after', '')})."
        )
    elif event in ("monitor.degraded", "monitor.degraded_resolved"):
        check = data.get("check") or {}
        where = f"{check.get('response_time_ms')} ms from {check.get('region')}"
        limit = check.get("threshold_ms")
        summary = (
            f"{name} is slow: {where}, above its {limit} ms threshold."
            if event == "monitor.degraded"
            else f"{name} is fast again: {where} (threshold {limit} ms)."
        )
    elif event in ("monitor.flapping_started", "monitor.flapping_stopped"):
        summary = _flapping_summary(event, name, data)
    else:
        summary = data.get("message") or "A test message from the uptime monitor."
    subject = f"[{label}] {name} ({url})" if name else f"[{label}] Uptime monitor"
    if event.startswith("region."):
        code = (data.get("region") or {}).get("code", "")
        subject = f"[{label}] Region {code}"
    return Message(
        event=event,
        label=label,
        subject=subject,
        summary=summary,
        monitor_name=name,
        monitor_url=url,
        cause=cause,
        regions=regions,
        incident_url=incident.get("url", ""),
        payload=payload,
        evidence=incident.get("evidence") or {},
        acknowledge_url=data.get("acknowledge_url") or "",
        affected=[str(m.get("name", "")) for m in data.get("affected_monitors") or []],
    )


def send_timeout() -> float:
    return float(settings.ALERTS_SEND_TIMEOUT_SECONDS)


def request_failed(exc: BaseException, *, receiver: str) -> TransportError:
    """A request that got no answer. Permanent when the address guard or the
    URL refused it (the next try meets the same refusal); otherwise the
    receiver was unreachable for now and the outbox retries."""
    failure = failures.classify(exc)
    if failure.permanent:
        blocked = failures.blocked_cause(exc)
        return TransportError(str(blocked or exc), permanent=True)
    return TransportError(f"{receiver} unreachable: {type(exc).__name__} {exc}"[:300])


def post(
    url: str,
    body: bytes,
    headers: dict[str, str],
    *,
    receiver: str,
    ok: Callable[[int], bool] = lambda status: 200 <= status < 300,
    redirect_hint: str = "use the final URL",
) -> None:
    """POST through the guarded outbound helper (no redirects, a capped
    answer) and turn anything but an ``ok`` answer into a TransportError:
    429, 5xx and the like are transient (with Retry-After), a redirect and
    the other 4xx permanent."""
    try:
        resp = outbound.post(
            url,
            body,
            headers,
            timeout=send_timeout(),
            allow_private=settings.UPTIME_ALLOW_PRIVATE_TARGETS,
            user_agent=settings.UPTIME_USER_AGENT,
        )
    except (
        TimeoutError,
        aiohttp.ClientError,
        OSError,  # the guard's BlockedAddress among them
        outbound.InvalidTarget,
    ) as exc:
        raise request_failed(exc, receiver=receiver) from None
    status = resp.status
    if ok(status):
        return
    if 300 <= status < 400:
        location = resp.headers.get("Location", "")
        raise TransportError(
            f"{receiver} redirected to {location[:200]}; redirects are not "
            f"followed, {redirect_hint}",
            permanent=True,
        )
    snippet = resp.body[:200].decode("utf-8", "replace")
    detail = f"{receiver} answered {status} {snippet}".strip()
    if failures.status_is_transient(status):
        raise TransportError(
            detail, retry_after=failures.retry_after_seconds(resp.headers)
        )
    raise TransportError(detail, permanent=True)
