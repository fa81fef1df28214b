"""Server-rendered dashboard pages. Thin: queries live in ``selectors``."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_POST

from uptime.auth import signed_in_user
from uptime.pages import page_projects, render_page
from uptime.throttling import limit_signups

from .. import services, tickslots
from ..forms import monitor_form_values
from ..incident_updates import incident_update_post
from ..maintenance import maintenance_until
from ..members import invitations_pending_for
from ..models import (
    Incident,
    Monitor,
    MonitorKind,
    MonitorStatus,
    Project,
    Role,
    Tick,
)
from ..projects import (
    project_object,
    project_role,
    projects_for,
    role_at_least,
    role_flags,
)
from ..services import monitor_schedule_now
from ..timeline import incident_timeline
from . import rows, selectors, svg
from .context import pipeline_problems
from .evidence import evidence_summary
from .forms import IncidentUpdateForm, MonitorForm, SignupForm

# Rows per overview page; ?per_page= picks another of these. At 100 the page
# renders in a few tens of milliseconds whatever the project's size.
OVERVIEW_PAGE_SIZE = 100
OVERVIEW_PAGE_SIZES = (50, 100, 250, 500, 1000)
INCIDENT_PAGE_SIZE = 50


def _own_monitor(request: HttpRequest, pk: int, min_role: str = Role.VIEWER) -> Monitor:
    """A monitor of one of the user's projects; anyone else's is a 404, and
    a role below ``min_role`` a 403. The user's role is on ``monitor.role``."""
    monitor, role = project_object(
        user=request.user,
        queryset=Monitor.objects.select_related("project", "depends_on"),
        pk=pk,
        min_role=min_role,
    )
    monitor.role = role
    return monitor


# --- overview ------------------------------------------------------------------------


def _rows_html(monitors: list[Monitor]) -> str:
    ids = [m.pk for m in monitors]
    since = selectors.ticks_since(monitors)
    return rows.overview_rows(
        monitors=monitors,
        uptime=selectors.uptime_by_monitor(monitors=monitors),
        sparks=selectors.sparklines(monitor_ids=ids, since=since),
        states=selectors.region_states(monitor_ids=ids, since=since),
        now=timezone.now(),
    )


@login_required
def overview(request: HttpRequest) -> HttpResponse:
    projects = page_projects(request)
    project = projects[1]
    search = request.GET.get("q", "").strip()[:200]
    status = request.GET.get("status", "")
    if status not in MonitorStatus.values:
        status = ""
    qs = selectors.monitors_for_overview(
        project_id=project.pk, search=search, status=status
    )
    try:
        per_page = int(request.GET.get("per_page", OVERVIEW_PAGE_SIZE))
    except ValueError:
        per_page = OVERVIEW_PAGE_SIZE
    if per_page not in OVERVIEW_PAGE_SIZES:
        per_page = OVERVIEW_PAGE_SIZE
    page = Paginator(qs, per_page).get_page(request.GET.get("page"))
    monitors = list(page.object_list)
    context = {
        "rows_html": _rows_html(monitors),
        "has_rows": bool(monitors),
        "page": page,
        "search": search,
        "status": status,
        "per_page": per_page,
        "page_sizes": OVERVIEW_PAGE_SIZES,
        "statuses": MonitorStatus.choices,
        "counts": selectors.monitor_status_counts(project_id=project.pk),
        "now": timezone.now(),
        "refresh_seconds": getattr(settings, "UPTIME_DASHBOARD_REFRESH_SECONDS", 15),
        "may": role_flags(project.role),
    }
    if request.GET.get("partial"):
        return render(request, "dashboard/_overview_body.html", context)
    context["invitation_count"] = invitations_pending_for(user=request.user).count()
    return render_page(request, "dashboard/overview.html", context, projects)


# --- one monitor ---------------------------------------------------------------------


