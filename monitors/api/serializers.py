from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from ..models import Incident, Monitor, Project, Region, Tick
from ..validators import validate_target_url


class RegionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Region
        fields = ("code", "name", "active")


class QuorumField(serializers.IntegerField):
    """Writes the stored value (null = majority); reads the effective one."""

    def get_attribute(self, instance: Monitor) -> Monitor:
        return instance

    def to_representation(self, monitor: Monitor) -> int:  # type: ignore[override]
        return monitor.effective_quorum(len(monitor.regions.all()))


class MonitorSerializer(serializers.ModelSerializer):
    project = serializers.PrimaryKeyRelatedField(
        queryset=Project.objects.none(), required=False
    )
    regions = serializers.SlugRelatedField(
        many=True,
        slug_field="code",
        queryset=Region.objects.filter(active=True),
        required=False,
    )
    region_quorum = QuorumField(required=False, allow_null=True, min_value=1)
    url = serializers.CharField(max_length=2000)
    interval_seconds = serializers.IntegerField(required=False, default=60)
    timeout_seconds = serializers.FloatField(
        required=False, default=10.0, min_value=0.1
    )

    class Meta:
        model = Monitor
        fields = (
            "id",
            "project",
            "name",
            "url",
            "interval_seconds",
            "timeout_seconds",
            "regions",
            "failure_threshold",
            "recovery_threshold",
            "region_quorum",
            "enabled",
            "status",
            "last_checked_at",
            "created_at",
        )
        read_only_fields = ("status", "last_checked_at", "created_at")
        extra_kwargs = {
            "failure_threshold": {"min_value": 1, "max_value": 100},
            "recovery_threshold": {"min_value": 1, "max_value": 100},
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None and request.user.is_authenticated:
            self.fields["project"].queryset = Project.objects.filter(
                members=request.user
            )

    def validate_url(self, value: str) -> str:
        value = value.strip()
        try:
            validate_target_url(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from None
        return value

    def validate_interval_seconds(self, value: int) -> int:
        floor = settings.UPTIME_MIN_INTERVAL_SECONDS
        if value < floor:
            raise serializers.ValidationError(f"Must be at least {floor} seconds.")
        if value > 86400:
            raise serializers.ValidationError(
                "Must be at most 86400 seconds (one day)."
            )
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        instance: Monitor | None = self.instance
        interval = attrs.get(
            "interval_seconds", instance.interval_seconds if instance else 60
        )
        timeout = attrs.get(
            "timeout_seconds", instance.timeout_seconds if instance else 10.0
        )
        if "timeout_seconds" not in attrs and instance is None and interval <= timeout:
            # The default timeout must fit a short interval.
            timeout = attrs["timeout_seconds"] = max(min(10.0, interval * 0.8), 0.1)
        if timeout >= interval:
            raise serializers.ValidationError(
                {"timeout_seconds": f"Must be below the interval ({interval} s)."}
            )
        if "regions" in attrs:
            regions = attrs["regions"]
        elif instance is not None:
            regions = list(instance.regions.all())
        else:
            regions = list(Region.objects.filter(active=True))
        if not regions:
            raise serializers.ValidationError(
                {"regions": "Choose at least one region."}
            )
        quorum = attrs.get(
            "region_quorum", instance.region_quorum if instance else None
        )
        if quorum is not None and quorum > len(regions):
            raise serializers.ValidationError(
                {"region_quorum": f"At most the number of regions ({len(regions)})."}
            )
        return attrs


class TickSerializer(serializers.ModelSerializer):
    region = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = Tick
        fields = (
            "region",
            "scheduled_at",
            "checked_at",
            "status",
            "response_time_ms",
            "status_code",
            "error",
            "message",
        )


class IncidentSerializer(serializers.ModelSerializer):
    duration_seconds = serializers.IntegerField(read_only=True)

    class Meta:
        model = Incident
        fields = (
            "id",
            "monitor",
            "status",
            "started_at",
            "resolved_at",
            "cause",
            "duration_seconds",
            "details",
        )
