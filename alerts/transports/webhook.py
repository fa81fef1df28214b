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

from uptime import outbound

from .base import Transport, TransportError, blocked_cause, send_timeout

if TYPE_CHECKING:
    from ..models import Notification

# Receivers that are busy or briefly broken; every other 4xx means the
# request itself is refused and will be refused again.
TRANSIENT_STATUSES = {408, 409, 425, 429}


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
        except outbound.BlockedAddress as exc:
            raise TransportError(str(exc), permanent=True) from None
        except outbound.InvalidTarget as exc:
            raise TransportError(str(exc), permanent=True) from None
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            blocked = blocked_cause(exc)
            if blocked is not None:
                raise TransportError(str(blocked), permanent=True) from None
            raise TransportError(
                f"receiver unreachable: {type(exc).__name__} {exc}"[:300]
            ) from None
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
        if status >= 500 or status in TRANSIENT_STATUSES:
            retry_after = None
            try:
                retry_after = float(resp.headers.get("Retry-After", ""))
            except ValueError:
                pass
            raise TransportError(detail, retry_after=retry_after)
        raise TransportError(detail, permanent=True)
