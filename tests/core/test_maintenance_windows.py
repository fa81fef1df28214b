"""When a maintenance window is active: one-off, weekly, per monitor or project."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from monitors.maintenance import excluded_spans, maintenance_active, maintenance_until
from monitors.models import MaintenanceWindow, MonitorPause, Project

pytestmark = pytest.mark.django_db

# A Monday.
MONDAY = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)


def _weekly(project: Project, **kwargs: object) -> MaintenanceWindow:
    fields: dict[str, object] = {
        "title": "Nightly backup",
        "starts_at": MONDAY,
        "ends_at": MONDAY + timedelta(hours=1),
        "recurrence": "weekly",
        "weekdays": [0, 3],  # Monday and Thursday, 02:00-03:00 UTC
    }
    fields.update(kwargs)
    return MaintenanceWindow.objects.create(project=project, **fields)


def test_a_weekly_window_is_active_on_its_days_at_its_time_only(project) -> None:
    window = _weekly(project)
    thursday = MONDAY + timedelta(days=3)
    assert window.occurrence_at(MONDAY) == (MONDAY, MONDAY + timedelta(hours=1))
    assert window.occurrence_at(thursday + timedelta(minutes=59)) is not None
    assert window.occurrence_at(thursday + timedelta(hours=1)) is None  # ends
    assert window.occurrence_at(MONDAY + timedelta(days=1, minutes=5)) is None
    later = MONDAY + timedelta(weeks=10, minutes=30)
    assert window.occurrence_at(later) == (
        MONDAY + timedelta(weeks=10),
        MONDAY + timedelta(weeks=10, hours=1),
    )
    # Never before its first day.
    assert window.occurrence_at(MONDAY - timedelta(days=4, minutes=-30)) is None


def test_a_weekly_window_crossing_midnight_covers_the_next_morning(project) -> None:
    sunday_late = MONDAY - timedelta(hours=3)  # Sunday 23:00
    window = _weekly(
        project,
        starts_at=sunday_late,
        ends_at=sunday_late + timedelta(hours=2),
        weekdays=[6],
    )
    assert window.occurrence_at(MONDAY - timedelta(minutes=90)) is not None
    assert window.occurrence_at(MONDAY + timedelta(days=7, minutes=-90)) is not None
    assert window.occurrence_at(MONDAY) is None


def test_occurrences_list_every_week_in_a_range(project) -> None:
    window = _weekly(project)
    found = window.occurrences(MONDAY, MONDAY + timedelta(days=14))
    assert [start.weekday() for start, _ in found] == [0, 3, 0, 3]


def test_a_project_window_covers_every_monitor_and_a_monitor_window_only_its_own(
    project, make_monitor
) -> None:
    shop, api, other = (make_monitor(name=n) for n in ("Shop", "API", "Other"))
    now = MONDAY + timedelta(minutes=10)
    one = MaintenanceWindow.objects.create(
        project=project,
        title="Shop deploy",
        starts_at=now - timedelta(minutes=5),
        ends_at=now + timedelta(minutes=5),
    )
    one.monitors.set([shop])
    assert maintenance_active([shop.pk, api.pk, other.pk], now) == {shop.pk}

    _weekly(project)
    with CaptureQueriesContext(connection) as queries:
        active = maintenance_active([shop.pk, api.pk, other.pk], now)
    assert active == {shop.pk, api.pk, other.pk}
    assert len(queries) == 1
    # The latest end of the windows covering the monitor.
    assert maintenance_until([shop.pk], now)[shop.pk] == MONDAY + timedelta(hours=1)


def test_another_projects_window_never_covers_our_monitors(
    project, make_monitor, outsider
) -> None:
    shop = make_monitor()
    theirs = Project.objects.get(owner=outsider)
    _weekly(theirs)
    assert maintenance_active([shop.pk], MONDAY + timedelta(minutes=1)) == set()


def test_a_one_off_window_is_active_from_its_start_until_its_end(
    project, make_monitor
) -> None:
    shop = make_monitor()
    MaintenanceWindow.objects.create(
        project=project,
        title="Migration",
        starts_at=MONDAY,
        ends_at=MONDAY + timedelta(hours=2),
    )
    assert maintenance_active([shop.pk], MONDAY - timedelta(seconds=1)) == set()
    assert maintenance_active([shop.pk], MONDAY) == {shop.pk}
    assert maintenance_active([shop.pk], MONDAY + timedelta(hours=2)) == set()


def test_excluded_spans_merge_pauses_and_windows(project, make_monitor) -> None:
    shop = make_monitor()
    MonitorPause.objects.create(
        monitor=shop,
        started_at=MONDAY + timedelta(minutes=30),
        ended_at=MONDAY + timedelta(hours=3),
    )
    MonitorPause.objects.create(monitor=shop, started_at=MONDAY + timedelta(hours=5))
    _weekly(project)
    spans = excluded_spans(
        monitor_ids=[shop.pk], since=MONDAY, until=MONDAY + timedelta(hours=6)
    )
    assert spans[shop.pk] == [
        (MONDAY, MONDAY + timedelta(hours=3)),
        (MONDAY + timedelta(hours=5), MONDAY + timedelta(hours=6)),
    ]
