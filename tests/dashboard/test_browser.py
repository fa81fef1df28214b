"""The dashboard in a real browser: Debian's Chromium driven by Playwright.

A newcomer's path: sign up, add a monitor against a loopback target, watch it
turn up without reloading, see the chart, pause it, open the status page. The
screenshots land in artifacts/screenshots/.
"""

from __future__ import annotations

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from alerts.transports import REGISTRY as TRANSPORTS
from monitors.checks import REGISTRY as CHECK_KINDS
from monitors.models import Monitor, Project
from monitors.runner import run_checks
from tests.browser import shot
from tests.dashboard.conftest import sign_up

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

XSS = "<img src=x onerror=alert(1)>"


def _check_all_regions(monitor: Monitor) -> None:
    slot = timezone.now().replace(microsecond=0)
    for region in monitor.regions.all():
        run_checks(region_code=region.code, scheduled_at=slot, monitor_ids=[monitor.pk])


def _nav(page: Page, name: str) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name=name).click()


def _add_monitor(page: Page, name: str, url: str) -> None:
    page.get_by_role("link", name="Add monitor").first.click()
    page.get_by_label("Name").fill(name)
    page.get_by_label("URL").fill(url)
    page.get_by_label("Timeout (seconds)").fill("5")
    page.get_by_role("button", name="Add monitor").click()
    expect(page.get_by_role("heading", name=name)).to_be_visible()


def test_a_newcomer_signs_up_adds_a_monitor_and_publishes_a_status_page(
    live_server, page: Page, regions, allow_private, target, settings
) -> None:
    settings.UPTIME_DASHBOARD_REFRESH_SECONDS = 1
    base = live_server.url
    sign_up(page, base, "dana")
    expect(page.get_by_text("No monitors yet")).to_be_visible()

    _add_monitor(page, "Loopback shop", target.url("/health"))
    monitor = Monitor.objects.get(name="Loopback shop")
    assert monitor.status == "pending"

    # The overview refreshes itself: the check's result shows with no reload.
    _nav(page, "Monitors")
    row = page.locator("tr", has_text="Loopback shop")
    expect(row.get_by_text("Pending")).to_be_visible()
    page.evaluate("window.__sameDocument = true")
    _check_all_regions(monitor)
    expect(row.get_by_text("Up", exact=True)).to_be_visible(timeout=8000)
    assert page.evaluate("window.__sameDocument") is True
    assert "/health" in target.hits
    expect(row.locator("svg.spark polyline")).to_have_count(1)
    overview_shot = shot(page, "overview")

    # The monitor page: the chart has a line per region, the latest checks.
    row.get_by_role("link", name="Loopback shop").click()
    expect(page.locator("svg.chart polyline, svg.chart circle").first).to_be_visible()
    expect(page.get_by_role("heading", name="Latest checks")).to_be_visible()
    monitor_shot = shot(page, "monitor")

    page.get_by_role("button", name="Pause").click()
    expect(page.get_by_text("Monitor paused")).to_be_visible()
    expect(page.get_by_role("button", name="Resume")).to_be_visible()
    assert Monitor.objects.get(pk=monitor.pk).enabled is False
    page.get_by_role("button", name="Resume").click()
    expect(page.get_by_role("button", name="Pause")).to_be_visible()

    # Turn on the public status page and open it logged out.
    _nav(page, "Project")
    page.get_by_label("Public status page").check()
    page.get_by_role("button", name="Save").first.click()
    expect(page.get_by_text("Project saved")).to_be_visible()
    project = Project.objects.get(owner__username="dana")
    assert project.status_page_enabled
    public = page.context.browser.new_page()  # type: ignore[union-attr]  # launched, not connected: set
    public.goto(f"{base}/status/{project.slug}/")
    expect(public.get_by_role("heading", name="Loopback shop")).to_be_visible()
    expect(public.get_by_text("All systems operational")).to_be_visible()
    assert "/health" not in public.content()
    status_shot = shot(public, "status-page")
    public.close()

    assert page.dialogs == []  # type: ignore[attr-defined]  # set by the page fixture
    for path in (overview_shot, monitor_shot, status_shot):
        assert path.stat().st_size > 5000


def test_a_monitor_named_like_html_shows_as_text_and_runs_nothing(
    live_server, page: Page, regions, allow_private, target
) -> None:
    base = live_server.url
    sign_up(page, base, "erin")
    _add_monitor(page, XSS, target.url("/"))
    expect(page.get_by_role("heading", name=XSS)).to_be_visible()
    _nav(page, "Monitors")
    expect(page.get_by_role("link", name=XSS)).to_be_visible()
    assert page.locator("img[src=x]").count() == 0
    _nav(page, "Incidents")
    assert page.dialogs == []  # type: ignore[attr-defined]  # set by the page fixture


