"""What an API request may reach: the user's projects, narrowed by its key."""

from __future__ import annotations

from collections.abc import Mapping

from django.db.models import QuerySet
from django.http import HttpRequest
from rest_framework import serializers

from monitors.models import Monitor, Project, Role
from monitors.projects import projects_for
from monitors.services import default_project_for
from uptime.auth import signed_in_user

from .models import ApiKey


def api_key_of(request: HttpRequest) -> ApiKey | None:
    auth = getattr(request, "auth", None)
    return auth if isinstance(auth, ApiKey) else None


def api_projects(
    request: HttpRequest, *, min_role: str = Role.VIEWER
) -> QuerySet[Project]:
    """The projects this request may see (every API queryset): any role
    reads; ``min_role`` narrows to those where the user has that role."""
    projects = projects_for(user=request.user, min_role=min_role)
    key = api_key_of(request)
    if key is not None and key.project_id is not None:
        projects = projects.filter(pk=key.project_id)
    return projects


def api_default_project(request: HttpRequest) -> Project:
    """Where a create without ``project`` goes: the key's project, if any,
    else the user's personal project (never one they were invited to)."""
    key = api_key_of(request)
    if key is not None and key.project is not None:
        return key.project
    return default_project_for(signed_in_user(request))


def api_create_project(request: HttpRequest, *, min_role: str, noun: str) -> Project:
    """The project of a create that names none: the default, but only when
    the caller can create ``noun`` in one project alone (a 400 naming the
    field otherwise), so a project someone else invited them to is never
    picked for them."""
    if api_projects(request, min_role=min_role).count() > 1:
        raise serializers.ValidationError(
            {
                "project": f"This field is required: you can add {noun} to more "
                "than one project."
            }
        )
    return api_default_project(request)


def scope_choices(
    fields: Mapping[str, serializers.Field],
    request: HttpRequest | None,
    *,
    monitors: str | None = None,
) -> None:
    """Let a serializer's ``project`` (and, if named, its monitors field)
    choose among the caller's projects only.

    Any of the caller's projects, whatever the role there: a write where the
    role is too low is the services' 403, not "no such project".
    """
    if request is None or not request.user.is_authenticated:
        return
    projects = api_projects(request)
    fields["project"].queryset = projects  # type: ignore[attr-defined]  # a PrimaryKeyRelatedField (a cast trips drf-stubs)
    if monitors is not None:
        fields[monitors].child_relation.queryset = Monitor.objects.filter(  # type: ignore[attr-defined]  # a ManyRelatedField (a cast trips drf-stubs)
            project__in=projects
        )
