from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db.models import QuerySet
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import Throttled
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from accounts.scope import api_projects
from monitors.api.scoped import ProjectScopedViewSet
from monitors.models import EscalationPolicy, Role
from monitors.projects import project_require
from uptime.auth import signed_in_user
from uptime.pagination import whole_number
from uptime.serializers import service_errors

from ..models import Channel, Notification
from ..services import (
    SendsThrottled,
    channel_confirmation_resend,
    channel_create,
    channel_delete,
    channel_send_test,
    channel_update,
    policy_delete,
    policy_save,
)
from .serializers import (
    ChannelSerializer,
    EscalationPolicySerializer,
    NotificationSerializer,
)


@contextmanager
def _send_limit() -> Iterator[None]:
    """Past the user's channel-send limit: a 429 with Retry-After."""
    try:
        yield
    except SendsThrottled as exc:
        raise Throttled(wait=exc.retry_after, detail=str(exc)) from None


class ChannelViewSet(ProjectScopedViewSet[Channel]):
    serializer_class = ChannelSerializer
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    # Channels receive alerts (and a webhook's secret): admins and owners.
    write_role = Role.ADMIN
    noun = "channels"

    def get_queryset(self) -> QuerySet[Channel]:
        return self.scoped(Channel.objects.prefetch_related("monitors"))

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        project = self.project_for_create(data)
        project_require(
            user=signed_in_user(request), project=project, min_role=Role.ADMIN
        )
        with service_errors():
            channel = channel_create(
                project=project, user=signed_in_user(request), **data
            )
        body = self.get_serializer(channel).data
        # Shown once: the only response that carries the full target and the
        # signing secret.
        body["target"] = channel.target
        if channel.secret:
            body["secret"] = channel.secret
        return Response(body, status=status.HTTP_201_CREATED)

    def perform_update(self, serializer: BaseSerializer[Channel]) -> None:
        channel = serializer.instance
        assert channel is not None  # an update's serializer has its instance
        with service_errors():
            serializer.instance = channel_update(
                channel=channel,
                user=signed_in_user(self.request),
                **serializer.validated_data,
            )

    def perform_destroy(self, instance: Channel) -> None:
        channel_delete(channel=instance)

    @action(detail=True, methods=["post"])
    def test(self, request: Request, pk: str | None = None) -> Response:
        """Queued for the alerts worker: poll /api/notifications/<id>/."""
        channel = self.get_object()
        with _send_limit():
            notification = channel_send_test(
                channel=channel, user=signed_in_user(request)
            )
        return Response(
            NotificationSerializer(notification).data, status=status.HTTP_202_ACCEPTED
        )

    @action(detail=True, methods=["post"])
    def confirmation(self, request: Request, pk: str | None = None) -> Response:
        """Mail an email channel's confirmation link again."""
        channel = self.get_object()
        with _send_limit():
            notification_id = channel_confirmation_resend(
                channel=channel, user=signed_in_user(request)
            )
        if notification_id is None:
            raise serializers.ValidationError(
                {"confirmed": ["This channel waits for no confirmation."]}
            )
        notification = Notification.objects.get(pk=notification_id)
        return Response(
            NotificationSerializer(notification).data, status=status.HTTP_202_ACCEPTED
        )


class NotificationViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """The delivery log; one row by id (a queued test message's result)."""

    serializer_class = NotificationSerializer

    def get_queryset(self) -> QuerySet[Notification]:
        qs = Notification.objects.filter(
            channel__project__in=api_projects(self.request)
        )
        incident = whole_number(self.request, "incident")
        if incident is not None:
            qs = qs.filter(incident_id=incident)
        channel = whole_number(self.request, "channel")
        if channel is not None:
            qs = qs.filter(channel_id=channel)
        return qs.order_by("-created_at", "-id")


class EscalationPolicyViewSet(ProjectScopedViewSet[EscalationPolicy]):
    """Policies route alerts to channels: written by admins and owners."""

    serializer_class = EscalationPolicySerializer
    http_method_names = ["get", "post", "patch", "put", "delete", "head", "options"]
    write_role = Role.ADMIN
    noun = "escalation policies"

    def get_queryset(self) -> QuerySet[EscalationPolicy]:
        return self.scoped(
            EscalationPolicy.objects.prefetch_related("steps__channels", "monitors")
        )

    def perform_create(self, serializer: BaseSerializer[EscalationPolicy]) -> None:
        data = dict(serializer.validated_data)
        project = self.project_for_create(data)
        project_require(
            user=signed_in_user(self.request), project=project, min_role=Role.ADMIN
        )
        with service_errors():
            serializer.instance = policy_save(
                project=project, name=data["name"], steps=data.get("steps") or []
            )

    def perform_update(self, serializer: BaseSerializer[EscalationPolicy]) -> None:
        policy = serializer.instance
        assert policy is not None  # an update's serializer has its instance
        data = serializer.validated_data
        with service_errors():
            serializer.instance = policy_save(
                project=policy.project,
                name=data.get("name", policy.name),
                steps=data.get("steps"),
                policy=policy,
            )

    def perform_destroy(self, instance: EscalationPolicy) -> None:
        policy_delete(policy=instance)
