"""Webhooks: a JSON POST signed as the Standard Webhooks spec says
(https://www.standardwebhooks.com/): ``webhook-id`` (the same on every retry
of one event), ``webhook-timestamp`` (this attempt) and ``webhook-signature``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import aiohttp
from django.conf import settings
from standardwebhooks.webhooks import Webhook

from uptime import failures, outbound

from .base import Transport, TransportError, request_failed, send_timeout

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
    def notify(self, notification: Notification) -> None:
        body = body_for(notification)
        headers = sign_headers(
            secret=self.channel.secret, msg_id=notification.webhook_id, body=body
        )
        try:
            resp = outbound.post(
                self.channel.target,
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
            raise request_failed(exc, receiver="receiver") from None
        status = resp.status
        if 200 <= status < 300:
            return
        snippet = resp.body[:200].decode("utf-8", "replace")
        detail = f"receiver answered {status} {snippet}".strip()
        if 300 <= status < 400:
            location = resp.headers.get("Location", "")
            raise TransportError(
                f"receiver redirected to {location[:200]}; redirects are not "
                "followed, use the final URL",
                permanent=True,
            )
        if failures.status_is_transient(status):
            raise TransportError(
                detail, retry_after=failures.retry_after_seconds(resp.headers)
            )
        raise TransportError(detail, permanent=True)
