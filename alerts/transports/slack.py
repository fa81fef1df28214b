"""Slack through slack-sdk's incoming-webhook client, on the guarded session.

Slack's documented webhook errors
(https://docs.slack.dev/messaging/sending-messages-using-incoming-webhooks/#handling-errors):
a 4xx with ``no_service``, ``invalid_token``, ``channel_not_found``,
``channel_is_archived``, ``invalid_payload``... will fail the same way next
time (permanent); 429 (with ``Retry-After``) and 5xx are transient.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import aiohttp
from django.conf import settings
from slack_sdk.webhook.async_client import AsyncWebhookClient

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


async def _send(url: str, msg: Message, timeout: float) -> tuple[int, str, Any]:
    allow_private = settings.UPTIME_ALLOW_PRIVATE_TARGETS
    async with outbound.guarded_session(
        allow_private=allow_private, user_agent=settings.UPTIME_USER_AGENT
    ) as session:
        # No SDK retries: the outbox owns retrying, with its own backoff.
        client = AsyncWebhookClient(url, session=session, retry_handlers=[])
        # The SDK reads HTTPS_PROXY from the environment; a proxy would
        # connect on our behalf and sidestep the address guard.
        client.proxy = None
        async with asyncio.timeout(timeout):
            resp = await client.send(
                text=f"{msg.subject}: {msg.summary}"[:3000], blocks=blocks_for(msg)
            )
    return resp.status_code, resp.body or "", resp.headers


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
            status, body, headers = asyncio.run(_send(url, msg, send_timeout()))
        except (
            TimeoutError,
            aiohttp.ClientError,
            OSError,  # the guard's BlockedAddress among them
            outbound.InvalidTarget,
        ) as exc:
            raise request_failed(exc, receiver="Slack") from None
        if status == 200:
            return
        detail = f"Slack answered {status} {body[:200]}".strip()
        if failures.status_is_transient(status):
            raise TransportError(
                detail, retry_after=failures.retry_after_seconds(headers)
            )
        raise TransportError(detail, permanent=True)
