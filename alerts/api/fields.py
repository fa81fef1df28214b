"""What alerts contributes to the monitor API (see monitors.api.extensions)."""

from __future__ import annotations

from rest_framework import serializers
from rest_framework.request import Request

from accounts.scope import api_projects

from ..models import Channel


def channels_field(request: Request | None) -> serializers.Field:
    """``channels``: ids of the monitor's alert channels, among the caller's."""
    user = getattr(request, "user", None)
    queryset = (
        Channel.objects.filter(project__in=api_projects(request))
        if request is not None and user is not None and user.is_authenticated
        else Channel.objects.none()
    )
    return serializers.PrimaryKeyRelatedField(
        many=True, queryset=queryset, required=False
    )
