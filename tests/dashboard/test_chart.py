"""The response-time chart: incidents as shaded spans, failed checks as
markers outside the latency line, missed slots as no data, and the default
range of a young monitor. The SVG is parsed, not searched for substrings."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from monitors.dashboard import selectors, svg
from monitors.models import Incident, IncidentStatus, Monitor, Region, Tick

from .conftest import add_ticks

pytestmark = pytest.mark.django_db

# response_chart's default geometry: 720 wide, plot from x=52 to x=708.
PLOT_LEFT, PLOT_WIDTH = 52, 656
HOUR = 3600.0


def _chart_svg(client, monitor: Monitor, query: str = "?range=1h") -> ET.Element:
    response = client.get(monitor.get_absolute_url() + query)
    assert response.status_code == 200
    found = re.search(r'<svg class="chart".*?</svg>', response.content.decode(), re.S)
    assert found, "no chart on the page"
    return _parse(found.group(0))


def _parse(markup: str) -> ET.Element:
    # Our own markup, parsed to prove it well-formed: no entities to fear.
    return ET.fromstring(markup)  # noqa: S314


def _x(seconds_into_the_hour: float) -> float:
    return PLOT_LEFT + PLOT_WIDTH * seconds_into_the_hour / HOUR


def _incident(
    monitor: Monitor,
    started_at: datetime,
    resolved_at: datetime | None,
    *,
    status: str = IncidentStatus.RESOLVED,
    cause: str = "http_status: HTTP 503 Service Unavailable",
    status_code: int | None = 503,
) -> Incident:
    return Incident.objects.create(
        monitor=monitor,
        status=status,
        started_at=started_at,
        resolved_at=resolved_at,
        cause=cause,
        details={"status_code": status_code},
    )


def _failed(
    monitor: Monitor, region: Region, at: datetime, *, ms: int = 5000, **fields
) -> Tick:
    # Real failed checks often carry a time (how long failing took).
    return Tick.objects.create(
        monitor=monitor,
        region=region,
        scheduled_at=at,
        checked_at=at,
        status="down",
        response_time_ms=ms,
        **{"error": "http_status", "message": "HTTP 503 Service Unavailable"} | fields,
    )


def _line_points(root: ET.Element) -> list[tuple[float, float]]:
    points = []
    for line in root.iter("polyline"):
        for pair in line.get("points", "").split():
            x, y = pair.split(",")
            points.append((float(x), float(y)))
    points += [
        (float(c.get("cx", 0)), float(c.get("cy", 0))) for c in root.iter("circle")
    ]
    return points


def _marks(root: ET.Element) -> list[ET.Element]:
    return [p for p in root.iter("polygon") if p.get("class") == "fail-mark"]


def _spans(root: ET.Element) -> list[ET.Element]:
    return [r for r in root.iter("rect") if "incident" in (r.get("class") or "")]


def test_an_incident_in_range_is_a_shaded_span_at_its_start_and_end(
    owner_client, make_monitor, regions
) -> None:
    monitor = make_monitor()
    now = timezone.now()
    add_ticks(monitor, regions[0], start=now - timedelta(minutes=59), count=55)
    _incident(monitor, now - timedelta(minutes=30), now - timedelta(minutes=18))
    # Over before the range began: not drawn.
    _incident(monitor, now - timedelta(hours=3), now - timedelta(hours=2))

    (span,) = _spans(_chart_svg(owner_client, monitor))

    # The page's "now" is a moment after ours: a fraction of a pixel.
    x = float(span.get("x", 0))
    assert x == pytest.approx(_x(30 * 60), abs=0.5)
    assert float(span.get("width", 0)) == pytest.approx(PLOT_WIDTH * 12 / 60, abs=0.2)
    assert span.get("class") == "incident"
    assert span.findtext("title") == "Incident: 12 min, HTTP 503"


def test_an_open_incident_reaches_the_right_edge_and_says_so_far(
    owner_client, make_monitor, regions
) -> None:
    monitor = make_monitor()
    now = timezone.now()
    # Began before the range: clipped to the left edge.
    _incident(
        monitor,
        now - timedelta(minutes=75),
        None,
        status=IncidentStatus.OPEN,
        cause="timeout: no answer in 5 s",
        status_code=None,
    )
    (span,) = _spans(_chart_svg(owner_client, monitor))
    assert float(span.get("x", 0)) == PLOT_LEFT
    assert float(span.get("width", 0)) == pytest.approx(PLOT_WIDTH, abs=0.2)
    assert span.findtext("title") == (
        "Incident: 1 h 15 min so far, timeout: no answer in 5 s"
    )


def test_an_incident_of_seconds_is_still_wide_enough_to_see(
    owner_client, make_monitor, regions
) -> None:
    # A first hour's incident: seconds long, a fraction of a pixel over an
    # hour. It is drawn a few units wide at its start, inside the plot.
    monitor = make_monitor()
    now = timezone.now()
    _incident(
        monitor, now - timedelta(minutes=30), now - timedelta(minutes=30, seconds=-6)
    )
    _incident(monitor, now - timedelta(seconds=4), None, status=IncidentStatus.OPEN)
    earlier, latest = sorted(
        _spans(_chart_svg(owner_client, monitor)), key=lambda r: float(r.get("x", 0))
    )
    assert float(earlier.get("x", 0)) == pytest.approx(_x(30 * 60), abs=0.5)
    assert float(earlier.get("width", 0)) == svg.MIN_SPAN_PX
    assert earlier.findtext("title") == "Incident: 6 s, HTTP 503"
    assert float(latest.get("width", 0)) == svg.MIN_SPAN_PX
    right = float(latest.get("x", 0)) + float(latest.get("width", 0))
    assert right == pytest.approx(PLOT_LEFT + PLOT_WIDTH, abs=0.2)
    assert (latest.findtext("title") or "").startswith("Incident: 4 s so far")


def test_an_incident_closed_by_a_pause_is_shaded_grey_and_says_so(
    owner_client, make_monitor
) -> None:
    monitor = make_monitor()
    now = timezone.now()
    _incident(
        monitor,
        now - timedelta(minutes=40),
        now - timedelta(minutes=35),
        status=IncidentStatus.PAUSED,
    )
    (span,) = _spans(_chart_svg(owner_client, monitor))
    assert span.get("class") == "incident incident-paused"
    assert span.get("fill") == svg.PAUSED_COLOUR
    assert span.findtext("title") == (
        "Incident: 5 min until the monitor was paused, HTTP 503"
    )


def test_failed_checks_are_markers_and_no_point_of_the_line(
    owner_client, make_monitor, regions
) -> None:
    monitor = make_monitor(regions=[regions[0]])
    # Ten seconds into a one-minute bucket (the chart's buckets start at
    # "now" minus the range; the page's "now" comes a moment after ours).
    start = timezone.now() - timedelta(minutes=50) + timedelta(seconds=10)
    add_ticks(monitor, regions[0], start=start, count=10, ms=100)
    # Three minutes failing (5 s each: slower than any answer), then one
    # minute where one of two checks failed.
    for i in range(3):
        _failed(monitor, regions[0], start + timedelta(minutes=10 + i))
    add_ticks(monitor, regions[0], start=start + timedelta(minutes=13), count=1)
    _failed(monitor, regions[0], start + timedelta(minutes=13, seconds=30))

    chart = selectors.response_chart(monitor=monitor, range_key="1h")
    (series,) = chart.series
    assert (series.checks, series.failed) == (15, 4)
    assert series.p50 == series.p95 == 100
    assert [(f.count, f.checks) for f in series.failures] == [
        (1, 1),
        (1, 1),
        (1, 1),
        (1, 2),
    ]
    failed_buckets = {f.bucket for f in series.failures[:3]}
    assert all(p50 is None for b, p50, _ in series.points if b in failed_buckets)

    root = _chart_svg(owner_client, monitor)
    marks = _marks(root)
    assert len(marks) == 4
    points = _line_points(root)
    # Every point of the line is a 100 ms answer at the top of the 100 ms
    # axis: a 5 s failure would have stretched the axis.
    assert len(points) == 11 * 2  # p50 and p95
    assert {y for _, y in points} == {12.0}
    assert "5000" not in ET.tostring(root, encoding="unicode")
    centres = [m.get("points", "").split()[0].split(",") for m in marks]
    mark_xs = [float(x) for x, _ in centres]
    # On the strip at the foot of the plot (y 232), not on the line.
    assert {float(y) + 5 for _, y in centres} == {226.0}
    line_xs = {x for x, _ in points}
    # The three all-failed minutes have a marker and no line point; the
    # minute with one good check has both.
    assert not line_xs & set(mark_xs[:3])
    assert mark_xs[3] in line_xs
    assert mark_xs[0] == pytest.approx(_x(20 * 60 + 30), abs=0.5)
    title = marks[3].findtext("title") or ""
    assert title.endswith(
        f"UTC, {regions[0].code}: 1 of 2 checks failed, the last: "
        "HTTP 503 Service Unavailable"
    )
    assert f"{start + timedelta(minutes=13, seconds=30):%H:%M:%S} UTC" in title


def test_missed_slots_are_neither_line_nor_marker(
    owner_client, make_monitor, regions
) -> None:
    monitor = make_monitor()
    now = timezone.now()
    add_ticks(
        monitor,
        regions[0],
        start=now - timedelta(minutes=30),
        count=10,
        status="missed",
    )
    chart = selectors.response_chart(monitor=monitor, range_key="1h")
    assert chart.series == [] and chart.total.checks == 0
    root = _chart_svg(owner_client, monitor)
    assert _marks(root) == [] and _line_points(root) == []
    assert "No checks in this period yet" in ET.tostring(root, encoding="unicode")


def test_error_text_in_titles_is_escaped(owner_client, make_monitor, regions) -> None:
    monitor = make_monitor(regions=[regions[0]])
    now = timezone.now()
    hostile = "<script>alert('x')</script> & \"co\""
    _failed(monitor, regions[0], now - timedelta(minutes=5), message=hostile)
    _incident(
        monitor,
        now - timedelta(minutes=20),
        now - timedelta(minutes=10),
        cause=f"<b>{hostile}</b>",
        status_code=None,
    )
    response = owner_client.get(monitor.get_absolute_url() + "?range=1h")
    body = response.content.decode()
    assert "<script>alert(" not in body
    assert "<b><script>" not in body
    # Well-formed (ET parses it) and the text reads back as it was.
    root = _chart_svg(owner_client, monitor)
    (mark,) = _marks(root)
    (span,) = _spans(root)
    assert (mark.findtext("title") or "").endswith(f": check failed: {hostile}")
    assert span.findtext("title") == f"Incident: 10 min, <b>{hostile}</b>"


def _current_range(root_html: str) -> str:
    found = re.search(r'<a href="\?range=(\w+)#chart-h" aria-current="true"', root_html)
    assert found
    return found.group(1)


def test_a_monitor_younger_than_a_day_opens_on_the_last_hour(
    owner_client, make_monitor
) -> None:
    monitor = make_monitor()
    url = monitor.get_absolute_url()
    assert _current_range(owner_client.get(url).content.decode()) == "1h"
    root = _chart_svg(owner_client, monitor, "")
    assert "last 1h" in (root.findtext("title") or "")
    # An explicit range still wins; an unknown one falls back to the default.
    assert _current_range(owner_client.get(url + "?range=7d").content.decode()) == "7d"
    assert _current_range(owner_client.get(url + "?range=2y").content.decode()) == "1h"

    Monitor.objects.filter(pk=monitor.pk).update(
        created_at=timezone.now() - timedelta(days=1, minutes=1)
    )
    assert _current_range(owner_client.get(url).content.decode()) == "24h"


def test_incidents_and_failures_cost_the_chart_no_extra_query(
    owner_client, make_monitor, regions, django_assert_num_queries
) -> None:
    quiet, troubled = make_monitor(name="Quiet"), make_monitor(name="Troubled")
    now = timezone.now()
    for m in (quiet, troubled):
        add_ticks(m, regions[0], start=now - timedelta(minutes=40), count=30)
    for i in range(5):
        _failed(troubled, regions[1], now - timedelta(minutes=20 - i))
        _incident(
            troubled,
            now - timedelta(minutes=50 - 8 * i),
            now - timedelta(minutes=47 - 8 * i),
        )
    with django_assert_num_queries(1):
        chart = selectors.response_chart(monitor=troubled, range_key="1h")
    assert len(chart.incidents) == 5
    assert sum(len(s.failures) for s in chart.series) == 5

    def count(monitor: Monitor) -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert owner_client.get(monitor.get_absolute_url()).status_code == 200
        return len(ctx.captured_queries)

    count(quiet)  # the session and caches warm up
    assert count(troubled) == count(quiet)


def test_sparklines_mark_failed_checks_and_leave_them_out_of_the_line() -> None:
    root = _parse(svg.sparkline([(100, "up"), (5000, "down"), (100, "up")]))
    (line,) = root.iter("polyline")
    assert len(line.get("points", "").split()) == 2
    assert [r.get("class") for r in root.iter("rect")] == ["spark-down"]
    assert "100 to 100 ms, 1 failed" in (root.get("aria-label") or "")

    all_failed = _parse(svg.sparkline([(4000, "down"), (None, "down")]))
    assert len(list(all_failed.iter("rect"))) == 2
    assert "no response time, 2 failed" in (all_failed.get("aria-label") or "")
