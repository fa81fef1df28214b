"""Acknowledging an open incident and resolving one by hand: the dashboard,
the API and the signed link in alerts, who may, what stops and what is sent."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from django.core import signing
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.services import api_key_create
from alerts.models import Event, Notification
from alerts.services import incident_payload, notifications_remind
from alerts.services.acknowledge import ACK_SALT
from alerts.transports.base import message_for
from alerts.transports.slack import body_for as slack_body
from monitors.models import Incident, Role
from monitors.services import incident_acknowledge
from tests.alerts.conftest import record
from tests.alerts.helpers import email_text, notification_for, notify, run_queued
from tests.conftest import api_client_for, client_for

pytestmark = pytest.mark.django_db


def _link_path(incident: Incident) -> str:
    """The acknowledge link an opening alert carries, as a path."""
    payload = incident_payload(
        incident=incident, event=Event.INCIDENT_OPENED, now=timezone.now()
    )
    url = payload["data"]["acknowledge_url"]
    assert url.startswith("http")
    return "/" + url.split("/", 3)[3]


def test_a_member_acknowledges_through_the_api_once_and_a_viewer_may_not(
    incident, make_member, outsider_api
) -> None:
    member, viewer = make_member(Role.MEMBER), make_member(Role.VIEWER)
    url = f"/api/incidents/{incident.pk}/acknowledge/"

    refused = api_client_for(viewer).post(url, {"note": "mine"}, format="json")
    assert refused.status_code == 403
    assert outsider_api.post(url, {}, format="json").status_code == 404
    incident.refresh_from_db()
    assert incident.acknowledged_at is None

    done = api_client_for(member).post(url, {"note": "looking"}, format="json")
    assert done.status_code == 200, done.content
    body = done.json()
    assert body["acknowledged_by"] == member.username
    assert body["ack_note"] == "looking"
    assert body["acknowledged_at"]

    # Twice: the first acknowledgement stays.
    again = api_client_for(member).post(url, {"note": "other"}, format="json")
    assert again.status_code == 200
    assert again.json()["ack_note"] == "looking"
    assert again.json()["acknowledged_at"] == body["acknowledged_at"]


def test_acknowledging_a_closed_incident_is_a_400_naming_the_status(
    incident, api
) -> None:
    resolved = api.post(f"/api/incidents/{incident.pk}/resolve/", {}, format="json")
    assert resolved.status_code == 200
    answer = api.post(f"/api/incidents/{incident.pk}/acknowledge/", format="json")
    assert answer.status_code == 400
    assert "status" in answer.json()


def test_a_note_too_long_is_a_400_naming_the_note(incident, api) -> None:
    answer = api.post(
        f"/api/incidents/{incident.pk}/acknowledge/", {"note": "x" * 1001}
    )
    assert answer.status_code == 400
    assert "note" in answer.json()


def test_resolving_by_hand_sends_the_recovery_and_fresh_failures_open_anew(
    make_monitor, regions, make_channel, api, owner, receiver, allow_private
) -> None:
    monitor = make_monitor(regions=regions[:1], failure_threshold=2)
    hook = make_channel(target=receiver.url(), monitors=[monitor])
    start = timezone.now() - timedelta(seconds=100)
    record(monitor, regions[0], "down", start)
    record(monitor, regions[0], "down", start + timedelta(seconds=60))
    incident = Incident.objects.get(monitor=monitor, status="open")

    answer = api.post(
        f"/api/incidents/{incident.pk}/resolve/",
        {"note": "fixed the DNS"},
        format="json",
    )
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["status"] == "resolved"
    assert body["resolved_by_hand"] is True
    assert body["resolved_by"] == owner.username
    assert body["resolve_note"] == "fixed the DNS"

    # The normal recovery alert, through the outbox.
    assert set(
        Notification.objects.filter(incident=incident, channel=hook).values_list(
            "event", flat=True
        )
    ) == {"incident.opened", "incident.resolved"}
    run_queued()
    types = [json.loads(r.body)["type"] for r in receiver.requests]
    assert types == ["incident.opened", "incident.resolved"]

    # Still down: one more failing check is not a new incident (the DOWN
    # ticks before the resolve were judged over) ...
    record(monitor, regions[0], "down", timezone.now() + timedelta(seconds=1))
    assert not Incident.objects.filter(monitor=monitor, status="open").exists()
    # ... the failure threshold of fresh ones is.
    record(monitor, regions[0], "down", timezone.now() + timedelta(seconds=61))
    assert Incident.objects.filter(monitor=monitor, status="open").count() == 1
    # Resolving the old one again changes nothing.
    again = api.post(f"/api/incidents/{incident.pk}/resolve/", {}, format="json")
    assert again.status_code == 200
    assert again.json()["resolve_note"] == "fixed the DNS"


def test_a_viewer_cannot_resolve_by_hand(incident, make_member) -> None:
    viewer = make_member(Role.VIEWER)
    answer = api_client_for(viewer).post(f"/api/incidents/{incident.pk}/resolve/")
    assert answer.status_code == 403
    incident.refresh_from_db()
    assert incident.status == "open"


def test_an_acknowledged_incident_gets_no_more_reminders(
    make_monitor, regions, make_channel, open_incident, owner
) -> None:
    first = make_monitor(name="One", regions=regions[:1], failure_threshold=1)
    second = make_monitor(name="Two", regions=regions[:1], failure_threshold=1)
    make_channel(
        reminder_minutes=5, target="https://hooks.example/a", monitors=[first, second]
    )
    acked, open_one = open_incident(first), open_incident(second)
    incident_acknowledge(incident=acked, user=owner, note="on it")

    later = timezone.now() + timedelta(minutes=6)
    assert notifications_remind(now=later) == 1
    reminded = Notification.objects.filter(event=Event.INCIDENT_REMINDER)
    assert list(reminded.values_list("incident", flat=True)) == [open_one.pk]


def test_the_dashboard_acknowledges_and_resolves_and_the_timeline_says_who(
    incident, make_member, owner_client
) -> None:
    viewer = make_member(Role.VIEWER, "vera")
    member = make_member(Role.MEMBER, "milo")
    page = f"/incidents/{incident.pk}/"

    shown = client_for(viewer).get(page)
    assert shown.status_code == 200
    assert b"Acknowledge</button>" not in shown.content
    refused = client_for(viewer).post(f"{page}acknowledge/", {"note": "x"})
    assert refused.status_code == 403

    assert b"Acknowledge</button>" in client_for(member).get(page).content
    done = client_for(member).post(f"{page}acknowledge/", {"note": "checking <b>"})
    assert done.status_code == 302
    timeline = client_for(member).get(page).content.decode()
    assert "Acknowledged by milo" in timeline
    assert "checking &lt;b&gt;" in timeline  # escaped, as everything

    resolved = owner_client.post(f"{page}resolve/", {"note": "false alarm"})
    assert resolved.status_code == 302
    html = owner_client.get(page).content.decode()
    assert "Resolved by hand by alice: false alarm" in html
    assert "Resolve by hand</button>" not in html  # closed: no buttons


def test_every_transport_carries_the_acknowledge_link(
    incident, make_channel, receiver, smtp, allow_private
) -> None:
    path = _link_path(incident)
    assert path.startswith("/incidents/acknowledge/")

    mail = make_channel(kind="email", target="ops@example.com")
    notification = notification_for(mail, incident)
    link = notification.payload["data"]["acknowledge_url"]
    blocks = json.loads(slack_body(message_for(notification)))["blocks"]
    buttons = [e for b in blocks if b["type"] == "actions" for e in b["elements"]]
    assert {"Acknowledge": link}.items() <= {
        b["text"]["text"]: b["url"] for b in buttons
    }.items()

    notify(mail, notification)
    assert link in email_text(smtp.messages[-1])
    assert f'href="{link}"' in smtp.messages[-1].as_string()

    hook = make_channel(target=receiver.url())
    notify(hook, notification)
    assert json.loads(receiver.requests[-1].body)["data"]["acknowledge_url"] == link

    # A recovery has nothing to acknowledge.
    resolved = Notification(payload={"type": "incident.resolved", "data": {}})
    assert message_for(resolved).acknowledge_url == ""


def test_the_link_asks_on_get_and_acknowledges_on_a_post_with_csrf(
    incident,
) -> None:
    path = _link_path(incident)
    browser = Client(enforce_csrf_checks=True)
    page = browser.get(path)
    assert page.status_code == 200
    assert b"Acknowledge</button>" in page.content
    incident.refresh_from_db()
    assert incident.acknowledged_at is None  # a scanner's GET does nothing

    # Without the CSRF token: refused.
    assert browser.post(path, {"name": "Pat"}).status_code == 403
    token = page.cookies["csrftoken"].value
    done = browser.post(
        path, {"csrfmiddlewaretoken": token, "name": "Pat", "note": "on call"}
    )
    assert done.status_code == 200
    assert b"Acknowledged" in done.content
    incident.refresh_from_db()
    assert incident.acknowledged_by is None
    assert (incident.acknowledged_by_name, incident.ack_note) == ("Pat", "on call")
    assert incident.acknowledger == "Pat"


def test_a_tampered_or_expired_link_is_a_400(incident) -> None:
    path = _link_path(incident)
    token = path.rstrip("/").rsplit("/", 1)[1]
    tampered = path.replace(token, token[:-2] + ("AA" if token[-2:] != "AA" else "BB"))
    assert Client().get(tampered).status_code == 400

    class EightDaysAgo(signing.TimestampSigner):
        def timestamp(self) -> str:
            return signing.b62_encode(int(time.time()) - 8 * 86400)

    old = EightDaysAgo(salt=ACK_SALT).sign_object({"i": incident.pk})
    expired = Client().get(f"/incidents/acknowledge/{old}/")
    assert expired.status_code == 400
    assert b"not valid" in expired.content

    # Another purpose's signature (the channel confirmation salt) is no key.
    other = signing.dumps({"i": incident.pk}, salt="alerts.channel-confirmation")
    assert Client().get(f"/incidents/acknowledge/{other}/").status_code == 400
    incident.refresh_from_db()
    assert incident.acknowledged_at is None


def test_a_read_only_api_key_may_read_but_not_acknowledge_or_resolve(
    incident, owner
) -> None:
    _key, raw = api_key_create(user=owner, name="dash", read_only=True)
    reader = APIClient()
    reader.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert reader.get(f"/api/incidents/{incident.pk}/").status_code == 200
    for action in ("acknowledge", "resolve"):
        answer = reader.post(f"/api/incidents/{incident.pk}/{action}/")
        assert answer.status_code == 403
    incident.refresh_from_db()
    assert (incident.status, incident.acknowledged_at) == ("open", None)
