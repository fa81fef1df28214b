"""A newcomer's first hour, in a real browser against real processes.

Sign up, create an API key and use it, add an HTTP monitor through the form
(only the HTTP options show), watch it go up, fail unconfirmed ("Failing
n/3"), go down with an open incident the chart shades, recover, and read the
API's schema and Swagger UI. Nothing is driven by hand: a Celery check worker
runs the checks the dispatcher sends every second, and the test only flips
its loopback target between 200 and 500. Each step leaves a screenshot,
``artifacts/screenshots/first-hour-NN-<step>.png``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from django.db import close_old_connections
from playwright.sync_api import Locator, Page, expect

from monitors.checks import REGISTRY as CHECK_KINDS
from monitors.dashboard.svg import MIN_SPAN_PX
from monitors.models import Incident, Monitor, Region
from tests.browser import SHOTS, shot
from tests.dashboard.conftest import sign_up
from tests.e2e_support import celery_worker, dispatcher_loop, purge_broker
from tests.targets import Target, respond

pytestmark = [
    pytest.mark.browser,
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
]

REGION = "eu"
INTERVAL = 3
FAILURES = 3


class _Step:
    """Numbered screenshots in the order the walk takes them."""

    def __init__(self) -> None:
        self.number = 0
        self.paths: list[Path] = []

    def __call__(self, page: Page, name: str, part: Locator | None = None) -> Path:
        """The whole page, or only ``part`` of it."""
        self.number += 1
        name = f"first-hour-{self.number:02d}-{name}"
        if part is None:
            path = shot(page, name)
        else:
            path = SHOTS / f"{name}.png"
            part.screenshot(path=str(path))
            print(f"screenshot: {path}")
        self.paths.append(path)
        return path


@pytest.fixture
def flip_target() -> Iterator[tuple[Target, dict[str, int]]]:
    """A loopback target answering ``state["code"]``, which the test flips."""
    target = Target()
    state = {"code": 200}
    target.default = lambda h: respond(state["code"])(h)
    yield target, state
    target.close()


def _reload_until(
    page: Page, locator: Callable[[], Locator], timeout: float = 30.0
) -> Locator:
    """Reload the page until ``locator()`` shows: the monitor page is plain
    HTML that a reader reloads (only the overview refreshes itself)."""
    deadline = time.monotonic() + timeout
    while True:
        found = locator()
        if found.count() and found.first.is_visible():
            return found.first
        if time.monotonic() > deadline:
            raise AssertionError(f"{found} not shown within {timeout} s")
        page.wait_for_timeout(300)
        page.reload()


def _css_colour(page: Page, variable: str) -> str:
    """The stylesheet's colour ``variable`` as computed styles give it."""
    value = page.evaluate(
        "name => getComputedStyle(document.documentElement)"
        ".getPropertyValue(name).trim()",
        variable,
    )
    assert re.fullmatch(r"#[0-9a-f]{6}", value), value
    r, g, b = (int(value[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgb({r}, {g}, {b})"


def _api_get(base: str, key: str, path: str) -> Any:
    response = requests.get(
        f"{base}{path}", headers={"Authorization": f"Bearer {key}"}, timeout=10
    )
    assert response.status_code == 200, response.text
    return response.json()


def _create_api_key(page: Page, step: _Step) -> str:
    page.locator("summary", has_text="fiona").click()
    page.get_by_role("link", name="API keys").click()
    expect(page.get_by_role("heading", name="API keys", exact=True)).to_be_visible()
    expect(page.get_by_text("No API keys yet.")).to_be_visible()
    page.get_by_label("Name").fill("first-hour script")
    page.get_by_label("Read and write").check()
    page.get_by_role("button", name="Create key").click()
    expect(page.get_by_role("heading", name=re.compile("created"))).to_be_visible()
    key = page.get_by_label("API key").input_value()
    assert key.startswith("upk_"), key
    step(page, "api-key-created")
    page.get_by_role("link", name="Done").click()
    expect(
        page.get_by_role("cell", name="first-hour script", exact=True)
    ).to_be_visible()
    return key


def _add_http_monitor(page: Page, step: _Step, url: str) -> None:
    page.get_by_role("navigation", name="Main").get_by_role(
        "link", name="Monitors"
    ).click()
    page.get_by_role("link", name="Add monitor").first.click()
    expect(page.get_by_label("Check type")).to_have_value("http")
    # kind-sections.js: the HTTP options show, every other kind's are hidden.
    sections = page.locator("fieldset.form-section[data-kind]")
    kinds = sections.evaluate_all("els => els.map(e => e.dataset.kind)")
    assert "http" in kinds and len(kinds) >= 3, kinds
    others = {k.name for k in CHECK_KINDS.values() if k.options} - {"http"}
    assert others and others <= set(kinds), (others, kinds)
    for kind in kinds:
        section = page.locator(f'fieldset.form-section[data-kind="{kind}"]')
        if kind == "http":
            expect(section).to_be_visible()
            expect(section.locator("legend")).to_have_text(
                f"{CHECK_KINDS['http'].label} options"
            )
        else:
            expect(section).to_be_hidden()
    expect(page.get_by_label("HTTP method")).to_be_visible()
    expect(page.get_by_label("DNS record type")).to_be_hidden()
    expect(page.locator('label[for="id_url"]')).to_have_text("URL")

    page.get_by_label("Name").fill("Shop")
    page.get_by_label("URL").fill(url)
    page.get_by_label("Check every (seconds)").fill(str(INTERVAL))
    page.get_by_label("Timeout (seconds)").fill("1")
    for region in page.locator("input[name=regions]").all():
        region.set_checked(region.get_attribute("value") == _region_pk())
    page.get_by_label("Failures before alerting").fill(str(FAILURES))
    page.get_by_label("Successes before recovery").fill("1")
    step(page, "monitor-form-http")
    page.get_by_role("button", name="Add monitor").click()
    expect(page.get_by_role("heading", name="Shop")).to_be_visible()


def _region_pk() -> str:
    return str(Region.objects.get(code=REGION).pk)


def test_the_first_hour(
    live_server, page: Page, regions, allow_private, flip_target, settings, tmp_path
) -> None:
    target, state = flip_target
    base = live_server.url
    step = _Step()
    purge_broker()
    try:
        with (
            celery_worker([f"checks.{REGION}"], log_path=tmp_path / "checks.log"),
            dispatcher_loop(),
        ):
            _walk(page, base, target, state, step)
    finally:
        close_old_connections()
    for path in step.paths:
        assert path.stat().st_size > 5000, path


def _walk(
    page: Page, base: str, target: Target, state: dict[str, int], step: _Step
) -> None:
    # 1. Sign up: the empty overview.
    sign_up(page, base, "fiona")
    expect(page.get_by_text("No monitors yet")).to_be_visible()
    step(page, "signed-up")

    # 2. An API key from the dashboard, used as the README shows.
    key = _create_api_key(page, step)
    assert _api_get(base, key, "/api/monitors/")["results"] == []
    assert requests.get(f"{base}/api/monitors/", timeout=10).status_code in (401, 403)
    # The README's bad-input example, as curl -d sends it.
    refused = requests.post(
        f"{base}/api/monitors/",
        data={"url": "ftp://x", "name": "x"},
        headers={"Authorization": f"Bearer {key}"},
        timeout=10,
    )
    assert refused.status_code == 400
    assert refused.json() == {"url": ["Only http and https URLs can be checked."]}

    # 3. An HTTP monitor through the form.
    _add_http_monitor(page, step, target.url("/health"))
    monitor = Monitor.objects.get(name="Shop")
    assert monitor.kind == "http"
    assert [r.code for r in monitor.regions.all()] == [REGION]
    assert (monitor.interval_seconds, monitor.failure_threshold) == (INTERVAL, FAILURES)
    listed = _api_get(base, key, "/api/monitors/")["results"]
    assert [m["name"] for m in listed] == ["Shop"]

    # 4. The worker's first checks: Up.
    up = _reload_until(page, lambda: page.locator("h1 .status-up"))
    expect(up).to_have_text("Up")
    assert "/health" in target.hits
    expect(page.get_by_text("No incidents.")).to_be_visible()
    step(page, "up")

    # 5. The target fails: amber "Failing n/3" before any incident.
    state["code"] = 500
    failing = _reload_until(page, lambda: page.locator("h1 .status-failing"), 20)
    expect(failing).to_have_text(re.compile(rf"^Failing [12]/{FAILURES}$"))
    # Amber: the stylesheet's "degraded" colour, neither green nor red.
    colour = failing.evaluate("el => getComputedStyle(el).color")
    assert colour == _css_colour(page, "--degraded"), colour
    assert colour not in (_css_colour(page, "--up"), _css_colour(page, "--down"))
    failing_api = _api_get(base, key, f"/api/monitors/{monitor.pk}/")
    assert failing_api["status"] in ("failing", "down"), failing_api
    # Unconfirmed: the same page load lists no incident.
    expect(page.get_by_text("No incidents.")).to_be_visible()
    step(page, "failing-unconfirmed")

    # 6. Confirmed: Down, an open incident, and the chart shades it.
    _reload_until(page, lambda: page.locator("h1 .status-down"), 20)
    incidents = page.locator("table.incidents tbody tr")
    expect(incidents).to_have_count(1)
    expect(incidents.first.locator(".status")).to_have_text("Open")
    expect(incidents.first).to_contain_text("and counting")
    incident = Incident.objects.get(monitor=monitor)
    assert incident.status == "open"
    down = _api_get(base, key, f"/api/monitors/{monitor.pk}/")
    assert down["status"] == "down"
    step(page, "down-confirmed")

    span = _chart_incident(page)
    assert "so far" in span["title"], span
    assert span["width"] >= MIN_SPAN_PX
    marks = page.locator("svg.chart polygon.fail-mark")
    assert marks.count() >= 1
    mark_xs = [
        float(x)
        for x in marks.evaluate_all(
            "els => els.map(e => e.getAttribute('points').split(',')[0])"
        )
    ]
    # The failed checks that opened it sit within the shaded span.
    assert any(span["x"] - 10 <= x <= span["x"] + span["width"] + 10 for x in mark_xs)
    step(page, "chart-incident", page.locator("figure.chart-figure"))

    # 7. Recovery: Up again, the incident resolved, the span closed.
    state["code"] = 200
    _reload_until(page, lambda: page.locator("h1 .status-up"), 20)
    expect(incidents.first.locator(".status")).to_have_text("Resolved")
    expect(incidents.first).not_to_contain_text("and counting")
    incident.refresh_from_db()
    assert incident.status == "resolved" and incident.resolved_at is not None
    span = _chart_incident(page)
    assert "so far" not in span["title"], span
    step(page, "recovered")

    # 8. The API's description: Swagger UI served from here, and the schema.
    fetched: list[str] = []
    page.on("request", lambda request: fetched.append(request.url))
    page.goto(f"{base}/api/docs/")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Uptime API")
    expect(
        page.locator('.opblock-summary-path[data-path="/api/monitors/"]').first
    ).to_be_visible()
    assert fetched and all(url.startswith(base) for url in fetched), fetched
    step(page, "api-docs")
    # The schema itself is a file (YAML) the browser saves.
    with page.expect_download() as download:
        page.evaluate("url => { window.location.href = url; }", f"{base}/api/schema/")
    spec = yaml.safe_load(Path(download.value.path()).read_text())
    assert spec["openapi"].startswith("3.")
    assert "/api/monitors/" in spec["paths"]
    assert "Bearer" in spec["info"]["description"]


def _chart_incident(page: Page) -> dict[str, Any]:
    """The chart's one incident span: its x, width and tooltip."""
    spans = page.locator("svg.chart rect.incident")
    expect(spans).to_have_count(1)
    data: dict[str, Any] = spans.first.evaluate(
        "el => ({x: +el.getAttribute('x'), width: +el.getAttribute('width'),"
        " title: el.querySelector('title').textContent})"
    )
    return data
