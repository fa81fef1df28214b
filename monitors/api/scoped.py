"""The base of every API view over one kind of a project's objects."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from django.db.models import Model, QuerySet
from rest_framework import viewsets
from rest_framework.permissions import IsAuthenticated

from accounts.authentication import ApiKeyAccess
from accounts.scope import api_create_project, api_projects

from ..models import Project, Role
from .permissions import ProjectRolePermission

M = TypeVar("M", bound=Model)


class ProjectScopedViewSet(viewsets.ModelViewSet[M], Generic[M]):
    """Objects of the caller's projects: another project's object is a 404
    for every action, and a write needs ``write_role`` in the object's
    project (a 403 below it)."""

    permission_classes = (IsAuthenticated, ApiKeyAccess, ProjectRolePermission)
    write_role: str = Role.MEMBER
    # How a refusal to create names these objects ("monitors", "channels").
    noun = "objects"

    def scoped(self, queryset: QuerySet[M]) -> QuerySet[M]:
        return queryset.filter(project__in=api_projects(self.request)).order_by("id")

    def project_of(self, obj: Any) -> Project:
        project: Project = obj.project
        return project

    def project_for_create(self, data: dict[str, Any]) -> Project:
        """The project a create names (popped from ``data``), else the
        caller's default one; a role below ``write_role`` there is a 403."""
        named: Project | None = data.pop("project", None)
        return named or api_create_project(
            self.request, min_role=self.write_role, noun=self.noun
        )
