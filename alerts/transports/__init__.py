"""One module per channel kind behind ``Transport.notify`` (see base.py)."""

from __future__ import annotations

from .apprise_url import AppriseTransport
from .base import Transport, TransportError
from .email import EmailTransport
from .slack import SlackTransport
from .webhook import WebhookTransport

REGISTRY: dict[str, type[Transport]] = {
    "email": EmailTransport,
    "slack": SlackTransport,
    "webhook": WebhookTransport,
    "apprise": AppriseTransport,
}

__all__ = ["REGISTRY", "Transport", "TransportError"]