@login_required
def monitor_detail(request: HttpRequest, pk: int) -> HttpResponse:
    monitor = _own_monitor(request, pk)
    range_key = request.GET.get("range", "")
    if range_key not in selectors.CHART_RANGES:
        range_key = selectors.chart_default_range(monitor=monitor)
    chart = selectors.response_chart(monitor=monitor, range_key=range_key)
    days = selectors.daily_uptime(monitors=[monitor])[monitor.pk]
    uptime = selectors.uptime_by_monitor(monitors=[monitor])[monitor.pk]
    incidents = list(
        selectors.incidents_for_projects(
            project_ids=[monitor.project_id], monitor=monitor
        )[:20]
    )
    region_list = selectors.region_states(
        monitor_ids=[monitor.pk], since=selectors.ticks_since([monitor])
    )[monitor.pk]
    context = {
        "monitor": monitor,
        "chart": chart,
        "chart_svg": svg.response_chart(chart),
        "legend": [(s, svg.series_colour(i)) for i, s in enumerate(chart.series)],
        "ranges": list(selectors.CHART_RANGES),
        "days": days,
        "days_summary": _days_summary(days),
        "day_cells": svg.day_cells(days),
        "uptime": {k: svg.format_percent(v) for k, v in uptime.items()},
        "sla": _sla_rows(monitor, uptime),
        "incidents": incidents,
        "ticks": selectors.latest_ticks(monitor=monitor, limit=30),
        "regions": region_list,
        "coverage": selectors.coverage_from_states(monitor, region_list),
        "quorum": monitor.effective_quorum(),
        "is_heartbeat": monitor.kind == MonitorKind.HEARTBEAT,
        "cert_days_left": _days_left(monitor),
        "maintenance_until": maintenance_until([monitor.pk], timezone.now()).get(
            monitor.pk
        ),
        "may": role_flags(monitor.role),
        "dependents": list(monitor.dependents.order_by("name", "id")[:50]),
    }
    return render_page(request, "dashboard/monitor_detail.html", context)


def _days_left(monitor: Monitor) -> int | None:
    if monitor.cert_expires_at is None:
        return None
    return (monitor.cert_expires_at - timezone.now()).days


@login_required
def tick_detail(request: HttpRequest, pk: int, tick_id: int) -> HttpResponse:
    """One check with its evidence; another project's tick is a 404.

    Our links carry the slot (``?at=``) so the read opens one day partition;
    a link without it (or with a wrong one) is looked up in recent days."""
    tick = tickslots.tick_find(
        Tick.objects.select_related("region", "monitor", "monitor__project").filter(
            monitor_id=pk, monitor__project__in=projects_for(user=request.user)
        ),
        tick_id,
        tickslots.parse_slot(request.GET.get(tickslots.SLOT_PARAM)),
    )
    if tick is None:
        raise Http404("No such check.")
    context = {
        "tick": tick,
        "monitor": tick.monitor,
        "evidence": evidence_summary(tick.details),
    }
    return render_page(request, "dashboard/tick_detail.html", context)


def _days_summary(days: list[selectors.DayBar]) -> dict[str, Any]:
    observed = sum(d.observed_seconds for d in days)
    down = sum(min(d.down_seconds, d.observed_seconds) for d in days)
    return {
        "uptime": svg.format_percent(
            100 * (1 - down / observed) if observed > 0 else None
        ),
        "bad_days": [
            {
                "day": d.day,
                "down": rows.duration_text(d.down_seconds),
                "uptime": svg.format_percent(d.uptime),
            }
            for d in days
            if d.down_seconds > 0
        ],
    }


def _sla_rows(
    monitor: Monitor, uptime: dict[str, float | None]
) -> list[dict[str, Any]]:
    now = timezone.now()
    table = []
    for label, value in uptime.items():
        span = selectors.UPTIME_WINDOWS[label]
        observed = (now - max(now - span, monitor.created_at)).total_seconds()
        down = None if value is None else observed * (100 - value) / 100
        budget = span.total_seconds() * 0.001
        # What a 99.9% target allows over the whole window, and by how much
        # the downtime overspent it (whole seconds, so "over by 0 s" never shows).
        over = 0 if down is None else round(down - budget)
        table.append(
            {
                "window": label,
                "uptime": svg.format_percent(value),
                "downtime": "—" if down is None else rows.duration_text(down),
                "budget_999": rows.duration_text(budget),
                "over_budget": rows.duration_text(over) if over > 0 else "",
            }
        )
    return table


@login_required
def monitor_create(request: HttpRequest) -> HttpResponse:
    projects = page_projects(request)
    if not role_at_least(projects[1].role, Role.MEMBER):
        raise PermissionDenied("Viewers cannot add monitors.")
    form = MonitorForm(request.POST or None, project=projects[1])
    if request.method == "POST" and form.is_valid():
        try:
            monitor = services.monitor_create(
                user=signed_in_user(request),
                project=projects[1],
                fields=monitor_form_values(form),
            )
        except ValidationError as exc:  # a quota, or a dependency
            form.add_error(None, exc)
        else:
            messages.success(
                request, f"Monitor “{monitor.name}” added; first check now."
            )
            return redirect(monitor)
    return render_page(
        request,
        "dashboard/monitor_form.html",
        {"form": form, "monitor": None},
        projects,
        status=400 if form.errors else 200,
    )


