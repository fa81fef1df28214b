"""Each transport against a real receiver on loopback."""

from __future__ import annotations

import json

import pytest
from standardwebhooks.webhooks import Webhook

from alerts.models import Event
from alerts.services import channel_create
from alerts.transports import TransportError
from tests.alerts.helpers import notification_for, notify
from tests.alerts.servers import Receiver, SMTPSink, slack_reply

pytestmark = pytest.mark.django_db


# --- email ----------------------------------------------------------------


def test_email_names_monitor_and_event_in_plain_text_and_html(
    project, incident, smtp: SMTPSink
) -> None:
    channel = channel_create(
        project=project, name="Ops", kind="email", target="ops@example.com"
    )
    notify(channel, notification_for(channel, incident))

    assert len(smtp.messages) == 1
    msg = smtp.messages[0]
    assert msg["Subject"] == "[DOWN] Shop (https://shop.example)"
    assert msg["To"] == "ops@example.com"
    parts = {}
    for p in msg.walk():
        if not p.is_multipart():
            payload = p.get_payload(decode=True)
            assert isinstance(payload, bytes)
            parts[p.get_content_type()] = payload.decode()
    assert "Shop is down: http_status: HTTP 503" in parts["text/plain"]
    assert "/incidents/" in parts["text/plain"]
    assert "<a href=" in parts["text/html"]
    assert "Regions" in parts["text/html"]


def test_email_recovery_subject_says_up(project, incident, smtp: SMTPSink) -> None:
    channel = channel_create(
        project=project, name="Ops", kind="email", target="ops@example.com"
    )
    notify(channel, notification_for(channel, incident, Event.INCIDENT_RESOLVED))
    assert smtp.messages[0]["Subject"] == "[UP] Shop (https://shop.example)"


def test_email_refused_recipient_is_permanent(
    project, incident, smtp: SMTPSink
) -> None:
    smtp.refuse.add("gone@example.com")
    channel = channel_create(
        project=project, name="Ops", kind="email", target="gone@example.com"
    )
    with pytest.raises(TransportError) as caught:
        notify(channel, notification_for(channel, incident))
    assert caught.value.permanent
    assert smtp.messages == []


def test_email_server_down_is_transient(project, incident, settings) -> None:
    from tests.targets import free_port

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()
    channel = channel_create(
        project=project, name="Ops", kind="email", target="ops@example.com"
    )
    with pytest.raises(TransportError) as caught:
        notify(channel, notification_for(channel, incident))
    assert not caught.value.permanent


# --- webhook ----------------------------------------------------------------


def test_webhook_is_signed_per_standard_webhooks(
    project, incident, receiver: Receiver, allow_private
) -> None:
    channel = channel_create(
        project=project, name="Hook", kind="webhook", target=receiver.url()
    )
    assert channel.secret.startswith("whsec_")
    notification = notification_for(channel, incident)
    notify(channel, notification)

    [req] = receiver.requests
    payload = Webhook(channel.secret).verify(req.body, req.headers)
    assert req.headers["webhook-id"] == notification.webhook_id
    assert req.headers["content-type"] == "application/json"
    assert payload["type"] == "incident.opened"
    assert payload["timestamp"].endswith("Z")
    assert payload["data"]["incident"]["id"] == incident.pk
    assert payload["data"]["incident"]["status"] == "open"
    assert payload["data"]["incident"]["regions"] == ["ap"]
    assert payload["data"]["monitor"] == {
        "id": incident.monitor.pk,
        "name": "Shop",
        "url": "https://shop.example",
        "project": project.pk,
        "link": f"http://127.0.0.1:8000/monitors/{incident.monitor.pk}/",
    }


def test_webhook_signature_fails_with_another_secret(
    project, incident, receiver: Receiver, allow_private
) -> None:
    from standardwebhooks.webhooks import WebhookVerificationError

    from alerts.models import generate_secret

    channel = channel_create(
        project=project, name="Hook", kind="webhook", target=receiver.url()
    )
    notify(channel, notification_for(channel, incident))
    [req] = receiver.requests
    with pytest.raises(WebhookVerificationError):
        Webhook(generate_secret()).verify(req.body, req.headers)


def test_webhook_retries_carry_the_same_id_and_body(
    project, incident, receiver: Receiver, allow_private
) -> None:
    receiver.replies = [(503, b"busy", {})]
    channel = channel_create(
        project=project, name="Hook", kind="webhook", target=receiver.url()
    )
    notification = notification_for(channel, incident)
    with pytest.raises(TransportError) as caught:
        notify(channel, notification)
    assert not caught.value.permanent
    notify(channel, notification)
    first, second = receiver.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert first.body == second.body
    Webhook(channel.secret).verify(second.body, second.headers)


