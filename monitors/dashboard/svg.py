"""Server-rendered SVG: sparklines, the response-time chart and badges.

No JavaScript chart library: the markup is built here from numbers, and any
text that reaches it (region codes, labels) goes through ``escape``.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import date, datetime

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from ..models import IncidentStatus
from . import rows
from .selectors import Chart, DayBar, Series

# Distinguishable for common colour-vision deficiencies (Okabe-Ito palette);
# the legend also names each line, so colour is never the only cue.
PALETTE = ["#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9"]


def _safe(markup: str) -> SafeString:
    # Built here from numbers and escape()d text only: nothing user-controlled
    # reaches it unescaped.
    return mark_safe(markup)  # noqa: S308


def sparkline(
    points: Sequence[tuple[int | None, str]], width: int = 120, height: int = 28
) -> SafeString:
    # A failed check's time says how long failing took, not how fast the
    # target answers: it is a mark, never a point of the line.
    values = [ms for ms, st in points if ms is not None and st != "down"]
    if not points:
        return _safe(
            f'<svg class="spark" width="{width}" height="{height}" role="img" '
            'aria-label="No response times yet"></svg>'
        )
    top = max(values, default=0) or 1
    n = len(points)
    dx = width / max(n - 1, 1)
    coords = []
    marks = []
    for i, (ms, status) in enumerate(points):
        x = round(i * dx, 1)
        if ms is not None and status != "down":
            y = round(height - 2 - (ms / top) * (height - 4), 1)
            coords.append(f"{x},{y}")
        if status == "down":
            marks.append(
                f'<rect class="spark-down" x="{max(x - 1.5, 0)}" y="0" '
                f'width="3" height="{height}"/>'
            )
    timing = f"{min(values)} to {max(values)} ms" if values else "no response time"
    label = f"Response time over the last {n} checks: {timing}" + (
        f", {len(marks)} failed" if marks else ""
    )
    return _safe(
        f'<svg class="spark" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(label)}">'
        f"{''.join(marks)}"
        f'<polyline fill="none" stroke-width="1.5" points="{" ".join(coords)}"/>'
        "</svg>"
    )


def _nice_max(value: float) -> float:
    """Round an axis maximum up to 1, 2 or 5 times a power of ten."""
    if value <= 0:
        return 100.0
    magnitude = 10 ** (len(str(int(value))) - 1)
    for factor in (1, 2, 5, 10):
        if value <= factor * magnitude:
            return float(factor * magnitude)
    return float(10 * magnitude)


def _ms_label(value: float) -> str:
    return f"{value:.0f}" if value >= 10 or value == int(value) else f"{value:.1f}"


def _time_label(moment: datetime, span_seconds: float) -> str:
    if span_seconds <= 86400:
        return moment.strftime("%H:%M")
    return moment.strftime("%b %d")


FAIL_COLOUR = "#c62828"
PAUSED_COLOUR = "#6d6d6d"
# The narrowest incident span drawn, in the chart's units (about pixels).
MIN_SPAN_PX = 4.0


def response_chart(chart: Chart, width: int = 720, height: int = 260) -> SafeString:
    """Per region, p50 (solid) and p95 (dashed) of the checks that did not
    fail; incidents as shaded spans behind the lines; failed checks as
    diamonds on a strip at the foot of the plot, one row per region. Every
    shape carries a <title> (the browser's own tooltip: no script)."""
    left, right, top, bottom = 52, 12, 12, 28
    plot = _Plot(chart, left, top, width - left - right, height - top - bottom)
    peak = max(
        (v for s in chart.series for _, p50, p95 in s.points for v in (p50, p95) if v),
        default=0.0,
    )
    plot.y_max = _nice_max(peak)
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="chart-title" preserveAspectRatio="xMidYMid meet">',
        f'<title id="chart-title">Response time per region over the last '
        f"{escape(chart.range)}: p50 solid line, p95 dashed line; shaded spans "
        "are incidents, diamonds failed checks</title>",
    ]
    parts += _incident_spans(chart, plot)
    for i in range(5):
        value = plot.y_max * i / 4
        y = plot.y_of(value)
        parts.append(
            f'<line class="grid" x1="{left}" x2="{width - right}" y1="{y}" y2="{y}"/>'
            f'<text class="axis" x="{left - 6}" y="{y + 4}" text-anchor="end">'
            f"{_ms_label(value)} ms</text>"
        )
    for i in range(5):
        moment = chart.start + (chart.end - chart.start) * i / 4
        x = round(left + plot.width * i / 4, 1)
        anchor = "start" if i == 0 else "end" if i == 4 else "middle"
        parts.append(
            f'<text class="axis" x="{x}" y="{height - 8}" text-anchor="{anchor}">'
            f"{_time_label(moment, plot.span)}</text>"
        )
    for idx, series in enumerate(chart.series):
        parts += _latency_lines(series, plot, PALETTE[idx % len(PALETTE)])
    for idx, series in enumerate(chart.series):
        parts += _failure_marks(series, plot, idx)
    if not chart.series:
        parts.append(
            f'<text class="axis" x="{width / 2}" y="{height / 2}" '
            'text-anchor="middle">No checks in this period yet</text>'
        )
    parts.append("</svg>")
    return _safe("".join(parts))


