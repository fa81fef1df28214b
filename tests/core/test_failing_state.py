"""A monitor whose checks fail, before an incident confirms it, says so."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone

from monitors.checks.base import CheckResult
from monitors.models import Monitor, Region
from monitors.services import TickResult, ticks_record
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

UP = CheckResult(status="up", response_time_ms=10, status_code=200)
DOWN = CheckResult(
    status="down", error="http_status", message="HTTP 500", status_code=500
)


def _check(monitor: Monitor, region: Region, result: CheckResult, at) -> None:
    ticks_record(
        region=region,
        scheduled_at=at,
        results=[TickResult(monitor_id=monitor.pk, checked_at=at, result=result)],
        now=at + timedelta(seconds=1),
    )


def test_failing_checks_show_failing_n_of_threshold_until_the_incident(
    make_monitor, regions, api, owner: User
) -> None:
    eu = regions[0]
    monitor = make_monitor(regions=[eu], failure_threshold=3, interval_seconds=10)
    start = timezone.now() - timedelta(seconds=60)
    seen = []
    for i, result in enumerate([DOWN, DOWN, DOWN, UP]):
        _check(monitor, eu, result, start + timedelta(seconds=10 * i))
        monitor.refresh_from_db()
        seen.append((monitor.status, monitor.consecutive_failures))
    assert seen == [("failing", 1), ("failing", 2), ("down", 3), ("up", 0)]


def test_every_view_says_failing_1_of_3(
    make_monitor, regions, api, owner: User
) -> None:
    eu = regions[0]
    monitor = make_monitor(regions=[eu], failure_threshold=3, interval_seconds=10)
    _check(monitor, eu, DOWN, timezone.now() - timedelta(seconds=5))

    body = api.get(f"/api/monitors/{monitor.pk}/").json()
    assert body["status"] == "failing" and body["consecutive_failures"] == 1

    client = client_for(owner)
    overview = client.get(reverse("dashboard:overview")).content.decode()
    assert "Failing 1/3" in overview
    assert "1 failing" in overview and "1 up" not in overview
    page = client.get(monitor.get_absolute_url()).content.decode()
    assert "Failing 1/3" in page

    owner.is_superuser = owner.is_staff = True
    owner.save()
    admin = client_for(owner).get("/admin/monitors/monitor/").content.decode()
    assert "Failing 1/3" in admin
