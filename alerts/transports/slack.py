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

from .base import Message, Transport, message_for, post

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
    if msg.affected:
        fields.append(f"*Also failing behind it*\n{_escape(', '.join(msg.affected))}")
    if fields:
        blocks.append(
            {
                "type": "section",
                "fields": [{"type": "mrkdwn", "text": f[:2000]} for f in fields],
            }
        )
    buttons: list[dict[str, Any]] = []
    if msg.incident_url:
        buttons.append(
            {
                "type": "button",
                "text": {"type": "plain_text", "text": "Open the incident"},
                "url": msg.incident_url,
            }
        )
    if msg.acknowledge_url:
        # A link button: Slack opens the confirm page, which acknowledges.
        buttons.append(
            {
                "type": "button",
                "text": {"type": "plain_text", "text": "Acknowledge"},
                "style": "primary",
                "url": msg.acknowledge_url,
            }
        )
    if buttons:
        blocks.append({"type": "actions", "elements": buttons})
    return blocks


def body_for(msg: Message) -> bytes:
    # The fallback text is mrkdwn too (notifications, clients without blocks):
    # escaped like the blocks, a monitor named "<!channel>" pings nobody.
    text = _escape(f"{msg.subject}: {msg.summary}"[:3000])
    return json.dumps({"text": text, "blocks": blocks_for(msg)}).encode()


class SlackTransport(Transport):
    target_label = "Slack webhook URL"
    target_help = "The incoming-webhook URL Slack gave you."

    def notify(self, notification: Notification) -> None:
        msg = message_for(notification)
        post(
            self.channel.target,
            body_for(msg),
            {"Content-Type": "application/json"},
            receiver="Slack",
            ok=lambda status: status == 200,
            redirect_hint="use the webhook URL Slack gave you",
        )
