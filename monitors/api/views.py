from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.utils.urls import replace_query_param

from accounts.scope import api_projects
from uptime.auth import signed_in_user
from uptime.pagination import whole_number
from uptime.serializers import service_errors

from .. import tickslots
from ..incident_updates import incident_update_post
from ..models import Incident, IncidentStatus, Monitor, Region, Role, Tick
from ..services import (
    BULK_CREATE_MAX,
    BulkItemError,
    incident_acknowledge,
    incident_resolve_by_hand,
    monitor_create,
    monitor_delete,
    monitor_update,
    monitors_create_bulk,
)
from .scoped import ProjectScopedViewSet
from .serializers import (
    IncidentNoteSerializer,
    IncidentSerializer,
    IncidentUpdateSerializer,
    MonitorSerializer,
    RegionSerializer,
    TickDetailSerializer,
    TickSerializer,
)


def _as_utc(raw: str) -> datetime | None:
    """An ISO 8601 date-time in UTC, or None for anything that is not one
    (including well-formed nonsense such as month 13 or a +99:00 offset)."""
    try:
        value = parse_datetime(raw)
        if value is None:
            return None
        if timezone.is_naive(value):
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


class TickPagination(CursorPagination):
    """Keyset pages: no COUNT(*) over millions of ticks, stable under inserts."""

    ordering = ("-scheduled_at", "-id")
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 500

    def get_page_size(self, request: Request) -> int:
        size = whole_number(
            request, self.page_size_query_param, maximum=self.max_page_size
        )
        return size or self.page_size

    def decode_cursor(self, request: Request) -> Cursor | None:
        # The cursor is unsigned base64: a client can write any position, and
        # one that is no date-time would reach the query. A bad one is a 400.
        try:
            cursor = super().decode_cursor(request)
            if cursor is None or cursor.position is None:
                return cursor
            # A string here, whatever drf-stubs say.
            if _as_utc(str(cursor.position)) is not None:
                return cursor
        except NotFound:
            pass
        raise serializers.ValidationError(
            {self.cursor_query_param: "Not a cursor from a previous page."}
        )


def _parse_time(request: Request, name: str) -> datetime | None:
    raw = request.query_params.get(name)
    if not raw:
        return None
    value = _as_utc(raw)
    if value is None:
        raise serializers.ValidationError(
            {name: f"Not an ISO 8601 date-time: {raw[:100]!r}."}
        )
    return value


def _field_messages(exc: DjangoValidationError) -> dict[str, list[str]]:
    if not hasattr(exc, "error_dict"):
        return {"non_field_errors": exc.messages}
    return {
        ("non_field_errors" if field == "__all__" else field): messages
        for field, messages in exc.message_dict.items()
    }


def _service_error(exc: DjangoValidationError) -> serializers.ValidationError:
    """A refusal of the services (a quota, a dependency that changed under
    the request) as a 400 that names the field (or the whole monitor)."""
    return serializers.ValidationError(_field_messages(exc))


def _bulk_items(data: Any) -> list[Any]:
    """The monitors of a bulk create: a JSON list, or {"monitors": [...]}."""
    if isinstance(data, dict) and set(data) == {"monitors"}:
        data = data["monitors"]
    if not isinstance(data, list) or not data:
        raise serializers.ValidationError(
            {"monitors": 'Send a non-empty JSON list, or {"monitors": [...]}.'}
        )
    if len(data) > BULK_CREATE_MAX:
        raise serializers.ValidationError(
            {
                "monitors": f"At most {BULK_CREATE_MAX} monitors in one request "
                f"(got {len(data)})."
            }
        )
    return data


