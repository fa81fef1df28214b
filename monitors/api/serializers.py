from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from django.conf import settings
from django.db.models import Field
from rest_framework import serializers

from accounts.scope import api_create_project, api_projects, scope_choices
from uptime.serializers import ModelSerializer, OptionalBooleanField

from ..checks import (
    check_fields,
    clean_options,
    option_fields,
    option_names,
    shown_names,
)
from ..dependencies import dependency_error
from ..models import (
    EscalationPolicy,
    Incident,
    IncidentUpdate,
    Monitor,
    Project,
    Region,
    Role,
    Tick,
)
from ..regionhealth import monitor_coverage
from ..secrets import headers_masked, monitor_secrets_after_edit
from ..validators import monitor_settings_errors
from .extensions import contributed_fields


class RegionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Region
        fields = ("code", "name", "active", "healthy")


class QuorumField(serializers.IntegerField):
    """Writes the stored value (null = majority); reads the effective one."""

    def get_attribute(self, instance: Monitor) -> Monitor:  # type: ignore[override]  # the whole monitor, for to_representation
        return instance

    def to_representation(self, monitor: Monitor) -> int:  # type: ignore[override]  # given the monitor by get_attribute
        return monitor.effective_quorum(len(monitor.regions.all()))


def _option_kwargs() -> dict[str, dict[str, Any]]:
    """Field arguments the kinds declare: bounds, write-only."""
    kwargs: dict[str, dict[str, Any]] = {}
    for option in option_fields():
        extra: dict[str, Any] = {}
        if option.write_only:
            extra["write_only"] = True
        if option.min_value is not None:
            extra["min_value"] = option.min_value
        if option.max_value is not None:
            extra["max_value"] = option.max_value
        if extra:
            kwargs[option.name] = extra
    return kwargs


