"""Webhooks: a JSON POST signed as the Standard Webhooks spec says
(https://www.standardwebhooks.com/): ``webhook-id`` (the same on every retry
of one event), ``webhook-timestamp`` (this attempt) and ``webhook-signature``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from standardwebhooks.webhooks import Webhook

from .base import Transport, post

if TYPE_CHECKING:
    from ..models import Notification


def body_for(notification: Notification) -> bytes:
    return json.dumps(notification.payload, separators=(",", ":")).encode()


def sign_headers(
    *, secret: str, msg_id: str, body: bytes, now: datetime | None = None
) -> dict[str, str]:
    now = (now or datetime.now(tz=UTC)).replace(microsecond=0)
    signature = Webhook(secret).sign(msg_id=msg_id, timestamp=now, data=body.decode())
    return {
        "Content-Type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
    }


class WebhookTransport(Transport):
    target_label = "Webhook URL"
    target_help = "Alerts are POSTed here as JSON, signed (Standard Webhooks)."
    options = ("secret",)

    def notify(self, notification: Notification) -> None:
        body = body_for(notification)
        headers = sign_headers(
            secret=self.channel.secret, msg_id=notification.webhook_id, body=body
        )
        post(self.channel.target, body, headers, receiver="receiver")
