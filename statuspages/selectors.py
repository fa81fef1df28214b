"""What a status page shows, read in a handful of queries.

The 90-day bars come from ``monitors.dashboard.selectors.daily_uptime``:
the one place that computes per-day uptime for every page (dashboard,
status pages, badges), so moving it onto daily rollups moves them all.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError
from django.db.models import Prefetch, Q
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from monitors.dashboard import rows as dashboard_rows
from monitors.dashboard import svg
from monitors.dashboard.selectors import daily_uptime
from monitors.models import (
    Incident,
    IncidentStatus,
    IncidentUpdate,
    MaintenanceWindow,
    MonitorStatus,
)

from .models import StatusPage, StatusPageGroup, StatusPageMonitor

RECENT_DAYS = 14
MAINTENANCE_AHEAD = timedelta(days=14)


def page_cache_key(page_id: int, variant: str) -> str:
    return f"statuspages:page:{page_id}:{variant}"


def forget_page(page: StatusPage) -> None:
    """Drop what is cached for a page (after an edit): visitors see the
    change at once rather than after the cache's few seconds (other web
    processes notice a changed custom domain within those seconds)."""
    cache.delete_many([page_cache_key(page.pk, v) for v in ("root", "slug")])
    _domains.clear()


# Per process: the middleware asks on every request, and a dict lookup costs
# nothing, where a cache or database round trip each time would.
_domains: dict[str, Any] = {}


def custom_domains(now: float | None = None) -> dict[str, str]:
    """{domain: slug} of public pages with a custom domain, read again at
    most every ``STATUS_PAGE_CACHE_SECONDS``."""
    now = time.monotonic() if now is None else now
    if _domains.get("until", 0) > now:
        return dict(_domains["map"])
    try:
        found = {
            domain: slug
            for domain, slug in StatusPage.objects.filter(
                public=True, custom_domain__isnull=False
            ).values_list("custom_domain", "slug")
            if domain
        }
    except DatabaseError:
        # No database, no status page: /healthz still answers its 503.
        return {}
    _domains.update(map=found, until=now + settings.STATUS_PAGE_CACHE_SECONDS)
    return dict(found)


@dataclass
class Row:
    name: str
    status: str
    status_html: SafeString
    cells: SafeString
    uptime_90: str
    url: str


@dataclass
class Group:
    name: str
    rows: list[Row] = field(default_factory=list)


def _uptime_text(bars: list[Any]) -> str:
    observed = sum(d.observed_seconds for d in bars)
    down = sum(min(d.down_seconds, d.observed_seconds) for d in bars)
    return svg.format_percent(100 * (1 - down / observed) if observed > 0 else None)


def page_groups(page: StatusPage, *, now: datetime) -> list[Group]:
    groups = list(
        StatusPageGroup.objects.filter(page=page).prefetch_related(
            Prefetch(
                "entries",
                # Only what the page shows: a monitor row is wide (check
                # options, secrets), and 200 of them cost more than the query.
                queryset=StatusPageMonitor.objects.select_related("monitor").only(
                    "group_id",
                    "order",
                    "display_name",
                    "monitor__name",
                    "monitor__url",
                    "monitor__status",
                    "monitor__created_at",
                ),
            )
        )
    )
    monitors = [e.monitor for g in groups for e in g.entries.all()]
    days = daily_uptime(monitors=monitors, now=now)
    out = []
    for group in groups:
        shown = Group(group.name)
        for entry in group.entries.all():
            m = entry.monitor
            bars = days.get(m.pk, [])
            shown.rows.append(
                Row(
                    name=entry.name,
                    status=m.status,
                    status_html=mark_safe(dashboard_rows.status_html(m.status)),  # noqa: S308  (escaped by status_html)
                    cells=svg.day_cells(bars),
                    uptime_90=_uptime_text(bars),
                    url=m.url if page.show_details else "",
                )
            )
        out.append(shown)
    return out


def page_incidents(
    page: StatusPage, *, now: datetime, days: int = RECENT_DAYS, limit: int = 20
) -> list[Incident]:
    """Open incidents on the page's monitors and those of the last ``days``,
    newest first, each with its updates (newest first) and ``page_name``."""
    names = dict(
        StatusPageMonitor.objects.filter(group__page=page)
        .order_by("-group__order", "-order")
        .values_list("monitor_id", "display_name")
    )
    if not names:
        return []
    incidents = list(
        Incident.objects.filter(monitor_id__in=list(names))
        .filter(
            Q(status=IncidentStatus.OPEN)
            | Q(started_at__gte=now - timedelta(days=days))
        )
        .exclude(status=IncidentStatus.PAUSED)
        .select_related("monitor")
        .prefetch_related(
            Prefetch(
                "updates",
                queryset=IncidentUpdate.objects.order_by("-created_at", "-id"),
            )
        )
        .order_by("-started_at", "-id")[:limit]
    )
    for incident in incidents:
        incident.page_name = names.get(incident.monitor_id) or incident.monitor.name  # type: ignore[attr-defined]  # set for the template
    return incidents


def page_maintenance(page: StatusPage, *, now: datetime) -> list[dict[str, Any]]:
    """Maintenance now and in the next two weeks touching the page's
    monitors (a window without monitors covers the whole project)."""
    monitor_ids = set(
        StatusPageMonitor.objects.filter(group__page=page).values_list(
            "monitor_id", flat=True
        )
    )
    if not monitor_ids:
        return []
    windows = (
        MaintenanceWindow.objects.filter(project_id=page.project_id)
        .filter(Q(monitors__in=monitor_ids) | Q(monitors__isnull=True))
        .distinct()
    )
    out = []
    for window in windows:
        for start, end in window.occurrences(now, now + MAINTENANCE_AHEAD)[:1]:
            out.append(
                {
                    "title": window.title,
                    "starts_at": start,
                    "ends_at": end,
                    "active": start <= now < end,
                }
            )
    return sorted(out, key=lambda w: w["starts_at"])


def page_context(page: StatusPage, *, now: datetime | None = None) -> dict[str, Any]:
    now = now or timezone.now()
    groups = page_groups(page, now=now)
    rows = [r for g in groups for r in g.rows]
    down = [r for r in rows if r.status == MonitorStatus.DOWN]
    incidents = page_incidents(page, now=now)
    return {
        "page": page,
        "groups": groups,
        "total": len(rows),
        "down": down,
        "current": [i for i in incidents if i.status == IncidentStatus.OPEN],
        "recent": [i for i in incidents if i.status != IncidentStatus.OPEN],
        "maintenance": page_maintenance(page, now=now),
        "now": now,
    }
