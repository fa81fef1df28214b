"""Email recipients confirm before they receive alerts.

Sign-up does not verify an account's address, so no address counts as
proven, the creator's own included: every new email channel, and every
change of its address, starts unconfirmed and mails the address a link.
Until the recipient follows it, the channel sends nothing (delivery marks
its messages ``skipped``, with the reason); the confirmation mail itself is
the one message it sends, queued on the ``alerts`` worker like any other.

The link is signed (``django.core.signing``, salted, with a timestamp) and
names the channel and a nonce that changes with the address, so it confirms
only the address it was mailed to, for ``CONFIRM_MAX_AGE``. Nothing secret
is stored: the worker signs the link when it sends the mail.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from ..models import Channel, ChannelKind, Event, Notification
from .outbox import due_now, enqueue_deliveries
from .payloads import iso

CONFIRM_SALT = "alerts.channel-confirmation"
CONFIRM_MAX_AGE = timedelta(days=7)


def confirmation_nonce() -> str:
    return secrets.token_hex(16)


def confirmation_link(channel: Channel) -> str:
    """The absolute link mailed to the channel's address (signed now)."""
    token = signing.dumps(
        {"c": channel.pk, "n": channel.confirm_nonce}, salt=CONFIRM_SALT, compress=True
    )
    path = reverse("alerts:channel_confirm", args=[token])
    return f"{settings.SITE_URL}{path}"


def channel_by_confirmation_token(token: str) -> Channel | None:
    """The email channel a link was made for, or None when the link is
    forged, expired, or for an address the channel no longer has."""
    try:
        data = signing.loads(token, salt=CONFIRM_SALT, max_age=CONFIRM_MAX_AGE)
    except signing.BadSignature:  # SignatureExpired is one
        return None
    if not isinstance(data, dict):
        return None
    pk, nonce = data.get("c"), data.get("n")
    if not isinstance(pk, int) or not isinstance(nonce, str) or not nonce:
        return None
    return (
        Channel.objects.select_related("project")
        .filter(pk=pk, kind=ChannelKind.EMAIL, confirm_nonce=nonce)
        .first()
    )


def channel_confirm(*, channel: Channel) -> bool:
    """Confirm the address the link was for; True the first time, False when
    it already was (the page says so either way: clicking twice is fine)."""
    updated = Channel.objects.filter(
        pk=channel.pk, confirm_nonce=channel.confirm_nonce, confirmed=False
    ).update(confirmed=True)
    channel.confirmed = True
    return bool(updated)


def confirmation_payload(*, channel: Channel, now: datetime) -> dict[str, Any]:
    return {
        "type": Event.CONFIRMATION,
        "timestamp": iso(now),
        "data": {
            "incident": None,
            "monitor": None,
            "address": channel.target,
            "project": channel.project.name,
            "message": f"Confirm that {channel.target} should receive alerts "
            f"from the project “{channel.project.name}”.",
        },
    }


def confirmation_request(*, channel: Channel, now: datetime | None = None) -> int:
    """Write the confirmation mail to the outbox and send it after commit
    (the ``alerts`` worker builds the link); returns the notification id."""
    now = now or timezone.now()
    with transaction.atomic():
        notification = Notification.objects.create(
            channel=channel,
            event=Event.CONFIRMATION,
            dedupe_key=f"confirm:{channel.confirm_nonce}:{now.timestamp()}",
            payload=confirmation_payload(channel=channel, now=now),
            created_at=now,
            **due_now(now),
        )
        pk = notification.pk
        transaction.on_commit(lambda: enqueue_deliveries([pk]), robust=True)
    return pk


def confirmation_still_wanted(notification: Notification) -> bool:
    """A confirmation mail is sent only to the address it was written for,
    and only while that address waits: after a change, the newer mail goes."""
    channel = notification.channel
    address = (notification.payload.get("data") or {}).get("address")
    return channel.awaiting_confirmation and address == channel.target
