"""Maintenance window pages: a list and a form, over ``monitors.maintenance``
(which holds the rules; its errors are shown on the form)."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.views.decorators.http import require_POST

from uptime.auth import signed_in_user
from uptime.forms import DescribedErrorsMixin
from uptime.pages import page_projects, render_page

from ..maintenance import (
    maintenance_window_create,
    maintenance_window_delete,
    maintenance_window_update,
)
from ..models import MaintenanceWindow, Monitor, Project, Role, Weekday
from ..projects import project_object, project_require

_LOCAL = "%Y-%m-%dT%H:%M"


class MaintenanceWindowForm(DescribedErrorsMixin, forms.ModelForm):
    """Parses and renders; the view hands the values to the services."""

    starts_at = forms.DateTimeField(
        label="Starts (UTC)",
        input_formats=[_LOCAL, "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=_LOCAL),
    )
    ends_at = forms.DateTimeField(
        label="Ends (UTC)",
        input_formats=[_LOCAL, "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=_LOCAL),
        help_text="For a weekly window, the first occurrence's end: its "
        "length is every occurrence's length.",
    )
    weekdays = forms.TypedMultipleChoiceField(
        choices=Weekday.choices,
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="On (weekly)",
    )
    monitors = forms.ModelMultipleChoiceField(
        queryset=Monitor.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="None ticked: every monitor of the project.",
    )

    class Meta:
        model = MaintenanceWindow
        fields = ("title", "starts_at", "ends_at", "recurrence", "weekdays", "monitors")
        labels = {"recurrence": "Repeats"}

    def __init__(self, *args: Any, project: Project, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        monitors = cast(forms.ModelMultipleChoiceField, self.fields["monitors"])
        monitors.queryset = Monitor.objects.filter(project=project).order_by(
            "name", "id"
        )

    def _post_clean(self) -> None:
        # The services validate (and write); the model's own checks would
        # run against an instance without its project.
        pass


def _own_window(request: HttpRequest, pk: int) -> MaintenanceWindow:
    """A window of the user's projects (else 404); writing needs the member
    role, as for monitors (else 403)."""
    window, _ = project_object(
        user=signed_in_user(request),
        queryset=MaintenanceWindow.objects.select_related("project"),
        pk=pk,
        min_role=Role.MEMBER,
    )
    return window


@login_required
def maintenance_list(request: HttpRequest) -> HttpResponse:
    projects = page_projects(request)
    now = timezone.now()
    windows = list(
        MaintenanceWindow.objects.filter(project=projects[1])
        .prefetch_related("monitors")
        .order_by("-starts_at", "-id")
    )
    for window in windows:
        window.current = window.occurrence_at(now)
    return render_page(
        request, "dashboard/maintenance_list.html", {"windows": windows}, projects
    )


@login_required
def maintenance_create(request: HttpRequest) -> HttpResponse:
    projects = page_projects(request)
    project = projects[1]
    project_require(user=signed_in_user(request), project=project, min_role=Role.MEMBER)
    form = MaintenanceWindowForm(request.POST or None, project=project)
    if request.method == "POST" and form.is_valid():
        try:
            maintenance_window_create(
                user=signed_in_user(request), project=project, fields=form.cleaned_data
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, "Maintenance window added.")
            return redirect("dashboard:maintenance")
    return render_page(
        request,
        "dashboard/maintenance_form.html",
        {"form": form, "window": None},
        projects,
        status=400 if form.errors else 200,
    )


@login_required
def maintenance_edit(request: HttpRequest, pk: int) -> HttpResponse:
    window = _own_window(request, pk)
    form = MaintenanceWindowForm(
        request.POST or None,
        instance=MaintenanceWindow.objects.get(pk=window.pk),
        project=window.project,
    )
    if request.method == "POST" and form.is_valid():
        try:
            maintenance_window_update(
                user=signed_in_user(request), window=window, fields=form.cleaned_data
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, "Maintenance window saved.")
            return redirect("dashboard:maintenance")
    return render_page(
        request,
        "dashboard/maintenance_form.html",
        {"form": form, "window": window},
        status=400 if form.errors else 200,
    )


@login_required
@require_POST
def maintenance_delete(request: HttpRequest, pk: int) -> HttpResponse:
    window = _own_window(request, pk)
    maintenance_window_delete(user=signed_in_user(request), window=window)
    messages.success(request, f"Maintenance window “{window.title}” deleted.")
    return redirect("dashboard:maintenance")
