"""The admin: channels (secret handling, send test) and the retry action."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from alerts.models import Channel, Notification
from alerts.services import notification_deliver
from tests.alerts.helpers import run_queued

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, owner):
    User.objects.filter(pk=owner.pk).update(is_staff=True, is_superuser=True)
    client.force_login(owner)
    return client


def test_admin_creates_a_webhook_with_a_generated_secret_and_masks_it(
    admin_client, project, receiver, allow_private
) -> None:
    resp = admin_client.post(
        "/admin/alerts/channel/add/",
        {
            "project": project.pk,
            "name": "Hook",
            "kind": "webhook",
            "target": receiver.url("/secret-path"),
            "secret": "",
            "enabled": "on",
            "notify_down": "on",
            "notify_up": "on",
        },
        follow=True,
    )
    assert resp.status_code == 200
    channel = Channel.objects.get()
    assert channel.secret.startswith("whsec_")
    listing = admin_client.get("/admin/alerts/channel/").content.decode()
    assert "secret-path" not in listing
    form = admin_client.get(f"/admin/alerts/channel/{channel.pk}/change/")
    assert channel.secret not in form.content.decode()


def test_admin_refuses_a_private_webhook_url(admin_client, project) -> None:
    resp = admin_client.post(
        "/admin/alerts/channel/add/",
        {
            "project": project.pk,
            "name": "Hook",
            "kind": "webhook",
            "target": "http://169.254.169.254/latest/meta-data",
            "notify_down": "on",
        },
    )
    assert resp.status_code == 200  # the form again, with the error
    assert "private or reserved" in resp.content.decode()
    assert not Channel.objects.exists()


def test_admin_send_test_and_retry_actions(
    admin_client,
    make_channel,
    make_monitor,
    regions,
    open_incident,
    receiver,
    allow_private,
) -> None:
    monitor = make_monitor(regions=regions[:1], failure_threshold=1)
    hook = make_channel("webhook", receiver.url(), monitors=[monitor])
    resp = admin_client.post(
        "/admin/alerts/channel/",
        {"action": "send_test", "_selected_action": [hook.pk]},
        follow=True,
    )
    assert "test message queued" in resp.content.decode()
    assert receiver.requests == []
    assert list(run_queued().values()) == ["sent"]
    assert len(receiver.requests) == 1

    receiver.replies = [(404, b"nope", {})]
    open_incident(monitor)
    n = Notification.objects.get(event="incident.opened")
    assert notification_deliver(notification_id=n.pk) == "failed"
    admin_client.post(
        "/admin/alerts/notification/",
        {"action": "retry", "_selected_action": [n.pk]},
        follow=True,
    )
    n.refresh_from_db()
    assert n.status == "pending"
    assert notification_deliver(notification_id=n.pk) == "sent"
