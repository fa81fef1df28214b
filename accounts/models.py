"""API keys a person manages from the dashboard (no shell needed)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class ApiKey(models.Model):
    """A bearer key for the REST API, stored as a SHA-256 hash.

    The key itself is shown once, when it is created; only ``prefix`` (its
    first characters) is kept readable, so a person can tell keys apart.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys"
    )
    name = models.CharField(max_length=100)
    # Cascade, never SET_NULL: a null project means "all the user's projects",
    # so a key must not widen its reach when its project is deleted.
    project = models.ForeignKey(
        "monitors.Project",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="api_keys",
        help_text="Empty: every project of the user.",
    )
    read_only = models.BooleanField(default=True)
    prefix = models.CharField(max_length=16)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")
        indexes = [
            models.Index(
                fields=["user"],
                condition=Q(revoked_at__isnull=True),
                name="apikey_active_by_user",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
