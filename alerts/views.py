"""Channel pages of the dashboard: they call the channel services and show
their errors on the form."""

from __future__ import annotations

import copy
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from monitors.models import EscalationPolicy, IncidentStatus, Project, Role
from monitors.projects import project_object, project_require
from monitors.services import incident_acknowledge
from uptime.auth import signed_in_user
from uptime.pages import page_projects, render_page

from . import services
from .forms import AckForm, ChannelForm, PolicyForm, StepFormSet
from .models import Channel, ChannelKind, Notification


def _own_channel(request: HttpRequest, pk: int) -> Channel:
    """A channel of the user's projects (else 404); managing channels is for
    admins and owners (else 403): they route alerts and hold secrets."""
    channel, _ = project_object(
        user=signed_in_user(request),
        queryset=Channel.objects.select_related("project"),
        pk=pk,
        min_role=Role.ADMIN,
    )
    return channel


@login_required
def channel_list(request: HttpRequest) -> HttpResponse:
    projects = page_projects(request)
    channels = list(Channel.objects.filter(project=projects[1]).order_by("name", "id"))
    return render_page(
        request, "alerts/channel_list.html", {"channels": channels}, projects
    )


@never_cache  # a new webhook's secret is shown once
@login_required
def channel_add(request: HttpRequest) -> HttpResponse:
    projects = page_projects(request)
    project = projects[1]
    project_require(user=signed_in_user(request), project=project, min_role=Role.ADMIN)
    form = ChannelForm(request.POST or None, project=project)
    channel = None
    if request.method == "POST" and form.is_valid():
        try:
            channel = services.channel_create(
                project=project, user=signed_in_user(request), **form.cleaned_data
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
    if channel is not None:
        if channel.kind == ChannelKind.WEBHOOK:
            # Rendered, not redirected: the secret must not travel in a
            # message cookie. It is shown this once.
            return render_page(
                request, "alerts/channel_created.html", {"channel": channel}, projects
            )
        messages.success(request, f"Channel “{channel.name}” added.{_waits(channel)}")
        return redirect("alerts:channels")
    return render_page(
        request,
        "alerts/channel_form.html",
        {"form": form, "channel": None},
        projects,
        status=400 if form.errors else 200,
    )


@login_required
def channel_edit(request: HttpRequest, pk: int) -> HttpResponse:
    channel = _own_channel(request, pk)
    # The form gets its own copy: binding changes the instance it holds, and
    # the page still shows the stored channel when the form has errors.
    form = ChannelForm(
        request.POST or None,
        instance=copy.copy(channel),
        project=channel.project,
    )
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.channel_update(
                channel=channel, user=signed_in_user(request), **form.cleaned_data
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, f"Channel saved.{_waits(saved)}")
            return redirect("alerts:channels")
    log = list(
        Notification.objects.filter(channel=channel)
        .select_related("incident__monitor")
        .order_by("-created_at", "-id")[:20]
    )
    return render_page(
        request,
        "alerts/channel_form.html",
        {"form": form, "channel": channel, "log": log},
        status=400 if form.errors else 200,
    )


@login_required
def channel_delete(request: HttpRequest, pk: int) -> HttpResponse:
    channel = _own_channel(request, pk)
    if request.method == "POST":
        name = channel.name
        services.channel_delete(channel=channel)
        messages.success(request, f"Channel “{name}” deleted.")
        return redirect("alerts:channels")
    return render_page(request, "alerts/channel_delete.html", {"channel": channel})


def _waits(channel: Channel) -> str:
    if not channel.awaiting_confirmation:
        return ""
    return (
        f" It sends nothing until {channel.target} confirms by the link mailed "
        "to it (if none arrives, send it again from this list)."
    )


def _too_many(request: HttpRequest, exc: services.SendsThrottled) -> HttpResponse:
    response = render_page(
        request,
        "alerts/sends_throttled.html",
        {"seconds": exc.retry_after},
        status=429,
    )
    response["Retry-After"] = str(exc.retry_after)
    return response


@login_required
@require_POST
def channel_test(request: HttpRequest, pk: int) -> HttpResponse:
    """Queued for the alerts worker; the result shows in the channel's log."""
    channel = _own_channel(request, pk)
    try:
        services.channel_send_test(channel=channel, user=signed_in_user(request))
    except services.SendsThrottled as exc:
        return _too_many(request, exc)
    messages.success(
        request,
        f"Test message to “{channel.name}” queued: its result shows in the "
        "channel's delivery log in a few seconds.",
    )
    return redirect("alerts:channels")


@login_required
@require_POST
def channel_confirmation_resend(request: HttpRequest, pk: int) -> HttpResponse:
    channel = _own_channel(request, pk)
    try:
        sent = services.channel_confirmation_resend(
            channel=channel, user=signed_in_user(request)
        )
    except services.SendsThrottled as exc:
        return _too_many(request, exc)
    if sent is not None:
        messages.success(request, f"Confirmation email sent to {channel.target}.")
    return redirect("alerts:channels")


@never_cache
@require_http_methods(["GET", "POST"])
def channel_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """The recipient's page, without login: GET asks, POST confirms (a mail
    scanner that fetches links confirms nothing). It shows the address and
    the project it is asked for, nothing else."""
    channel = services.channel_by_confirmation_token(token)
    if channel is None:
        return render(request, "alerts/confirm_invalid.html", status=404)
    done = channel.confirmed
    if request.method == "POST" and not done:
        services.channel_confirm(channel=channel)
        done = True
    return render(
        request,
        "alerts/confirm.html",
        {
            "address": channel.target,
            "project_name": channel.project.name,
            "done": done,
        },
    )


@never_cache
@require_http_methods(["GET", "POST"])
def incident_acknowledge_by_link(request: HttpRequest, token: str) -> HttpResponse:
    """The page the acknowledge link in an alert opens, without login: GET
    asks (a link scanner that fetches it acknowledges nothing), POST with
    CSRF acknowledges. A forged or expired link is a 400."""
    incident = services.incident_by_ack_token(token)
    if incident is None:
        return render(request, "alerts/acknowledge_invalid.html", status=400)
    form = AckForm(request.POST or None)
    if (
        request.method == "POST"
        and form.is_valid()
        and incident.status == IncidentStatus.OPEN
        and incident.acknowledged_at is None
    ):
        user = request.user if request.user.is_authenticated else None
        try:
            incident = incident_acknowledge(
                incident=incident,
                user=user,
                name=form.cleaned_data["name"],
                note=form.cleaned_data["note"],
                via="link",
            )
        except ValidationError:
            incident.refresh_from_db()  # it closed meanwhile: the page says so
    return render(
        request,
        "alerts/acknowledge.html",
        {"incident": incident, "form": form},
        status=400 if form.errors else 200,
    )


# --- escalation policies ------------------------------------------------------

STEP_ROWS = 4  # empty rows on the page: steps are added without any script


def _step_forms(
    request: HttpRequest, project: Project, policy: EscalationPolicy | None
) -> Any:
    initial = []
    if policy is not None:
        for step in policy.steps.prefetch_related("channels"):
            initial.append(
                {
                    "delay_minutes": step.delay_minutes,
                    "repeat_every_minutes": step.repeat_every_minutes,
                    "channels": list(step.channels.all()),
                }
            )
    initial += [{}] * max(STEP_ROWS - len(initial), 1)
    return StepFormSet(
        request.POST or None,
        initial=initial,
        prefix="steps",
        form_kwargs={"project": project},
    )


@login_required
def policy_list(request: HttpRequest) -> HttpResponse:
    projects = page_projects(request)
    policies = list(
        EscalationPolicy.objects.filter(project=projects[1])
        .prefetch_related("steps__channels", "monitors")
        .order_by("name", "id")
    )
    return render_page(
        request, "alerts/policy_list.html", {"policies": policies}, projects
    )


def _policy_page(
    request: HttpRequest, project: Project, policy: EscalationPolicy | None
) -> HttpResponse:
    """Add or edit: admins and owners, as for channels (both route alerts)."""
    project_require(user=signed_in_user(request), project=project, min_role=Role.ADMIN)
    form = PolicyForm(
        request.POST or None, initial={"name": policy.name if policy else ""}
    )
    steps = _step_forms(request, project, policy)
    if request.method == "POST" and form.is_valid() and steps.is_valid():
        chosen = [s for s in (f.step() for f in steps) if s is not None]
        try:
            saved = services.policy_save(
                project=project,
                name=form.cleaned_data["name"],
                steps=chosen,
                policy=policy,
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field == "name" else None, errors)
        else:
            messages.success(request, f"Escalation policy “{saved.name}” saved.")
            return redirect("alerts:policies")
    return render_page(
        request,
        "alerts/policy_form.html",
        {"form": form, "steps": steps, "policy": policy},
        status=400 if form.errors or steps.total_error_count() else 200,
    )


@login_required
def policy_add(request: HttpRequest) -> HttpResponse:
    projects = page_projects(request)
    return _policy_page(request, projects[1], None)


@login_required
def policy_edit(request: HttpRequest, pk: int) -> HttpResponse:
    policy, _ = project_object(
        user=signed_in_user(request),
        queryset=EscalationPolicy.objects.select_related("project"),
        pk=pk,
        min_role=Role.VIEWER,  # _policy_page checks the role to change it
    )
    return _policy_page(request, policy.project, policy)