class _Plot:
    """Where a moment or a response time lands in the plot area."""

    def __init__(
        self, chart: Chart, left: int, top: int, width: int, height: int
    ) -> None:
        self.chart, self.left, self.top = chart, left, top
        self.width, self.height = width, height
        self.span = (chart.end - chart.start).total_seconds()
        self.y_max = 100.0

    def x_at(self, moment: datetime) -> float:
        """A moment's x, clamped to the plot."""
        moment = min(max(moment, self.chart.start), self.chart.end)
        offset = (moment - self.chart.start).total_seconds()
        return round(self.left + self.width * offset / self.span, 1)

    def x_of(self, bucket: datetime) -> float:
        """A bucket's x: its middle."""
        return self.x_at(bucket + self.chart.step / 2)

    def y_of(self, value: float) -> float:
        return round(self.top + self.height * (1 - value / self.y_max), 1)


def _incident_spans(chart: Chart, plot: _Plot) -> list[str]:
    parts = []
    for incident in chart.incidents:
        end = incident.ended_at or chart.end
        x1, x2 = plot.x_at(incident.started_at), plot.x_at(end)
        if x2 - x1 < MIN_SPAN_PX:
            # Seconds of downtime in an hour's chart are under a pixel wide:
            # widened to be seen, kept inside the plot's right edge.
            x1 = min(x1, plot.left + plot.width - MIN_SPAN_PX)
            x2 = x1 + MIN_SPAN_PX
        took = rows.duration_text((end - incident.started_at).total_seconds())
        if incident.status == IncidentStatus.PAUSED:
            # Confirmed downtime until the pause, but no recovery was seen:
            # grey, not red, and said so.
            css, colour = "incident incident-paused", PAUSED_COLOUR
            tip = f"Incident: {took} until the monitor was paused"
        else:
            css, colour = "incident", FAIL_COLOUR
            so_far = " so far" if incident.ended_at is None else ""
            tip = f"Incident: {took}{so_far}"
        parts.append(
            f'<rect class="{css}" x="{x1}" y="{plot.top}" '
            f'width="{round(x2 - x1, 1)}" height="{plot.height}" '
            f'fill="{colour}" fill-opacity="0.14">'
            f"<title>{escape(tip)}, {escape(incident.reason)}</title></rect>"
        )
    return parts


def _latency_lines(series: Series, plot: _Plot, colour: str) -> list[str]:
    parts = []
    for which, dash in ((1, ""), (2, ' stroke-dasharray="5 4"')):
        # Gaps (no checks, or only failed ones) break the line.
        runs: list[list[str]] = [[]]
        for moment, p50, p95 in series.points:
            ms = p50 if which == 1 else p95
            if ms is None:
                if runs[-1]:
                    runs.append([])
                continue
            runs[-1].append(f"{plot.x_of(moment)},{plot.y_of(ms)}")
        for run in runs:
            if len(run) == 1:
                cx, cy = run[0].split(",")
                parts.append(f'<circle cx="{cx}" cy="{cy}" r="2" fill="{colour}"/>')
            elif run:
                parts.append(
                    f'<polyline fill="none" stroke="{colour}" stroke-width="2"'
                    f'{dash} points="{" ".join(run)}">'
                    f"<title>{escape(series.region)} "
                    f"{'p50' if which == 1 else 'p95'}</title></polyline>"
                )
    return parts


