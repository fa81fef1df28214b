"""The acknowledge link of an alert in a real browser (Chromium, Playwright):
opened by someone without an account, confirmed with a button, shown on
the incident's timeline."""

from __future__ import annotations

import os

import pytest
from playwright.sync_api import Page, expect

from alerts.models import Notification
from monitors.models import Incident
from tests.browser import shot

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NAME = "<b>Pat</b>"


def test_the_alerts_link_acknowledges_after_a_click_and_the_timeline_says_so(
    live_server,
    page: Page,
    make_monitor,
    regions,
    make_channel,
    open_incident,
    owner,
) -> None:
    monitor = make_monitor(name="Checkout", regions=regions[:1], failure_threshold=1)
    make_channel(target="https://hooks.example/ops", monitors=[monitor])
    incident = open_incident(monitor)
    link = Notification.objects.get(incident=incident).payload["data"][
        "acknowledge_url"
    ]
    path = "/" + link.split("/", 3)[3]

    page.goto(f"{live_server.url}{path}")
    expect(page.get_by_role("heading", name="Checkout")).to_be_visible()
    incident.refresh_from_db()
    assert incident.acknowledged_at is None  # opening the link does nothing
    page.get_by_label("Your name").fill(NAME)
    page.get_by_label("Note").fill("restarting the pods")
    page.get_by_role("button", name="Acknowledge").click()
    expect(page.get_by_role("status")).to_contain_text(f"Acknowledged by {NAME}")
    shot(page, "incident-acknowledged-by-link")
    assert page.locator("b", has_text="Pat").count() == 0  # text, not markup

    # Once more (a second click, another recipient): the first one stays.
    page.goto(f"{live_server.url}{path}")
    expect(page.get_by_role("button", name="Acknowledge")).to_have_count(0)
    incident = Incident.objects.get(pk=incident.pk)
    assert (incident.acknowledged_by_name, incident.ack_note) == (
        NAME,
        "restarting the pods",
    )

    # The owner's incident page: the timeline entry, no button left.
    page.context.clear_cookies()
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(owner.username)
    page.get_by_label("Password").fill("pw-alice-123!")
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server.url}/incidents/{incident.pk}/")
    expect(page.get_by_text(f"Acknowledged by {NAME}")).to_be_visible()
    expect(page.get_by_role("button", name="Acknowledge")).to_have_count(0)
    expect(page.get_by_role("button", name="Resolve by hand")).to_be_visible()


def test_a_changed_link_shows_a_page_not_an_error(
    live_server,
    page: Page,
) -> None:
    response = page.goto(f"{live_server.url}/incidents/acknowledge/eyJpIjoxfQ:bad:sig/")
    assert response is not None and response.status == 400
    expect(page.get_by_role("heading", name="This link is not valid")).to_be_visible()
