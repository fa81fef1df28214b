from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from monitors.api.permissions import ProjectRolePermission
from monitors.models import Project, Role
from monitors.projects import project_require, projects_for
from monitors.services import default_project_for

from ..models import Channel, Notification
from ..services import channel_create, channel_send_test
from .serializers import ChannelSerializer, NotificationSerializer


class ChannelViewSet(viewsets.ModelViewSet):
    serializer_class = ChannelSerializer
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    permission_classes = (IsAuthenticated, ProjectRolePermission)
    # Channels receive alerts (and a webhook's secret): admins and owners.
    write_role = Role.ADMIN

    def get_queryset(self) -> QuerySet[Channel]:
        # Another project's channel is a 404, for every action.
        return (
            Channel.objects.filter(project__in=projects_for(user=self.request.user))
            .prefetch_related("monitors")
            .order_by("id")
        )

    def project_of(self, channel: Channel) -> Project:
        return channel.project

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()
        if self.action == "create":
            # A default only when there is no choice: the personal project.
            user = self.request.user
            writable = projects_for(user=user, min_role=Role.ADMIN)
            context["default_project"] = (
                default_project_for(user)
                if user.is_authenticated and writable.count() <= 1
                else None
            )
        return context

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        project = data.pop("project", None) or serializer.context["default_project"]
        project_require(user=request.user, project=project, min_role=Role.ADMIN)
        channel = channel_create(project=project, **data)
        body = self.get_serializer(channel).data
        # Shown once: the only response that carries the full target and the
        # signing secret.
        body["target"] = channel.target
        if channel.secret:
            body["secret"] = channel.secret
        return Response(body, status=status.HTTP_201_CREATED)

    def perform_update(self, serializer: ChannelSerializer) -> None:
        if not serializer.validated_data.get("secret"):
            serializer.validated_data.pop("secret", None)
        serializer.save()

    @action(detail=True, methods=["post"])
    def test(self, request: Request, pk: str | None = None) -> Response:
        channel = self.get_object()
        notification = channel_send_test(channel=channel)
        return Response(NotificationSerializer(notification).data)


def _int_param(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        raise serializers.ValidationError({name: "Must be an integer id."}) from None


class NotificationViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The delivery log."""

    serializer_class = NotificationSerializer

    def get_queryset(self) -> QuerySet[Notification]:
        qs = Notification.objects.filter(
            channel__project__in=projects_for(user=self.request.user)
        )
        incident = _int_param(self.request, "incident")
        if incident is not None:
            qs = qs.filter(incident_id=incident)
        channel = _int_param(self.request, "channel")
        if channel is not None:
            qs = qs.filter(channel_id=channel)
        return qs.order_by("-created_at", "-id")
