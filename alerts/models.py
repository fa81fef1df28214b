"""Alert channels and the notification outbox."""

from __future__ import annotations

import base64
import secrets
import uuid
from urllib.parse import urlsplit

from django.db import models
from django.db.models import Q
from django.utils import timezone

from monitors.models import (
    EscalationPolicy,
    Incident,
    Monitor,
    Project,
    RegionHealthEvent,
)

SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)


def generate_secret() -> str:
    """A Standard Webhooks signing secret: ``whsec_`` + base64 of 32 bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def mask_url(url: str) -> str:
    """Scheme and host only: the path of a Slack or webhook URL is the secret,
    and so is a ``user:password@`` in front of the host."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    # The tail tells two URLs apart; taken after the host, never from it.
    after = url.split(parts.netloc, 1)[1] if parts.netloc else ""
    tail = after[-4:] if len(url) > 16 and len(after) >= 4 else ""
    return f"{parts.scheme}://{host}/…{tail}"


def mask_apprise_url(url: str) -> str:
    """The scheme only: an Apprise URL keeps its token wherever the service
    wants it (Telegram's is the "host", Discord's the path), so no part but
    the scheme and a short tail, which tells two URLs apart, is shown."""
    scheme = url.partition("://")[0] if "://" in url else ""
    tail = url[-4:] if len(url) > 24 else ""
    return f"{scheme}://…{tail}"


class ChannelKind(models.TextChoices):
    EMAIL = "email"
    SLACK = "slack"
    WEBHOOK = "webhook"
    APPRISE = "apprise"


class Event(models.TextChoices):
    INCIDENT_OPENED = "incident.opened"
    INCIDENT_RESOLVED = "incident.resolved"
    INCIDENT_REMINDER = "incident.reminder"
    # A later step of the monitor's escalation policy: nobody acknowledged.
    INCIDENT_ESCALATED = "incident.escalated"
    CERTIFICATE_EXPIRING = "certificate.expiring"
    MONITOR_DEGRADED = "monitor.degraded"
    MONITOR_DEGRADED_RESOLVED = "monitor.degraded_resolved"
    FLAPPING_STARTED = "monitor.flapping_started"
    FLAPPING_STOPPED = "monitor.flapping_stopped"
    TEST = "test"
    # The mail that asks an email channel's recipient to confirm the address.
    CONFIRMATION = "channel.confirmation"


# Which channel switch ("down" or "up") an event answers to.
DOWN_EVENTS = {Event.INCIDENT_OPENED, Event.INCIDENT_REMINDER}
DOWN_EVENTS |= {Event.INCIDENT_ESCALATED}
# The events that carry a signed acknowledge link: the incident is open.
ACKNOWLEDGEABLE_EVENTS = {
    Event.INCIDENT_OPENED,
    Event.INCIDENT_REMINDER,
    Event.INCIDENT_ESCALATED,
}
DOWN_EVENTS |= {Event.CERTIFICATE_EXPIRING}
# Flapping starts: trouble (it stands in for the DOWN alerts it holds back).
# It stops: the episode is over, as a resolve is; had it settled down, the
# open incident's own DOWN alert goes out with it.
DOWN_EVENTS |= {Event.FLAPPING_STARTED}
UP_EVENTS = {Event.INCIDENT_RESOLVED, Event.FLAPPING_STOPPED}
# Slow-but-up is its own switch, off by default: not every channel that wants
# outages wants to hear about latency.
DEGRADED_EVENTS = {Event.MONITOR_DEGRADED, Event.MONITOR_DEGRADED_RESOLVED}


# What a person sets on a channel: the API, the dashboard and the admin
# forms all offer exactly these, and alerts.services.channels checks them.
CHANNEL_SETTINGS = (
    "name",
    "kind",
    "target",
    "secret",
    "enabled",
    "notify_down",
    "notify_up",
    "notify_degraded",
    "reminder_minutes",
    "is_default",
    "monitors",
)


class Channel(models.Model):
    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="channels"
    )
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=10, choices=ChannelKind.choices)
    # An email address, a Slack incoming-webhook URL, a webhook URL or an
    # Apprise URL.
    target = models.CharField(max_length=2000)
    # Webhooks only: the Standard Webhooks signing secret (whsec_...).
    secret = models.CharField(max_length=120, blank=True, default="")
    enabled = models.BooleanField(default=True)
    notify_down = models.BooleanField(
        default=True, help_text="Send when an incident opens (and reminders)."
    )
    notify_up = models.BooleanField(
        default=True, help_text="Send when an incident resolves."
    )
    notify_degraded = models.BooleanField(
        default=False,
        help_text="Send when a monitor turns slow (degraded) and when it is "
        "fast again.",
    )
    reminder_minutes = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Remind every N minutes while an incident stays open; "
        "empty = no reminders.",
    )
    is_default = models.BooleanField(
        default=False, help_text="Link new monitors of this project to this channel."
    )
    monitors = models.ManyToManyField(Monitor, related_name="channels", blank=True)
    last_notified_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True, default="")
    last_error_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # An email address receives alerts only once its recipient has clicked
    # the link mailed to it (alerts.services.confirmation): nobody can be
    # signed up for someone else's alerts. False by default, so a row written
    # past the services holds too; the services set True for Slack and
    # webhooks, whose URLs their owner handed over.
    confirmed = models.BooleanField(default=False)
    # Part of the signed confirmation link; a new one per address, so a link
    # for an old address confirms nothing.
    confirm_nonce = models.CharField(max_length=32, blank=True, default="")

    class Meta:
        ordering = ("name", "id")

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"

    def wants(self, event: str) -> bool:
        if event in (Event.TEST, Event.CONFIRMATION):
            return True
        if event in UP_EVENTS:
            return self.notify_up
        if event in DEGRADED_EVENTS:
            return self.notify_degraded
        return self.notify_down

    @property
    def awaiting_confirmation(self) -> bool:
        """True while the recipient of an email channel has not confirmed."""
        return self.kind == ChannelKind.EMAIL and not self.confirmed

    @property
    def masked_target(self) -> str:
        if self.kind == ChannelKind.EMAIL:
            return self.target
        if self.kind == ChannelKind.APPRISE:
            return mask_apprise_url(self.target)
        return mask_url(self.target)


