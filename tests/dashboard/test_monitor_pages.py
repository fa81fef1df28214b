from __future__ import annotations

from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.urls import reverse
from django.utils import timezone

from monitors.models import Monitor, MonitorStatus, Region

from .conftest import add_incident, add_ticks

pytestmark = pytest.mark.django_db

XSS = "<img src=x onerror=alert(1)>"


def _form(region_list, **overrides):
    data = {
        "name": "Shop",
        "url": "https://shop.example/",
        "interval_seconds": "60",
        "timeout_seconds": "10",
        "regions": [r.pk for r in region_list],
        "failure_threshold": "3",
        "recovery_threshold": "1",
        "region_quorum": "",
    }
    data.update(overrides)
    return data


def test_it_adds_a_monitor_and_schedules_its_first_check(
    owner_client, project, regions
) -> None:
    response = owner_client.post(reverse("dashboard:monitor_create"), _form(regions))
    monitor = Monitor.objects.get()
    assert response.status_code == 302
    assert response["Location"] == monitor.get_absolute_url()
    assert monitor.project == project
    assert monitor.status == MonitorStatus.PENDING
    assert monitor.next_check_at is not None
    assert set(monitor.regions.all()) == set(regions)


class _Checkboxes(HTMLParser):
    """``{value: checked}`` of the form's checkboxes with one name."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name
        self.boxes: dict[str, bool] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if (
            tag == "input"
            and a.get("type") == "checkbox"
            and a.get("name") == self.name
        ):
            self.boxes[a.get("value") or ""] = "checked" in a


def _region_boxes(body: str) -> dict[str, bool]:
    parser = _Checkboxes("regions")
    parser.feed(body)
    return parser.boxes


def test_it_preselects_every_active_region_on_a_new_monitor(
    owner_client, regions
) -> None:
    retired = Region.objects.create(code="old", name="Old", active=False)
    body = owner_client.get(reverse("dashboard:monitor_create")).content.decode()
    # Each active region's own box is ticked; the form's other ticked boxes
    # (redirects, TLS, status page) do not count, and a retired region is
    # not offered.
    assert _region_boxes(body) == {str(r.pk): True for r in regions}
    assert str(retired.pk) not in _region_boxes(body)


def test_it_shows_only_the_monitors_own_regions_ticked_when_editing(
    owner_client, make_monitor, regions
) -> None:
    monitor = make_monitor(regions=regions[:1])
    body = owner_client.get(
        reverse("dashboard:monitor_edit", args=[monitor.pk])
    ).content.decode()
    assert _region_boxes(body) == {str(r.pk): r == regions[0] for r in regions}


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"url": "ftp://shop.example/"}, "url", ""),
        ({"url": "http://127.0.0.1:8000/"}, "url", "private or reserved"),
        ({"url": "http://169.254.169.254/"}, "url", "private or reserved"),
        ({"interval_seconds": "0"}, "interval_seconds", "at least 1 seconds"),
        ({"interval_seconds": "90000"}, "interval_seconds", "at most 86400"),
        (
            {"interval_seconds": "5", "timeout_seconds": "5"},
            "timeout_seconds",
            "Must be below the interval (5 s).",
        ),
        ({"regions": []}, "regions", "Choose at least one region."),
        ({"region_quorum": "4"}, "region_quorum", "At most the number of regions (3)."),
        ({"failure_threshold": "0"}, "failure_threshold", ""),
        ({"failure_threshold": "101"}, "failure_threshold", ""),
        ({"name": ""}, "name", "required"),
    ],
)
def test_it_shows_validation_errors_next_to_the_field(
    owner_client, regions, overrides, field, message
) -> None:
    response = owner_client.post(
        reverse("dashboard:monitor_create"), _form(regions, **overrides)
    )
    assert response.status_code == 400
    assert not Monitor.objects.exists()
    form = response.context["form"]
    assert field in form.errors
    assert message in " ".join(form.errors[field])
    body = response.content.decode()
    # Inline: the error list sits in the field's own block, tied by id.
    assert f'id="id_{field}_error"' in body
    if field != "regions":
        assert f'aria-describedby="id_{field}_error' in body


def test_it_edits_a_monitor_and_checks_at_once_when_the_url_changes(
    owner_client, make_monitor, regions
) -> None:
    monitor = make_monitor()
    Monitor.objects.filter(pk=monitor.pk).update(next_check_at=None)
    url = reverse("dashboard:monitor_edit", args=[monitor.pk])
    response = owner_client.post(
        url, _form(regions, name="Shop v2", url="https://new.example/")
    )
    assert response.status_code == 302
    monitor.refresh_from_db()
    assert monitor.name == "Shop v2"
    assert monitor.url == "https://new.example/"
    assert monitor.next_check_at is not None


def test_it_pauses_resumes_and_checks_now(owner_client, make_monitor) -> None:
    monitor = make_monitor()
    owner_client.post(reverse("dashboard:monitor_pause", args=[monitor.pk]))
    monitor.refresh_from_db()
    assert (monitor.enabled, monitor.status) == (False, MonitorStatus.PAUSED)
    response = owner_client.post(
        reverse("dashboard:monitor_check", args=[monitor.pk]), follow=True
    )
    assert b"resume it to check it" in response.content
    owner_client.post(reverse("dashboard:monitor_resume", args=[monitor.pk]))
    monitor.refresh_from_db()
    assert (monitor.enabled, monitor.status) == (True, MonitorStatus.PENDING)
    Monitor.objects.filter(pk=monitor.pk).update(next_check_at=None)
    owner_client.post(reverse("dashboard:monitor_check", args=[monitor.pk]))
    monitor.refresh_from_db()
    assert monitor.next_check_at is not None


def test_it_deletes_only_after_confirmation(owner_client, make_monitor) -> None:
    monitor = make_monitor()
    url = reverse("dashboard:monitor_delete", args=[monitor.pk])
    page = owner_client.get(url)
    assert page.status_code == 200
    assert b"cannot be undone" in page.content
    assert Monitor.objects.filter(pk=monitor.pk).exists()
    response = owner_client.post(url)
    assert response.status_code == 302
    assert not Monitor.objects.filter(pk=monitor.pk).exists()


def test_it_shows_the_monitor_page_with_chart_sla_incidents_and_errors(
    owner_client, make_monitor, regions
) -> None:
    monitor = make_monitor(name="Shop")
    now = timezone.now()
    add_ticks(monitor, regions[0], start=now - timedelta(minutes=50), count=40)
    add_ticks(
        monitor,
        regions[1],
        start=now - timedelta(minutes=9),
        count=3,
        status="down",
        error="http_status",
        message="HTTP 503 <script>alert(1)</script>",
    )
    add_incident(
        monitor,
        now - timedelta(hours=3),
        now - timedelta(hours=2),
        cause="timeout: no answer in 5 s",
    )
    response = owner_client.get(monitor.get_absolute_url() + "?range=1h")
    body = response.content.decode()
    assert response.status_code == 200
    assert '<svg class="chart"' in body
    assert "<polyline" in body
    assert "Formula:" in body
    assert "timeout: no answer in 5 s" in body
    assert "HTTP 503 &lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "<script>alert(1)" not in body
    assert body.count('class="day day-') == 90
    assert monitor.badge_key in body


def test_it_escapes_names_urls_and_errors_everywhere(
    owner_client, make_monitor, regions
) -> None:
    monitor = make_monitor(name=XSS, url="https://shop.example/?q=<b>x</b>")
    now = timezone.now()
    add_ticks(monitor, regions[0], start=now, count=1, status="down", message=XSS)
    add_incident(monitor, now - timedelta(minutes=5), None, cause=XSS)
    for url in (
        reverse("dashboard:overview"),
        monitor.get_absolute_url(),
        reverse("dashboard:incidents"),
        reverse("dashboard:monitor_edit", args=[monitor.pk]),
        reverse("dashboard:monitor_delete", args=[monitor.pk]),
    ):
        body = owner_client.get(url).content.decode()
        assert XSS not in body, url
        assert "&lt;img src=x onerror=alert(1)&gt;" in body, url
        assert "<b>x</b>" not in body, url
