"""Role checks for the API: reads need any role, writes the view's role."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from ..projects import project_require


class ProjectRolePermission(BasePermission):
    """Object writes need ``view.write_role`` in the object's project.

    The view's queryset already hides other projects' objects (a 404); this
    turns a write by a member without the role into a 403. Creates are
    checked by the view, which knows the target project only after validation.
    """

    def has_object_permission(self, request: Request, view: Any, obj: Any) -> bool:
        if request.method in SAFE_METHODS:
            return True
        project_require(
            user=request.user,
            project=view.project_of(obj),
            min_role=view.write_role,
        )
        return True
