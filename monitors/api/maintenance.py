"""``/api/maintenance/``: maintenance windows, project-scoped like monitors.

Reads need any role in the project, writes the member role (as monitors);
``monitors.maintenance`` holds the rules and answers bad values by field.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from accounts.scope import scope_choices
from uptime.auth import signed_in_user
from uptime.serializers import service_errors

from ..maintenance import (
    maintenance_window_create,
    maintenance_window_delete,
    maintenance_window_update,
)
from ..models import MaintenanceWindow, Monitor, Project, Recurrence, Role
from .scoped import ProjectScopedViewSet


class MaintenanceWindowSerializer(serializers.ModelSerializer):
    project = serializers.PrimaryKeyRelatedField(
        queryset=Project.objects.none(), required=False
    )
    monitors = serializers.PrimaryKeyRelatedField(
        many=True, queryset=Monitor.objects.none(), required=False
    )
    recurrence = serializers.ChoiceField(
        choices=Recurrence.choices, required=False, allow_blank=True
    )
    weekdays = serializers.ListField(
        child=serializers.IntegerField(min_value=0, max_value=6),
        required=False,
        max_length=7,
    )
    active = serializers.SerializerMethodField()

    class Meta:
        model = MaintenanceWindow
        fields = (
            "id",
            "project",
            "title",
            "starts_at",
            "ends_at",
            "recurrence",
            "weekdays",
            "monitors",
            "active",
            "created_at",
        )
        read_only_fields = ("created_at",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The role is the service's check (403), the monitors' project
        # against the window's a 400.
        scope_choices(self.fields, self.context.get("request"), monitors="monitors")

    def get_active(self, window: MaintenanceWindow) -> bool:
        return window.occurrence_at(timezone.now()) is not None


class MaintenanceWindowViewSet(ProjectScopedViewSet[MaintenanceWindow]):
    serializer_class = MaintenanceWindowSerializer
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    write_role = Role.MEMBER
    noun = "maintenance windows"

    def get_queryset(self) -> QuerySet[MaintenanceWindow]:
        return self.scoped(
            MaintenanceWindow.objects.select_related("project").prefetch_related(
                "monitors"
            )
        )

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        project = self.project_for_create(data)
        with service_errors():
            window = maintenance_window_create(
                user=signed_in_user(request), project=project, fields=data
            )
        return Response(
            self.get_serializer(window).data, status=status.HTTP_201_CREATED
        )

    def perform_update(self, serializer: BaseSerializer[MaintenanceWindow]) -> None:
        window = serializer.instance
        assert window is not None  # an update's serializer has its instance
        data = dict(serializer.validated_data)
        project = data.pop("project", None)
        if project is not None and project.pk != window.project_id:
            raise serializers.ValidationError(
                {"project": "A window stays in its project: delete and add it."}
            )
        with service_errors():
            serializer.instance = maintenance_window_update(
                user=signed_in_user(self.request), window=window, fields=data
            )

    def perform_destroy(self, instance: MaintenanceWindow) -> None:
        maintenance_window_delete(user=signed_in_user(self.request), window=instance)
