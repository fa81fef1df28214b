"""The status page and its subscribe form in Chromium (Playwright), with
JavaScript off: nothing on them needs it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from monitors.incident_updates import incident_update_post
from statuspages.models import StatusPageSubscriber, SubscriberMessage
from tests.browser import shot
from tests.dashboard.conftest import add_incident

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture
def no_js_page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, java_script_enabled=False
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def test_a_visitor_reads_the_status_page_and_subscribes_without_javascript(
    live_server, no_js_page: Page, owner, make_monitor, make_page
) -> None:
    api = make_monitor(name="api-1", status="up")
    web = make_monitor(name="web-1", status="down")
    make_page(
        {"Backend": [(api, "Public API")], "Frontend": [(web, XSS)]},
        title="Acme status",
    )
    incident = add_incident(web, timezone.now() - timedelta(minutes=4), None)
    incident_update_post(
        user=owner, incident=incident, status="investigating", body="On it. " + XSS
    )
    page = no_js_page
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    page.goto(f"{live_server.url}/status/shop/")
    expect(page.get_by_role("heading", name="Backend")).to_be_visible()
    expect(page.get_by_role("heading", name="Public API")).to_be_visible()
    expect(page.get_by_text("1 of 2 services down")).to_be_visible()
    current = page.locator(".current-incidents")
    expect(current.get_by_text("Investigating")).to_be_visible()
    # Typed markup shows as text and runs nothing.
    expect(current.get_by_text("On it. " + XSS)).to_be_visible()
    expect(page.get_by_role("heading", name=XSS, exact=True)).to_be_visible()
    assert page.locator("img[src=x]").count() == 0
    assert page.locator(".daybar").first.locator(".day").count() == 90
    shot(page, "status-page")

    page.get_by_role("link", name="Subscribe to updates").click()
    page.get_by_label("Email address or webhook URL").fill("not-an-address")
    page.get_by_role("button", name="Subscribe").click()
    expect(page.get_by_text("Enter a valid email address.")).to_be_visible()
    page.get_by_label("Email address or webhook URL").fill("ann@example.com")
    page.get_by_role("button", name="Subscribe").click()
    expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()
    shot(page, "status-page-subscribed")
    # No CSP refusals (the form's 400 and a missing favicon are logged too).
    assert [e for e in errors if "Content Security Policy" in e] == []

    subscriber = StatusPageSubscriber.objects.get()
    assert (subscriber.target, subscriber.confirmed_at) == ("ann@example.com", None)
    assert SubscriberMessage.objects.get().event == "subscriber.confirmation"
