"""The apprise channel kind against loopback receivers, behind the guard."""

from __future__ import annotations

import inspect
import json
import logging
import re

import apprise
import pytest
from apprise.manager_plugins import NotificationManager

from alerts.models import Channel, Notification
from alerts.services import channel_create
from alerts.transports import TransportError
from alerts.transports.apprise_url import SCHEMES
from tests.alerts.helpers import notification_for, notify, run_queued
from tests.alerts.servers import Receiver

pytestmark = pytest.mark.django_db


def _apprise(project, url: str) -> Channel:
    return channel_create(project=project, name="Apprise", kind="apprise", target=url)


def test_json_url_delivers_the_alert_to_a_loopback_receiver(
    project, incident, receiver: Receiver, allow_private
) -> None:
    channel = _apprise(project, f"json://127.0.0.1:{receiver.port}/hooks/ops")
    notify(channel, notification_for(channel, incident))

    [req] = receiver.requests
    assert req.path == "/hooks/ops"
    body = json.loads(req.body)
    assert body["title"] == "[DOWN] Shop (https://shop.example)"
    assert "Shop is down: http_status: HTTP 503" in body["message"]
    assert "/incidents/" in body["message"]
    assert body["type"] == "failure"


def test_ntfy_url_delivers_to_a_self_hosted_server_on_loopback(
    project, incident, receiver: Receiver, allow_private
) -> None:
    channel = _apprise(project, f"ntfy://127.0.0.1:{receiver.port}/shop-alerts")
    notify(channel, notification_for(channel, incident))

    [req] = receiver.requests
    body = json.loads(req.body)
    assert body["topic"] == "shop-alerts"
    assert body["title"] == "[DOWN] Shop (https://shop.example)"
    assert "Shop is down" in body["message"]


def test_gotify_url_delivers_with_its_token(
    project, incident, receiver: Receiver, allow_private
) -> None:
    channel = _apprise(project, f"gotify://127.0.0.1:{receiver.port}/Atoken12345")
    notify(channel, notification_for(channel, incident, "incident.resolved"))

    [req] = receiver.requests
    assert req.path.startswith("/message")
    assert "Atoken12345" in req.path + json.dumps(req.headers)
    assert json.loads(req.body)["title"] == "[UP] Shop (https://shop.example)"


def test_through_the_outbox_a_sent_row_and_a_failed_one_in_the_log(
    project, incident, receiver: Receiver, allow_private
) -> None:
    channel = _apprise(project, f"json://127.0.0.1:{receiver.port}/x")
    sent = notification_for(channel, incident)
    receiver.replies += [(200, b"ok", {}), (401, b"bad token", {})]
    failed = notification_for(channel, incident, "incident.resolved")
    run_queued()

    sent.refresh_from_db()
    failed.refresh_from_db()
    assert sent.status == "sent"
    assert failed.status == "failed"
    assert failed.last_error == "JSON (HTTP POST) answered 401 bad token"


@pytest.mark.parametrize(
    ("reply", "permanent", "retry_after"),
    [
        ((503, b"busy", {}), False, None),
        ((429, b"slow down", {"Retry-After": "30"}), False, 30.0),
        ((404, b"no such hook", {}), True, None),
        ((400, b"bad payload", {}), True, None),
    ],
)
def test_answers_are_classified_for_the_retries(
    project, incident, receiver: Receiver, allow_private, reply, permanent, retry_after
) -> None:
    receiver.default = reply
    channel = _apprise(project, f"json://127.0.0.1:{receiver.port}/x")
    with pytest.raises(TransportError) as caught:
        notify(channel, notification_for(channel, incident))
    assert caught.value.permanent is permanent
    assert caught.value.retry_after == retry_after
    assert str(reply[0]) in caught.value.message


def test_unreachable_receiver_is_transient(project, incident, allow_private) -> None:
    from tests.targets import free_port

    channel = _apprise(project, f"json://127.0.0.1:{free_port()}/x")
    with pytest.raises(TransportError) as caught:
        notify(channel, notification_for(channel, incident))
    assert not caught.value.permanent
    assert "unreachable" in caught.value.message


def test_private_apprise_url_is_refused_with_the_guard_on(api) -> None:
    resp = api.post(
        "/api/channels/",
        {"name": "Ntfy", "kind": "apprise", "target": "ntfy://127.0.0.1:8080/ops"},
        format="json",
    )
    assert resp.status_code == 400
    assert "private or reserved address" in " ".join(resp.json()["target"])
    # A name that resolves to loopback (the hosts file) too.
    resp = api.post(
        "/api/channels/",
        {"name": "J", "kind": "apprise", "target": "jsons://localhost/hook"},
        format="json",
    )
    assert resp.status_code == 400
    assert not Channel.objects.exists()


