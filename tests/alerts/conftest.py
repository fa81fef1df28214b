from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from alerts.models import Channel
from alerts.services import channel_confirm, channel_create
from monitors.checks.base import CheckResult
from monitors.models import Incident, Monitor, Project, Region
from monitors.services import TickResult, ticks_record
from tests.alerts.servers import Receiver, SMTPSink


@pytest.fixture
def smtp(settings) -> Iterator[SMTPSink]:
    sink = SMTPSink()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = sink.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    yield sink
    sink.close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.stop()


@pytest.fixture
def fast_retries(settings) -> None:
    settings.ALERTS_RETRY_BASE_SECONDS = 1
    settings.ALERTS_RETRY_MAX_DELAY_SECONDS = 8


@pytest.fixture
def make_channel(project: Project):
    """A channel through the write path; an email channel's recipient has
    confirmed it unless ``confirm=False`` (its confirmation mail stays in the
    outbox, as it would)."""

    def make(
        kind: str = "webhook", target: str = "", confirm: bool = True, **kwargs: Any
    ) -> Channel:
        kwargs.setdefault("name", f"{kind} channel")
        channel = channel_create(
            project=kwargs.pop("project", project),
            kind=kind,
            target=target,
            **kwargs,
        )
        if confirm and channel.awaiting_confirmation:
            channel_confirm(channel=channel)
        return channel

    return make


def record(monitor: Monitor, region: Region, status: str, at=None) -> None:
    """One tick through the real path: ticks_record runs the incident machine."""
    at = at or timezone.now()
    result = (
        CheckResult(status="up", response_time_ms=12, status_code=200)
        if status == "up"
        else CheckResult(
            status="down",
            error="http_status",
            message="HTTP 503 Service Unavailable",
            status_code=503,
        )
    )
    ticks_record(
        region=region,
        scheduled_at=at,
        results=[TickResult(monitor_id=monitor.pk, checked_at=at, result=result)],
    )


@pytest.fixture
def open_incident(make_monitor, regions):
    """Open (and optionally resolve) a real incident on a one-region monitor."""

    def make(monitor: Monitor | None = None) -> Incident:
        monitor = monitor or make_monitor(
            regions=regions[:1], failure_threshold=1, interval_seconds=60
        )
        record(monitor, regions[0], "down", timezone.now() - timedelta(seconds=1))
        return Incident.objects.get(monitor=monitor, status="open")

    return make


@pytest.fixture
def incident(make_monitor, open_incident):
    """An open incident of a monitor checked from one region."""
    monitor = make_monitor(name="Shop", url="https://shop.example", failure_threshold=1)
    monitor.regions.set(monitor.regions.all()[:1])
    return open_incident(monitor)