class MonitorViewSet(ProjectScopedViewSet[Monitor]):
    serializer_class = MonitorSerializer
    write_role = Role.MEMBER
    noun = "monitors"

    def get_queryset(self) -> QuerySet[Monitor]:
        return self.scoped(Monitor.objects.prefetch_related("regions", "channels"))

    def perform_create(self, serializer: BaseSerializer[Monitor]) -> None:
        try:
            serializer.instance = monitor_create(
                user=signed_in_user(self.request),
                fields=serializer.validated_data,
            )
        except DjangoValidationError as exc:  # a quota, or a dependency
            raise _service_error(exc) from None

    @action(detail=False, methods=["post"])
    def bulk(self, request: Request) -> Response:
        """Create up to BULK_CREATE_MAX monitors, all or nothing.

        Each item is validated as a single create would be; the errors of
        every bad item come back at once, keyed by the item's index.
        """
        checked = [self.get_serializer(data=item) for item in _bulk_items(request.data)]
        errors: dict[str, Any] = {
            str(index): serializer.errors
            for index, serializer in enumerate(checked)
            if not serializer.is_valid()
        }
        if errors:
            raise serializers.ValidationError({"monitors": errors})
        try:
            created = monitors_create_bulk(
                user=signed_in_user(request), items=[s.validated_data for s in checked]
            )
        except BulkItemError as exc:
            raise serializers.ValidationError(
                {"monitors": {str(exc.index): _field_messages(exc.error)}}
            ) from None
        for serializer, monitor in zip(checked, created, strict=True):
            serializer.instance = monitor
        return Response([s.data for s in checked], status=201)

    def perform_update(self, serializer: BaseSerializer[Monitor]) -> None:
        monitor = serializer.instance
        assert monitor is not None  # an update's serializer has its instance
        try:
            serializer.instance = monitor_update(
                user=signed_in_user(self.request),
                monitor=monitor,
                fields=serializer.validated_data,
            )
        except DjangoValidationError as exc:  # a quota, or a dependency
            raise _service_error(exc) from None

    def perform_destroy(self, instance: Monitor) -> None:
        monitor_delete(user=signed_in_user(self.request), monitor=instance)

    @extend_schema(
        parameters=[
            OpenApiParameter("region", str, description="A region code."),
            OpenApiParameter(
                "since",
                OpenApiTypes.DATETIME,
                description=(
                    "Slots at or after. Default: 24 hours before `until` (or "
                    "before the first page's request); the `next` and "
                    "`previous` links keep the window."
                ),
            ),
            OpenApiParameter(
                "until", OpenApiTypes.DATETIME, description="Slots before."
            ),
        ],
        responses=TickSerializer(many=True),
    )
    @action(detail=True, methods=["get"], pagination_class=TickPagination)
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
        pinned = since is None
        if since is None:
            # Always a lower bound: without one the planner opens every day
            # partition of the tick table kept (monitors.tickslots).
            since = tickslots.window_start(until or timezone.now())
        ticks = ticks.filter(scheduled_at__gte=since)
        if until:
            ticks = ticks.filter(scheduled_at__lt=until)
        paginator = TickPagination()
        page = paginator.paginate_queryset(ticks, request, view=self)
        if pinned and paginator.base_url:
            # The next pages keep the first page's window, not "now - 24 h"
            # of their own request (which would drop the oldest rows).
            paginator.base_url = replace_query_param(
                paginator.base_url, "since", tickslots.slot_text(since)
            )
        return paginator.get_paginated_response(TickSerializer(page, many=True).data)

    @extend_schema(
        operation_id="monitors_tick_retrieve",
        parameters=[
            OpenApiParameter(
                tickslots.SLOT_PARAM,
                OpenApiTypes.DATETIME,
                description=(
                    "The tick's `scheduled_at`: the lookup then reads one day "
                    "of ticks. Without it (or with another time) the tick is "
                    f"looked for in the last {tickslots.LOOKUP_DAYS} days only."
                ),
            ),
        ],
        responses=TickDetailSerializer,
    )
    @action(detail=True, methods=["get"], url_path=r"ticks/(?P<tick_id>\d+)")
    def tick(
        self, request: Request, pk: str | None = None, tick_id: str | None = None
    ) -> Response:
        """One tick with its evidence; another project's tick is a 404."""
        monitor = self.get_object()
        at = _parse_time(request, tickslots.SLOT_PARAM)
        assert tick_id is not None  # the route's pattern requires it
        tick = tickslots.tick_find(
            Tick.objects.select_related("region").filter(monitor=monitor), tick_id, at
        )
        if tick is None:
            raise NotFound()
        return Response(TickDetailSerializer(tick).data)


class IncidentViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = IncidentSerializer

    def get_queryset(self) -> QuerySet[Incident]:
        qs = Incident.objects.filter(
            monitor__project__in=api_projects(self.request)
        ).select_related("acknowledged_by", "resolved_by")
        params = self.request.query_params
        if params.get("monitor"):
            try:
                qs = qs.filter(monitor_id=int(params["monitor"]))
            except ValueError:
                raise serializers.ValidationError(
                    {"monitor": "Must be an integer id."}
                ) from None
        if params.get("status"):
            if params["status"] not in IncidentStatus.values:
                raise serializers.ValidationError(
                    {"status": "Must be open, resolved or paused."}
                )
            qs = qs.filter(status=params["status"])
        return qs.order_by("-started_at", "-id")

    def _note(self, request: Request) -> str:
        body = IncidentNoteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        note: str = body.validated_data["note"]
        return note

    @extend_schema(request=IncidentNoteSerializer, responses=IncidentSerializer)
    @action(detail=True, methods=["post"])
    def acknowledge(self, request: Request, pk: str | None = None) -> Response:
        """Take the open incident on: reminders and escalation stop (member
        role or above; acknowledging twice keeps the first)."""
        incident = self.get_object()
        note = self._note(request)
        try:
            incident = incident_acknowledge(
                incident=incident, user=signed_in_user(request), note=note, via="api"
            )
        except DjangoValidationError as exc:
            raise serializers.ValidationError(_field_messages(exc)) from None
        return Response(IncidentSerializer(incident).data)

    @extend_schema(request=IncidentNoteSerializer, responses=IncidentSerializer)
    @action(detail=True, methods=["post"])
    def resolve(self, request: Request, pk: str | None = None) -> Response:
        """Resolve by hand (member role or above): the recovery alerts go
        out; a closed incident is returned unchanged."""
        incident = self.get_object()
        note = self._note(request)
        incident = incident_resolve_by_hand(
            incident=incident, user=signed_in_user(request), note=note
        )
        return Response(IncidentSerializer(incident).data)

    @extend_schema(
        request=IncidentUpdateSerializer,
        responses=IncidentUpdateSerializer(many=True),
    )
    @action(detail=True, methods=["get", "post"], url_path="updates")
    def updates(self, request: Request, pk: str | None = None) -> Response:
        """GET: the incident's updates, newest first. POST: post one (member
        role and above); it goes to the subscribers of every status page
        that lists the monitor."""
        incident = self.get_object()
        if request.method == "POST":
            serializer = IncidentUpdateSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            with service_errors():
                update = incident_update_post(
                    user=signed_in_user(request),
                    incident=incident,
                    status=serializer.validated_data["status"],
                    body=serializer.validated_data["body"],
                )
            return Response(IncidentUpdateSerializer(update).data, status=201)
        rows = incident.updates.select_related("author")
        return Response(IncidentUpdateSerializer(rows, many=True).data)


class RegionViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = RegionSerializer
    queryset = Region.objects.order_by("code")
