from __future__ import annotations

from typing import Any

from rest_framework import serializers

from accounts.scope import scope_choices
from monitors.models import Monitor, Project
from uptime.serializers import ModelSerializer

from ..models import CHANNEL_SETTINGS, Channel, Notification


class ChannelSerializer(ModelSerializer):
    """Parses a channel; ``alerts.services.channels`` holds the rules."""

    project = serializers.PrimaryKeyRelatedField(
        queryset=Project.objects.none(), required=False
    )
    monitors = serializers.PrimaryKeyRelatedField(
        many=True, queryset=Monitor.objects.none(), required=False
    )
    # Write-only after creation: the view adds it to the create response once.
    secret = serializers.CharField(
        write_only=True, required=False, allow_blank=True, max_length=120
    )
    # Blank is the service's call: on an update it keeps a Slack or webhook
    # URL, which responses never show in full.
    target = serializers.CharField(max_length=2000, allow_blank=True)
    # False while an email channel's recipient has not confirmed the address
    # (it sends nothing until then); always true for Slack and webhooks.
    confirmed = serializers.SerializerMethodField()

    class Meta:
        model = Channel
        fields = (
            "id",
            "project",
            *CHANNEL_SETTINGS,
            "confirmed",
            "last_notified_at",
            "last_error",
            "created_at",
        )
        read_only_fields = ("last_notified_at", "last_error", "created_at")

    def get_confirmed(self, instance: Channel) -> bool:
        return not instance.awaiting_confirmation

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        scope_choices(self.fields, self.context.get("request"), monitors="monitors")

    def to_representation(self, instance: Channel) -> dict[str, Any]:
        data = super().to_representation(instance)
        # Slack and webhook URLs carry their credentials in the path.
        data["target"] = instance.masked_target
        return data


class NotificationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Notification
        fields = (
            "id",
            "incident",
            "channel",
            "event",
            "status",
            "attempts",
            "last_error",
            "created_at",
            "sent_at",
        )
        read_only_fields = fields
