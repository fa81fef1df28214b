"""Sending notifications for the alert tests (through a transport, or as the
alerts worker would), and following an email channel's confirmation link."""

from __future__ import annotations

import re
from email.message import Message

from django.test import Client
from django.utils import timezone

from alerts import tasks
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


def run_queued() -> dict[int, str]:
    """Run the ``alerts.deliver`` task body for every pending notification, as
    the alerts worker does after commit (a test's transaction never commits,
    so nothing was queued); returns each id's outcome."""
    pending = Notification.objects.filter(status="pending").order_by("id")
    return {pk: tasks.deliver(pk) for pk in pending.values_list("pk", flat=True)}


LINK = re.compile(r"http://\S+(/channels/confirm/[^/\s]+/)")


def mailed_link(message) -> str:
    """The confirmation link's path, from the plain-text part of a mail."""
    text = message.get_payload()[0].get_payload(decode=True).decode()
    match = LINK.search(text)
    assert match, text
    return match.group(1)


def confirm_by_link(path: str, *, clicks: int = 1) -> None:
    """The recipient: no account, a browser that enforces CSRF."""
    browser = Client(enforce_csrf_checks=True)
    page = browser.get(path)
    assert page.status_code == 200
    token = page.cookies["csrftoken"].value
    for _ in range(clicks):
        done = browser.post(path, {"csrfmiddlewaretoken": token})
        assert done.status_code == 200
        assert b"Confirmed" in done.content
