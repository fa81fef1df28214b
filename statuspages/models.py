"""Public status pages, their subscribers and the subscribers' outbox.

A project has any number of pages; each lists chosen monitors in named
groups and may answer on its own domain. Subscribers hear of incidents on
the page's monitors, of incident updates and of scheduled maintenance,
through ``SubscriberMessage`` rows written in the transaction of the event
(as ``alerts.Notification`` is) and sent by the ``alerts`` worker.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse

from alerts.models import Delivery
from monitors.models import Incident, Monitor, Project


def _token() -> str:
    return secrets.token_urlsafe(24)


class StatusPage(models.Model):
    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="status_pages"
    )
    slug = models.SlugField(max_length=60, unique=True)
    title = models.CharField(max_length=200)
    # An https URL, shown as <img>: nothing uploaded is served from our
    # origin, and the page's CSP allows https images only.
    logo_url = models.URLField(max_length=500, blank=True, default="")
    # Matched against the request's Host: this page then answers at "/".
    # The domain must also be in ALLOWED_HOSTS (see the README).
    custom_domain = models.CharField(
        max_length=253, unique=True, null=True, blank=True, default=None
    )
    public = models.BooleanField(
        default=True, help_text="Off: the page and its feeds answer 404."
    )
    show_details = models.BooleanField(
        default=False, help_text="Show monitor URLs and incident causes."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("title", "id")

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        # The project's URLs even while a custom domain's request is served
        # (its own URLs have no names).
        return reverse(
            "statuspages:page", args=[self.slug], urlconf=settings.ROOT_URLCONF
        )


class StatusPageGroup(models.Model):
    page = models.ForeignKey(
        StatusPage, on_delete=models.CASCADE, related_name="groups"
    )
    name = models.CharField(max_length=100)
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ("page", "order", "id")

    def __str__(self) -> str:
        return self.name


class StatusPageMonitor(models.Model):
    group = models.ForeignKey(
        StatusPageGroup, on_delete=models.CASCADE, related_name="entries"
    )
    monitor = models.ForeignKey(
        Monitor, on_delete=models.CASCADE, related_name="status_page_entries"
    )
    order = models.PositiveIntegerField(default=0)
    # Empty: the monitor's own name.
    display_name = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        ordering = ("group", "order", "id")
        constraints = [
            models.UniqueConstraint(
                fields=["group", "monitor"], name="status_page_monitor_once"
            ),
        ]

    def __str__(self) -> str:
        return self.display_name or str(self.monitor_id)

    @property
    def name(self) -> str:
        return self.display_name or self.monitor.name


class SubscriberKind(models.TextChoices):
    EMAIL = "email"
    WEBHOOK = "webhook"


class StatusPageSubscriber(models.Model):
    page = models.ForeignKey(
        StatusPage, on_delete=models.CASCADE, related_name="subscribers"
    )
    kind = models.CharField(max_length=10, choices=SubscriberKind.choices)
    # An email address or a webhook URL.
    target = models.CharField(max_length=2000)
    # Webhooks: the Standard Webhooks signing secret, shown once.
    secret = models.CharField(max_length=120, blank=True, default="")
    # Null until the email's recipient follows the mailed link; webhooks are
    # confirmed when they subscribe (the subscriber holds the secret).
    confirmed_at = models.DateTimeField(null=True, blank=True)
    # In the confirmation and unsubscribe links; never shown elsewhere.
    token = models.CharField(max_length=64, unique=True, default=_token)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("page", "created_at", "id")
        constraints = [
            models.UniqueConstraint(
                fields=["page", "kind", "target"], name="status_page_subscriber_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} subscriber of {self.page_id}"

    @property
    def masked_target(self) -> str:
        from alerts.models import mask_url

        if self.kind == SubscriberKind.EMAIL:
            return self.target
        return mask_url(self.target)


class SubscriberEvent(models.TextChoices):
    CONFIRMATION = "subscriber.confirmation"
    INCIDENT_OPENED = "incident.opened"
    INCIDENT_UPDATED = "incident.updated"
    INCIDENT_RESOLVED = "incident.resolved"
    MAINTENANCE_SCHEDULED = "maintenance.scheduled"


class SubscriberMessage(Delivery):
    """One message to one subscriber: the outbox row and its delivery log."""

    subscriber = models.ForeignKey(
        StatusPageSubscriber, on_delete=models.CASCADE, related_name="messages"
    )
    incident = models.ForeignKey(
        Incident,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="subscriber_messages",
    )
    event = models.CharField(max_length=32, choices=SubscriberEvent.choices)
    # Unique per subscriber: "incident:7:opened", "update:12", ...
    dedupe_key = models.CharField(max_length=200)
    enqueued_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")
        constraints = [
            models.UniqueConstraint(
                fields=["subscriber", "dedupe_key"], name="subscriber_message_dedupe"
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="subscriber_msg_pending_idx",
                condition=Q(status="pending"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event} -> subscriber {self.subscriber_id} ({self.status})"
