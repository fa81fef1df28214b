from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from monitors.models import Monitor, Project
from monitors.projects import projects_for

from ..models import CHANNEL_SETTINGS, Channel, Notification
from ..services import channel_validate


def _as_drf(exc: DjangoValidationError) -> serializers.ValidationError:
    if hasattr(exc, "message_dict"):
        return serializers.ValidationError(exc.message_dict)
    return serializers.ValidationError(exc.messages)


class ChannelSerializer(serializers.ModelSerializer):
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
    target = serializers.CharField(max_length=2000)

    class Meta:
        model = Channel
        fields = (
            "id",
            "project",
            *CHANNEL_SETTINGS,
            "last_notified_at",
            "last_error",
            "created_at",
        )
        read_only_fields = ("last_notified_at", "last_error", "created_at")
        extra_kwargs = {"reminder_minutes": {"min_value": 1, "max_value": 10080}}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None and request.user.is_authenticated:
            # Any of the caller's projects; the view answers 403 when the
            # role is too low, rather than pretending the project is unknown.
            self.fields["project"].queryset = projects_for(user=request.user)
            self.fields["monitors"].child_relation.queryset = Monitor.objects.filter(
                project__in=projects_for(user=request.user)
            )

    def to_representation(self, instance: Channel) -> dict[str, Any]:
        data = super().to_representation(instance)
        # Slack and webhook URLs carry their credentials in the path.
        data["target"] = instance.masked_target
        return data

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        instance: Channel | None = self.instance
        if instance is not None:
            if "kind" in attrs and attrs["kind"] != instance.kind:
                raise serializers.ValidationError(
                    {"kind": "Cannot be changed; create a new channel instead."}
                )
            if "project" in attrs and attrs["project"] != instance.project:
                raise serializers.ValidationError({"project": "Cannot be changed."})
        kind = attrs.get("kind", instance.kind if instance else None)
        if kind is None:
            raise serializers.ValidationError({"kind": "This field is required."})
        if "target" in attrs:
            attrs["target"] = attrs["target"].strip()
        target = attrs.get("target", instance.target if instance else "")
        secret = attrs.get("secret") or None
        try:
            channel_validate(kind=kind, target=target, secret=secret)
        except DjangoValidationError as exc:
            raise _as_drf(exc) from None
        project = attrs.get("project") or (instance.project if instance else None)
        if project is None:
            project = self.context.get("default_project")
            if project is None:
                raise serializers.ValidationError(
                    {
                        "project": "This field is required: you can add "
                        "channels to more than one project."
                    }
                )
        monitors = attrs.get("monitors") or []
        if project is not None:
            foreign = [m.pk for m in monitors if m.project_id != project.pk]
            if foreign:
                raise serializers.ValidationError(
                    {"monitors": f"Monitors {foreign} belong to another project."}
                )
        return attrs


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
