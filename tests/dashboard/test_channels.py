"""Channel pages: list, add, edit, send test; alerts in the incident timeline."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from alerts.models import Channel, Notification
from alerts.services import channel_confirm, channel_create
from tests.alerts.helpers import run_queued
from tests.targets import respond

from .conftest import add_incident

pytestmark = pytest.mark.django_db


def test_it_lists_only_the_current_projects_channels(
    owner_client, outsider_client, project
) -> None:
    channel = channel_create(
        project=project, name="Ops mail", kind="email", target="ops@example.com"
    )
    assert b"Ops mail" in owner_client.get(reverse("alerts:channels")).content
    assert b"Ops mail" not in outsider_client.get(reverse("alerts:channels")).content
    for name in ("channel_edit", "channel_delete"):
        url = reverse(f"alerts:{name}", args=[channel.pk])
        assert outsider_client.get(url).status_code == 404
    url = reverse("alerts:channel_test", args=[channel.pk])
    assert outsider_client.post(url).status_code == 404
    assert mail.outbox == []


def test_it_adds_an_email_channel_for_the_projects_monitors(
    owner_client, project, make_monitor
) -> None:
    monitor = make_monitor()
    response = owner_client.post(
        reverse("alerts:channel_create"),
        {
            "name": "Ops",
            "kind": "email",
            "target": "ops@example.com",
            "enabled": "on",
            "notify_down": "on",
            "notify_up": "on",
            "monitors": [monitor.pk],
        },
    )
    assert response.status_code == 302
    channel = Channel.objects.get()
    assert (channel.project, channel.target) == (project, "ops@example.com")
    assert list(channel.monitors.all()) == [monitor]


def test_it_shows_a_new_webhooks_secret_once(owner_client, allow_private) -> None:
    response = owner_client.post(
        reverse("alerts:channel_create"),
        {"name": "Hook", "kind": "webhook", "target": "http://127.0.0.1:9/hook"},
    )
    channel = Channel.objects.get()
    assert response.status_code == 200
    assert channel.secret.startswith("whsec_")
    assert channel.secret in response.content.decode()
    listing = owner_client.get(reverse("alerts:channels")).content.decode()
    assert channel.secret not in listing
    assert "/hook" not in listing  # the URL path is a credential: masked


@pytest.mark.parametrize(
    ("kind", "target", "message"),
    [
        ("email", "not-an-address", "Enter a valid email address."),
        ("webhook", "http://10.0.0.1/hook", "private or reserved"),
        ("slack", "ftp://hooks.slack.example/x", ""),
    ],
)
def test_it_shows_channel_errors_next_to_the_field(
    owner_client, kind, target, message
) -> None:
    response = owner_client.post(
        reverse("alerts:channel_create"),
        {"name": "Bad", "kind": kind, "target": target},
    )
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert message in " ".join(errors["target"])
    assert b'id="id_target_error"' in response.content
    assert not Channel.objects.exists()


def test_editing_keeps_a_secret_target_unless_a_new_one_is_typed(
    owner_client, project, allow_private
) -> None:
    channel = channel_create(
        project=project,
        name="Slack",
        kind="slack",
        target="http://127.0.0.1:9/services/T000/B000/XXXX",
    )
    url = reverse("alerts:channel_edit", args=[channel.pk])
    page = owner_client.get(url).content.decode()
    assert "B000/XXXX" not in page
    response = owner_client.post(
        url, {"name": "Slack #ops", "kind": "email", "target": "", "enabled": "on"}
    )
    assert response.status_code == 302
    channel.refresh_from_db()
    assert channel.name == "Slack #ops"
    assert channel.kind == "slack"  # fixed once created
    assert channel.target.endswith("/B000/XXXX")


def test_send_test_by_email_is_queued_and_sent_by_the_worker(
    owner_client, project
) -> None:
    channel = channel_create(
        project=project, name="Ops", kind="email", target="ops@example.com"
    )
    channel_confirm(channel=channel)
    response = owner_client.post(
        reverse("alerts:channel_test", args=[channel.pk]), follow=True
    )
    assert b"queued" in response.content
    test = Notification.objects.get(channel=channel, event="test")
    assert test.status == "pending"
    assert mail.outbox == []  # nothing sent in the web request
    run_queued()
    test.refresh_from_db()
    assert test.status == "sent"
    assert [m.subject for m in mail.outbox] == ["[TEST] Uptime monitor"]
    assert [m.to for m in mail.outbox] == [["ops@example.com"]]


def test_send_test_reports_a_failing_webhook(
    owner_client, project, allow_private, target
) -> None:
    target.routes["/hook"] = respond(410, b"gone")
    channel = channel_create(
        project=project, name="Hook", kind="webhook", target=target.url("/hook")
    )
    owner_client.post(reverse("alerts:channel_test", args=[channel.pk]))
    assert "/hook" not in target.hits  # queued, not sent in the request
    run_queued()
    assert "/hook" in target.hits
    page = owner_client.get(reverse("alerts:channel_edit", args=[channel.pk]))
    assert b"failed" in page.content
    assert b"410" in page.content


def test_the_incident_timeline_lists_notifications(
    owner_client, project, make_monitor
) -> None:
    import alerts.views  # noqa: F401  (registers the timeline provider)

    monitor = make_monitor()
    now = timezone.now()
    incident = add_incident(monitor, now - timedelta(minutes=5), None, "down")
    channel = channel_create(
        project=project, name="Ops", kind="email", target="ops@example.com"
    )
    Notification.objects.create(
        channel=channel,
        incident=incident,
        monitor=monitor,
        event="incident.opened",
        dedupe_key="k1",
        status="failed",
        attempts=3,
        last_error="SMTP 550 <mailbox unavailable>",
        created_at=now - timedelta(minutes=4),
    )
    body = owner_client.get(incident.get_absolute_url()).content.decode()
    assert "Down alert to Ops (Email)" in body
    assert "SMTP 550 &lt;mailbox unavailable&gt;" in body
    assert "(failed)" in body
