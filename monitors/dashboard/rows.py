"""The overview's table rows, built in Python.

A Django template loop costs about 0.5 ms per row here; a project with 1,000
monitors on one page would spend most of its time in it. These few lines of
markup are built with ``escape`` on every user- or site-controlled value
(name, URL), so they are as safe as the template; everything else is numbers
and our own words.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from ..models import Monitor
from . import svg
from .selectors import RegionState, coverage_from_states

_REGION_WORDS = {"up": "up", "down": "down", "degraded": "degraded"}


def ago(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "never"
    seconds = max(int((now - moment).total_seconds()), 0)
    if seconds < 60:
        return f"{seconds} s ago"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 86400:
        return f"{seconds // 3600} h ago"
    return f"{seconds // 86400} d ago"


def duration_text(seconds: float) -> str:
    """``45 s``, ``12 min``, ``3 h 5 min``, ``2 d 4 h``."""
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    minutes = whole // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def status_html(status: str, label: str | None = None) -> str:
    word = escape(label or status).capitalize()
    return (
        f'<span class="status status-{escape(status)}">'
        f'<span class="status-dot" aria-hidden="true"></span>{word}</span>'
    )


def _flapping_html(monitor: Monitor) -> str:
    """Amber "Flapping" beside the status: its alerts are held (paused
    monitors are not checked, so the flag says nothing there)."""
    if not monitor.flapping or not monitor.enabled:
        return ""
    return " " + status_html("flapping")


def _regions_html(states: Sequence[RegionState]) -> str:
    items = []
    for r in states:
        word = _REGION_WORDS.get(r.status, "no data yet")
        code = escape(r.code)
        items.append(
            f'<li class="region region-{escape(r.status)}" title="{code}: {word}">'
            f'<span class="region-mark" aria-hidden="true"></span>{code}'
            f'<span class="visually-hidden"> {word}</span></li>'
        )
    return f'<ul class="regions">{"".join(items)}</ul>'


# Too few healthy regions for the quorum: the monitor's state is held.
_COVERAGE_HTML = (
    '<div class="coverage-insufficient bad-text" title="Fewer healthy regions '
    'than the quorum: incidents neither open nor resolve until they return">'
    "Insufficient coverage</div>"
)


def overview_rows(
    *,
    monitors: Sequence[Monitor],
    uptime: dict[int, dict[str, float | None]],
    sparks: dict[int, list[tuple[int | None, str]]],
    states: dict[int, list[RegionState]],
    now: datetime,
) -> SafeString:
    marker = 999_999_999
    url_pattern = reverse("dashboard:monitor", args=[marker])
    rows = []
    for m in monitors:
        up = uptime.get(m.pk, {})
        ms = m.last_response_time_ms
        checked = (
            f'<time datetime="{m.last_checked_at.isoformat()}">'
            f"{ago(m.last_checked_at, now)}</time>"
            if m.last_checked_at
            else "never"
        )
        url = url_pattern.replace(str(marker), str(m.pk))
        held = (
            _COVERAGE_HTML
            if m.enabled
            and coverage_from_states(m, states.get(m.pk, [])) == "insufficient"
            else ""
        )
        rows.append(
            f'<tr class="row-{escape(m.status)}">'
            f'<td data-label="Status">{status_html(m.status, m.status_label)}{held}'
            f"{_flapping_html(m)}</td>"
            f'<td data-label="Monitor" class="cell-main">'
            f'<a class="monitor-name" href="{url}">'
            f'{escape(m.name)}</a><div class="url muted">{escape(m.url)}</div></td>'
            f'<td data-label="Uptime 24 h" class="num">'
            f"{svg.format_percent(up.get('24h'))}</td>"
            f'<td data-label="Uptime 7 d" class="num">'
            f"{svg.format_percent(up.get('7d'))}</td>"
            f'<td data-label="Uptime 30 d" class="num">'
            f"{svg.format_percent(up.get('30d'))}</td>"
            f'<td data-label="Response time"><span class="ms">'
            f"{'—' if ms is None else f'{ms} ms'}</span> "
            f"{svg.sparkline(sparks.get(m.pk, []))}</td>"
            f'<td data-label="Regions">{_regions_html(states.get(m.pk, []))}</td>'
            f'<td data-label="Last check">{checked}</td></tr>'
        )
    # Safe: every user- or site-controlled value above went through escape().
    return mark_safe("".join(rows))  # noqa: S308
