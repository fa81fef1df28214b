"""Channel pages of the dashboard, and the incident timeline's alert entries."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from monitors.dashboard.timeline import TimelineEntry, register_timeline_provider
from monitors.dashboard.views import page_projects, render_page
from monitors.models import Incident, Role
from monitors.projects import project_require, projects_for

from .forms import ChannelForm
from .models import Channel, ChannelKind, Event, Notification, NotificationStatus
from .services import channel_create, channel_send_test

_EVENT_TITLES = {
    Event.INCIDENT_OPENED: "Down alert",
    Event.INCIDENT_RESOLVED: "Recovery alert",
    Event.INCIDENT_REMINDER: "Reminder",
}


@register_timeline_provider
def notification_entries(incident: Incident) -> list[TimelineEntry]:
    """Each notification sent for the incident, with its result."""
    rows = (
        Notification.objects.filter(incident=incident)
        .select_related("channel")
        .order_by("created_at", "id")
    )
    entries = []
    for n in rows:
        title = (
            f"{_EVENT_TITLES.get(n.event, n.event)} to {n.channel.name} "
            f"({n.channel.get_kind_display()})"
        )
        if n.status == NotificationStatus.SENT:
            ok, detail = True, f"Delivered after {n.attempts} attempt(s)."
        elif n.status == NotificationStatus.FAILED:
            ok, detail = False, n.last_error or "Failed."
        else:
            ok, detail = None, "Pending" + (f": {n.last_error}" if n.last_error else "")
        entries.append(
            TimelineEntry(
                at=n.sent_at or n.created_at,
                kind="notification",
                title=title,
                detail=detail,
                ok=ok,
            )
        )
    return entries


def _own_channel(request: HttpRequest, pk: int) -> Channel:
    """A channel of the user's projects (else 404); managing channels is for
    admins and owners (else 403): they route alerts and hold secrets."""
    channel = get_object_or_404(
        Channel.objects.select_related("project"),
        pk=pk,
        project__in=projects_for(user=request.user),
    )
    project_require(user=request.user, project=channel.project, min_role=Role.ADMIN)
    return channel


@login_required
def channel_list(request: HttpRequest) -> HttpResponse:
    projects = page_projects(request)
    channels = list(Channel.objects.filter(project=projects[1]).order_by("name", "id"))
    return render_page(
        request, "alerts/channel_list.html", {"channels": channels}, projects
    )


@login_required
def channel_add(request: HttpRequest) -> HttpResponse:
    projects = page_projects(request)
    project = projects[1]
    project_require(user=request.user, project=project, min_role=Role.ADMIN)
    form = ChannelForm(request.POST or None, project=project)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        monitors = data.pop("monitors", [])
        with transaction.atomic():
            channel = channel_create(
                project=project,
                name=data.pop("name"),
                kind=data.pop("kind"),
                target=data.pop("target"),
                secret=data.pop("secret") or None,
                monitors=monitors,
                **data,
            )
        if channel.kind == ChannelKind.WEBHOOK:
            # Rendered, not redirected: the secret must not travel in a
            # message cookie. It is shown this once.
            return render_page(
                request, "alerts/channel_created.html", {"channel": channel}, projects
            )
        messages.success(request, f"Channel “{channel.name}” added.")
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
    form = ChannelForm(request.POST or None, instance=channel, project=channel.project)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Channel saved.")
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
        channel.delete()
        messages.success(request, f"Channel “{name}” deleted.")
        return redirect("alerts:channels")
    return render_page(request, "alerts/channel_delete.html", {"channel": channel})


@login_required
@require_POST
def channel_test(request: HttpRequest, pk: int) -> HttpResponse:
    channel = _own_channel(request, pk)
    notification = channel_send_test(channel=channel)
    if notification.status == NotificationStatus.SENT:
        messages.success(request, f"Test message sent to “{channel.name}”.")
    else:
        messages.error(
            request,
            f"The test message to “{channel.name}” failed: "
            f"{notification.last_error or notification.status}",
        )
    return redirect("alerts:channels")