@login_required
def monitor_edit(request: HttpRequest, pk: int) -> HttpResponse:
    monitor = _own_monitor(request, pk, Role.MEMBER)
    form = MonitorForm(request.POST or None, instance=monitor)
    if request.method == "POST" and form.is_valid():
        try:
            monitor = services.monitor_update(
                user=signed_in_user(request),
                monitor=monitor,
                fields=monitor_form_values(form),
            )
        except ValidationError as exc:  # a quota, or a dependency
            form.add_error(None, exc)
        else:
            messages.success(request, "Monitor saved.")
            return redirect(monitor)
    return render_page(
        request,
        "dashboard/monitor_form.html",
        {"form": form, "monitor": monitor},
        status=400 if form.errors else 200,
    )


@login_required
def monitor_delete(request: HttpRequest, pk: int) -> HttpResponse:
    monitor = _own_monitor(request, pk, Role.MEMBER)
    if request.method == "POST":
        name = monitor.name
        services.monitor_delete(user=signed_in_user(request), monitor=monitor)
        messages.success(request, f"Monitor “{name}” deleted.")
        return redirect("dashboard:overview")
    return render_page(request, "dashboard/monitor_delete.html", {"monitor": monitor})


@login_required
@require_POST
def monitor_pause(request: HttpRequest, pk: int) -> HttpResponse:
    monitor = services.monitor_pause(
        user=signed_in_user(request), monitor=_own_monitor(request, pk, Role.MEMBER)
    )
    messages.success(request, "Monitor paused: no checks and no alerts until resumed.")
    return redirect(monitor)


@login_required
@require_POST
def monitor_resume(request: HttpRequest, pk: int) -> HttpResponse:
    monitor = services.monitor_resume(
        user=signed_in_user(request), monitor=_own_monitor(request, pk, Role.MEMBER)
    )
    messages.success(request, "Monitor resumed; checking now.")
    return redirect(monitor)


@login_required
@require_POST
def monitor_check_now(request: HttpRequest, pk: int) -> HttpResponse:
    monitor = _own_monitor(request, pk, Role.MEMBER)
    if not monitor.enabled:
        messages.error(request, "This monitor is paused: resume it to check it.")
    else:
        monitor_schedule_now(monitor=monitor)
        if pipeline_problems():
            # The banner says what is wrong; promising seconds would mislead.
            messages.warning(
                request,
                "Check queued, but monitoring itself is unhealthy (see above): "
                "it may not run soon.",
            )
        else:
            messages.success(request, "Check queued: results appear within seconds.")
    return redirect(monitor)


# --- incidents -----------------------------------------------------------------------


@login_required
def incident_list(request: HttpRequest) -> HttpResponse:
    projects = page_projects(request)
    qs = selectors.incidents_for_projects(project_ids=[projects[1].pk])
    page = Paginator(qs, INCIDENT_PAGE_SIZE).get_page(request.GET.get("page"))
    return render_page(
        request, "dashboard/incident_list.html", {"page": page}, projects
    )


def _own_incident(request: HttpRequest, pk: int) -> Incident:
    return get_object_or_404(
        Incident.objects.select_related(
            "monitor",
            "monitor__project",
            "acknowledged_by",
            "resolved_by",
            "suppressed_by__monitor",
        ),
        pk=pk,
        monitor__project__in=projects_for(user=request.user),
    )


@login_required
def incident_detail(
    request: HttpRequest, pk: int, form: IncidentUpdateForm | None = None
) -> HttpResponse:
    incident = _own_incident(request, pk)
    role = project_role(user=request.user, project=incident.monitor.project_id)
    return render_page(
        request,
        "dashboard/incident_detail.html",
        {
            "incident": incident,
            "affected": incident.suppressed_incidents.select_related(
                "monitor"
            ).order_by("started_at", "id"),
            "timeline": incident_timeline(incident),
            "evidence": evidence_summary((incident.details or {}).get("evidence")),
            "note_max": services.NOTE_MAX,
            "updates": list(incident.updates.select_related("author")),
            "update_form": form or IncidentUpdateForm(),
            "may": role_flags(role),
        },
        status=400 if form is not None and form.errors else 200,
    )


def _note_of(request: HttpRequest) -> str:
    return request.POST.get("note", "")[: services.NOTE_MAX]