@pytest.mark.parametrize(
    ("reply", "permanent", "retry_after"),
    [
        ((500, b"oops", {}), False, None),
        ((429, b"slow down", {"Retry-After": "120"}), False, 120.0),
        ((410, b"gone", {}), True, None),
        ((404, b"nope", {}), True, None),
        ((302, b"", {"Location": "http://127.0.0.1:1/elsewhere"}), True, None),
    ],
)
def test_webhook_failures_are_classified(
    project, incident, receiver: Receiver, allow_private, reply, permanent, retry_after
) -> None:
    receiver.replies = [reply]
    channel = channel_create(
        project=project, name="Hook", kind="webhook", target=receiver.url()
    )
    with pytest.raises(TransportError) as caught:
        notify(channel, notification_for(channel, incident))
    assert caught.value.permanent is permanent
    assert caught.value.retry_after == retry_after
    # A redirect is reported, never followed.
    assert [r.path for r in receiver.requests] == ["/hook"]


def test_webhook_to_a_private_address_is_refused_on_send(
    project, incident, receiver: Receiver, settings
) -> None:
    settings.UPTIME_ALLOW_PRIVATE_TARGETS = True
    channel = channel_create(
        project=project, name="Hook", kind="webhook", target=receiver.url()
    )
    # The install is later locked down: the guard runs again on every send.
    settings.UPTIME_ALLOW_PRIVATE_TARGETS = False
    with pytest.raises(TransportError) as caught:
        notify(channel, notification_for(channel, incident))
    assert caught.value.permanent
    assert "blocked" in caught.value.message
    assert receiver.requests == []


# --- Slack --------------------------------------------------------------------


def test_slack_posts_block_kit_naming_monitor_event_cause_regions_and_link(
    project, incident, receiver: Receiver, allow_private
) -> None:
    receiver.default = slack_reply(200, "ok")
    channel = channel_create(
        project=project,
        name="Slack",
        kind="slack",
        target=receiver.url("/services/T/B/x"),
    )
    notify(channel, notification_for(channel, incident))

    [req] = receiver.requests
    body = json.loads(req.body)
    assert body["text"].startswith("[DOWN] Shop (https://shop.example)")
    blocks = body["blocks"]
    assert blocks[0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "[DOWN] Shop (https://shop.example)"},
    }
    fields = " ".join(f["text"] for f in blocks[2]["fields"])
    assert "Shop" in fields
    assert "http_status: HTTP 503" in fields
    assert "ap" in fields
    button = blocks[3]["elements"][0]
    assert button["url"] == f"http://127.0.0.1:8000/incidents/{incident.pk}/"


@pytest.mark.parametrize(
    ("reply", "permanent", "retry_after"),
    [
        (slack_reply(404, "no_service"), True, None),
        (slack_reply(403, "invalid_token"), True, None),
        (slack_reply(404, "channel_not_found"), True, None),
        (slack_reply(429, "rate_limited", **{"Retry-After": "30"}), False, 30.0),
        (slack_reply(500, "internal_error"), False, None),
        (slack_reply(503, "service_unavailable"), False, None),
    ],
)
def test_slack_documented_errors_map_to_permanent_or_transient(
    project, incident, receiver: Receiver, allow_private, reply, permanent, retry_after
) -> None:
    receiver.replies = [reply]
    channel = channel_create(
        project=project, name="Slack", kind="slack", target=receiver.url("/services/x")
    )
    with pytest.raises(TransportError) as caught:
        notify(channel, notification_for(channel, incident))
    assert caught.value.permanent is permanent
    assert caught.value.retry_after == retry_after
    assert reply[1].decode() in caught.value.message
    # No retries inside one send: the outbox owns retrying.
    assert len(receiver.requests) == 1


def test_slack_goes_through_the_address_guard(
    project, incident, receiver: Receiver, settings
) -> None:
    settings.UPTIME_ALLOW_PRIVATE_TARGETS = True
    channel = channel_create(
        project=project, name="Slack", kind="slack", target=receiver.url("/services/x")
    )
    settings.UPTIME_ALLOW_PRIVATE_TARGETS = False
    with pytest.raises(TransportError) as caught:
        notify(channel, notification_for(channel, incident))
    assert caught.value.permanent
    assert receiver.requests == []


def test_slack_ignores_proxy_settings_from_the_environment(
    project, incident, receiver: Receiver, allow_private, monkeypatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    channel = channel_create(
        project=project, name="Slack", kind="slack", target=receiver.url("/services/x")
    )
    notify(channel, notification_for(channel, incident))
    assert len(receiver.requests) == 1


@pytest.mark.parametrize("kind", ["webhook", "slack"])
def test_a_name_resolving_to_loopback_is_refused_at_connect(
    project, incident, receiver: Receiver, settings, kind
) -> None:
    settings.UPTIME_ALLOW_PRIVATE_TARGETS = True
    channel = channel_create(
        project=project,
        name="Named",
        kind=kind,
        target=f"http://localhost:{receiver.port}/hook",
    )
    settings.UPTIME_ALLOW_PRIVATE_TARGETS = False
    with pytest.raises(TransportError) as caught:
        notify(channel, notification_for(channel, incident))
    assert caught.value.permanent
    assert "blocked" in caught.value.message
    assert receiver.requests == []