def test_the_overview_fits_a_phone(live_server, browser: Browser, regions) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    sign_up(page, live_server.url, "fay")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
    context.close()


# --- forms that fit the kind -----------------------------------------------------


def _console_errors(page: Page) -> list[str]:
    """Console errors from now on: a blocked inline script or handler (the
    Content-Security-Policy) shows up here."""
    errors: list[str] = []
    page.on(
        "console", lambda msg: errors.append(msg.text) if msg.type == "error" else None
    )
    return errors


def _assert_the_csp_listener_hears_violations(page: Page, errors: list[str]) -> None:
    # An inline script the page did not have: proves a violation would be
    # heard, so an empty list before this means there was none.
    with page.expect_console_message(lambda msg: msg.type == "error"):
        page.evaluate(
            "() => { const s = document.createElement('script');"
            " s.textContent = 'window.__inline = 1'; document.body.append(s); }"
        )
    assert "Content Security Policy" in errors[-1], errors
    assert page.evaluate("window.__inline") is None


def test_the_monitor_form_shows_only_the_chosen_kinds_options(
    live_server, page: Page, regions
) -> None:
    errors = _console_errors(page)
    sign_up(page, live_server.url, "gus")
    page.goto(f"{live_server.url}/monitors/new/")
    sections = {
        kind.name: page.locator(f'fieldset.form-section[data-kind="{kind.name}"]')
        for kind in CHECK_KINDS.values()
        if kind.options
    }
    assert len(sections) >= 3
    for name, kind in CHECK_KINDS.items():
        page.get_by_label("Check type").select_option(name)
        expect(page.locator('label[for="id_url"]')).to_have_text(kind.target_label)
        for shown, section in sections.items():
            if shown == name:
                expect(section).to_be_visible()
                expect(section.locator("legend")).to_have_text(f"{kind.label} options")
            else:
                expect(section).to_be_hidden()
    # A new monitor has no password to remove.
    page.get_by_label("Check type").select_option("http")
    expect(page.get_by_label("Basic auth password")).to_be_visible()
    assert page.locator("[name=clear_auth_password]").count() == 0
    shot(page, "monitor-form-http")
    page.get_by_label("Check type").select_option("dns")
    expect(page.get_by_label("DNS record type")).to_be_visible()
    expect(page.get_by_label("HTTP method")).to_be_hidden()
    shot(page, "monitor-form-dns")
    assert errors == []
    _assert_the_csp_listener_hears_violations(page, errors)


def test_without_javascript_the_monitor_form_shows_every_kinds_options(
    live_server, browser: Browser, regions
) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    sign_up(page, live_server.url, "hal")
    page.goto(f"{live_server.url}/monitors/new/")
    for kind in CHECK_KINDS.values():
        if kind.options:
            section = page.locator(f'fieldset[data-kind="{kind.name}"]')
            expect(section).to_be_visible()
            expect(section.locator("legend")).to_have_text(f"{kind.label} options")
    context.close()


def test_the_channel_form_shows_only_the_chosen_kinds_fields_and_wording(
    live_server, page: Page, regions
) -> None:
    errors = _console_errors(page)
    sign_up(page, live_server.url, "ida")
    page.goto(f"{live_server.url}/channels/new/")
    secret = page.locator("[name=secret]")
    target_label = page.locator('label[for="id_target"]')
    target_help = page.locator("#id_target_helptext")
    for name, transport in TRANSPORTS.items():
        page.get_by_label("Type").select_option(name)
        expect(target_label).to_have_text(transport.target_label)
        expect(target_help).to_have_text(transport.target_help)
        if "secret" in transport.options:
            expect(secret).to_be_visible()
            expect(page.get_by_role("group", name="Webhook options")).to_be_visible()
        else:
            expect(secret).to_be_hidden()
    page.get_by_label("Type").select_option("email")
    shot(page, "channel-form-email")
    # The kind's wording is for the label only: the form still posts.
    page.get_by_label("Name").fill("Ops mail")
    page.get_by_label("Email address").fill("ops@example.com")
    page.get_by_role("button", name="Add channel").click()
    expect(page.get_by_role("link", name="Ops mail", exact=True)).to_be_visible()
    assert errors == []
    _assert_the_csp_listener_hears_violations(page, errors)
