from __future__ import annotations

import os
from datetime import datetime, timedelta

from playwright.sync_api import Page, expect

from monitors.models import Incident, IncidentStatus, Monitor, Region, Tick


def add_ticks(
    monitor: Monitor,
    region: Region,
    *,
    start: datetime,
    count: int,
    every: timedelta = timedelta(minutes=1),
    ms: int | list[int] = 100,
    status: str = "up",
    error: str = "",
    message: str = "",
) -> list[Tick]:
    ticks = []
    for i in range(count):
        at = start + every * i
        value = ms[i % len(ms)] if isinstance(ms, list) else ms
        ticks.append(
            Tick(
                monitor=monitor,
                region=region,
                scheduled_at=at,
                checked_at=at,
                status=status,
                response_time_ms=None if status == "down" else value,
                error=error,
                message=message,
            )
        )
    return Tick.objects.bulk_create(ticks)


def add_incident(
    monitor: Monitor,
    started_at: datetime,
    resolved_at: datetime | None,
    cause: str = "",
) -> Incident:
    return Incident.objects.create(
        monitor=monitor,
        status=IncidentStatus.RESOLVED if resolved_at else IncidentStatus.OPEN,
        started_at=started_at,
        resolved_at=resolved_at,
        cause=cause,
    )


# --- the browser (Debian's Chromium driven by Playwright) ---------------------

# Playwright's sync API runs an event loop in this thread; the ORM calls made
# by the test itself (seeding ticks) are ordinary blocking calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

# The browser fixtures (browser, page) and shot() live in tests/browser.py,
# a plugin of the root conftest, so every test directory can use them.


def sign_up(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/signup/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Email").fill(f"{username}@example.com")
    page.locator("input[name=password1]").fill("a-long-pass-phrase-9")
    page.locator("input[name=password2]").fill("a-long-pass-phrase-9")
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("heading", name="Monitors")).to_be_visible()
