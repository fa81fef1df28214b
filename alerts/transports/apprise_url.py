"""Apprise: Discord, Teams, Telegram, PagerDuty, ntfy and many more services
from one URL (https://github.com/caronc/apprise/wiki).

Apprise opens its own connections, so two rules keep it behind the address
guard:

- only the schemes in ``SCHEMES`` are accepted: services whose Apprise
  plugin speaks plain HTTP(S) through ``requests`` and nothing else. Apprise
  also has plugins that dial SMTP, XMPP, MQTT, IRC, syslog or local desktop
  services with their own sockets; the guard cannot see those, so they are
  refused (use the email channel kind for mail);
- every send runs inside ``outbound.guarded_requests()``, which checks each
  address urllib3 is about to connect to (redirect hops included) and pins the
  connection to it, as the aiohttp session does for our own requests.

Apprise reports only success or failure; the guarded block records the HTTP
status and the guard's refusals, which decide permanent or transient. The
URL holds the service's token: it is never logged (the ``apprise`` logger is
silenced in settings) and error messages are built from the status, never
from Apprise's log lines, which may quote it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import apprise
from django.conf import settings

from uptime import failures
from uptime.outbound.sync_guard import RequestsRecord, guarded_requests

from ..models import DOWN_EVENTS, UP_EVENTS, Event
from .base import Message, Transport, TransportError, message_for, send_timeout

if TYPE_CHECKING:
    from ..models import Notification

# Scheme -> service. Plain-HTTP plugins only (see the module docstring);
# ``SELF_HOSTED`` ones name their server in the URL's host, which the forms
# check up front like any URL (the send-time guard applies to all of them).
SCHEMES: dict[str, str] = {
    "json": "JSON (HTTP POST)",
    "jsons": "JSON (HTTPS POST)",
    "xml": "XML (HTTP POST)",
    "xmls": "XML (HTTPS POST)",
    "form": "Form (HTTP POST)",
    "forms": "Form (HTTPS POST)",
    "ntfy": "ntfy",
    "ntfys": "ntfy",
    "gotify": "Gotify",
    "gotifys": "Gotify",
    "matrix": "Matrix",
    "matrixs": "Matrix",
    "mmost": "Mattermost",
    "mmosts": "Mattermost",
    "rocket": "Rocket.Chat",
    "rockets": "Rocket.Chat",
    "signal": "Signal API",
    "signals": "Signal API",
    "apprise": "Apprise API",
    "apprises": "Apprise API",
    "discord": "Discord",
    "workflow": "Microsoft Teams (Workflows)",
    "workflows": "Microsoft Teams (Workflows)",
    "tgram": "Telegram",
    "pagerduty": "PagerDuty",
    "opsgenie": "Opsgenie",
    "pover": "Pushover",
    "pbul": "Pushbullet",
    "gchat": "Google Chat",
    "zulip": "Zulip",
    "psafer": "Pushsafer",
    "psafers": "Pushsafer",
}
SELF_HOSTED = frozenset(
    {
        *("json", "jsons", "xml", "xmls", "form", "forms", "gotify", "gotifys"),
        *("matrix", "matrixs", "mmost", "mmosts", "rocket", "rockets"),
        *("signal", "signals", "apprise", "apprises", "workflow", "workflows"),
    }
)
NTFY = frozenset({"ntfy", "ntfys"})
UNSUPPORTED = "Not an Apprise URL this install supports."


def scheme_of(url: str) -> str:
    return url.partition("://")[0].lower() if "://" in url else ""


def plugin_for(url: str) -> Any:
    """Apprise's plugin for ``url``, or None when the scheme is not in
    ``SCHEMES`` or Apprise cannot parse the URL."""
    if scheme_of(url) not in SCHEMES:
        return None
    return apprise.Apprise.instantiate(url, suppress_exceptions=True)


def destination_host(url: str) -> str | None:
    """The server a self-hosted scheme's URL names (the form checks it with
    the address guard); None for services with a fixed public host."""
    plugin = plugin_for(url)
    if plugin is None:
        return None
    # ntfy names a server only in "private" mode (else it is ntfy.sh and the
    # host part is the topic).
    ntfy_server = scheme_of(url) in NTFY and getattr(plugin, "mode", "") == "private"
    if scheme_of(url) not in SELF_HOSTED and not ntfy_server:
        return None
    host = getattr(plugin, "host", None)
    return host if isinstance(host, str) and host else None


def _notify_type(event: str) -> apprise.NotifyType:
    if event in DOWN_EVENTS:
        return apprise.NotifyType.FAILURE
    if event in UP_EVENTS or event == Event.MONITOR_DEGRADED_RESOLVED:
        return apprise.NotifyType.SUCCESS
    if event == Event.MONITOR_DEGRADED:
        return apprise.NotifyType.WARNING
    return apprise.NotifyType.INFO


def body_for(msg: Message) -> str:
    lines = [msg.summary]
    if msg.monitor_url:
        lines.append(f"URL: {msg.monitor_url}")
    if msg.regions:
        lines.append(f"Regions: {', '.join(msg.regions)}")
    if msg.affected:
        lines.append(f"Also failing behind it: {', '.join(msg.affected)}")
    if msg.incident_url:
        lines.append(f"Incident: {msg.incident_url}")
    return "\n".join(lines)


def _failure(record: RequestsRecord, service: str) -> TransportError:
    if record.blocked is not None and record.status is None:
        return TransportError(
            f"{service}: blocked non-public address {record.blocked}", permanent=True
        )
    if record.status is not None:
        status = record.status
        snippet = record.body.decode("utf-8", "replace")
        detail = f"{service} answered {status} {snippet}".strip()[:300]
        if 300 <= status < 400:
            return TransportError(detail, permanent=True)
        if failures.status_is_transient(status):
            return TransportError(
                detail, retry_after=failures.retry_after_seconds(record.headers)
            )
        if status >= 400:
            return TransportError(detail, permanent=True)
        # A 2xx that Apprise still calls a failure (an error in the body).
        return TransportError(detail)
    if record.error is not None:
        name = type(record.error).__name__
        return TransportError(f"{service} unreachable: {name}")
    return TransportError(f"{service}: Apprise reported a failure")


class AppriseTransport(Transport):
    target_label = "Apprise URL"
    target_help = (
        "One Apprise URL, e.g. ntfy://ntfy.example.com/alerts, "
        "discord://webhook_id/webhook_token or jsons://hooks.example.com/path. "
        "Schemes: " + ", ".join(sorted(SCHEMES)) + "."
    )

    def notify(self, notification: Notification) -> None:
        msg = message_for(notification)
        plugin = plugin_for(self.channel.target)
        if plugin is None:
            raise TransportError(UNSUPPORTED, permanent=True)
        service = SCHEMES[scheme_of(self.channel.target)]
        timeout = send_timeout()
        plugin.socket_connect_timeout = timeout
        plugin.socket_read_timeout = timeout
        # One message per plugin object: Apprise's pacing between messages
        # would only add a sleep; the outbox does the retrying.
        plugin.request_rate_per_sec = 0
        with guarded_requests(
            allow_private=settings.UPTIME_ALLOW_PRIVATE_TARGETS
        ) as record:
            try:
                ok = plugin.notify(
                    body=body_for(msg),
                    title=msg.subject,
                    notify_type=_notify_type(msg.event),
                )
            except Exception as exc:  # a plugin bug: retried, never the URL
                raise TransportError(
                    f"{service}: Apprise failed ({type(exc).__name__})"
                ) from None
        if not ok:
            raise _failure(record, service)