@login_required
@require_POST
def incident_acknowledge(request: HttpRequest, pk: int) -> HttpResponse:
    """Member role or above (a viewer's POST is a 403); twice is fine."""
    incident = _own_incident(request, pk)
    try:
        services.incident_acknowledge(
            incident=incident,
            user=signed_in_user(request),
            note=_note_of(request),
            via="dashboard",
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "Acknowledged: reminders and escalation stop.")
    return redirect(incident)


@login_required
@require_POST
def incident_resolve(request: HttpRequest, pk: int) -> HttpResponse:
    incident = _own_incident(request, pk)
    services.incident_resolve_by_hand(
        incident=incident, user=signed_in_user(request), note=_note_of(request)
    )
    messages.success(
        request,
        "Resolved. If the monitor keeps failing, its next failing checks open "
        "a new incident.",
    )
    return redirect(incident)


@login_required
@require_POST
def incident_update_create(request: HttpRequest, pk: int) -> HttpResponse:
    """Post an update (members and above); it shows on the status pages
    listing the monitor and goes to their subscribers."""
    incident = get_object_or_404(
        Incident.objects.select_related("monitor"),
        pk=pk,
        monitor__project__in=projects_for(user=signed_in_user(request)),
    )
    form = IncidentUpdateForm(request.POST)
    if form.is_valid():
        try:
            incident_update_post(
                user=signed_in_user(request),
                incident=incident,
                status=form.cleaned_data["status"],
                body=form.cleaned_data["body"],
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, "Update posted.")
            return redirect("dashboard:incident", pk=incident.pk)
    return incident_detail(request, pk, form=form)


@limit_signups
def signup(request: HttpRequest) -> HttpResponse:
    if not settings.REGISTRATION_OPEN:
        return render(request, "registration/signup_closed.html", status=403)
    if request.user.is_authenticated:
        return redirect("dashboard:overview")
    nxt = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(
        nxt, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        nxt = ""
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()  # the post_save receiver gives it a project
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, "Welcome! Add your first monitor below.")
        return redirect(nxt or reverse("dashboard:overview"))
    return render(
        request,
        "registration/signup.html",
        {"form": form, "next": nxt},
        status=400 if form.errors else 200,
    )


# --- public: status page and badges ---------------------------------------------------


@cache_control(public=True, max_age=30)
def status_page(request: HttpRequest, slug: str) -> HttpResponse:
    project = get_object_or_404(Project, slug=slug, status_page_enabled=True)
    # Active (not paused) monitors the project chose to list.
    monitors = list(
        Monitor.objects.filter(
            project=project, enabled=True, show_on_status_page=True
        ).order_by("name", "id")
    )
    days = selectors.daily_uptime(monitors=monitors)
    uptime = selectors.uptime_by_monitor(monitors=monitors)
    services = [
        {
            "monitor": m,
            "days": days.get(m.pk, []),
            "cells": svg.day_cells(days.get(m.pk, [])),
            "status_html": mark_safe(rows.status_html(m.status)),  # noqa: S308
            "uptime_90": _days_summary(days.get(m.pk, []))["uptime"],
            "uptime_30": svg.format_percent(uptime.get(m.pk, {}).get("30d")),
        }
        for m in monitors
    ]
    down = [m for m in monitors if m.status == MonitorStatus.DOWN]
    incidents = list(
        selectors.incidents_for_projects(project_ids=[project.pk]).filter(
            monitor__enabled=True, monitor__show_on_status_page=True
        )[:10]
    )
    return render(
        request,
        "dashboard/status_page.html",
        {
            "project": project,
            "rows": services,
            "down": down,
            "incidents": incidents,
            "details": project.status_page_show_details,
            "now": timezone.now(),
        },
    )


def _badge_monitor(key: str) -> Monitor:
    return get_object_or_404(Monitor, badge_key=key)


def _svg(body: str) -> HttpResponse:
    response = HttpResponse(body, content_type="image/svg+xml; charset=utf-8")
    response["Cache-Control"] = "public, max-age=60"
    return response


def badge_status(request: HttpRequest, key: str) -> HttpResponse:
    return _svg(svg.status_badge(_badge_monitor(key).status))


def badge_uptime(request: HttpRequest, key: str) -> HttpResponse:
    monitor = _badge_monitor(key)
    value = selectors.uptime_by_monitor(monitors=[monitor])[monitor.pk]["30d"]
    return _svg(svg.uptime_badge(value))
