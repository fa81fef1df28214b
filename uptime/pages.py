"""The frame every dashboard page shares: the user's projects and the
current one, whichever app renders the page."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from monitors.models import Membership, Project, Role
from monitors.projects import role_flags
from monitors.services import default_project_for

from .auth import signed_in_user

# The session key of the project the user is looking at.
SESSION_PROJECT = "dashboard_project_id"


def page_projects(request: HttpRequest) -> tuple[list[Project], Project]:
    """The user's projects (for the switcher) and the one they are looking at.

    Each project carries the user's ``role`` in it. Until the user picks one,
    they look at their personal project.
    """
    memberships = Membership.objects.filter(
        user=signed_in_user(request)
    ).select_related("project")
    projects = []
    for membership in memberships:
        membership.project.role = membership.role
        projects.append(membership.project)
    if not projects:
        personal = default_project_for(signed_in_user(request))
        personal.role = Role.OWNER
        projects = [personal]
    projects.sort(key=lambda p: (p.name, p.pk))
    wanted = request.session.get(SESSION_PROJECT)
    current = next((p for p in projects if p.pk == wanted), None)
    if current is None:
        current = next(
            (p for p in projects if p.personal and p.owner_id == request.user.pk),
            projects[0],
        )
    return projects, current


def render_page(
    request: HttpRequest,
    template: str,
    context: dict[str, Any],
    projects: tuple[list[Project], Project] | None = None,
    status: int = 200,
) -> HttpResponse:
    all_projects, current = projects or page_projects(request)
    context.setdefault("projects", all_projects)
    context.setdefault("current_project", current)
    # What the user may do here; pages about one object pass its project's.
    context.setdefault("may", role_flags(current.role))
    return render(request, template, context, status=status)