class EscalationStep(models.Model):
    """One step of a policy: ``delay_minutes`` after the incident opened,
    still unacknowledged, notify ``channels``; with ``repeat_every_minutes``
    again every so often until someone acknowledges or it resolves.

    A step with no delay is sent as the incident's opening alert; later ones
    by the ``alerts.escalate_due`` task (alerts.services.escalation).
    """

    policy = models.ForeignKey(
        EscalationPolicy, on_delete=models.CASCADE, related_name="steps"
    )
    order = models.PositiveSmallIntegerField(default=0)
    delay_minutes = models.PositiveIntegerField(default=0)
    repeat_every_minutes = models.PositiveIntegerField(null=True, blank=True)
    channels = models.ManyToManyField(Channel, related_name="escalation_steps")

    class Meta:
        ordering = ("order", "delay_minutes", "id")

    def __str__(self) -> str:
        return f"Step {self.order}: after {self.delay_minutes} min"


class NotificationStatus(models.TextChoices):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    # Not sent and not retried: the channel's recipient has not confirmed
    # the address (the reason is in last_error).
    SKIPPED = "skipped"


class Delivery(models.Model):
    """What every outbox row carries: its payload, a stable id (the
    webhook-id a resend repeats), and the delivery state a worker claims,
    retries and records."""

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    payload = models.JSONField(default=dict)
    status = models.CharField(
        max_length=10,
        choices=NotificationStatus.choices,
        default=NotificationStatus.PENDING,
    )
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    # When the next attempt is due, when a claim by a worker lapses (a worker
    # that died mid-send), and when transient retries stop.
    next_attempt_at = models.DateTimeField(default=timezone.now)
    locked_until = models.DateTimeField(null=True, blank=True)
    give_up_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    @property
    def webhook_id(self) -> str:
        return f"msg_{self.uid.hex}"


class Notification(Delivery):
    """One message for one channel: the outbox row and its delivery log.

    ``payload`` is the event as it was when it happened, so every retry sends
    the same body with the same ``uid`` (the webhook-id).
    """

    channel = models.ForeignKey(
        Channel, on_delete=models.CASCADE, related_name="notifications"
    )
    # Null for events that are not about an incident (test, certificate).
    incident = models.ForeignKey(
        Incident,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notifications",
    )
    monitor = models.ForeignKey(
        Monitor,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notifications",
    )
    event = models.CharField(max_length=32, choices=Event.choices)
    # Unique per channel: "incident:7:opened", "incident:7:reminder:3", ...
    dedupe_key = models.CharField(max_length=200)
    # The sweeper's mark: when it last re-enqueued the row.
    enqueued_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "dedupe_key"], name="notification_dedupe"
            ),
            # One row per (incident, channel, event); reminders and
            # escalation steps repeat by design and are deduplicated by key
            # (which names the reminder, or the step and its round).
            models.UniqueConstraint(
                fields=["incident", "channel", "event"],
                condition=Q(incident__isnull=False)
                & ~Q(event__in=["incident.reminder", "incident.escalated"]),
                name="notification_one_per_incident_event",
            ),
        ]
        indexes = [
            # The sweeper's scan: pending rows by due time (a small set).
            models.Index(
                fields=["next_attempt_at"],
                name="notification_pending_idx",
                condition=Q(status="pending"),
            ),
            models.Index(fields=["incident", "channel"], name="notification_inc_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event} -> {self.channel_id} ({self.status})"


class OperatorNotification(Delivery):
    """A region health change told to the install's operator: one row per
    (change, recipient), recipients from ``UPTIME_OPERATOR_EMAILS`` and
    ``UPTIME_OPERATOR_WEBHOOK_URL``. Not a project's channel: a region serves
    every project, and its health is the operator's business."""

    event = models.ForeignKey(
        RegionHealthEvent,
        on_delete=models.CASCADE,
        related_name="operator_notifications",
    )
    kind = models.CharField(max_length=10, choices=ChannelKind.choices)
    target = models.CharField(max_length=2000)

    class Meta:
        ordering = ("-created_at", "-id")
        constraints = [
            models.UniqueConstraint(
                fields=["event", "kind", "target"], name="operator_notification_once"
            ),
        ]

    def __str__(self) -> str:
        # A webhook URL's path is its secret: never the whole target.
        shown = self.target if self.kind == ChannelKind.EMAIL else mask_url(self.target)
        return f"{self.payload.get('type', '')} -> {shown} ({self.status})"
