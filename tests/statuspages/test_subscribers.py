"""Subscribers: double opt-in, the outbox rows each event writes, delivery by
email (loopback SMTP) and signed webhook (loopback receiver), unsubscribe,
the rate limit."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from monitors.incident_updates import incident_update_post
from monitors.maintenance import maintenance_window_create
from statuspages.models import StatusPageSubscriber, SubscriberMessage
from statuspages.outbox import messages_for_incident
from statuspages.services import subscriber_subscribe
from tests.alerts.conftest import record

from .conftest import confirm, link_path, mail_text, run_queued, subscribe

pytestmark = pytest.mark.django_db


@pytest.fixture
def page(make_monitor, make_page, regions):
    monitor = make_monitor(name="Checkout", regions=regions[:1], failure_threshold=1)
    return make_page({"Shop": [(monitor, "Payments")]})


def _monitor(page):
    return page.groups.get().entries.get().monitor


def test_an_email_subscriber_confirms_gets_incidents_and_updates_and_unsubscribes(
    page, smtp, owner, open_incident, regions
) -> None:
    response = subscribe(page, "Ann@Example.com")
    assert response.status_code == 200
    assert b"Check your inbox" in response.content
    subscriber = StatusPageSubscriber.objects.get()
    assert (subscriber.target, subscriber.confirmed_at) == ("ann@example.com", None)

    # Unconfirmed: an incident writes nothing for it.
    incident = open_incident(_monitor(page))
    assert run_queued() != {}  # the confirmation mail only
    assert SubscriberMessage.objects.filter(event="incident.opened").count() == 0
    (mail,) = smtp.messages
    assert mail["To"] == "ann@example.com"
    assert "Confirm your subscription to Shop status" in mail["Subject"]
    path = link_path(mail_text(mail), "subscribe/confirm")
    done = confirm(path)
    assert b"Confirmed" in done.content
    subscriber.refresh_from_db()
    assert subscriber.confirmed_at is not None

    incident_update_post(
        user=owner, incident=incident, status="identified", body="A bad deploy."
    )
    record(_monitor(page), regions[0], "up")  # resolves (recovery threshold 1)
    outcomes = run_queued()
    assert sorted(outcomes.values()) == ["sent", "sent"]
    update_mail, resolved_mail = smtp.messages[1:]
    assert update_mail["Subject"] == "[Shop status] Update on Payments: identified"
    assert "A bad deploy." in mail_text(update_mail)
    assert resolved_mail["Subject"] == "[Shop status] Payments is operational again"
    unsubscribe = link_path(mail_text(resolved_mail), "unsubscribe")
    # (A long header is folded: compared unfolded.)
    folded = "".join(resolved_mail["List-Unsubscribe"].split())
    assert folded == f"<http://127.0.0.1:8000{unsubscribe}>"
    assert resolved_mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    # A GET only asks (mail scanners fetch links); the one-click POST, sent
    # by a mail client without any CSRF token, unsubscribes.
    browser = Client(enforce_csrf_checks=True)
    assert b"Unsubscribe" in browser.get(unsubscribe).content
    assert StatusPageSubscriber.objects.exists()
    assert b"Unsubscribed" in browser.post(unsubscribe).content
    assert not StatusPageSubscriber.objects.exists()
    assert browser.get(unsubscribe).status_code == 404


def test_a_webhook_subscriber_gets_signed_json_with_the_secret_shown_once(
    page, receiver, allow_private, open_incident
) -> None:
    response = subscribe(page, receiver.url(), kind="webhook")
    assert response.status_code == 200
    subscriber = StatusPageSubscriber.objects.get()
    assert subscriber.confirmed_at is not None
    assert subscriber.secret in response.content.decode()

    incident = open_incident(_monitor(page))
    assert list(run_queued().values()) == ["sent"]
    (req,) = receiver.requests
    payload = Webhook(subscriber.secret).verify(req.body, req.headers)
    assert payload["type"] == "incident.opened"
    assert payload["data"]["incident"]["id"] == incident.pk
    assert payload["data"]["incident"]["service"] == "Payments"
    assert payload["data"]["incident"]["cause"] == ""  # the page hides causes
    assert payload["data"]["page"]["url"] == "http://127.0.0.1:8000/status/shop/"

    again = subscribe(page, receiver.url(), kind="webhook")
    assert again.status_code == 400
    assert b"subscribed already" in again.content


def test_a_failing_webhook_is_retried_with_the_same_id(
    page, receiver, allow_private, open_incident, fast_retries
) -> None:
    subscriber_subscribe(page=page, kind="webhook", target=receiver.url())
    receiver.replies = [(503, b"busy", {})]
    open_incident(_monitor(page))
    message = SubscriberMessage.objects.get()
    assert run_queued() == {message.pk: "retry"}
    SubscriberMessage.objects.filter(pk=message.pk).update(
        next_attempt_at=timezone.now()
    )
    assert run_queued() == {message.pk: "sent"}
    first, second = receiver.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"]


def test_each_event_is_written_once_per_subscriber_and_only_for_its_pages(
    page, make_page, make_monitor, owner, project, open_incident
) -> None:
    elsewhere = make_page({"Other": [make_monitor(name="Other")]}, slug="other")
    ours = subscriber_subscribe(page=page, kind="webhook", target="https://a.example/h")
    theirs = subscriber_subscribe(
        page=elsewhere, kind="webhook", target="https://b.example/h"
    )
    incident = open_incident(_monitor(page))
    assert messages_for_incident(incident=incident, event="incident.opened") == []
    update = incident_update_post(
        user=owner, incident=incident, status="monitoring", body="Watching."
    )
    soon = timezone.now() + timedelta(days=1)
    window = maintenance_window_create(
        user=owner,
        project=project,
        fields={
            "title": "Upgrade",
            "starts_at": soon,
            "ends_at": soon + timedelta(hours=1),
        },
    )
    rows = {
        (m.subscriber_id, m.event, m.dedupe_key)
        for m in SubscriberMessage.objects.all()
    }
    assert rows == {
        (ours.pk, "incident.opened", f"incident:{incident.pk}:opened"),
        (ours.pk, "incident.updated", f"update:{update.pk}"),
        (ours.pk, "maintenance.scheduled", f"maintenance:{window.pk}"),
        # A window over the whole project reaches every page of it.
        (theirs.pk, "maintenance.scheduled", f"maintenance:{window.pk}"),
    }


def test_asking_twice_for_a_confirmed_address_tells_nothing_and_sends_nothing(
    page, smtp
) -> None:
    subscriber = subscriber_subscribe(page=page, kind="email", target="ann@example.com")
    StatusPageSubscriber.objects.filter(pk=subscriber.pk).update(
        confirmed_at=timezone.now()
    )
    response = subscribe(page, "ann@example.com")
    assert b"Check your inbox" in response.content
    assert (
        SubscriberMessage.objects.filter(event="subscriber.confirmation").count() == 1
    )


def test_bad_input_is_a_form_error_and_forged_links_are_404(page, client) -> None:
    response = subscribe(page, "not an address")
    assert response.status_code == 400
    assert b"Enter a valid email address." in response.content
    response = subscribe(page, "ftp://x.example/", kind="webhook")
    assert response.status_code == 400
    assert not StatusPageSubscriber.objects.exists()
    assert client.get("/status/shop/subscribe/confirm/forged/").status_code == 404
    assert client.get("/status/shop/unsubscribe/forged/").status_code == 404


def test_subscribing_is_rate_limited_per_address_and_per_client(page, settings) -> None:
    settings.UPTIME_THROTTLE_SUBSCRIBE = "2/hour"
    assert subscribe(page, "a@example.com").status_code == 200
    assert subscribe(page, "b@example.com").status_code == 200
    third = subscribe(page, "c@example.com")
    assert third.status_code == 429
    assert int(third["Retry-After"]) > 0
    # Another client may not flood the same inbox either.
    other = {"REMOTE_ADDR": "192.0.2.9"}
    assert subscribe(page, "z@example.com", **other).status_code == 200
    assert subscribe(page, "z@example.com", **other).status_code == 200
    assert subscribe(page, "z@example.com", REMOTE_ADDR="192.0.2.10").status_code == 429
    assert StatusPageSubscriber.objects.count() == 3


def test_a_confirmation_mail_for_an_address_confirmed_meanwhile_is_not_sent(
    page, smtp
) -> None:
    subscriber = subscriber_subscribe(page=page, kind="email", target="ann@example.com")
    StatusPageSubscriber.objects.filter(pk=subscriber.pk).update(
        confirmed_at=timezone.now()
    )
    assert list(run_queued().values()) == ["skipped"]
    assert smtp.messages == []
    message = SubscriberMessage.objects.get()
    assert message.last_error == "Not sent: confirmed already."
    assert json.dumps(message.payload)  # stored as sent: plain JSON


def test_subscribing_on_a_custom_domain_works_and_links_point_at_the_site(
    settings, make_monitor, make_page, smtp
) -> None:
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "status.shop.example"]
    page = make_page({"Shop": [make_monitor()]}, custom_domain="status.shop.example")
    browser = Client(enforce_csrf_checks=True, HTTP_HOST="status.shop.example")
    form = browser.get("/subscribe/")
    token = form.cookies["csrftoken"].value
    hooked = browser.post(
        "/subscribe/",
        {
            "kind": "webhook",
            "target": "https://hooks.example/x",
            "csrfmiddlewaretoken": token,
        },
    )
    assert hooked.status_code == 200
    subscriber = StatusPageSubscriber.objects.get()
    assert f"/status/shop/unsubscribe/{subscriber.token}/" in hooked.content.decode()
    # The domain's own unsubscribe address works too.
    assert browser.post(f"/unsubscribe/{subscriber.token}/").status_code == 200
    assert not StatusPageSubscriber.objects.exists()

    emailed = browser.post(
        "/subscribe/",
        {"kind": "email", "target": "ann@example.com", "csrfmiddlewaretoken": token},
    )
    assert emailed.status_code == 200
    run_queued()
    path = link_path(mail_text(smtp.messages[0]), "subscribe/confirm")
    assert b"Confirmed" in confirm(path).content
    assert page.subscribers.get().confirmed_at is not None


def test_unconfirmed_addresses_are_forgotten_once_their_link_expires(page) -> None:
    from statuspages.services import subscribers_prune_unconfirmed

    old = subscriber_subscribe(page=page, kind="email", target="old@example.com")
    new = subscriber_subscribe(page=page, kind="email", target="new@example.com")
    hook = subscriber_subscribe(page=page, kind="webhook", target="https://h.example/")
    StatusPageSubscriber.objects.filter(pk__in=[old.pk, hook.pk]).update(
        created_at=timezone.now() - timedelta(days=8)
    )
    assert subscribers_prune_unconfirmed() >= 1
    assert set(StatusPageSubscriber.objects.values_list("pk", flat=True)) == {
        new.pk,
        hook.pk,
    }


def test_a_flapping_monitor_tells_subscribers_once_it_settles_down(
    make_monitor, make_page, regions
) -> None:
    from tests.alerts.test_flapping import INTERVAL, Slots, play

    monitor = make_monitor(
        regions=regions[:1],
        interval_seconds=INTERVAL,
        failure_threshold=2,
        recovery_threshold=1,
    )
    page = make_page({"Shop": [monitor]})
    subscriber_subscribe(page=page, kind="webhook", target="https://h.example/x")
    slots = Slots(80)
    # Flapping: its incidents open and resolve and tell nobody.
    play(monitor, regions[:1], "uuuu" + "du" * 9, slots)
    assert not SubscriberMessage.objects.exists()
    play(monitor, regions[:1], "d" * 25, slots)  # settles down
    incident = monitor.incidents.get(status="open")
    assert list(SubscriberMessage.objects.values_list("event", "incident")) == [
        ("incident.opened", incident.pk)
    ]
    play(monitor, regions[:1], "uu", slots)
    assert SubscriberMessage.objects.filter(event="incident.resolved").count() == 1
