"""Sending one notification through a transport, for the transport tests."""

from __future__ import annotations

from email.message import Message

from django.utils import timezone

from alerts.models import Event, Notification
from alerts.services import incident_payload
from alerts.transports import REGISTRY


def notification_for(channel, incident, event=Event.INCIDENT_OPENED) -> Notification:
    return Notification.objects.create(
        channel=channel,
        incident=incident,
        monitor=incident.monitor,
        event=event,
        dedupe_key=f"t:{event}",
        payload=incident_payload(incident=incident, event=event, now=timezone.now()),
    )


def notify(channel, notification) -> None:
    REGISTRY[channel.kind](channel).notify(notification)


def email_text(message: Message) -> str:
    """The text/plain part of a received email."""
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload.decode()
    raise AssertionError("no text/plain part")
