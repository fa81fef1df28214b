from __future__ import annotations

from datetime import UTC
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.pagination import CursorPagination
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from ..models import Incident, Monitor, MonitorStatus, Project, Region, Role, Tick
from ..projects import project_require, projects_for
from ..services import default_project_for, monitor_delete
from .permissions import ProjectRolePermission
from .serializers import (
    IncidentSerializer,
    MonitorSerializer,
    RegionSerializer,
    TickDetailSerializer,
    TickSerializer,
)


class TickPagination(CursorPagination):
    """Keyset pages: no COUNT(*) over millions of ticks, stable under inserts."""

    ordering = ("-scheduled_at", "-id")
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 500


def _parse_time(request: Request, name: str) -> Any:
    raw = request.query_params.get(name)
    if not raw:
        return None
    value = parse_datetime(raw)
    if value is None:
        raise serializers.ValidationError(
            {name: f"Not an ISO 8601 date-time: {raw!r}."}
        )
    if timezone.is_naive(value):
        value = value.replace(tzinfo=UTC)
    return value


class MonitorViewSet(viewsets.ModelViewSet):
    serializer_class = MonitorSerializer
    permission_classes = (IsAuthenticated, ProjectRolePermission)
    write_role = Role.MEMBER

    def get_queryset(self) -> QuerySet[Monitor]:
        return (
            Monitor.objects.filter(project__in=projects_for(user=self.request.user))
            .prefetch_related("regions", "channels")
            .order_by("id")
        )

    def project_of(self, monitor: Monitor) -> Project:
        return monitor.project

    @transaction.atomic
    def perform_create(self, serializer: MonitorSerializer) -> None:
        project = serializer.validated_data.get("project") or default_project_for(
            self.request.user
        )
        project_require(user=self.request.user, project=project, min_role=Role.MEMBER)
        regions = serializer.validated_data.pop("regions", None)
        if regions is None:
            regions = list(Region.objects.filter(active=True))
        enabled = serializer.validated_data.get("enabled", True)
        monitor = serializer.save(
            project=project,
            next_check_at=timezone.now() if enabled else None,
            status=MonitorStatus.PENDING if enabled else MonitorStatus.PAUSED,
        )
        monitor.regions.set(regions)

    @transaction.atomic
    def perform_update(self, serializer: MonitorSerializer) -> None:
        before: Monitor = serializer.instance
        moved_to = serializer.validated_data.get("project")
        if moved_to is not None and moved_to.pk != before.project_id:
            # Moving a monitor writes into the other project as well.
            project_require(
                user=self.request.user, project=moved_to, min_role=Role.MEMBER
            )
        was_enabled = before.enabled
        old = (before.url, before.interval_seconds, before.kind)
        monitor = serializer.save()
        if was_enabled and not monitor.enabled:
            monitor.pause()
        elif not was_enabled and monitor.enabled:
            monitor.resume()
        elif (
            monitor.enabled
            and (
                monitor.url,
                monitor.interval_seconds,
                monitor.kind,
            )
            != old
        ):
            # What is checked changed: check at once, then on the new grid.
            Monitor.objects.filter(pk=monitor.pk).update(next_check_at=timezone.now())

    def perform_destroy(self, instance: Monitor) -> None:
        monitor_delete(monitor=instance)

    @action(detail=True, methods=["get"])
    def ticks(self, request: Request, pk: str | None = None) -> Response:
        monitor = self.get_object()
        # The list leaves the evidence out (it can be KBs a row): see tick().
        ticks = (
            Tick.objects.filter(monitor=monitor)
            .select_related("region")
            .defer("details")
        )
        region = request.query_params.get("region")
        if region:
            ticks = ticks.filter(region__code=region)
        since, until = _parse_time(request, "since"), _parse_time(request, "until")
        if since:
            ticks = ticks.filter(scheduled_at__gte=since)
        if until:
            ticks = ticks.filter(scheduled_at__lt=until)
        paginator = TickPagination()
        page = paginator.paginate_queryset(ticks, request, view=self)
        return paginator.get_paginated_response(TickSerializer(page, many=True).data)

    @action(detail=True, methods=["get"], url_path=r"ticks/(?P<tick_id>\d+)")
    def tick(
        self, request: Request, pk: str | None = None, tick_id: str | None = None
    ) -> Response:
        """One tick with its evidence; another project's tick is a 404."""
        monitor = self.get_object()
        tick = get_object_or_404(
            Tick.objects.select_related("region"), monitor=monitor, pk=tick_id
        )
        return Response(TickDetailSerializer(tick).data)


class IncidentViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = IncidentSerializer

    def get_queryset(self) -> QuerySet[Incident]:
        qs = Incident.objects.filter(
            monitor__project__in=projects_for(user=self.request.user)
        )
        params = self.request.query_params
        if params.get("monitor"):
            try:
                qs = qs.filter(monitor_id=int(params["monitor"]))
            except ValueError:
                raise serializers.ValidationError(
                    {"monitor": "Must be an integer id."}
                ) from None
        if params.get("status"):
            if params["status"] not in ("open", "resolved"):
                raise serializers.ValidationError(
                    {"status": "Must be open or resolved."}
                )
            qs = qs.filter(status=params["status"])
        return qs.order_by("-started_at", "-id")


class RegionViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = RegionSerializer
    queryset = Region.objects.order_by("code")