def test_send_time_guard_refuses_a_private_address_and_sends_nothing(
    project, incident, receiver: Receiver, settings
) -> None:
    # Stored while private targets were allowed, sent after they no longer are
    # (the guard at connect time, not only the form's check).
    settings.UPTIME_ALLOW_PRIVATE_TARGETS = True
    channel = _apprise(project, f"json://localhost:{receiver.port}/x")
    settings.UPTIME_ALLOW_PRIVATE_TARGETS = False
    notification = notification_for(channel, incident)
    run_queued()

    notification.refresh_from_db()
    assert notification.status == "failed"
    assert "blocked non-public address 127.0.0.1" in notification.last_error
    assert receiver.requests == []


def test_guard_steps_aside_outside_apprise_sends(receiver: Receiver) -> None:
    import requests

    from uptime.outbound.sync_guard import install

    install()
    assert requests.post(receiver.url(), data=b"x", timeout=5).status_code == 200


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("mailto://user:pass@mail.example.com", "not an apprise url this install"),
        ("xmpp://user:pass@chat.example.com", "not an apprise url this install"),
        ("https://hooks.example.com/x", "not an apprise url this install"),
        ("discord://", "not an apprise url this install"),
    ],
)
def test_unsupported_urls_are_a_400_naming_the_target(api, target, message) -> None:
    resp = api.post(
        "/api/channels/",
        {"name": "A", "kind": "apprise", "target": target},
        format="json",
    )
    assert resp.status_code == 400
    assert message in " ".join(resp.json()["target"]).lower()


def test_discord_url_is_accepted_and_masked_everywhere(api, owner_client) -> None:
    # Discord's plugin always posts to discord.com (no custom host), so no
    # loopback receiver can stand in for it; the URL is accepted and its
    # webhook token never shown back.
    token = "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789"
    url = f"discord://417429632418316298/{token}"
    created = api.post(
        "/api/channels/",
        {"name": "Discord", "kind": "apprise", "target": url},
        format="json",
    )
    assert created.status_code == 201, created.json()
    shown = api.get(f"/api/channels/{created.json()['id']}/").json()
    assert shown["target"] == "discord://…6789"
    assert token not in json.dumps(api.get("/api/channels/").json())
    page = owner_client.get("/channels/").content.decode()
    assert "Discord" in page
    assert token not in page
    assert "417429632418316298" not in page


class _Kept(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.name} {record.getMessage()}")


def test_the_url_is_never_logged(
    project, incident, receiver: Receiver, allow_private
) -> None:
    # What reaches the root logger's handlers (the console) at LOG_LEVEL=DEBUG.
    receiver.default = (500, b"oops", {})
    channel = _apprise(project, f"json://127.0.0.1:{receiver.port}/TopSecretToken9")
    notification_for(channel, incident)
    root, kept = logging.getLogger(), _Kept()
    level = root.level
    root.addHandler(kept)
    root.setLevel(logging.DEBUG)
    try:
        run_queued()
    finally:
        root.removeHandler(kept)
        root.setLevel(level)
    assert any("answered 500" in line for line in kept.lines), kept.lines
    assert all("TopSecretToken" not in line for line in kept.lines), kept.lines
    assert "TopSecretToken" not in Notification.objects.get().last_error


def test_every_allowed_scheme_speaks_http_through_requests_only() -> None:
    # The send-time guard sees what urllib3 dials; a plugin with its own
    # sockets (SMTP, XMPP, MQTT...) would slip past it.
    manager = NotificationManager()
    for scheme in SCHEMES:
        module = inspect.getmodule(manager[scheme])
        assert module is not None, scheme
        source = inspect.getsource(module)
        assert "requests." in source, scheme
        imports = set(re.findall(r"^\s*(?:import|from) (\w+)", source, re.M))
        own_sockets = {"socket", "smtplib", "ssl", "paho", "slixmpp", "asyncio"}
        assert not imports & own_sockets, (scheme, imports & own_sockets)
    assert apprise.Apprise().add("mailto://u:p@example.com")  # exists, refused


def test_dashboard_form_shows_the_apprise_error_by_its_field(owner_client) -> None:
    from django.urls import reverse

    form = {
        "name": "Mail",
        "kind": "apprise",
        "target": "mailto://u:p@mail.example.com",
        "enabled": "on",
        "notify_down": "on",
    }
    response = owner_client.post(reverse("alerts:channel_create"), form)
    assert response.status_code == 400  # the form again, with its errors
    assert "Not an Apprise URL this install supports" in response.content.decode()
    assert not Channel.objects.exists()
    form["target"] = "ntfy://ntfy.sh/shop-alerts"
    assert owner_client.post(reverse("alerts:channel_create"), form).status_code == 302
    assert Channel.objects.get().target == "ntfy://ntfy.sh/shop-alerts"
