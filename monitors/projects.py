"""Who may do what in a project: the one place the role rules live.

owner   everything: delete the project, remove anyone, change any role
admin   members, invitations, channels, status page and project settings
member  monitors (create, edit, pause, delete) and incidents
viewer  read-only

Every role includes the ones below it. Reads need any role; views scope their
querysets to ``projects_for(user=...)`` so an outsider gets a 404. Writes
call ``project_require`` (the monitor services and the membership services
do), so a member without the role gets a 403.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.shortcuts import get_object_or_404

from .models import Membership, Project, Role

# Role is declared from the least to the most it may do.
ROLE_ORDER: tuple[str, ...] = tuple(Role)


def role_at_least(role: str | None, min_role: str) -> bool:
    if role is None:
        return False
    return ROLE_ORDER.index(role) >= ROLE_ORDER.index(min_role)


def roles_at_least(min_role: str) -> list[str]:
    return list(ROLE_ORDER[ROLE_ORDER.index(min_role) :])


def project_role(*, user: Any, project: Project | int) -> str | None:
    """The user's role in the project, or None for an outsider."""
    if not getattr(user, "is_authenticated", False):
        return None
    project_id = project if isinstance(project, int) else project.pk
    return (
        Membership.objects.filter(project_id=project_id, user_id=user.pk)
        .values_list("role", flat=True)
        .first()
    )


def projects_for(*, user: Any, min_role: str = Role.VIEWER) -> QuerySet[Project]:
    """The projects where the user has at least ``min_role``."""
    if not getattr(user, "is_authenticated", False):
        return Project.objects.none()
    return Project.objects.filter(
        pk__in=Membership.objects.filter(
            user_id=user.pk, role__in=roles_at_least(min_role)
        ).values("project_id")
    )


def project_require(*, user: Any, project: Project | int, min_role: str) -> str:
    """The user's role, or PermissionDenied when it is below ``min_role``."""
    role = project_role(user=user, project=project)
    if role is None or not role_at_least(role, min_role):
        needed = Role(min_role).label.lower()
        raise PermissionDenied(f"This needs the {needed} role in the project.")
    return role


def role_can_manage(*, actor_role: str | None, role: str) -> bool:
    """May someone with ``actor_role`` grant, change or remove ``role``?

    Owners manage every role; admins manage every role but owner.
    """
    if actor_role == Role.OWNER:
        return True
    return actor_role == Role.ADMIN and role != Role.OWNER


def role_flags(role: str | None) -> dict[str, bool]:
    """What the dashboard shows: controls the role cannot use are hidden."""
    return {
        "edit": role_at_least(role, Role.MEMBER),
        "manage": role_at_least(role, Role.ADMIN),
        "own": role_at_least(role, Role.OWNER),
    }


_Owned = TypeVar("_Owned", bound=Model)


def project_object(
    *, user: Any, queryset: QuerySet[_Owned], pk: int, min_role: str
) -> tuple[_Owned, str]:
    """An object of one of the user's projects (``queryset`` rows have a
    ``project``) and the user's role there: anyone else's is a 404 (its
    existence is not revealed), a role below ``min_role`` a 403."""
    obj = get_object_or_404(queryset, pk=pk, project__in=projects_for(user=user))
    role = project_require(user=user, project=obj.project, min_role=min_role)  # type: ignore[attr-defined]  # every queryset passed here is of a project's rows
    return obj, role
