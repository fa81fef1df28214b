"""Slack incoming webhooks: a JSON POST through the guarded outbound helper,
as webhooks are sent (no redirects followed, the answer read up to a small
cap), with Block Kit blocks and an escaped fallback ``text``.

Slack's documented webhook errors
(https://docs.slack.dev/messaging/sending-messages-using-incoming-webhooks/#handling-errors):
a 4xx with ``no_service``, ``invalid_token``, ``channel_not_found``,
``channel_is_archived``, ``invalid_payload``... will fail the same way next
time (permanent); 429 (with ``Retry-After``) and 5xx are transient.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import aiohttp
from django.conf import settings

from uptime import failures, outbound

from .base import (
    Message,
    Transport,
    TransportError,
    message_for,
    request_failed,
    send_timeout,
)

if TYPE_CHECKING:
    from ..models import Notification


def _escape(text: str) -> str:
    # The three characters Slack's mrkdwn wants escaped.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def blocks_for(msg: Message) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": msg.subject[:150]},
        },
        {"type": "section", "text": {"type": "mrkdwn", "text": _escape(msg.summary)}},
    ]
    fields = []
    if msg.monitor_name:
        fields.append(f"*Monitor*\n{_escape(msg.monitor_name)}")
        fields.append(f"*URL*\n{_escape(msg.monitor_url)}")
    if msg.cause:
        fields.append(f"*Cause*\n{_escape(msg.cause)}")
    if msg.regions:
        fields.append(f"*Regions*\n{_escape(', '.join(msg.regions))}")
    if fields:
        blocks.append(
            {
                "type": "section",
                "fields": [{"type": "mrkdwn", "text": f[:2000]} for f in fields],
            }
        )
    if msg.incident_url:
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "Open the incident"},
                        "url": msg.incident_url,
                    }
                ],
            }
        )
    return blocks


def body_for(msg: Message) -> bytes:
    # The fallback text is mrkdwn too (notifications, clients without blocks):
    # escaped like the blocks, a monitor named "<!channel>" pings nobody.
    text = _escape(f"{msg.subject}: {msg.summary}"[:3000])
    return json.dumps({"text": text, "blocks": blocks_for(msg)}).encode()


class SlackTransport(Transport):
    def notify(self, notification: Notification) -> None:
        msg = message_for(notification)
        url = self.channel.target
        try:
            host, _port = outbound.validate_url(url)
            # Numeric hosts are refused here with a clear message; names are
            # checked by the guarded session at connect time.
            outbound.check_destination(
                host,
                allow_private=settings.UPTIME_ALLOW_PRIVATE_TARGETS,
                resolve=False,
            )
            resp = outbound.post(
                url,
                body_for(msg),
                {"Content-Type": "application/json"},
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
            raise request_failed(exc, receiver="Slack") from None
        raise_for_answer(resp)


def raise_for_answer(resp: outbound.Response) -> None:
    status = resp.status
    if status == 200:
        return
    if 300 <= status < 400:
        location = resp.headers.get("Location", "")
        raise TransportError(
            f"Slack redirected to {location[:200]}; redirects are not followed, "
            "use the webhook URL Slack gave you",
            permanent=True,
        )
    detail = f"Slack answered {status} {resp.body[:200].decode('utf-8', 'replace')}"
    detail = detail.strip()
    if failures.status_is_transient(status):
        raise TransportError(
            detail, retry_after=failures.retry_after_seconds(resp.headers)
        )
    raise TransportError(detail, permanent=True)