class MonitorSerializer(ModelSerializer):
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
    # The monitor this one sits behind (its id): while that one is down, this
    # one's incidents are recorded suppressed and alert nobody.
    depends_on = serializers.PrimaryKeyRelatedField(
        queryset=Monitor.objects.none(), required=False, allow_null=True
    )
    # The target: an http(s) URL, tcp://host:port (or host:port) or a DNS
    # name, by kind; empty for heartbeats. Checked in validate() by kind.
    url = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    ping_url = serializers.CharField(read_only=True)
    has_auth_password = serializers.SerializerMethodField()
    # "ok", or "insufficient": fewer healthy regions than the quorum, so the
    # monitor's incident state is held (monitors/regionhealth.py).
    coverage = serializers.SerializerMethodField()
    interval_seconds = serializers.IntegerField(required=False, default=60)
    timeout_seconds = serializers.FloatField(
        required=False, default=10.0, min_value=0.1
    )
    enabled = OptionalBooleanField(required=False, default=True)
    # No default here: a PUT that leaves it out keeps the stored choice.
    show_on_status_page = OptionalBooleanField(required=False)
    # Null: the monitor's channels are alerted at once (one step).
    escalation_policy = serializers.PrimaryKeyRelatedField(
        queryset=EscalationPolicy.objects.none(), required=False, allow_null=True
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
            "depends_on",
            "enabled",
            "show_on_status_page",
            "escalation_policy",
            "status",
            "consecutive_failures",
            "flapping",
            "flapping_since",
            "coverage",
            "last_checked_at",
            "created_at",
            # check kinds and options, as the kinds declare them
            "kind",
            *option_names(),
            "has_auth_password",
            *shown_names(),
            "cert_expires_at",
            "cert_issuer",
        )
        read_only_fields = (
            "status",
            "flapping",
            "flapping_since",
            "last_checked_at",
            "created_at",
            *shown_names(),
            "cert_expires_at",
            "cert_issuer",
        )
        extra_kwargs = {
            # auth_password is write-only: has_auth_password tells whether
            # one is set.
            **_option_kwargs(),
            "failure_threshold": {"min_value": 1, "max_value": 100},
            "recovery_threshold": {"min_value": 1, "max_value": 100},
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        scope_choices(self.fields, request)
        if request is not None and request.user.is_authenticated:
            self.fields["escalation_policy"].queryset = (  # type: ignore[attr-defined]  # a PrimaryKeyRelatedField (a cast trips drf-stubs)
                EscalationPolicy.objects.filter(project__in=api_projects(request))
            )
            # Among the caller's monitors; the same project is checked below.
            self.fields["depends_on"].queryset = Monitor.objects.filter(  # type: ignore[attr-defined]  # a PrimaryKeyRelatedField (a cast trips drf-stubs)
                project__in=self.fields["project"].queryset  # type: ignore[attr-defined]  # set just above by scope_choices
            )

    def get_fields(self) -> dict[str, serializers.Field]:
        # Other apps' fields (alerts' channels): see api/extensions.py.
        fields = super().get_fields()
        fields.update(contributed_fields(self.context.get("request")))
        return fields

    # The header values this request sent: its response may echo them.
    _sent_headers: Mapping[str, Any] | None = None

    def get_has_auth_password(self, monitor: Monitor) -> bool:
        return bool(monitor.auth_password)

    def get_coverage(self, monitor: Monitor) -> str:
        return monitor_coverage(monitor)

    def to_representation(self, instance: Monitor) -> dict[str, Any]:
        data = super().to_representation(instance)
        if "http_headers" in data:
            # Header values are often credentials (X-Api-Key, Authorization).
            data["http_headers"] = headers_masked(
                instance.http_headers or {}, sent=self._sent_headers
            )
        return data

    def _resolve_secrets(self, attrs: dict[str, Any]) -> None:
        """Masked values stand for stored ones; a new origin keeps none."""
        instance: Monitor | None = self.instance
        sent = attrs.get("http_headers")
        if isinstance(sent, Mapping):
            self._sent_headers = dict(sent)
        url = attrs.get("url", instance.url if instance else "")
        try:
            attrs.update(
                monitor_secrets_after_edit(
                    instance,
                    url=url,
                    password=attrs.get("auth_password"),
                    headers=sent,
                )
            )
        except ValueError as exc:
            raise serializers.ValidationError({"http_headers": str(exc)}) from None

    def validate_url(self, value: str) -> str:
        # What the URL must be depends on the kind: see _validate_check().
        return value.strip()

    def _validate_check(self, attrs: dict[str, Any]) -> None:
        """Kind, target and options together; errors name their field."""
        instance: Monitor | None = self.instance
        values = {
            name: attrs[name]
            if name in attrs
            else (
                getattr(instance, name)
                if instance is not None
                else cast(Field, Monitor._meta.get_field(name)).get_default()
            )
            for name in check_fields()
        }
        cleaned, errors = clean_options(
            values, allow_private=settings.UPTIME_ALLOW_PRIVATE_TARGETS
        )
        if errors:
            raise serializers.ValidationError(errors)
        attrs.update(cleaned)

    def _validate_project(self, attrs: dict[str, Any]) -> None:
        """On create without a project: the API key's project, else the
        caller's personal one, and only when there is no choice."""
        request = self.context.get("request")
        if self.instance is not None or attrs.get("project") or request is None:
            return
        attrs["project"] = api_create_project(
            request, min_role=Role.MEMBER, noun="monitors"
        )

    def _validate_channels(self, attrs: dict[str, Any]) -> None:
        """Channels must belong to the monitor's own project."""
        if not attrs.get("channels"):
            return
        instance: Monitor | None = self.instance
        # _validate_project has set the project of a create.
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

    def _validate_policy(self, attrs: dict[str, Any]) -> None:
        """An escalation policy of the monitor's own project."""
        policy = attrs.get("escalation_policy")
        if policy is None:
            return
        instance: Monitor | None = self.instance
        project = attrs.get("project") or (instance.project if instance else None)
        if project is None or policy.project_id != project.pk:
            raise serializers.ValidationError(
                {"escalation_policy": "The policy belongs to another project."}
            )

    def _validate_depends_on(self, attrs: dict[str, Any]) -> None:
        """Same project, not itself, no cycle (monitors.dependencies)."""
        instance: Monitor | None = self.instance
        if "depends_on" not in attrs and "project" not in attrs:
            return
        project = attrs.get("project") or (instance.project if instance else None)
        parent = attrs.get(
            "depends_on", instance.depends_on if instance is not None else None
        )
        if "depends_on" not in attrs and instance is not None:
            return  # a move: the services drop a dependency left behind
        error = dependency_error(
            monitor=instance,
            project_id=project.pk if project is not None else None,
            parent=parent,
        )
        if error:
            raise serializers.ValidationError({"depends_on": error})

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        self._validate_project(attrs)
        self._validate_channels(attrs)
        self._validate_policy(attrs)
        self._validate_depends_on(attrs)
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
        self._resolve_secrets(attrs)
        self._validate_check(attrs)
        return attrs


class TickSerializer(serializers.ModelSerializer):
    region: serializers.SlugRelatedField[Region] = serializers.SlugRelatedField(
        slug_field="code", read_only=True
    )

    class Meta:
        model = Tick
        fields: tuple[str, ...] = (
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
    # A user name, or the name given on the signed link; null until then.
    acknowledged_by = serializers.SerializerMethodField()
    resolved_by = serializers.SerializerMethodField()

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
            "acknowledged_at",
            "acknowledged_by",
            "ack_note",
            "resolved_by_hand",
            "resolved_by",
            "resolve_note",
            # Opened while the monitor's parent was down: no alerts sent.
            "suppressed",
            "suppressed_by",
        )
        read_only_fields = fields

    def get_acknowledged_by(self, instance: Incident) -> str | None:
        return instance.acknowledger if instance.acknowledged_at else None

    def get_resolved_by(self, instance: Incident) -> str | None:
        return instance.resolver if instance.resolved_by_hand else None


class IncidentNoteSerializer(serializers.Serializer[Any]):
    """The body of acknowledge and resolve: an optional note."""

    note = serializers.CharField(
        max_length=1000, required=False, allow_blank=True, default=""
    )


class IncidentUpdateSerializer(serializers.ModelSerializer):
    author: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )

    class Meta:
        model = IncidentUpdate
        fields = ("id", "incident", "status", "body", "author", "created_at")
        read_only_fields = ("incident", "author", "created_at")
