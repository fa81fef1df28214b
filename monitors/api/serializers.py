from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework import serializers
from rest_framework.fields import empty

from ..checks.options import CHECK_FIELDS, clean_options
from ..models import Incident, Monitor, MonitorKind, Project, Region, Role, Tick
from ..projects import projects_for
from ..services import default_project_for
from ..validators import monitor_settings_errors


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


class OptionalBooleanField(serializers.BooleanField):
    """A boolean that keeps its default when a form-encoded body omits it."""

    default_empty_html = empty


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
    # The target: an http(s) URL, tcp://host:port (or host:port) or a DNS
    # name, by kind; empty for heartbeats. Checked in validate() by kind.
    url = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    ping_url = serializers.CharField(read_only=True)
    has_auth_password = serializers.SerializerMethodField()
    interval_seconds = serializers.IntegerField(required=False, default=60)
    timeout_seconds = serializers.FloatField(
        required=False, default=10.0, min_value=0.1
    )
    enabled = OptionalBooleanField(required=False, default=True)
    # No default here: a PUT that leaves it out keeps the stored choice.
    show_on_status_page = OptionalBooleanField(required=False)
    # Alert channels (alerts.Channel, which owns the relation: monitors does
    # not import alerts). The queryset is scoped to the caller in __init__.
    channels = serializers.PrimaryKeyRelatedField(
        many=True, queryset=Project.objects.none(), required=False
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
            "show_on_status_page",
            "channels",
            "status",
            "last_checked_at",
            "created_at",
            # check kinds and options (monitors/checks/)
            "kind",
            "http_method",
            "http_headers",
            "http_body",
            "auth_username",
            "auth_password",
            "has_auth_password",
            "accepted_status_codes",
            "follow_redirects",
            "max_redirects",
            "verify_tls",
            "keyword",
            "keyword_mode",
            "json_path",
            "degraded_threshold_ms",
            "dns_record_type",
            "dns_expected",
            "dns_resolver",
            "heartbeat_grace_seconds",
            "ping_url",
            "last_ping_at",
            "cert_expires_at",
            "cert_issuer",
        )
        read_only_fields = (
            "status",
            "last_checked_at",
            "created_at",
            "last_ping_at",
            "cert_expires_at",
            "cert_issuer",
        )
        extra_kwargs = {
            # Never shown back; has_auth_password tells whether one is set.
            "auth_password": {"write_only": True},
            "max_redirects": {"min_value": 0, "max_value": 20},
            "degraded_threshold_ms": {"min_value": 1, "max_value": 600_000},
            "heartbeat_grace_seconds": {"min_value": 0, "max_value": 86400},
            "failure_threshold": {"min_value": 1, "max_value": 100},
            "recovery_threshold": {"min_value": 1, "max_value": 100},
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None and request.user.is_authenticated:
            # Any of the caller's projects: a project where the role is too
            # low for the write is a 403 from the view, not "no such project".
            self.fields["project"].queryset = projects_for(user=request.user)
            channel_model = Monitor._meta.get_field("channels").related_model
            self.fields[
                "channels"
            ].child_relation.queryset = channel_model.objects.filter(
                project__in=projects_for(user=request.user)
            )

    def get_has_auth_password(self, monitor: Monitor) -> bool:
        return bool(monitor.auth_password)

    def validate_url(self, value: str) -> str:
        # What the URL must be depends on the kind: see _validate_check().
        return value.strip()

    def _validate_check(self, attrs: dict[str, Any], regions: list[Region]) -> None:
        """Kind, target and options together; errors name their field."""
        instance: Monitor | None = self.instance
        values = {
            name: attrs[name]
            if name in attrs
            else (
                getattr(instance, name)
                if instance is not None
                else Monitor._meta.get_field(name).get_default()
            )
            for name in CHECK_FIELDS
        }
        cleaned, errors = clean_options(
            values, allow_private=settings.UPTIME_ALLOW_PRIVATE_TARGETS
        )
        if errors:
            raise serializers.ValidationError(errors)
        attrs.update(cleaned)
        if values["kind"] == MonitorKind.HEARTBEAT:
            # Evaluated from the database, not the network: one region is
            # enough, and one tick per slot (quorum 1) is what it means.
            attrs["regions"] = sorted(regions, key=lambda r: r.code)[:1]
            attrs["region_quorum"] = None
            if instance is None and "failure_threshold" not in attrs:
                attrs["failure_threshold"] = 1

    def _validate_project(self, attrs: dict[str, Any]) -> None:
        """On create, the project is required once there is a choice.

        Without a project a monitor goes to the caller's personal project,
        and only when that is the one project they can add monitors to: a
        project someone else invited them to is never picked for them.
        """
        request = self.context.get("request")
        if self.instance is not None or attrs.get("project") or request is None:
            return
        writable = projects_for(user=request.user, min_role=Role.MEMBER)
        if writable.count() > 1:
            raise serializers.ValidationError(
                {
                    "project": "This field is required: you can add monitors "
                    "to more than one project."
                }
            )
        attrs["project"] = default_project_for(request.user)

    def _validate_channels(self, attrs: dict[str, Any]) -> None:
        """Channels must belong to the monitor's own project."""
        if not attrs.get("channels"):
            return
        instance: Monitor | None = self.instance
        project = attrs.get("project") or (instance.project if instance else None)
        foreign = sorted(
            c.pk
            for c in attrs["channels"]
            if project is None or c.project_id != project.pk
        )
        if foreign:
            raise serializers.ValidationError(
                {"channels": f"Channels {foreign} belong to another project."}
            )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        self._validate_project(attrs)
        self._validate_channels(attrs)
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
        form_input = hasattr(self.initial_data, "getlist")
        if (
            form_input
            and not attrs.get("regions")
            and "regions" not in self.initial_data
        ):
            # A form-encoded body that leaves regions out means "the default",
            # not "none" (DRF reads a missing list as empty there).
            attrs.pop("regions", None)
        if "regions" in attrs:
            regions = attrs["regions"]
        elif instance is not None:
            regions = list(instance.regions.all())
        else:
            regions = list(Region.objects.filter(active=True))
        quorum = attrs.get(
            "region_quorum", instance.region_quorum if instance else None
        )
        errors = monitor_settings_errors(
            interval_seconds=interval,
            timeout_seconds=timeout,
            region_count=len(regions),
            region_quorum=quorum,
        )
        if errors:
            raise serializers.ValidationError(errors)
        self._validate_check(attrs, regions)
        return attrs


class TickSerializer(serializers.ModelSerializer):
    region = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = Tick
        fields = (
            "id",
            "region",
            "scheduled_at",
            "checked_at",
            "status",
            "response_time_ms",
            "status_code",
            "error",
            "message",
        )


class TickDetailSerializer(TickSerializer):
    """One tick with its evidence (bounded JSON; clients must escape it)."""

    class Meta(TickSerializer.Meta):
        fields = (*TickSerializer.Meta.fields, "monitor", "details")


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
