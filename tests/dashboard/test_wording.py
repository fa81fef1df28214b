"""Words as people write them: durations, labels, states and refusals."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from monitors.templatetags.uptime_format import ago, duration, seconds, state_word

from .conftest import add_incident


@pytest.mark.parametrize(
    ("value", "text"),
    [(10.0, "10 s"), (2.5, "2.5 s"), (60, "1 min"), (90, "1 min 30 s"), (3600, "1 h")],
)
def test_configured_seconds_read_exactly(value: float, text: str) -> None:
    assert seconds(value) == text


def test_durations_never_say_zero_minutes() -> None:
    now = timezone.now()
    assert duration(now - timedelta(seconds=54), now) == "54 s"
    assert duration(now - timedelta(minutes=3, seconds=10), now) == "3 min"
    assert duration(now - timedelta(hours=2, minutes=5), now) == "2 h 5 min"
    assert ago(now - timedelta(seconds=6)) in ("6 s ago", "7 s ago")
    assert ago(None) == "never"


def test_states_read_as_words() -> None:
    assert state_word("nodata") == "No data yet"
    assert state_word("up") == "Up"


def test_the_monitor_form_labels_methods_and_record_types_as_written(
    owner_client, regions
) -> None:
    page = owner_client.get(reverse("dashboard:monitor_create")).content.decode()
    for label in ("GET", "HEAD", "AAAA", "CNAME"):
        assert f">{label}</option>" in page
    assert ">Get</option>" not in page and ">Aaaa</option>" not in page


def test_the_monitor_page_says_seconds_and_no_data_yet(
    owner_client, make_monitor
) -> None:
    monitor = make_monitor(timeout_seconds=10.0, interval_seconds=90)
    page = owner_client.get(monitor.get_absolute_url()).content.decode()
    assert "Every 1 min 30 s" in page and "timeout 10 s;" in page
    assert "No data yet" in page and "Nodata" not in page
    edit = owner_client.get(reverse("dashboard:monitor_edit", args=[monitor.pk]))
    assert 'value="10"' in edit.content.decode()


def test_incident_durations_are_short_words(owner_client, make_monitor) -> None:
    monitor = make_monitor()
    now = timezone.now()
    add_incident(monitor, now - timedelta(seconds=40), now)
    page = owner_client.get(reverse("dashboard:incidents")).content.decode()
    assert "40 s" in page and "0 minutes" not in page


def test_a_private_target_refusal_says_how_a_self_hoster_allows_it(
    api, owner_client, regions
) -> None:
    resp = api.post("/api/monitors/", {"name": "x", "url": "http://10.0.0.1/"})
    assert resp.status_code == 400
    assert "UPTIME_ALLOW_PRIVATE_TARGETS=true" in resp.json()["url"][0]


def test_the_sla_table_says_when_the_error_budget_is_exceeded(
    owner_client, make_monitor
) -> None:
    now = timezone.now()
    monitor = make_monitor()
    monitor.created_at = now - timedelta(days=40)
    monitor.save(update_fields=["created_at"])
    # 24 h budget at 99.9 %: 86.4 s; 90 s of downtime overspends it by about 4 s.
    add_incident(
        monitor, now - timedelta(hours=2, seconds=90), now - timedelta(hours=2)
    )
    page = owner_client.get(monitor.get_absolute_url()).content.decode()
    assert "over-budget" in page
    assert "over by 4 s" in page or "over by 3 s" in page
    healthy = make_monitor(name="Fine")
    assert (
        "over by" not in owner_client.get(healthy.get_absolute_url()).content.decode()
    )
