from __future__ import annotations

from typing import Any

from rest_framework import serializers

from accounts.scope import api_projects, scope_choices
from monitors.models import EscalationPolicy, Monitor, Project
from uptime.serializers import ModelSerializer

from ..models import CHANNEL_SETTINGS, Channel, EscalationStep, Notification


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


class EscalationStepSerializer(serializers.ModelSerializer):
    delay_minutes = serializers.IntegerField(min_value=0, max_value=10080)
    repeat_every_minutes = serializers.IntegerField(
        min_value=1, max_value=10080, required=False, allow_null=True, default=None
    )
    channels = serializers.PrimaryKeyRelatedField(
        many=True, queryset=Channel.objects.none()
    )

    class Meta:
        model = EscalationStep
        fields = ("order", "delay_minutes", "repeat_every_minutes", "channels")
        read_only_fields = ("order",)

    def scope(self, request: Any) -> None:
        """Offer only the caller's channels (the policy's __init__ calls it:
        a nested serializer has no context of its own yet)."""
        if request is not None and request.user.is_authenticated:
            self.fields["channels"].child_relation.queryset = Channel.objects.filter(  # type: ignore[attr-defined]  # a ManyRelatedField (a cast trips drf-stubs)
                project__in=api_projects(request)
            )


class EscalationPolicySerializer(ModelSerializer):
    """A policy and its ordered steps; a write replaces all the steps
    (``alerts.services.policy_save`` holds the rules)."""

    project = serializers.PrimaryKeyRelatedField(
        queryset=Project.objects.none(), required=False
    )
    steps = EscalationStepSerializer(many=True, required=False)
    monitors = serializers.PrimaryKeyRelatedField[Monitor](many=True, read_only=True)

    class Meta:
        model = EscalationPolicy
        fields = ("id", "project", "name", "steps", "monitors", "created_at")
        read_only_fields = ("created_at",)
        # policy_save checks the unique name (its DRF validator would make
        # ``project`` required, which a create may leave out).
        validators: list[Any] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        scope_choices(self.fields, request)
        steps = self.fields["steps"]
        assert isinstance(steps, serializers.ListSerializer)
        assert isinstance(steps.child, EscalationStepSerializer)
        steps.child.scope(request)