def _failure_marks(series: Series, plot: _Plot, row: int) -> list[str]:
    y = round(plot.top + plot.height - 6 - 10 * row, 1)
    colour = PALETTE[row % len(PALETTE)]
    parts = []
    for failure in series.failures:
        x = plot.x_of(failure.bucket)
        count = (
            "check failed"
            if failure.checks == 1
            else f"{failure.count} of {failure.checks} checks failed, the last"
        )
        tip = (
            f"{failure.last_at:%b %d %H:%M:%S} UTC, {series.region}: {count}: "
            f"{failure.reason}"
        )
        parts.append(
            f'<polygon class="fail-mark" '
            f'points="{x},{y - 5} {x + 5},{y} {x},{y + 5} {x - 5},{y}" '
            f'fill="{FAIL_COLOUR}" stroke="{colour}" stroke-width="1.5">'
            f"<title>{escape(tip)}</title></polygon>"
        )
    return parts


def series_colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


@functools.lru_cache(maxsize=4096)
def _plain_cell(day: date, level: str) -> str:
    # Days without downtime look the same on every monitor's bar.
    tip = "no data" if level == "nodata" else "100% up, no downtime"
    return f'<span class="day day-{level}" title="{day:%b} {day.day}: {tip}"></span>'


def day_cells(days: Sequence[DayBar]) -> SafeString:
    """The cells of a daily uptime bar, each with its tooltip.

    Built here rather than in a template loop: a status page with many
    monitors has 90 cells each, and this is ten times faster.
    """
    cells = []
    for d in days:
        level = d.level
        if level in ("ok", "nodata"):
            cells.append(_plain_cell(d.day, level))
            continue
        minutes = max(round(d.down_seconds / 60), 1)
        tip = f"{format_percent(d.uptime)} up, {minutes} min down"
        cells.append(
            f'<span class="day day-{level}" title="{d.day:%b} {d.day.day}: {tip}">'
            "</span>"
        )
    return _safe("".join(cells))


_BADGE_COLOURS = {
    "up": "#2e7d32",
    "down": "#c62828",
    "pending": "#6d6d6d",
    "paused": "#6d6d6d",
}


def _text_width(text: str) -> int:
    # Verdana-ish 11px: about 7 px per character plus padding.
    return 7 * len(text) + 12


def badge(label: str, value: str, colour: str) -> str:
    """A flat shields-style badge. Text is escaped; colour is ours."""
    lw, vw = _text_width(label), _text_width(value)
    total = lw + vw
    label_e, value_e = escape(label), escape(value)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{total}" height="20" '
        f'role="img" aria-label="{label_e}: {value_e}">'
        f"<title>{label_e}: {value_e}</title>"
        f'<rect width="{lw}" height="20" fill="#555"/>'
        f'<rect x="{lw}" width="{vw}" height="20" fill="{colour}"/>'
        '<g fill="#fff" font-family="Verdana,DejaVu Sans,sans-serif" '
        'font-size="11" text-anchor="middle">'
        f'<text x="{lw / 2}" y="14">{label_e}</text>'
        f'<text x="{lw + vw / 2}" y="14">{value_e}</text></g></svg>'
    )


def status_badge(status: str) -> str:
    return badge("status", status, _BADGE_COLOURS.get(status, "#6d6d6d"))


def uptime_badge(percent: float | None, window: str = "30d") -> str:
    if percent is None:
        return badge(f"uptime {window}", "no data", "#6d6d6d")
    colour = "#2e7d32" if percent >= 99.9 else "#9e7c00" if percent >= 99 else "#c62828"
    return badge(f"uptime {window}", format_percent(percent), colour)


def format_percent(value: float | None) -> str:
    if value is None:
        return "—"
    if value >= 100:
        return "100%"
    # Never round 99.996 up to 100%: that would hide real downtime.
    text = f"{int(value * 100) / 100:.2f}"
    return f"{text}%"
