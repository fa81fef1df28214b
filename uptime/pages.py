"""The frame every dashboard page shares: the user's projects and the
current one, whichever app renders the page."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from monitors.models import Project
from monitors.services import default_project_for

# The session key of the project the user is looking at.
SESSION_PROJECT = "dashboard_project_id"


def page_projects(request: HttpRequest) -> tuple[list[Project], Project]:
    """The user's projects (for the switcher) and the one they are looking at."""
    projects = list(Project.objects.filter(members=request.user).order_by("name", "id"))
    if not projects:
        projects = [default_project_for(request.user)]
    wanted = request.session.get(SESSION_PROJECT)
    current = next((p for p in projects if p.pk == wanted), None)
    if current is None:
        current = min(projects, key=lambda p: p.pk)
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
    return render(request, template, context, status=status)
